"""``field__any=ids``: membership in a long list of ids as one parameter.

``field__in=ids`` renders one placeholder per id, which Django prepares and psycopg parses one
by one: for a bill run's chunk of a thousand accounts that costs more than the query itself.
On PostgreSQL ``field__any`` sends ``field = ANY(%s)`` with the whole list as one array; other
databases get the ``IN`` list. For ids (integers), which need no preparation.

>>> from subscribers.models import Subscription
>>> "= ANY(" in str(Subscription.objects.filter(billing_account_id__any=[1, 2]).query)
True
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, values)
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)


def register() -> None:
    """Make ``__any`` available on every field and foreign key (from core's AppConfig.ready)."""
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
