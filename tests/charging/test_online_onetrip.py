"""The two-call hot path of online charging on PostgreSQL (issue 16): same ledger, R21 guard."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from charging.online import onetrip
from charging.online import services as online
from charging.online.models import ChargingSession, Reservation
from subscribers.models import BalanceMovement
from subscribers.services import balance_of
from tests.charging.online_builders import build_online_catalogue, online_subscriber

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PL/pgSQL functions"),
]
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    with time_machine.travel(NOON, tick=False):
        catalogue = build_online_catalogue()
        alice = online_subscriber(
            catalogue, plan_code="PRE-10", msisdn="4915100000001", imsi="262030000000001"
        )
        bob = online_subscriber(
            catalogue, plan_code="PRE-10", msisdn="4915100000002", imsi="262030000000002"
        )
        yield catalogue, alice, bob


def call(catalogue, session_id, msisdn):
    """One voice call: 120 s asked, 60 s used and 120 s more asked, then 30 s more used."""
    network = catalogue.golden.host_network
    opened = online.charging_initiate(
        host_network=network, session_id=session_id, msisdn=msisdn, service="VOICE_OUT",
        requested_units=120, other_party="4915199999999", visited_plmn="26203",
    )  # fmt: skip
    reference = opened["reference"]
    online.charging_update(host_network=network, reference=reference, request_number=1,
                           used_units=60, requested_units=120)  # fmt: skip
    online.charging_terminate(host_network=network, reference=reference, request_number=2,
                              used_units=30)  # fmt: skip
    return reference


def ledger(subscription, reference):
    session = ChargingSession.objects.get(reference=reference)
    reservations = [
        (r.status, r.units, r.amount, r.committed_units, r.committed_amount, r.released_amount)
        for r in Reservation.objects.filter(session=session).order_by("id")
    ]
    money = [
        (m.kind, m.amount)
        for m in BalanceMovement.objects.filter(billing_account=subscription.billing_account)
        .exclude(kind="topup")
        .order_by("id")
    ]
    event = session.usage_event
    return (session.status, session.used_units, reservations, money, event.retail_amount,
            event.wholesale_amount, event.charged_units)  # fmt: skip


def test_two_call_path_writes_the_ledger_of_the_orm_path(world):
    catalogue, alice, bob = world
    with time_machine.travel(NOON, tick=False):
        with override_settings(ONLINE_ONE_TRIP=False):
            assert not onetrip.enabled()
            orm = call(catalogue, "call-orm", alice.msisdn)
        assert onetrip.enabled()
        fast = call(catalogue, "call-fast", bob.msisdn)
    # The same holds, releases, event and charge, to the micro-unit (R20, R23).
    assert ledger(bob, fast) == ledger(alice, orm)
    assert balance_of(bob.billing_account) == balance_of(alice.billing_account)
    # 90 s used, charged by the minute: 2 min at 0.09 (R12), from a 10.00 top-up.
    assert balance_of(bob.billing_account) == Decimal("9.820000")


def test_write_refuses_a_hold_past_the_balance(world):
    catalogue, alice, _bob = world
    account = alice.billing_account
    with time_machine.travel(NOON, tick=False):
        reference = call(catalogue, "call-1", alice.msisdn)
    session = ChargingSession.objects.get(reference=reference)
    before = balance_of(account)
    payload = {
        "now": NOON.isoformat(), "account": account.pk, "currency": "EUR",
        "request_number": 9, "request_type": "update", "answer": {},
        "session": {"id": session.pk, "status": "active", "granted_units": 0, "used_units": 0,
                    "expires_at": None, "ended_at": None, "usage_event_id": None,
                    "end_reason": "", "last_request_number": 9},
        "hold": {"request_number": 9, "units": 1, "covered_units": 0, "draws": [],
                 "currency": "EUR", "amount": str(before + Decimal("0.01")),
                 "valid_until": NOON.isoformat(), "reason": "more than there is"},
        "floor": "0",
    }  # fmt: skip
    with (
        pytest.raises(DatabaseError, match="overdraft"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT charging_online_write(%s::jsonb)", [json.dumps(payload)])
    # Nothing of the refused hold stays (R21).
    assert balance_of(account) == before
    assert not Reservation.objects.filter(session=session, request_number=9).exists()
