"""Reads of the outbox, scoped by brand like every other read (subscribers.selectors).

The outbox is the one part of core that knows brands: events belong to a brand, and an
operator limited to some brands sees and manages only their endpoints, events and deliveries.
"""

from django.db.models import QuerySet

from core.models import OutboxEvent, WebhookDelivery, WebhookEndpoint


def _brands_of(user):
    from subscribers.selectors import brands_of  # the brand scope's one definition

    return brands_of(user)


def webhook_endpoints_visible_to(user) -> QuerySet[WebhookEndpoint]:
    """The endpoints a user may see: all, or those of the user's brands."""
    brands = _brands_of(user)
    endpoints = WebhookEndpoint.objects.select_related("brand")
    return endpoints if brands is None else endpoints.filter(brand_id__in=brands)


def outbox_events_visible_to(user) -> QuerySet[OutboxEvent]:
    """The events a user may see: all, or those of the user's brands."""
    brands = _brands_of(user)
    events = OutboxEvent.objects.select_related("brand")
    return events if brands is None else events.filter(brand_id__in=brands)


def webhook_deliveries_visible_to(user) -> QuerySet[WebhookDelivery]:
    """The deliveries a user may see: to the endpoints the user may see."""
    brands = _brands_of(user)
    deliveries = WebhookDelivery.objects.select_related("event__brand", "endpoint__brand")
    return deliveries if brands is None else deliveries.filter(endpoint__brand_id__in=brands)


def brand_choices_for(user):
    """The brands a user may give an endpoint."""
    from subscribers.selectors import brands_visible_to

    return brands_visible_to(user)
