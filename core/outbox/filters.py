"""Filters of the deliveries list; the same filters drive its CSV export."""

import django_filters

from core.console.filters import ConsoleFilter
from core.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from core.outbox.registry import event_types
from core.outbox.selectors import webhook_endpoints_visible_to


def endpoints_of(request):
    if request is None:
        return WebhookEndpoint.objects.none()
    return webhook_endpoints_visible_to(request.user)


class WebhookDeliveryFilter(ConsoleFilter):
    state = django_filters.ChoiceFilter(choices=DeliveryState.choices)
    event_type = django_filters.ChoiceFilter(
        field_name="event__event_type",
        choices=lambda: [(name, name) for name in event_types()],
        label="Event type",
    )
    endpoint = django_filters.ModelChoiceFilter(queryset=endpoints_of)
    created_at = django_filters.DateFromToRangeFilter(
        label="Created between",
        widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    )
    subject = django_filters.CharFilter(
        field_name="event__subject", lookup_expr="icontains", label="Subject contains"
    )

    class Meta:
        model = WebhookDelivery
        fields = ["state", "event_type", "endpoint", "created_at", "subject"]


class WebhookEndpointFilter(ConsoleFilter):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    is_active = django_filters.BooleanFilter(label="Active")

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "is_active"]
