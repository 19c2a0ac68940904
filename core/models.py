"""Shared records: the Idempotency-Key store and the outbox of events going out."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords


class IdempotencyKey(models.Model):
    """The first response to a money-moving POST, replayed for a repeat of the same request.

    The key is unique per user: a database constraint, not a check-then-insert. The first
    request inserts the row before its view runs (core.idempotency), so a concurrent request
    with the same key waits on it and then replays the committed answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    # Empty only inside the claiming transaction: the row commits with its response.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"


# --- the outbox: events going out to webhook endpoints (core.outbox) ------------------------


class WebhookEndpoint(models.Model):
    """A client's webhook subscription (TMF688 hub): where to send which events, signed how.

    An endpoint of a brand receives that brand's events; one without a brand (only users
    who see every brand may make one) receives every brand's events and those that belong to
    no brand. A paused endpoint gets no new deliveries and keeps its pending ones pending.
    """

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500, verbose_name="URL")
    brand = models.ForeignKey(
        "catalog.Brand",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="only this brand's events; empty: every brand's and the platform's",
    )
    event_types = models.JSONField(
        default=list, blank=True, help_text="the event types it wants; empty: all of them"
    )
    secret = models.CharField(max_length=100, help_text="the HMAC-SHA256 signing key")
    is_active = models.BooleanField(default=True, verbose_name="active")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("webhook-detail", args=[self.pk])

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class OutboxEvent(models.Model):
    """An event for the outside world (TMF688 event), written with the change it reports."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=100)
    brand = models.ForeignKey(
        "catalog.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(
        max_length=200, blank=True, help_text="what the event is about, e.g. an invoice number"
    )
    payload = models.JSONField()
    occurred_at = models.DateTimeField(default=timezone.now)
    is_test = models.BooleanField(default=False)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["event_type", "occurred_at"]),
            models.Index(fields=["brand", "occurred_at"]),
        ]
        verbose_name = "outbox event"

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the row is the truth, a Celery task only nudges it."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="when a pending delivery is due"
    )
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="a worker is sending it until then"
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["endpoint", "created_at"]),
        ]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event.event_type} → {self.endpoint}"

    def get_absolute_url(self) -> str:
        return reverse("webhook-delivery-detail", args=[self.pk])


class DeliveryAttempt(models.Model):
    """One POST of a delivery: what the endpoint answered, or why it could not."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="the first characters of the answer")
    error = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["number", "pk"]
        verbose_name = "delivery attempt"

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
