"""The outbox: events published with the change they report, delivered signed after commit,
retried with growing delays until delivered or failed, never sent twice at once."""

import datetime as dt
import json
import threading
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from core.models import DeliveryState, OutboxEvent, WebhookDelivery
from core.outbox import event_types, publish, register_event_types
from core.outbox import services as outbox
from core.outbox.signing import SIGNATURE_HEADER, verify
from tests.catalog.factories import BrandFactory
from tests.core.webhook_server import start_receiver

START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

# "payment.received" is the invoicing's own type (invoicing.apps); the example is this test's.
register_event_types({"example.issued": "An example was issued."})


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def make_endpoint(receiver, **data):
    return outbox.webhook_endpoint_save(
        data={"name": data.pop("name", "CRM"), "url": receiver.url, **data}
    )


def headers_of(received) -> dict:
    return {key.lower(): value for key, value in received.headers.items()}


# --- registry -------------------------------------------------------------------------------


def test_event_types_are_registered_with_a_description_and_checked():
    assert event_types()["example.issued"] == "An example was issued."
    assert "webhook.test" in event_types()  # core's own
    with pytest.raises(ValueError, match="namespaced"):
        register_event_types({"InvoiceIssued": "no namespace"})
    with pytest.raises(ValueError, match="registered already"):
        register_event_types({"example.issued": "another meaning"})
    with pytest.raises(ValueError, match="not registered"):
        publish(event_type="invoice.isued", payload={})


# --- publish and deliver --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_event_published_in_a_rolled_back_transaction_sends_nothing(receiver):
    make_endpoint(receiver)

    with pytest.raises(RuntimeError), transaction.atomic():
        publish(event_type="example.issued", payload={"number": "INV-1"})
        raise RuntimeError("the business change failed")

    assert OutboxEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    assert outbox.webhook_deliveries_sweep() == 0
    assert receiver.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_is_delivered_signed_to_a_local_server(receiver):
    endpoint = make_endpoint(receiver)
    brand = BrandFactory(code="LOREM")
    with transaction.atomic():
        event = publish(
            event_type="example.issued",
            payload={"number": "INV-1", "total": {"unit": "EUR", "value": "19.99"}},
            brand=brand,
            subject="INV-1",
        )
        assert receiver.count() == 0  # nothing leaves before commit

    assert receiver.count() == 1
    received = receiver.requests[0]
    headers = headers_of(received)
    assert headers["webhook-id"] == str(event.event_id)
    assert headers["webhook-event"] == "example.issued"
    assert headers["content-type"] == "application/json"
    timestamp = int(headers["webhook-timestamp"])
    assert verify(endpoint.secret, headers[SIGNATURE_HEADER.lower()], received.body, now=timestamp)
    assert not verify("whsec_other", headers["webhook-signature"], received.body, now=timestamp)
    assert not verify(
        endpoint.secret, headers["webhook-signature"], received.body + b" ", now=timestamp
    )
    body = json.loads(received.body)
    assert body["id"] == str(event.event_id)
    assert body["type"] == "example.issued"
    assert body["brand"] == "LOREM"
    assert body["data"] == {"number": "INV-1", "total": {"unit": "EUR", "value": "19.99"}}
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.attempts == 1
    attempt = delivery.log.get()
    assert attempt.succeeded and attempt.status_code == 200
    assert attempt.response_body == '{"ok": true}'


@pytest.mark.django_db(transaction=True)
def test_events_go_to_matching_active_endpoints_of_their_brand(receiver):
    lorem, ipsum = BrandFactory(code="LOREM"), BrandFactory(code="IPSUM")
    every = make_endpoint(receiver, name="every brand")
    of_lorem = make_endpoint(receiver, name="lorem", brand=lorem)
    of_ipsum = make_endpoint(receiver, name="ipsum", brand=ipsum)
    payments = make_endpoint(receiver, name="payments", event_types=["payment.received"])
    paused = make_endpoint(receiver, name="paused", is_active=False)

    event = publish(event_type="example.issued", payload={}, brand=lorem)
    platform = publish(event_type="example.issued", payload={})

    assert set(event.deliveries.values_list("endpoint", flat=True)) == {every.pk, of_lorem.pk}
    assert set(platform.deliveries.values_list("endpoint", flat=True)) == {every.pk}
    assert not WebhookDelivery.objects.filter(endpoint__in=[of_ipsum, payments, paused]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_endpoint_is_retried_with_growing_delays_then_failed(receiver, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 5
    receiver.status = 500
    receiver.answer = b"boom"
    make_endpoint(receiver)

    with time_machine.travel(START, tick=False) as clock:
        publish(event_type="payment.received", payload={"amount": "5.00"})
        delivery = WebhookDelivery.objects.get()
        delays = []
        while delivery.state == DeliveryState.PENDING:
            assert delivery.next_attempt_at is not None
            delays.append((delivery.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds())
            # A moment before it is due, nothing is sent.
            clock.move_to(delivery.next_attempt_at - dt.timedelta(seconds=1))
            assert outbox.webhook_deliveries_sweep() == 0
            clock.move_to(delivery.next_attempt_at)
            assert outbox.webhook_deliveries_sweep() == 1
            delivery.refresh_from_db()

    assert receiver.count() == 5
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 5
    # The first attempt went at commit; then 30 s doubling with +/-20 % jitter: each wait is
    # longer than the one before.
    waits = delays
    assert len(waits) == 4
    assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))
    assert 24 <= waits[0] <= 36 and 192 <= waits[3] <= 288
    attempts = list(delivery.log.all())
    assert [a.number for a in attempts] == [1, 2, 3, 4, 5]
    assert all(a.status_code == 500 and a.error == "HTTP 500" for a in attempts)
    assert attempts[0].response_body == "boom"
    assert outbox.webhook_deliveries_sweep() == 0  # failed stays failed


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_endpoint_is_a_failed_attempt_with_its_error(receiver, settings):
    settings.OUTBOX_TIMEOUT_SECONDS = 2
    endpoint = make_endpoint(receiver)
    outbox.webhook_endpoint_save(endpoint=endpoint, data={"url": "http://127.0.0.1:9/closed"})
    publish(event_type="payment.received", payload={})
    delivery = WebhookDelivery.objects.get()
    attempt = delivery.log.get()
    assert attempt.status_code is None
    assert "ConnectError" in attempt.error
    assert delivery.state == DeliveryState.PENDING and delivery.next_attempt_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_paused_endpoint_keeps_its_deliveries_pending_until_reactivated(receiver):
    receiver.status = 503
    endpoint = make_endpoint(receiver)
    with time_machine.travel(START, tick=False) as clock:
        publish(event_type="payment.received", payload={})
        outbox.webhook_endpoint_save(endpoint=endpoint, data={"is_active": False})
        clock.shift(dt.timedelta(days=1))
        assert outbox.webhook_deliveries_sweep() == 0
        delivery = WebhookDelivery.objects.get()
        assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1

        receiver.status = 200
        outbox.webhook_endpoint_save(endpoint=endpoint, data={"is_active": True})

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert receiver.count() == 2


@pytest.mark.django_db(transaction=True)
def test_retry_now_gives_a_failed_delivery_one_more_attempt(receiver, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    receiver.status = 404
    make_endpoint(receiver)
    publish(event_type="payment.received", payload={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED

    receiver.status = 204
    outbox.webhook_delivery_retry(delivery=delivery)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.attempts == 2
    assert [a.status_code for a in delivery.log.all()] == [404, 204]


# --- two workers -----------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_deliver_once(receiver):
    endpoint = make_endpoint(receiver)
    outbox.webhook_endpoint_save(endpoint=endpoint, data={"is_active": False})
    publish_to_all = [publish(event_type="payment.received", payload={"n": n}) for n in range(3)]
    assert not WebhookDelivery.objects.exists()  # paused: nothing was due for it
    outbox.webhook_endpoint_save(endpoint=endpoint, data={"is_active": True})
    for event in publish_to_all:
        WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, next_attempt_at=timezone.now()
        )

    barrier = threading.Barrier(8)
    sent = [0] * 8

    def worker(index):
        try:
            barrier.wait()
            for delivery in WebhookDelivery.objects.values_list("pk", flat=True):
                if outbox.webhook_delivery_attempt(delivery_id=delivery) is not None:
                    sent[index] += 1
            sent[index] += outbox.webhook_deliveries_sweep()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(sent) == 3
    assert receiver.count() == 3
    assert sorted(json.loads(r.body)["data"]["n"] for r in receiver.requests) == [0, 1, 2]
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}


@pytest.mark.django_db(transaction=True)
def test_a_claimed_delivery_is_not_claimed_again_until_its_claim_lapses(receiver):
    make_endpoint(receiver)
    with time_machine.travel(START, tick=False) as clock:
        with transaction.atomic():
            publish(event_type="payment.received", payload={})
            delivery = WebhookDelivery.objects.get()
        # The nudge sent it already; make it due again and claim it as a crashed worker would.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.PENDING, next_attempt_at=START
        )
        claimed = outbox.webhook_delivery_claim(delivery_id=delivery.pk)
        assert claimed is not None
        assert outbox.webhook_delivery_claim(delivery_id=delivery.pk) is None
        clock.shift(dt.timedelta(seconds=200))  # the claim lapsed: the worker died
        assert outbox.webhook_deliveries_sweep() == 1
    assert receiver.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_verification_snippet_of_the_docs_accepts_a_real_delivery(receiver):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    snippet = next(
        block.split("```", 1)[0]
        for block in docs.split("```python\n")[1:]
        if "def webhook_is_genuine" in block
    )
    namespace: dict = {}
    exec(snippet, namespace)  # the receiver's code exactly as documented
    webhook_is_genuine = namespace["webhook_is_genuine"]
    endpoint = make_endpoint(receiver)
    publish(event_type="example.issued", payload={"number": "INV-9"})

    received = receiver.requests[0]
    header = headers_of(received)["webhook-signature"]
    assert webhook_is_genuine(endpoint.secret, header, received.body)
    assert not webhook_is_genuine(endpoint.secret, header, received.body.replace(b"9", b"8"))
    assert not webhook_is_genuine("whsec_wrong", header, received.body)


@pytest.mark.django_db(transaction=True)
def test_the_purge_deletes_only_old_events_whose_deliveries_are_all_done(receiver, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    make_endpoint(receiver)
    with time_machine.travel(START, tick=False) as clock:
        delivered = publish(event_type="payment.received", payload={"n": 1})
        receiver.status = 500
        failed = publish(event_type="payment.received", payload={"n": 2})
        settings.OUTBOX_MAX_ATTEMPTS = 5
        pending = publish(event_type="payment.received", payload={"n": 3})
        clock.shift(dt.timedelta(days=10))
        recent = publish(event_type="payment.received", payload={"n": 4})
        clock.shift(dt.timedelta(days=1))

        call_command("outbox_purge", "--days", "5", stdout=StringIO())
        assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {
            failed.pk,
            pending.pk,
            recent.pk,
        }
        out = StringIO()
        call_command("outbox_purge", "--days", "5", "--include-failed", stdout=out)
        assert out.getvalue().strip() == "1 event(s) deleted"
        assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {pending.pk, recent.pk}
    assert delivered.pk not in WebhookDelivery.objects.values_list("event", flat=True)
