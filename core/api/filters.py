"""Query filters every API shares."""

import django_filters as filters
from django import forms
from django_filters.fields import IsoDateTimeField

from core.api.fields import instant_in_utc


class InstantFormField(IsoDateTimeField):
    """An ISO 8601 instant in a query string, in UTC; an offset not in use is a field error."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace(" ", "+")  # an unencoded "+" arrives as a space
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return instant_in_utc(parsed)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from error


class InstantFilter(filters.IsoDateTimeFilter):
    """Filter on an instant written in ISO 8601 with its UTC offset (R6)."""

    field_class = InstantFormField
