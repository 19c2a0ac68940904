"""Online charging (R20-R23): holds, commits, releases, refusals, replays, expiry."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum

from charging.models import UsageEvent
from charging.online import services as online
from charging.online.models import ChargingRequest, ChargingSession, Reservation
from subscribers.models import BalanceMovement, Bucket, BucketMovement
from subscribers.services import balance_of, bucket_remaining, subscription_bar
from tests.charging.online_builders import (
    MB,
    build_online_catalogue,
    online_subscriber,
)

pytestmark = pytest.mark.django_db
# A Thursday, 14:00 in Berlin: peak band.
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def catalogue():
    return build_online_catalogue()


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(catalogue, clock):
    return online_subscriber(
        catalogue, plan_code="PRE-10", msisdn="4915100000001", imsi="262030000000001"
    )


def start(catalogue, session_id, **data):
    values = {"msisdn": "4915100000001", "service": "VOICE_OUT", "requested_units": 120,
              "other_party": "4915199999999", "visited_plmn": "26203"}  # fmt: skip
    values.update(data)
    return online.charging_initiate(
        host_network=catalogue.golden.host_network, session_id=session_id, **values
    )


def test_voice_is_held_then_charged_once_for_the_whole_call(catalogue, alice):
    account = alice.billing_account
    answer = start(catalogue, "call-1")
    assert answer["result"] == "SUCCESS"
    assert answer["grantedUnits"] == 120
    assert answer["validityTime"] == 300
    # 120 s at 0.09/min held (R20, R21): not available to anyone else.
    assert balance_of(account) == Decimal("9.820000")
    final = online.charging_terminate(
        host_network=catalogue.golden.host_network, reference=answer["reference"],
        request_number=1, used_units=61,
    )  # fmt: skip
    assert final["result"] == "SUCCESS"
    # 61 s on 60/60 is 120 s, 0.18 (R9, R23); the hold came back whole.
    assert balance_of(account) == Decimal("9.820000")
    event = UsageEvent.objects.get()
    assert (event.charged_units, event.retail_amount) == (120, Decimal("0.180000"))
    assert event.wholesale_amount == Decimal("0.004067")
    reservation = Reservation.objects.get()
    assert reservation.status == "committed"
    assert reservation.amount == reservation.committed_amount + reservation.released_amount


def test_data_draws_the_allowance_before_money(catalogue, alice):
    answer = start(catalogue, "data-1", service="DATA", requested_units=600 * MB,
                   other_party="", apn="internet")  # fmt: skip
    assert answer["grantedUnits"] == 600 * MB
    bucket = Bucket.objects.get(subscription=alice, name="Data 1 GB")
    assert bucket_remaining(bucket) == 400 * MB
    assert balance_of(alice.billing_account) == Decimal("10.000000")
    more = online.charging_update(
        host_network=catalogue.golden.host_network, reference=answer["reference"],
        request_number=1, used_units=600 * MB, requested_units=600 * MB,
    )  # fmt: skip
    # 1 GB of allowance, then 200 MB at 1.99/GB = 0.398 held (R11, R12).
    assert more["grantedUnits"] == 600 * MB
    assert bucket_remaining(bucket) == 0
    assert balance_of(alice.billing_account) == Decimal("9.602000")
    online.charging_terminate(
        host_network=catalogue.golden.host_network, reference=answer["reference"],
        request_number=2, used_units=100 * MB,
    )  # fmt: skip
    event = UsageEvent.objects.get()
    assert (event.units, event.covered_units) == (700 * MB, 700 * MB)
    assert event.retail_amount == Decimal("0.000000")
    assert bucket_remaining(bucket) == 300 * MB
    assert balance_of(alice.billing_account) == Decimal("10.000000")


def test_a_grant_is_cut_to_what_the_balance_pays(catalogue, clock):
    online_subscriber(catalogue, plan_code="PRE-10", msisdn="4915100000002",
                      imsi="262030000000002", balance="0.10")  # fmt: skip
    answer = start(catalogue, "call-2", msisdn="4915100000002", requested_units=300)
    # 0.10 pays one minute at 0.09 (R21).
    assert answer["grantedUnits"] == 60
    assert answer["finalUnit"] is True


def test_an_empty_balance_is_refused_credit_limit_reached(catalogue, clock):
    subscription = online_subscriber(catalogue, plan_code="PRE-10", msisdn="4915100000003",
                                     imsi="262030000000003", balance="0")  # fmt: skip
    answer = start(catalogue, "call-3", msisdn="4915100000003")
    assert answer["result"] == "CREDIT_LIMIT_REACHED"
    assert not BalanceMovement.objects.filter(billing_account=subscription.billing_account)
    assert ChargingSession.objects.get().status == "refused"


def test_a_hybrid_account_may_go_down_to_its_credit_limit(catalogue, clock):
    subscription = online_subscriber(
        catalogue, plan_code="HYB-10", msisdn="4915100000004", imsi="262030000000004",
        balance="0", credit_limit="0.20",
    )  # fmt: skip
    answer = start(catalogue, "call-4", msisdn="4915100000004", requested_units=600)
    assert answer["grantedUnits"] == 120
    assert balance_of(subscription.billing_account) == Decimal("-0.180000")


def test_refusals_say_why(catalogue, alice):
    assert start(catalogue, "x-1", msisdn="4915199990000")["result"] == "UNKNOWN_SUBSCRIBER"
    roaming_sms = start(catalogue, "x-2", service="SMS_OUT", requested_units=1,
                        visited_plmn="50501")  # fmt: skip
    assert roaming_sms["result"] == "NO_RATE"
    subscription_bar(subscription=alice, effective_at=NOON - dt.timedelta(hours=1))
    assert start(catalogue, "x-3")["result"] == "BARRED"
    incoming = start(catalogue, "x-4", service="VOICE_IN")
    assert incoming["result"] == "SUCCESS"


def test_a_repeated_request_returns_the_first_answer_and_changes_nothing(catalogue, alice):
    first = start(catalogue, "call-5")
    assert start(catalogue, "call-5") == first
    network = catalogue.golden.host_network
    update = {"host_network": network, "reference": first["reference"], "request_number": 1,
              "used_units": 60, "requested_units": 60}  # fmt: skip
    answer = online.charging_update(**update)
    movements = BalanceMovement.objects.count()
    assert online.charging_update(**update) == answer
    assert BalanceMovement.objects.count() == movements
    assert ChargingRequest.objects.count() == 2
    assert ChargingSession.objects.get().used_units == 60


def test_an_sms_is_charged_at_once_and_refunded(catalogue, alice):
    network = catalogue.golden.host_network
    for number in range(10):
        online.charging_event(host_network=network, session_id=f"sms-{number}",
                              msisdn="4915100000001", other_party="4915199999999",
                              visited_plmn="26203")  # fmt: skip
    answer = online.charging_event(host_network=network, session_id="sms-10",
                                   msisdn="4915100000001", other_party="4915199999999",
                                   visited_plmn="26203")  # fmt: skip
    assert answer["result"] == "SUCCESS"
    # Ten from the allowance, the eleventh at 0.09 (R11).
    assert balance_of(alice.billing_account) == Decimal("9.910000")
    refund = online.charging_refund(
        host_network=network, reference=answer["reference"], request_number=1
    )
    assert refund["result"] == "SUCCESS"
    assert balance_of(alice.billing_account) == Decimal("10.000000")


def test_an_expired_grant_is_released_and_a_late_update_is_told(catalogue, alice, clock):
    answer = start(catalogue, "call-6", requested_units=300)
    network = catalogue.golden.host_network
    online.charging_update(host_network=network, reference=answer["reference"],
                           request_number=1, used_units=60, requested_units=60)  # fmt: skip
    assert online.reservations_expire() == 0
    clock.shift(dt.timedelta(seconds=301))
    assert online.reservations_expire() == 1
    session = ChargingSession.objects.get()
    assert session.status == "expired"
    # The minute used is committed, the rest released (R22).
    assert balance_of(alice.billing_account) == Decimal("9.910000")
    late = online.charging_update(host_network=network, reference=answer["reference"],
                                  request_number=2, used_units=60, requested_units=60)  # fmt: skip
    assert late["result"] == "SESSION_EXPIRED"
    assert "R22" in late["detail"]
    held = BalanceMovement.objects.filter(kind="reservation").aggregate(t=Sum("amount"))["t"]
    released = BalanceMovement.objects.filter(kind="release").aggregate(t=Sum("amount"))["t"]
    assert held + released == 0
    assert not BucketMovement.objects.filter(kind="reservation").exclude(
        reference__in=BucketMovement.objects.filter(kind="release").values("reference")
    )


def test_force_release_commits_what_was_used(catalogue, alice, operator):
    answer = start(catalogue, "call-7")
    session = ChargingSession.objects.get(reference=answer["reference"])
    online.charging_session_release(session=session, reason="stuck", acting_user=operator)
    session.refresh_from_db()
    assert session.status == "released"
    assert session.end_reason.endswith("stuck")
    assert balance_of(alice.billing_account) == Decimal("10.000000")


def test_the_beat_schedule_runs_the_expiry_task(catalogue, alice, clock, settings):
    from billing_site.celery import app
    from charging.tasks import reservations_expire_task

    schedule = settings.CELERY_BEAT_SCHEDULE["charging-reservations-expire"]
    assert schedule["task"] in app.tasks
    start(catalogue, "call-8")
    clock.shift(dt.timedelta(seconds=settings.ONLINE_VALIDITY_SECONDS + 1))
    assert reservations_expire_task.delay().get() == 1
    assert ChargingSession.objects.get().status == "expired"


def test_thresholds_are_told_once_as_webhook_events(catalogue, alice):
    from charging.online.models import ChargingNotification
    from core.models import OutboxEvent

    network = catalogue.golden.host_network

    def data(session_id, volume):
        answer = start(catalogue, session_id, service="DATA", requested_units=volume,
                       other_party="", apn="internet")  # fmt: skip
        online.charging_terminate(host_network=network, reference=answer["reference"],
                                  request_number=1, used_units=volume)  # fmt: skip

    data("d-1", 850 * MB)
    data("d-2", 50 * MB)
    assert list(ChargingNotification.objects.values_list("kind", flat=True)) == ["allowance_80"]
    data("d-3", 100 * MB)
    data("d-4", 1000 * MB)  # 1.99 from a balance of 10: 8.01 left, not low yet
    kinds = sorted(ChargingNotification.objects.values_list("kind", flat=True))
    assert kinds == ["allowance_100", "allowance_80"]
    data("d-5", 3100 * MB)  # 6.169 more: 1.841 left, below 2.00
    data("d-6", 100 * MB)
    kinds = sorted(ChargingNotification.objects.values_list("kind", flat=True))
    assert kinds == ["allowance_100", "allowance_80", "low_balance"]
    events = OutboxEvent.objects.order_by("id")
    assert [e.event_type for e in events] == [
        "allowance.threshold_reached", "allowance.threshold_reached", "balance.low",
    ]  # fmt: skip
    assert events[2].payload["balance"] == {"unit": "EUR", "value": "1.841"}
    assert events[0].payload["percent"] == 80
