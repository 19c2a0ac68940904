"""Field types every API shares: TM Forum shapes that are the same in every app."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.STR)
class ConstantField(serializers.Field):
    """A read-only field with one value (``@type``)."""

    def __init__(self, value: str, **kwargs):
        self.value = value
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        return self.value


# The widest UTC offsets in use (Pacific islands: -12:00 to +14:00). A larger one is a typo, and
# PostgreSQL refuses offsets past 15:59 with an error instead of a field error.
MAX_UTC_OFFSET = dt.timedelta(hours=14)
OFFSET_MESSAGE = "give a UTC offset between -14:00 and +14:00"


def instant_in_utc(value: dt.datetime) -> dt.datetime:
    """Return an aware instant in UTC; ValueError (with a message for the user) when its offset
    is not one in use or the instant leaves the calendar once in UTC (R6)."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError(OFFSET_MESSAGE)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as error:
        raise ValueError("the instant is outside the years 1 to 9999 in UTC") from error


class InstantField(serializers.DateTimeField):
    """An aware instant, written in UTC; an input without a UTC offset is refused (R6)."""

    default_error_messages = {
        "naive": "give the instant with its UTC offset, e.g. 2026-10-15T10:00:00Z",
    }

    def __init__(self, **kwargs):
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        elif isinstance(value, dt.datetime):
            parsed = value
        else:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                self.fail("naive")
            try:
                instant_in_utc(parsed)
            except ValueError as error:
                raise serializers.ValidationError(str(error), code="invalid") from error
        return super().to_internal_value(value)  # in UTC (default_timezone)


@extend_schema_serializer(component_name="Reference")
class ReferenceSchema(serializers.Serializer):
    """A reference to another resource (TMF EntityRef); a request names it by ``id`` alone."""

    id = serializers.CharField(help_text="id of the referred resource")
    href = serializers.URLField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    # Not read-only so that responses do not list it as required: objects without a code
    # (a customer, a usage event) are referred to without one. A request's code is ignored.
    code = serializers.CharField(
        required=False, help_text="the referred object's code, when it has one (read only)"
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["@referredType"] = serializers.CharField(read_only=True)
        return fields


@extend_schema_serializer(component_name="ValidFor")
class ValidForSchema(serializers.Serializer):
    """A period [startDateTime, endDateTime); an open end is null."""

    startDateTime = InstantField(allow_null=True)
    endDateTime = InstantField(allow_null=True)


@extend_schema_field(ValidForSchema)
class ValidForField(serializers.Field):
    """``validFor`` read from two attributes of the object."""

    def __init__(self, *, start: str, end: str, **kwargs):
        self.start, self.end = start, end
        self.instant = InstantField()
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        start, end = getattr(value, self.start, None), getattr(value, self.end, None)
        return {
            "startDateTime": self.instant.to_representation(start) if start else None,
            "endDateTime": self.instant.to_representation(end) if end else None,
        }


# --- resources -------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.URI)
class HrefField(serializers.Field):
    """The absolute URL of the object itself, by its app's ``href(obj, request, resource)``."""

    def __init__(self, resource: tuple[str, str] | None = None, *, href, **kwargs):
        self.resource, self.href = resource, href
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        return self.href(value, self.context.get("request"), self.resource)


class ResourceSerializer(serializers.Serializer):
    """A resource: ``id``, ``href`` and ``@type`` first, then the declared fields.

    Each app's base sets ``resources`` (model -> (route basename, @type)) and ``href`` (a
    staticmethod: the absolute URL of one of its objects); a serializer may name its own
    ``resource``.
    """

    resource: tuple[str, str] | None = None
    resources: dict = {}
    href = None

    def get_fields(self):
        resource = self.resource or self.resources[self.Meta.model]
        fields = {
            "id": serializers.CharField(source="pk", read_only=True),
            "href": HrefField(resource, href=type(self).href),
            "@type": ConstantField(resource[1]),
        }
        fields.update(super().get_fields())
        return fields


# --- money and quantities (R1, R2, R5) -------------------------------------------------------


def format_amount(value: Decimal) -> str:
    """Write an amount without trailing zeros past the cent: 19.990000 -> "19.99", 0.0199 stays.

    Display only, no rounding (R1): the value keeps every significant digit it has.
    """
    cents = value.quantize(Decimal("0.01"))
    if cents == value:
        return str(cents)
    return format(value.normalize(), "f")


def money(amount: Decimal | None, currency: str) -> dict | None:
    """Return ``{"unit", "value"}`` for an amount (None stays None)."""
    if amount is None:
        return None
    return {"unit": currency, "value": format_amount(amount)}


@extend_schema_serializer(component_name="Money")
class MoneySchema(serializers.Serializer):
    """An amount in a currency; the value is a decimal string so that it stays exact (R1)."""

    unit = serializers.CharField(help_text="ISO 4217 currency code, e.g. EUR")
    value = serializers.CharField(
        help_text='a decimal written as a string, e.g. "19.99"; rated amounts keep their 6 '
        'places, e.g. "1.140000" (R2)'
    )


@extend_schema_field(MoneySchema)
class MoneyField(serializers.Field):
    """Money read from an amount and a currency of the object (both dotted attribute paths)."""

    def __init__(self, *, amount: str, currency: str, **kwargs):
        self.amount_path = amount.split(".")
        self.currency_path = currency.split(".")
        super().__init__(read_only=True, source="*", **kwargs)

    @staticmethod
    def _read(obj, path):
        for name in path:
            obj = getattr(obj, name)
        return obj

    def to_representation(self, value):
        return money(self._read(value, self.amount_path), self._read(value, self.currency_path))


@dataclass(frozen=True)
class MoneyInput:
    """An amount as written in a request; the view checks its unit against its owner's."""

    unit: str
    value: Decimal


@extend_schema_field(MoneySchema)
class MoneyInputField(serializers.Field):
    """Money in a request: ``{"unit": "EUR", "value": "19.99"}``, not negative unless ``signed``.

    A value written as a JSON number is refused: it may already have lost digits (R1).
    """

    default_error_messages = {
        # fail() formats the message: its braces are doubled.
        "invalid": 'money is an object {{"unit": "EUR", "value": "19.99"}}',
        "unit": "unit is a three-letter ISO 4217 currency code",
        "float": 'write the value as a string, e.g. "19.99", so it stays exact (R1)',
    }

    def __init__(self, *, max_digits: int, decimal_places: int, signed: bool = False, **kwargs):
        self.value_field = serializers.DecimalField(
            max_digits=max_digits,
            decimal_places=decimal_places,
            min_value=None if signed else Decimal("0"),
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict) or "value" not in data or "unit" not in data:
            self.fail("invalid")
        unit = data["unit"]
        if not isinstance(unit, str) or len(unit) != 3 or not unit.isalpha():
            self.fail("unit")
        if isinstance(data["value"], float):
            raise serializers.ValidationError({"value": [self.error_messages["float"]]})
        try:
            value = self.value_field.run_validation(data["value"])
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"value": error.detail}) from error
        return MoneyInput(unit=unit.upper(), value=value)

    def to_representation(self, value):
        return money(value.value, value.unit)


@extend_schema_serializer(component_name="Quantity")
class QuantitySchema(serializers.Serializer):
    """A number of units (TMF Quantity) in the service's base unit: seconds, bytes, messages or
    events (R5)."""

    amount = serializers.IntegerField()
    units = serializers.CharField(help_text="SECOND, BYTE, MESSAGE or EVENT")
