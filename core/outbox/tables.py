"""Console lists of the outbox: endpoints and deliveries."""

import django_tables2 as tables
from django.utils.html import format_html

from core.console.tables import ConsoleTable
from core.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointTable(ConsoleTable):
    name = tables.Column(linkify=True)
    url = tables.Column(verbose_name="URL")
    brand = tables.Column(accessor="brand__code", default="every brand")
    event_types = tables.Column(verbose_name="Event types", orderable=False)
    is_active = tables.BooleanColumn(verbose_name="Active")

    class Meta(ConsoleTable.Meta):
        model = WebhookEndpoint
        fields = ("name", "url", "brand", "event_types", "is_active", "created_at")

    def render_event_types(self, value):
        return ", ".join(value) if value else "all"

    def value_event_types(self, value):
        return " ".join(value) if value else "all"


class StateColumn(tables.Column):
    def render(self, value, record):
        return format_html('<span class="badge {}">{}</span>', record.state, value)

    def value(self, value, record):
        return record.state


class WebhookDeliveryTable(ConsoleTable):
    id = tables.Column(linkify=True, verbose_name="Delivery")
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d H:i:s")
    event_type = tables.Column(accessor="event__event_type", verbose_name="Event type")
    subject = tables.Column(accessor="event__subject", verbose_name="Subject")
    endpoint = tables.Column(linkify=True)
    state = StateColumn()
    attempts = tables.Column(attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    next_attempt_at = tables.DateTimeColumn(verbose_name="Next attempt", format="Y-m-d H:i:s")

    class Meta(ConsoleTable.Meta):
        model = WebhookDelivery
        fields = (
            "id",
            "created_at",
            "event_type",
            "subject",
            "endpoint",
            "state",
            "attempts",
            "next_attempt_at",
        )
