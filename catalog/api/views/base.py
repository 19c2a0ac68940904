"""The shell of the catalogue API views: base viewsets, service errors, schema helpers."""

import contextlib
import datetime as dt
import re

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.filters import SearchFilter
from rest_framework.response import Response

from catalog.selectors import catalog_visible_to
from core.api.fields import MoneyInput, instant_in_utc

# The many-to-many zone sets of rows, allowances and policies, prefetched together.
ZONES = ("destination_zones", "roaming_zones")

# --- errors ---------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def api_field_path(key: str, names: dict[str, str]) -> str:
    """Turn a service's field path (``bands[0].is_rest``) into the JSON one (``isRest``)."""
    if key == NON_FIELD_ERRORS:
        return "non_field_errors"
    if key in names:
        return names[key]
    parts = []
    for part in key.split("."):
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(.*)$", part)
        if match is None:
            parts.append(part)
            continue
        base, rest = match.groups()
        parts.append(names.get(base, _camel(base)) + rest)
    return ".".join(parts)


@contextlib.contextmanager
def service_errors(names: dict[str, str]):
    """Re-raise a service's ValidationError as a 400 whose field errors use the JSON names."""
    try:
        yield
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            detail = {
                api_field_path(key, names): messages for key, messages in error.message_dict.items()
            }
        else:
            detail = {"non_field_errors": error.messages}
        raise serializers.ValidationError(detail) from error


def take_money(data: dict, currency: str, names: dict[str, str], owner: str) -> dict:
    """Replace written money by its Decimal value, refusing a unit other than ``currency``."""
    for name, api_name in names.items():
        amount = data.get(name)
        if isinstance(amount, MoneyInput):
            if amount.unit != currency:
                raise serializers.ValidationError(
                    {f"{api_name}.unit": [f"{owner} is priced in {currency}, not {amount.unit}"]}
                )
            data[name] = amount.value
    return data


def parse_instant(raw: str | None, name: str = "instant") -> dt.datetime:
    """Read an ISO 8601 instant from a query parameter; none given means now."""
    if raw is None or not raw.strip():
        return timezone.now()
    # A "+" left unencoded in a query string arrives as a space.
    text = raw.strip().replace(" ", "+")
    try:
        value = parse_datetime(text)
    except ValueError:
        value = None
    if value is None:
        raise serializers.ValidationError(
            {name: [f"{raw!r} is not an ISO 8601 instant, e.g. 2026-10-15T10:00:00Z"]}
        )
    if value.tzinfo is None:
        raise serializers.ValidationError(
            {name: ["give the instant with its UTC offset, e.g. 2026-10-15T10:00:00Z"]}
        )
    try:
        return instant_in_utc(value)
    except ValueError as error:
        raise serializers.ValidationError({name: [str(error)]}) from error


# --- base -----------------------------------------------------------------------------------


def write_schema(input_class, output_class, *, update: bool = True, **more):
    """Document create (and update) with the input serializer and answer with the output."""
    schemas = {"create": extend_schema(request=input_class, responses={201: output_class})}
    if update:
        schemas["update"] = extend_schema(request=input_class, responses=output_class)
        schemas["partial_update"] = extend_schema(request=input_class, responses=output_class)
    schemas.update(more)
    return extend_schema_view(**schemas)


class CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read a catalogue resource; subclasses add writes through the services."""

    # Actions set the permission they need (core.api.permissions.RolePermissions).
    required_permission: str | None = None
    lookup_value_regex = r"[0-9]+"
    filter_backends = [DjangoFilterBackend, SearchFilter]
    search_fields = ["code", "name"]
    detail_serializer_class = None
    input_serializer_class = None
    # Service field names whose JSON name is not simply their camelCase.
    error_fields: dict[str, str] = {}

    def filter_queryset(self, queryset):
        """Narrow every read (lists, detail, actions) to what the user's brands may see."""
        return super().filter_queryset(catalog_visible_to(queryset, self.request.user))

    def get_serializer_class(self):
        if self.action != "list" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return self.serializer_class

    def represent(self, obj, status_code: int = status.HTTP_200_OK) -> Response:
        """Answer with the resource as a read would show it."""
        obj = self.get_queryset().get(pk=obj.pk)
        serializer_class = self.detail_serializer_class or self.serializer_class
        body = serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    def read_input(self, serializer_class, *, partial: bool = False, instance=None) -> dict:
        """Check the request body's shape; return its data with the services' field names."""
        serializer = serializer_class(
            instance=instance,
            data=self.request.data,
            partial=partial,
            context=self.get_serializer_context(),
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class CatalogWriteMixin:
    """Create and update through ``save(instance, data)``; PATCH merges ``current(instance)``."""

    def create(self, request, *args, **kwargs):
        data = self.read_input(self.input_serializer_class)
        with service_errors(self.error_fields):
            obj = self.save(None, data)
        return self.represent(obj, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        data = self.read_input(self.input_serializer_class, partial=partial, instance=instance)
        if partial:
            data = {**self.current(instance), **data}
        with service_errors(self.error_fields):
            obj = self.save(instance, data)
        return self.represent(obj)

    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    def current(self, instance) -> dict:
        """The instance's values under the input's field names (for PATCH)."""
        raise NotImplementedError

    def save(self, instance, data: dict):
        """Call the service that creates (instance None) or changes the object."""
        raise NotImplementedError


class CatalogDeleteMixin:
    """Delete through ``remove(instance)`` (``delete`` is the HTTP method's handler)."""

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        with service_errors(self.error_fields):
            self.remove(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)


def publish_schema(output_class):
    """Document an action that takes no body and answers with the resource."""
    return extend_schema(request=None, responses=output_class)
