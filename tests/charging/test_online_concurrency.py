"""R21 under load: 64 concurrent sessions drain one family pool and one balance, no overdraft.

Each session runs in a thread of its own with its own database connection against PostgreSQL
(the rows are committed, so the test is transactional). The ledger is checked afterwards:
nothing negative, nothing lost, granted = committed + released.
"""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Sum

from charging.models import UsageEvent
from charging.online import services as online
from charging.online.models import ChargingSession, Reservation
from subscribers.models import BalanceMovement, Bucket, BucketMovement
from subscribers.services import balance_of, bucket_remaining
from tests.charging.online_builders import (
    MB,
    build_online_catalogue,
    online_account,
    online_subscriber,
)

SESSIONS = 64
SUBSCRIBERS = 8
STEP = 10 * MB
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def _session(network, number: int, barrier: threading.Barrier) -> int:
    """Run one data session until the money and units run out; return the units it used."""
    msisdn = f"49151{number % SUBSCRIBERS:08d}"
    try:
        barrier.wait(timeout=60)
        answer = online.charging_initiate(
            host_network=network, session_id=f"load-{number}", msisdn=msisdn, service="DATA",
            requested_units=STEP, visited_plmn="26203", apn="internet",
        )  # fmt: skip
        if answer["result"] != "SUCCESS":
            return 0
        reference, granted, used, request = answer["reference"], answer["grantedUnits"], 0, 1
        while granted:
            used += granted
            answer = online.charging_update(
                host_network=network, reference=reference, request_number=request,
                used_units=granted, requested_units=STEP,
            )  # fmt: skip
            granted, request = answer["grantedUnits"], request + 1
        online.charging_terminate(
            host_network=network, reference=reference, request_number=request, used_units=0
        )
        return used
    finally:
        connection.close()


def test_64_concurrent_sessions_never_overdraw_a_family_pool_or_a_balance():
    with time_machine.travel(NOON, tick=True):
        catalogue = build_online_catalogue()
        account = online_account(catalogue, balance="0.50", name="Family")
        for number in range(SUBSCRIBERS):
            online_subscriber(
                catalogue, plan_code="PRE-FAMILY", msisdn=f"49151{number:08d}",
                imsi=f"2620300{number:08d}", account=account,
            )  # fmt: skip
        network = catalogue.golden.host_network
        barrier = threading.Barrier(SESSIONS)
        with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
            used = list(pool.map(lambda n: _session(network, n, barrier), range(SESSIONS)))

    pool_bucket = Bucket.objects.get(billing_account=account, shared=True)
    charges = -BalanceMovement.objects.filter(billing_account=account, kind="charge").aggregate(
        total=Sum("amount")
    )["total"]
    events = UsageEvent.objects.filter(billing_account=account)
    # Every session ended, or was refused once nothing was left; every hold is closed and its
    # grant is committed + released.
    statuses = dict(
        ChargingSession.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    assert sum(statuses.values()) == SESSIONS
    assert set(statuses) <= {"terminated", "refused"}
    assert set(
        ChargingSession.objects.filter(status="refused").values_list("refusal", flat=True)
    ) <= {"CREDIT_LIMIT_REACHED"}
    assert statuses["terminated"] == events.count()
    assert not Reservation.objects.filter(status="held").exists()
    for reservation in Reservation.objects.all():
        assert reservation.amount == reservation.committed_amount + reservation.released_amount
    # Holds all came back: the ledger's RESERVATION and RELEASE movements cancel out.
    for model, field in ((BalanceMovement, "amount"), (BucketMovement, "quantity")):
        held = model.objects.filter(kind="reservation").aggregate(t=Sum(field))["t"]
        released = model.objects.filter(kind="release").aggregate(t=Sum(field))["t"]
        assert held + released == 0
    # Nothing negative (R21): the pool is used up exactly, the balance stays at zero or above.
    assert bucket_remaining(pool_bucket) == 0
    assert balance_of(account) >= 0
    assert balance_of(account) == Decimal("0.50") - charges
    # Nothing lost: what the sessions used is what the events carry, is what was charged.
    assert sum(used) == events.aggregate(total=Sum("units"))["total"]
    assert events.aggregate(total=Sum("covered_units"))["total"] == 100 * MB
    assert events.aggregate(total=Sum("retail_amount"))["total"] == charges
    # 0.50 at 1.99/GB pays 251 MB past the pool; all but less than one 10 MB step is spent.
    assert charges > Decimal("0.50") - Decimal("0.0199")
    assert sum(used) >= 100 * MB + 240 * MB
