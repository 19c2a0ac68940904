"""The embedded SQLite default, reading computed money back as exactly as PostgreSQL does (R1).

SQLite keeps a decimal column as a binary float. Django rounds a plain column back to its
declared places, but hands a computed value (a sum, a coalesce) back with fifteen significant
digits: `Sum("amount")` of 12.218343 reads as `12.2183430000000`, which then shows on pages,
in the API and in CSV exports. PostgreSQL's numeric gives `12.218343`. This backend reads a
computed decimal back at the places its output field declares whenever the value has no more
digits than that, so both databases give the same figures. A value with more digits than
declared (a product of two amounts) keeps them, without the float's trailing zeros.
"""

from decimal import Decimal

from django.db.backends.sqlite3 import base, operations
from django.db.models.expressions import Col


class DatabaseOperations(operations.DatabaseOperations):
    def get_decimalfield_converter(self, expression):
        converter = super().get_decimalfield_converter(expression)
        places = getattr(expression.output_field, "decimal_places", None)
        if isinstance(expression, Col) or places is None:
            return converter
        quantum = Decimal(1).scaleb(-places)

        def exact(value, expression, connection):
            value = converter(value, expression, connection)
            if value is None or not value.is_finite():
                return value
            rounded = value.quantize(quantum)
            return rounded if rounded == value else value.normalize()

        return exact


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
