"""REST API of the outbox under /api/v1/eventManagement/, named after TM Forum TMF688 (Event).

- ``hub``: webhook endpoints (a client's subscription to events). POST registers one and
  answers with its signing ``secret`` (shown here and by ``rotateSecret`` only); PATCH changes
  it; DELETE pauses it (``isActive: false``, its pending deliveries stay pending);
  ``hub/{id}/rotateSecret`` gives it a new secret; ``hub/{id}/test`` sends it a test event.
- ``event``: the events published, with their payload (``event``).
- ``delivery``: one event for one hub, with its state and every attempt;
  ``delivery/{id}/retry`` sends it now.
- ``eventType``: the event types a hub may ask for, with their descriptions.

Reading is for every role; changing hubs and retrying deliveries is for admin and finance
(core.roles). A user limited to some brands sees and manages only their brands' hubs, events
and deliveries, and must give a hub one of their brands.
"""

from django.urls import NoReverseMatch
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.api.fields import InstantField, ReferenceSchema, ResourceSerializer
from core.api.filters import InstantFilter
from core.models import DeliveryState, OutboxEvent, WebhookDelivery, WebhookEndpoint
from core.outbox import services
from core.outbox.registry import event_types
from core.outbox.selectors import (
    _brands_of,
    brand_choices_for,
    outbox_events_visible_to,
    webhook_deliveries_visible_to,
    webhook_endpoints_visible_to,
)

CHANGE_HUB = "core.change_webhookendpoint"
CHANGE_DELIVERY = "core.change_webhookdelivery"
FIELD_NAMES = {"url": "callback", "event_types": "eventTypes", "is_active": "isActive"}

RESOURCES = {
    WebhookEndpoint: ("hub", "Hub"),
    OutboxEvent: ("event", "Event"),
    WebhookDelivery: ("delivery", "Delivery"),
}


def href(obj, request, resource=None) -> str | None:
    name = f"api:core-{(resource or RESOURCES[type(obj)])[0]}-detail"
    try:
        return reverse(name, kwargs={"pk": obj.pk}, request=request)
    except NoReverseMatch:
        return None


def reference(obj, request) -> dict:
    """A reference to an outbox object or a brand (TMF EntityRef)."""
    if type(obj) in RESOURCES:
        name = obj.name if isinstance(obj, WebhookEndpoint) else str(obj)
        return {
            "id": str(obj.pk),
            "href": href(obj, request),
            "name": name,
            "@referredType": RESOURCES[type(obj)][1],
        }
    try:
        brand_href = reverse("api:catalog-brand-detail", kwargs={"pk": obj.pk}, request=request)
    except NoReverseMatch:
        brand_href = None
    return {
        "id": str(obj.pk),
        "href": brand_href,
        "name": obj.name,
        "code": obj.code,
        "@referredType": "Brand",
    }


@extend_schema_field(ReferenceSchema)
class BrandRefField(serializers.Field):
    """A brand the user may see, written ``{"id": "7"}``; null for every brand."""

    default_error_messages = {
        "invalid": 'a reference is an object with an id, e.g. {{"id": "7"}}',
        "does_not_exist": "no brand with id {pk}",
    }

    def to_representation(self, value):
        return reference(value, self.context.get("request"))

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        pk = data.get("id")
        if isinstance(pk, bool) or not (
            isinstance(pk, int) or (isinstance(pk, str) and pk.strip().isdigit())
        ):
            self.fail("invalid")
        request = self.context["request"]
        brand = brand_choices_for(request.user).filter(pk=int(pk)).first()
        if brand is None:
            self.fail("does_not_exist", pk=pk)
        return brand


@extend_schema_field(ReferenceSchema)
class RefField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return reference(value, self.context.get("request"))


class OutboxResource(ResourceSerializer):
    resources = RESOURCES
    href = staticmethod(href)


# --- serializers ------------------------------------------------------------------------------


class HubSerializer(OutboxResource):
    """A webhook endpoint: where events go, which types, signed with its secret."""

    name = serializers.CharField()
    callback = serializers.URLField(source="url")
    brand = BrandRefField(allow_null=True, help_text="null: every brand's and the platform's")
    eventTypes = serializers.ListField(
        source="event_types", child=serializers.CharField(), help_text="empty: every type"
    )
    isActive = serializers.BooleanField(source="is_active")
    createdAt = InstantField(source="created_at", read_only=True)
    secretRotatedAt = InstantField(source="secret_rotated_at", read_only=True)

    class Meta:
        model = WebhookEndpoint


class HubWithSecretSerializer(HubSerializer):
    """A hub as registered or after a secret rotation: with its signing secret."""

    secret = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookEndpoint


class HubInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    callback = serializers.URLField(source="url", max_length=500)
    brand = BrandRefField(required=False, allow_null=True)
    eventTypes = serializers.ListField(
        source="event_types",
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="the types of GET eventType; empty or left out: every type",
    )
    isActive = serializers.BooleanField(source="is_active", required=False)

    def validate_eventTypes(self, value):
        unknown = sorted({name for name in value if name not in event_types()})
        if unknown:
            raise serializers.ValidationError(f"unknown event type(s): {', '.join(unknown)}")
        return value

    def validate(self, data):
        request = self.context["request"]
        limited = _brands_of(request.user) is not None
        creating = not self.partial
        names_none = "brand" in data and data["brand"] is None
        if limited and (names_none or (creating and not data.get("brand"))):
            raise serializers.ValidationError(
                {"brand": ["you are limited to some brands: name one of them"]}
            )
        return data


class EventSerializer(OutboxResource):
    """An event as published (TMF688 event): its type, time, brand and payload."""

    eventId = serializers.UUIDField(source="event_id")
    eventType = serializers.CharField(source="event_type")
    eventTime = InstantField(source="occurred_at")
    brand = RefField(allow_null=True)
    subject = serializers.CharField()
    test = serializers.BooleanField(source="is_test")
    event = serializers.JSONField(source="payload")

    class Meta:
        model = OutboxEvent


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    startedAt = InstantField(source="started_at")
    durationMs = serializers.IntegerField(source="duration_ms")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    responseBody = serializers.CharField(source="response_body")
    error = serializers.CharField()
    succeeded = serializers.BooleanField()


class DeliverySerializer(OutboxResource):
    """One event for one hub: pending, delivered or failed, with every attempt."""

    event = RefField()
    eventType = serializers.CharField(source="event.event_type")
    hub = RefField(source="endpoint")
    state = serializers.ChoiceField(choices=DeliveryState.choices)
    attempts = serializers.IntegerField()
    nextAttemptAt = InstantField(source="next_attempt_at", allow_null=True)
    deliveredAt = InstantField(source="delivered_at", allow_null=True)
    createdAt = InstantField(source="created_at")
    attemptLog = AttemptSerializer(source="log", many=True)

    class Meta:
        model = WebhookDelivery


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


# --- filters ----------------------------------------------------------------------------------


class EventFilter(filters.FilterSet):
    eventType = filters.CharFilter(field_name="event_type")
    subject = filters.CharFilter(field_name="subject")
    eventTimeFrom = InstantFilter(field_name="occurred_at", lookup_expr="gte")
    eventTimeTo = InstantFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = OutboxEvent
        fields: list = []


class DeliveryFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=DeliveryState.choices)
    eventType = filters.CharFilter(field_name="event__event_type")
    hub = filters.NumberFilter(field_name="endpoint_id")
    event = filters.NumberFilter(field_name="event_id")
    createdFrom = InstantFilter(field_name="created_at", lookup_expr="gte")
    createdTo = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = WebhookDelivery
        fields: list = []


# --- views ------------------------------------------------------------------------------------


def _service_errors(error):
    """A service's ValidationError as a 400 with the API's field names."""
    from django.core.exceptions import NON_FIELD_ERRORS

    if hasattr(error, "error_dict"):
        detail = {
            "non_field_errors" if key == NON_FIELD_ERRORS else FIELD_NAMES.get(key, key): messages
            for key, messages in error.message_dict.items()
        }
    else:
        detail = {"non_field_errors": error.messages}
    return serializers.ValidationError(detail)


class OutboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    required_permission: str | dict | None = None
    lookup_value_regex = r"[0-9]+"
    filter_backends = [filters.DjangoFilterBackend]
    model = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.visible(self.request.user)

    def visible(self, user):
        raise NotImplementedError

    def represent(self, obj, status_code=status.HTTP_200_OK, serializer_class=None):
        obj = self.visible(self.request.user).get(pk=obj.pk)
        serializer_class = serializer_class or self.serializer_class
        return Response(
            serializer_class(obj, context=self.get_serializer_context()).data, status=status_code
        )


@extend_schema_view(
    create=extend_schema(request=HubInput, responses={201: HubWithSecretSerializer}),
    partial_update=extend_schema(request=HubInput, responses=HubSerializer),
    destroy=extend_schema(responses={204: None}, description="Pause the hub (isActive false)."),
)
class HubViewSet(OutboxViewSet):
    """Webhook endpoints (TMF688 hub): a callback URL for some or all event types."""

    model = WebhookEndpoint
    serializer_class = HubSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def visible(self, user):
        return webhook_endpoints_visible_to(user)

    def _read(self, *, partial: bool) -> dict:
        serializer = HubInput(
            data=self.request.data, partial=partial, context={"request": self.request}
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _save(self, endpoint, data):
        from django.core.exceptions import ValidationError

        try:
            return services.webhook_endpoint_save(
                endpoint=endpoint, data=data, acting_user=self.request.user
            )
        except ValidationError as error:
            raise _service_errors(error) from error

    def create(self, request, *args, **kwargs):
        endpoint = self._save(None, self._read(partial=False))
        return self.represent(endpoint, status.HTTP_201_CREATED, HubWithSecretSerializer)

    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        endpoint = self._save(endpoint, self._read(partial=True))
        return self.represent(endpoint)

    def destroy(self, request, *args, **kwargs):
        endpoint = self.get_object()
        self._save(endpoint, {"is_active": False})
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=HubWithSecretSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="rotateSecret",
        required_permission={"write": CHANGE_HUB},
    )
    def rotate_secret(self, request, pk=None):
        """Give the hub a new signing secret; from now on every request is signed with it."""
        endpoint = services.webhook_endpoint_secret_rotate(endpoint=self.get_object())
        return self.represent(endpoint, serializer_class=HubWithSecretSerializer)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], required_permission={"write": CHANGE_HUB})
    def test(self, request, pk=None):
        """Send the hub a ``webhook.test`` event; follow its delivery."""
        from django.core.exceptions import ValidationError

        try:
            delivery = services.webhook_endpoint_send_test(
                endpoint=self.get_object(), acting_user=request.user
            )
        except ValidationError as error:
            raise _service_errors(error) from error
        body = DeliverySerializer(
            webhook_deliveries_visible_to(request.user).get(pk=delivery.pk),
            context=self.get_serializer_context(),
        ).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class EventViewSet(OutboxViewSet):
    """Events published (TMF688 event), newest first."""

    model = OutboxEvent
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def visible(self, user):
        return outbox_events_visible_to(user)


class DeliveryViewSet(OutboxViewSet):
    """Deliveries of events to hubs, with every attempt."""

    model = WebhookDelivery
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

    def visible(self, user):
        return webhook_deliveries_visible_to(user).prefetch_related("log")

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], required_permission={"write": CHANGE_DELIVERY})
    def retry(self, request, pk=None):
        """Send a pending or failed delivery now (a failed one gets one more attempt)."""
        from django.core.exceptions import ValidationError

        try:
            delivery = services.webhook_delivery_retry(delivery=self.get_object())
        except ValidationError as error:
            raise _service_errors(error) from error
        return self.represent(delivery, status.HTTP_202_ACCEPTED)


class EventTypeView(APIView):
    """The event types hubs may ask for, each with its description."""

    required_permission = {"read": "core.view_webhookendpoint"}

    @extend_schema(responses=EventTypeSerializer(many=True))
    def get(self, request):
        types = [{"name": name, "description": text} for name, text in event_types().items()]
        return Response(types)
