"""Field types every API shares: TM Forum shapes that are the same in every app."""

import datetime as dt

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
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        elif isinstance(value, dt.datetime) and value.tzinfo is None:
            self.fail("naive")
        return super().to_internal_value(value)


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
