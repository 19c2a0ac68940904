"""Writes of the outbox: publish an event, manage endpoints, claim, send and record deliveries.

A delivery's row is the truth. ``publish`` writes the event and one pending delivery per
matching active endpoint in the caller's transaction; after commit a Celery task is asked to
send each one (a nudge: if the broker loses it, the periodic sweep finds the row due anyway).
Sending claims the row first with ``SELECT ... FOR UPDATE SKIP LOCKED`` and marks it claimed
for the length of one attempt, so two workers never send the same attempt; the HTTP call
happens outside any transaction; its outcome is recorded afterwards.
"""

import dataclasses
import datetime as dt
import json
import logging
import random
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import (
    DeliveryAttempt,
    DeliveryState,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from core.outbox import signing
from core.outbox.registry import is_registered

logger = logging.getLogger("core.outbox")

TEST_EVENT_TYPE = "webhook.test"
RESPONSE_BODY_LIMIT = 2000  # characters of an endpoint's answer kept with each attempt
CLAIM_MARGIN_SECONDS = 60  # beyond the HTTP timeout, before a crashed worker's claim lapses
USER_AGENT = "mvno-billing-webhooks/1"


# --- publishing -------------------------------------------------------------------------------


def publish(*, event_type: str, payload: dict, brand=None, subject: str = "") -> OutboxEvent:
    """Write an event and its deliveries in the current transaction; send them after commit.

    Call it inside the transaction of the business change it reports: if that transaction
    rolls back, the event and its deliveries vanish with it and nothing is sent. ``payload``
    is JSON (Decimals are written as strings, instants in ISO 8601); ``brand`` is the brand
    the event belongs to (None: the platform's); ``subject`` names what the event is about.
    """
    if not is_registered(event_type):
        raise ValueError(f"event type {event_type!r} is not registered (register_event_types)")
    return _publish(
        event_type=event_type, payload=payload, brand=brand, subject=subject, endpoints=None
    )


def publish_many(*, event_type: str, events: list[tuple[dict, object, str]]) -> int:
    """Publish many events of one type at once: ``events`` holds (payload, brand, subject).

    The same contract as ``publish`` (inside the business transaction, sent after commit), for
    a bulk action such as issuing a bill run's invoices: the events and their deliveries are
    written in two bulk inserts, the endpoints looked up once per brand. Return how many events.
    """
    if not is_registered(event_type):
        raise ValueError(f"event type {event_type!r} is not registered (register_event_types)")
    if not events:
        return 0
    now = timezone.now()
    with transaction.atomic():
        written = OutboxEvent.objects.bulk_create(
            OutboxEvent(
                event_type=event_type,
                payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
                brand=brand,
                subject=subject[:200],
                occurred_at=now,
            )
            for payload, brand, subject in events
        )
        endpoints_of: dict = {}
        deliveries = []
        for event in written:
            if event.brand_id not in endpoints_of:
                endpoints_of[event.brand_id] = [
                    e for e in _endpoints_for(event.brand) if e.wants(event_type)
                ]
            deliveries += [
                WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
                for endpoint in endpoints_of[event.brand_id]
            ]
        ids = [delivery.pk for delivery in WebhookDelivery.objects.bulk_create(deliveries)]
        if ids:
            transaction.on_commit(lambda: _nudge(ids), robust=True)
    return len(written)


def _publish(*, event_type, payload, brand, subject, endpoints, is_test=False) -> OutboxEvent:
    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    now = timezone.now()
    with transaction.atomic():
        event = OutboxEvent.objects.create(
            event_type=event_type,
            payload=data,
            brand=brand,
            subject=subject[:200],
            occurred_at=now,
            is_test=is_test,
        )
        if endpoints is None:
            endpoints = [e for e in _endpoints_for(brand) if e.wants(event_type)]
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
            for endpoint in endpoints
        )
        ids = [delivery.pk for delivery in deliveries]
        if ids:
            transaction.on_commit(lambda: _nudge(ids), robust=True)
    return event


def _endpoints_for(brand):
    """The active endpoints an event of this brand goes to: the brand's and the unbranded."""
    scope = Q(brand__isnull=True)
    if brand is not None:
        scope |= Q(brand=brand)
    return WebhookEndpoint.objects.filter(scope, is_active=True).order_by("pk")


def _nudge(delivery_ids) -> None:
    """Ask a worker to send these deliveries now (the sweep catches any nudge that is lost)."""
    from core.tasks import outbox_deliver_task

    for delivery_id in delivery_ids:
        outbox_deliver_task.delay(delivery_id)


# --- endpoints --------------------------------------------------------------------------------


def _clean_endpoint(data: dict) -> dict:
    errors = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "an endpoint needs a name"
    url = (data.get("url") or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors["url"] = "an http:// or https:// URL"
    types = data.get("event_types") or []
    if not isinstance(types, list | tuple) or not all(isinstance(t, str) for t in types):
        errors["event_types"] = "a list of event types"
        types = []
    unknown = sorted({t for t in types if not is_registered(t)})
    if unknown:
        errors["event_types"] = f"unknown event type(s): {', '.join(unknown)}"
    if errors:
        raise ValidationError(errors)
    return {"name": name, "url": url, "event_types": sorted(set(types))}


def webhook_endpoint_save(
    *, endpoint: WebhookEndpoint | None = None, data: dict, acting_user=None
) -> WebhookEndpoint:
    """Create an endpoint (with a new secret) or change its URL, brand, types or active flag.

    ``data`` holds ``name``, ``url``, ``brand``, ``event_types`` (empty: every type) and
    ``is_active``. Reactivating an endpoint makes its pending deliveries due again.
    """
    current = {}
    if endpoint is not None:
        current = {
            "name": endpoint.name,
            "url": endpoint.url,
            "event_types": endpoint.event_types,
            "brand": endpoint.brand,
            "is_active": endpoint.is_active,
        }
    merged = {**current, **data}
    clean = _clean_endpoint(merged)
    with transaction.atomic():
        if endpoint is None:
            endpoint = WebhookEndpoint(secret=signing.new_secret(), created_by=acting_user)
        else:
            endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        was_active = endpoint.pk is not None and endpoint.is_active
        endpoint.name = clean["name"]
        endpoint.url = clean["url"]
        endpoint.event_types = clean["event_types"]
        endpoint.brand = merged.get("brand")
        endpoint.is_active = bool(merged.get("is_active", True))
        endpoint._change_reason = "saved"
        endpoint.save()
        if endpoint.is_active and not was_active:
            due = list(
                WebhookDelivery.objects.filter(
                    endpoint=endpoint, state=DeliveryState.PENDING
                ).values_list("pk", flat=True)
            )
            if due:
                transaction.on_commit(lambda: _nudge(due), robust=True)
    return endpoint


def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Give the endpoint a new signing secret; requests are signed with it from now on."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.secret = signing.new_secret()
        endpoint.secret_rotated_at = timezone.now()
        endpoint._change_reason = "secret rotated"
        endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return endpoint


def webhook_endpoint_send_test(*, endpoint: WebhookEndpoint, acting_user=None) -> WebhookDelivery:
    """Send a ``webhook.test`` event to this one endpoint, whatever types it wants."""
    if not endpoint.is_active:
        raise ValidationError("The endpoint is paused: activate it to send it a test event.")
    event = _publish(
        event_type=TEST_EVENT_TYPE,
        payload={
            "message": "A test event sent from the billing console.",
            "endpoint": endpoint.name,
            "requestedBy": getattr(acting_user, "username", None),
        },
        brand=endpoint.brand,
        subject=f"test of {endpoint.name}",
        endpoints=[endpoint],
        is_test=True,
    )
    return event.deliveries.get()


# --- deliveries -------------------------------------------------------------------------------


def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Make a pending or failed delivery due now; a failed one gets one more attempt."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if delivery.state == DeliveryState.DELIVERED:
            raise ValidationError("This delivery was delivered already.")
        if not delivery.endpoint.is_active:
            raise ValidationError("The endpoint is paused: activate it to send its deliveries.")
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            raise ValidationError("An attempt is under way; its outcome will show here.")
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = now
        delivery.save(update_fields=["state", "next_attempt_at"])
        pk = delivery.pk
        transaction.on_commit(lambda: _nudge([pk]), robust=True)
    return delivery


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the n-th failed attempt: 30 s doubling, with +/-20 % jitter, up to 6 h."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    jittered = base * random.uniform(0.8, 1.2)
    return dt.timedelta(seconds=min(jittered, settings.OUTBOX_RETRY_MAX_SECONDS))


def webhook_delivery_claim(*, delivery_id: int | None = None) -> WebhookDelivery | None:
    """Claim one due delivery (this one, or the most overdue) for one attempt, or None.

    ``SKIP LOCKED`` passes over a row another worker is claiming; the claim commits at once
    and keeps the row out of every other claim until the attempt is recorded or the claim
    lapses (a crashed worker: the sweep tries it again).
    """
    now = timezone.now()
    lease = dt.timedelta(seconds=settings.OUTBOX_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .filter(endpoint__is_active=True)
        )
        if delivery_id is not None:
            due = due.filter(pk=delivery_id)
        delivery = due.order_by("next_attempt_at", "pk").first()
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.claimed_until = now + lease
        delivery.last_attempt_at = now
        delivery.save(update_fields=["attempts", "claimed_until", "last_attempt_at"])
    return WebhookDelivery.objects.select_related("event__brand", "endpoint").get(pk=delivery.pk)


@dataclasses.dataclass
class Outcome:
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None = None
    response_body: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def event_body(event: OutboxEvent) -> bytes:
    """The JSON an endpoint receives: the event's envelope and its payload under ``data``."""
    envelope = {
        "id": str(event.event_id),
        "type": event.event_type,
        "occurredAt": event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "brand": event.brand.code if event.brand_id else None,
        "subject": event.subject,
        "test": event.is_test,
        "data": event.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def _post(delivery: WebhookDelivery, client: httpx.Client) -> Outcome:
    """POST the event to the endpoint, signed; any answer but a 2xx is a failed attempt."""
    event, endpoint = delivery.event, delivery.endpoint
    body = event_body(event)
    started = timezone.now()
    timestamp = int(started.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_ID_HEADER: str(event.event_id),
        signing.EVENT_TYPE_HEADER: event.event_type,
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.ATTEMPT_HEADER: str(delivery.attempts),
        signing.SIGNATURE_HEADER: signing.signature_header(endpoint.secret, timestamp, body),
    }
    clock = time.monotonic()
    outcome = Outcome(started_at=started, duration_ms=0)
    try:
        with client.stream("POST", endpoint.url, content=body, headers=headers) as response:
            outcome.status_code = response.status_code
            outcome.response_body = _read_some(response)
        if not outcome.succeeded:
            outcome.error = f"HTTP {response.status_code}"
    except httpx.HTTPError as error:
        outcome.error = f"{type(error).__name__}: {error}"[:1000] or type(error).__name__
    outcome.duration_ms = int((time.monotonic() - clock) * 1000)
    return outcome


def _read_some(response: httpx.Response) -> str:
    kept = bytearray()
    for chunk in response.iter_bytes():
        kept.extend(chunk)
        if len(kept) >= RESPONSE_BODY_LIMIT * 4:
            break
    return kept.decode("utf-8", errors="replace")[:RESPONSE_BODY_LIMIT]


def webhook_delivery_record(*, delivery: WebhookDelivery, outcome: Outcome) -> WebhookDelivery:
    """Keep the attempt and decide: delivered, due again after a back-off, or failed."""
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            response_body=outcome.response_body,
            error=outcome.error,
            succeeded=outcome.succeeded,
        )
        delivery.claimed_until = None
        if outcome.succeeded:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            logger.warning(
                "webhook delivery %s to %s failed after %s attempts: %s",
                delivery.pk,
                delivery.endpoint_id,
                delivery.attempts,
                outcome.error,
            )
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.save(update_fields=["state", "delivered_at", "next_attempt_at", "claimed_until"])
    return delivery


def http_client() -> httpx.Client:
    """One client for a batch of deliveries: bounded timeouts, redirects not followed."""
    return httpx.Client(
        timeout=httpx.Timeout(settings.OUTBOX_TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,
    )


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Send one delivery now if it is due and nobody else is sending it; None if not."""
    delivery = webhook_delivery_claim(delivery_id=delivery_id)
    if delivery is None:
        return None
    with http_client() as client:
        outcome = _post(delivery, client)
    return webhook_delivery_record(delivery=delivery, outcome=outcome)


def webhook_deliveries_sweep(*, limit: int = 200, seconds: float = 25.0) -> int:
    """Send the deliveries that are due (a lost nudge, a retry's time come); return how many.

    Bounded by count and time so that one sweep ends before the next is scheduled.
    """
    sent = 0
    deadline = time.monotonic() + seconds
    with http_client() as client:
        while sent < limit and time.monotonic() < deadline:
            delivery = webhook_delivery_claim()
            if delivery is None:
                break
            webhook_delivery_record(delivery=delivery, outcome=_post(delivery, client))
            sent += 1
    return sent


def outbox_events_purge(*, older_than: dt.timedelta, include_failed: bool = False) -> int:
    """Delete events older than ``older_than`` whose deliveries are all done; return how many.

    Done means delivered (or, with ``include_failed``, failed too); an event with a pending
    delivery is always kept. Deliveries and their attempts go with their event.
    """
    settled = (
        [DeliveryState.DELIVERED, DeliveryState.FAILED]
        if include_failed
        else [DeliveryState.DELIVERED]
    )
    cutoff = timezone.now() - older_than
    events = OutboxEvent.objects.filter(occurred_at__lt=cutoff).exclude(
        deliveries__in=WebhookDelivery.objects.exclude(state__in=settled)
    )
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(events.values_list("pk", flat=True)[:1000])
            if not batch:
                return deleted
            OutboxEvent.objects.filter(pk__in=batch).delete()
            deleted += len(batch)
