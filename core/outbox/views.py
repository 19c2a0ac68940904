"""Console pages of the outbox: webhook endpoints and their deliveries.

Every page reads through the brand-scoping selectors: a user limited to some brands sees (and
may act on) only their brands' endpoints and deliveries; another brand's is a 404. Admin and
finance change endpoints and retry deliveries; the other roles read.
"""

import json

from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import generic
from django_tables2 import RequestConfig

from core.console.views import (
    ConsoleActionView,
    ConsoleDetailView,
    ConsoleFormMixin,
    ConsoleListView,
    ModelPermissionMixin,
)
from core.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from core.outbox import services
from core.outbox.filters import WebhookDeliveryFilter, WebhookEndpointFilter
from core.outbox.forms import WebhookEndpointForm
from core.outbox.registry import event_types
from core.outbox.selectors import (
    webhook_deliveries_visible_to,
    webhook_endpoints_visible_to,
)
from core.outbox.tables import WebhookDeliveryTable, WebhookEndpointTable


class EndpointScoped:
    model = WebhookEndpoint

    def get_queryset(self):
        return webhook_endpoints_visible_to(self.request.user)


class DeliveryScoped:
    model = WebhookDelivery

    def get_queryset(self):
        return webhook_deliveries_visible_to(self.request.user)


# --- endpoints --------------------------------------------------------------------------------


class WebhookEndpointListView(EndpointScoped, ConsoleListView):
    table_class = WebhookEndpointTable
    filterset_class = WebhookEndpointFilter
    title = "Webhooks"
    export_name = "webhooks"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.can("add"):
            context["create_url"] = reverse("webhook-create")
        return context


class WebhookEndpointDetailView(EndpointScoped, ConsoleDetailView):
    template_name = "core/webhookendpoint_detail.html"
    fields = ["name", "url", "brand", "is_active", "created_at", "created_by", "secret_rotated_at"]

    def get_fields(self):
        rows = super().get_fields()
        rows.insert(3, ("event types", ", ".join(self.object.event_types) or "all"))
        rows[2] = ("brand", self.object.brand or "every brand and the platform's own events")
        return rows

    def get_actions(self):
        if not self.can("change"):
            return []
        pk = self.object.pk
        return [
            {"label": "Edit", "url": reverse("webhook-edit", args=[pk])},
            {"label": "Reveal secret", "url": reverse("webhook-secret", args=[pk])},
            {"label": "Rotate secret", "url": reverse("webhook-rotate", args=[pk])},
            {"label": "Send a test event", "url": reverse("webhook-test", args=[pk])},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deliveries = WebhookDeliveryTable(
            webhook_deliveries_visible_to(self.request.user).filter(endpoint=self.object),
            exclude=("endpoint",),
            prefix="deliveries-",
        )
        RequestConfig(self.request, paginate={"per_page": 10}).configure(deliveries)
        counts = dict.fromkeys(DeliveryState.values, 0)
        for row in self.object.deliveries.values("state").annotate(n=Count("pk")).order_by():
            counts[row["state"]] = row["n"]
        context.update(
            title=f"Webhook {self.object.name}",
            deliveries=deliveries,
            counts=counts,
            deliveries_url=f"{reverse('webhook-delivery-list')}?endpoint={self.object.pk}",
        )
        return context


class WebhookEndpointFormView(ConsoleFormMixin, generic.FormView):
    form_class = WebhookEndpointForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get_success_url(self):
        return self.object.get_absolute_url()


class WebhookEndpointCreateView(WebhookEndpointFormView):
    model = WebhookEndpoint
    permission_action = "add"
    success_message = "Created webhook"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title="New webhook endpoint", cancel_url=reverse("webhook-list"))
        return context

    def save(self, form):
        return services.webhook_endpoint_save(data=form.cleaned_data, acting_user=self.request.user)


class WebhookEndpointUpdateView(EndpointScoped, WebhookEndpointFormView):
    permission_action = "change"
    success_message = "Saved webhook"

    def get_endpoint(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_initial(self):
        endpoint = self.get_endpoint()
        return {
            "name": endpoint.name,
            "url": endpoint.url,
            "brand": endpoint.brand,
            "event_types": endpoint.event_types,
            "is_active": endpoint.is_active,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        endpoint = self.get_endpoint()
        context.update(
            title=f"Edit webhook {endpoint.name}", cancel_url=endpoint.get_absolute_url()
        )
        return context

    def save(self, form):
        return services.webhook_endpoint_save(
            endpoint=self.get_endpoint(), data=form.cleaned_data, acting_user=self.request.user
        )


class WebhookEndpointSecretView(EndpointScoped, ModelPermissionMixin, generic.DetailView):
    """The signing secret, shown on its own page to those who may change the endpoint."""

    permission_action = "change"
    template_name = "core/webhookendpoint_secret.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Signing secret of {self.object.name}"
        return context


class WebhookEndpointRotateView(EndpointScoped, ConsoleActionView):
    verb = "Rotate the secret"
    explanation = (
        "A new signing secret replaces the current one at once: every request from now on, "
        "retries of earlier events included, is signed with the new secret. Give it to the "
        "receiver first or right after (its page shows it)."
    )
    danger = True

    def perform(self, endpoint):
        services.webhook_endpoint_secret_rotate(endpoint=endpoint)

    def post(self, request, *args, **kwargs):
        super().post(request, *args, **kwargs)
        return HttpResponseRedirect(reverse("webhook-secret", args=[self.object.pk]))


class WebhookEndpointTestView(EndpointScoped, ConsoleActionView):
    verb = "Send a test event"
    explanation = (
        "A webhook.test event goes to this endpoint only, signed like every other event; its "
        "delivery page shows the answer."
    )

    def perform(self, endpoint):
        return services.webhook_endpoint_send_test(endpoint=endpoint, acting_user=self.request.user)


# --- deliveries -------------------------------------------------------------------------------


class WebhookDeliveryListView(DeliveryScoped, ConsoleListView):
    table_class = WebhookDeliveryTable
    filterset_class = WebhookDeliveryFilter
    title = "Webhook deliveries"
    export_name = "webhook-deliveries"


class WebhookDeliveryDetailView(DeliveryScoped, ConsoleDetailView):
    template_name = "core/webhookdelivery_detail.html"
    fields = ["endpoint", "state", "attempts", "next_attempt_at", "delivered_at", "created_at"]

    def get_actions(self):
        actions = []
        endpoint_changeable = self.request.user.has_perm("core.change_webhookendpoint")
        if self.can("change") and self.object.state != DeliveryState.DELIVERED:
            actions.append(
                {
                    "label": "Retry now",
                    "url": reverse("webhook-delivery-retry", args=[self.object.pk]),
                }
            )
        if endpoint_changeable:
            actions.append(
                {
                    "label": "Send a test event",
                    "url": reverse("webhook-test", args=[self.object.endpoint_id]),
                }
            )
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.object.event
        context.update(
            title=f"Delivery {self.object.pk}: {event.event_type}",
            event=event,
            event_description=event_types().get(event.event_type, ""),
            body=json.dumps(json.loads(services.event_body(event)), indent=2, ensure_ascii=False),
            attempt_log=list(self.object.log.all()),
        )
        return context


class WebhookDeliveryRetryView(DeliveryScoped, ConsoleActionView):
    verb = "Retry now"
    explanation = (
        "The event is sent to the endpoint now, signed with its current secret. A failed "
        "delivery gets one more attempt; a pending one goes now instead of at its scheduled "
        "time."
    )

    def perform(self, delivery):
        services.webhook_delivery_retry(delivery=delivery)
