"""The hot path of online charging on PostgreSQL: lock-and-read in one call, write in one call.

The same decisions as the ORM path of ``charging.online.services`` (same rating engine, R23;
same holds, releases and charges, R20-R22; same ledger rows), with the database work of a
request in two round trips (migration 0011): ``charging_online_state`` locks the session, the
account and its buckets in the order every service locks them and returns what pricing needs;
the rating engine prices in Python from the process's catalogue cache; ``charging_online_write``
writes the release, the hold, the usage event and its charge, the answer and the session, and
refuses (rolls the transaction back) if a balance would go below its floor or a bucket below
zero (R21). The last measured ORM path took 66 queries a cycle (issue 16, benchmark).

Used for initiate, update and terminate when ``ONLINE_ONE_TRIP`` is on and the database is
PostgreSQL; refusals, closed sessions and threshold notifications (rare) go through the ORM
helpers of the service module, inside the same transaction.
"""

import dataclasses
import datetime as dt
import json
import time
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from catalog.models import PaymentModel
from charging.engine import AccountInfo, BucketState
from charging.online import services as svc
from charging.online.models import (
    ChargingSession,
    NotificationKind,
    Refusal,
    RequestType,
    SessionStatus,
)
from charging.online.notifications import (
    ALLOWANCE_MARKS,
    bucket_key,
    low_balance_key,
    low_balance_mark,
)
from charging.rating import EVENT_FIELDS, usage_event_values
from core.money import quantize_rated
from core.periods import billing_period_containing
from subscribers.models import BucketSource

ZERO = Decimal("0")
_SESSION_TIMES = ("started_at", "last_request_at", "expires_at", "ended_at")
# (subscription id) -> (period start, period end, monotonic time): plan allowances granted.
_granted: dict[int, tuple] = {}
GRANT_MEMO_SECONDS = 300


def enabled() -> bool:
    """Whether requests take the two-call path (PostgreSQL and ``ONLINE_ONE_TRIP``)."""
    return connection.vendor == "postgresql" and bool(getattr(settings, "ONLINE_ONE_TRIP", True))


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dumps(value) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _time(value):
    return None if value is None else dt.datetime.fromisoformat(value)


def _state(*, network_id=None, reference=None, session_id=None, number: int) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT charging_online_state(%s, %s, %s, %s)::text",
            [network_id, reference, session_id, number],
        )
        text = cursor.fetchone()[0]
    return None if text is None else json.loads(text, parse_float=Decimal)


def _write(payload: dict) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT charging_online_write(%s::jsonb)::text", [_dumps(payload)])
        return json.loads(cursor.fetchone()[0])


def session_insert(session: ChargingSession) -> bool:
    """Insert a new session in one statement; False if the network's session id is taken.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint around an INSERT that may fail: one round
    trip, not three. A concurrent twin waits on the unique key, then finds the first (R20).
    """
    fields = [f for f in ChargingSession._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(f.pre_save(session, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ChargingSession._meta.db_table} ({columns}) VALUES ({marks}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    session.pk = row[0]
    session._state.adding = False
    return True


def _session_of(row: dict, host_network) -> ChargingSession:
    fields = dict(row)
    for name in _SESSION_TIMES:
        fields[name] = _time(fields[name])
    session = ChargingSession(**fields)
    session.host_network = host_network
    return session


@dataclasses.dataclass
class _Held:
    id: int
    draws: list
    amount: Decimal
    currency: str


class _StatePricing(svc._Pricing):
    """The pricing of ``services._Pricing`` built from the state document (no queries)."""

    def __init__(self, session: ChargingSession, state: dict) -> None:
        account = state["account"]
        self.session = session
        self.term = svc._Term(
            subscription_id=session.subscription_id,
            billing_account_id=session.billing_account_id,
            plan_id=state["plan"],
            msisdn=session.msisdn,
        )
        self.account = account
        self.engine = svc.RatingEngine(svc.shared_catalog())
        self.info = AccountInfo(account["timezone"], account["bill_cycle_day"])
        held = state["held"]
        self.held = (
            None
            if held is None
            else _Held(held["id"], held["draws"], Decimal(held["amount"]), held["currency"])
        )
        back = dict(self.held.draws) if self.held else {}
        rows = state["buckets"]
        zones = svc._allowance_zones(
            {row["allowance_id"] for row in rows if row["allowance_id"]}, self.engine.cache
        )
        self.bucket_rows = {row["id"]: row for row in rows}
        self.buckets = []
        for row in rows:
            destinations, roamings = zones.get(row["allowance_id"], (frozenset(), frozenset()))
            self.buckets.append(
                BucketState(
                    id=row["id"],
                    subscription_id=row["subscription_id"],
                    billing_account_id=row["billing_account_id"],
                    shared=row["shared"],
                    from_plan=row["source"] == BucketSource.PLAN,
                    plan_id=row["plan_id"],
                    services=frozenset(row["services"]),
                    destination_zones=destinations,
                    roaming_zones=roamings,
                    valid_from=_time(row["valid_from"]),
                    valid_to=_time(row["valid_to"]),
                    # What other sessions and usage left, plus what this session holds (R21).
                    remaining=row["initial"] + row["moved"] + back.get(row["id"], 0),
                )
            )
        self.buckets.sort(key=BucketState.sort_key)
        counts, notified = {}, set()
        for policy_id, period_start, total, was_notified in state["fair_use"]:
            key = (session.subscription_id, policy_id, _time(period_start))
            counts[key] = total
            if was_notified:
                notified.add(key)
        self.fair_use = (counts, notified)
        self.balance = quantize_rated(Decimal(state["balance"]))
        self.notified = set(state["notified"])
        model = account["payment_model"]
        if model == PaymentModel.POSTPAID:
            self.money = self.floor = None
        else:
            limit = Decimal(account["credit_limit"])
            self.floor = -limit if model == PaymentModel.HYBRID else ZERO
            self.money = self.balance + (self.held.amount if self.held else ZERO) - self.floor


def _session_fields(session: ChargingSession) -> dict:
    return {
        "id": session.pk, "status": session.status, "granted_units": session.granted_units,
        "used_units": session.used_units, "expires_at": session.expires_at,
        "ended_at": session.ended_at, "usage_event_id": session.usage_event_id,
        "end_reason": session.end_reason,
        "last_request_number": session.last_request_number,
    }  # fmt: skip


def _payload(pricing: _StatePricing, *, number: int, kind: str, answer: dict, now) -> dict:
    session = pricing.session
    session.last_request_number = max(session.last_request_number, number)
    return {
        "now": now, "account": session.billing_account_id,
        "currency": pricing.account["currency"], "request_number": number,
        "request_type": kind, "answer": answer, "session": _session_fields(session),
    }  # fmt: skip


def _release_of(held: _Held, session, *, committed: Decimal, committed_units: int) -> dict:
    """The closing of a hold: all of it released, ``committed`` of it committed."""
    committed = min(committed, held.amount)
    return {
        "id": held.id, "draws": held.draws, "amount": held.amount,
        "currency": held.currency or "EUR", "reason": f"release session {session.reference}",
        "status": "committed" if committed_units else "released",
        "committed_units": committed_units, "committed_amount": committed,
        "released_amount": held.amount - committed,
    }  # fmt: skip


def _hold_of(pricing: _StatePricing, *, units: int, rating, number: int, now) -> dict:
    session = pricing.session
    return {
        "request_number": number, "units": units, "covered_units": rating.covered_units,
        "draws": [list(d) for d in rating.draws], "currency": rating.currency,
        "amount": rating.retail_amount if pricing.money is not None else ZERO,
        "valid_until": now + dt.timedelta(seconds=svc.validity_seconds()),
        "reason": f"hold {session.service} session {session.reference}",
    }  # fmt: skip


def _guard(payload: dict, pricing: _StatePricing) -> dict:
    """Ask the write to check the floor when the request takes money (R21)."""
    taken = (payload.get("hold") or {}).get("amount") or ZERO
    back = (payload.get("release") or {}).get("amount") or ZERO
    if pricing.floor is not None and taken > back:
        payload["floor"] = pricing.floor
    return payload


def _ensure_grants(session: ChargingSession) -> None:
    """Grant the plan allowances of the session's period once (R12), remembered a while."""
    memo = _granted.get(session.subscription_id)
    instant = session.started_at
    if memo and memo[0] <= instant < memo[1] and time.monotonic() - memo[2] < GRANT_MEMO_SECONDS:
        return
    from subscribers.models import BillingAccount

    account = BillingAccount.objects.only("timezone", "bill_cycle_day").get(
        pk=session.billing_account_id
    )
    period = AccountInfo(account.timezone, account.bill_cycle_day).period_at(instant)
    svc.buckets_grant(
        periods=[(session.subscription_id, session.billing_account_id, period.start, period.end)]
    )
    subscription_id = session.subscription_id
    transaction.on_commit(
        lambda: _granted.__setitem__(subscription_id, (period.start, period.end, time.monotonic()))
    )


def charging_initiate(*, host_network, session_id, request_number, requested_units, now,
                      **opening) -> dict:  # fmt: skip
    """``services.charging_initiate`` in two calls (called by it, inside no transaction)."""
    with transaction.atomic():
        session, refusal, twin = svc._open(
            host_network=host_network, session_id=session_id, kind=RequestType.INITIAL,
            number=request_number, now=now, **opening,
        )  # fmt: skip
        if twin:
            return svc._replay_or_error(session, request_number)
        if refusal:
            answer = svc._answer(session, result=refusal, number=request_number)
            return svc._store(session, request_number, RequestType.INITIAL, answer, now)
        _ensure_grants(session)
        state = _state(session_id=session.pk, number=request_number)
        pricing = _StatePricing(session, state)
        rating = pricing.rate(requested_units)
        if rating.status != "rated":
            return svc._refuse(session, Refusal.NO_RATE, request_number, RequestType.INITIAL,
                               now, detail=rating.detail)  # fmt: skip
        granted = pricing.largest_grant(0, requested_units)
        if requested_units and not granted:
            return svc._refuse(
                session, Refusal.CREDIT_LIMIT_REACHED, request_number, RequestType.INITIAL, now
            )
        hold = _hold_of(pricing, units=granted, rating=pricing.rate(granted),
                        number=request_number, now=now)  # fmt: skip
        session.granted_units = granted
        session.expires_at = now + dt.timedelta(seconds=svc.validity_seconds())
        answer = svc._answer(
            session, granted=granted, final=granted < requested_units, number=request_number
        )
        payload = _payload(pricing, number=request_number, kind=RequestType.INITIAL,
                           answer=answer, now=now)  # fmt: skip
        payload["hold"] = hold
        _write(_guard(payload, pricing))
        return answer


def _open_state(host_network, reference, number, kind, now):
    """Lock and read a session; return (state, session) or (answer, None) when it is done."""
    state = _state(network_id=host_network.pk, reference=reference, number=number)
    if state is None:
        return svc._answer(None, result=Refusal.UNKNOWN_SESSION, number=number), None
    if state["replay"] is not None:
        return state["replay"], None
    session = _session_of(state["session"], host_network)
    closed = svc._closed_answer(session, number)
    if closed is not None:
        return svc._store(session, number, kind, closed, now), None
    return state, session


def charging_update(*, host_network, reference, request_number, used_units, requested_units,
                    now) -> dict:  # fmt: skip
    """``services.charging_update`` in two calls."""
    with transaction.atomic():
        state, session = _open_state(
            host_network, reference, request_number, RequestType.UPDATE, now
        )
        if session is None:
            return state
        requested_units = svc.units_of(requested_units, session)
        svc._add_used(session, svc.units_of(used_units, session))
        pricing = _StatePricing(session, state)
        used = session.used_units
        payload = None
        if pricing.rate(used + requested_units).status != "rated":
            answer = svc._answer(session, result=Refusal.NO_RATE, number=request_number)
        else:
            granted = pricing.largest_grant(used, requested_units)
            hold = _hold_of(pricing, units=used + granted, rating=pricing.rate(used + granted),
                            number=request_number, now=now)  # fmt: skip
            session.granted_units = used + granted
            session.expires_at = now + dt.timedelta(seconds=svc.validity_seconds())
            result = svc.SUCCESS if granted or not requested_units else (
                Refusal.CREDIT_LIMIT_REACHED
            )  # fmt: skip
            answer = svc._answer(
                session, result=result, granted=granted, final=granted < requested_units,
                number=request_number,
            )  # fmt: skip
            payload = _payload(pricing, number=request_number, kind=RequestType.UPDATE,
                               answer=answer, now=now)  # fmt: skip
            payload["hold"] = hold
            if pricing.held is not None:
                payload["release"] = _release_of(
                    pricing.held, session, committed=ZERO, committed_units=0
                )
        if payload is None:
            payload = _payload(pricing, number=request_number, kind=RequestType.UPDATE,
                               answer=answer, now=now)  # fmt: skip
        _write(_guard(payload, pricing))
        return answer


def _needs_notifications(pricing: _StatePricing, rating, balance, now) -> bool:
    """Whether a committed event crosses a threshold not told yet (notifications module)."""
    told = pricing.notified
    for bucket_id, quantity in rating.draws:
        row = pricing.bucket_rows.get(bucket_id)
        if row is None or not row["initial"]:
            continue
        share = Decimal(-row["used"] + quantity) / row["initial"]
        for mark, kind in ALLOWANCE_MARKS:
            if share >= mark and f"{kind} {bucket_key(bucket_id)}" not in told:
                return True
    if rating.notify_fair_use:
        return True
    if balance is not None and balance < low_balance_mark():
        account = pricing.account
        period = billing_period_containing(
            now, tz=account["timezone"], cycle_day=account["bill_cycle_day"]
        )
        return f"{NotificationKind.LOW_BALANCE} {low_balance_key(period.start)}" not in told
    return False


def charging_terminate(*, host_network, reference, request_number, used_units, now) -> dict:
    """``services.charging_terminate`` in two calls (three when a threshold is crossed)."""
    with transaction.atomic():
        state, session = _open_state(
            host_network, reference, request_number, RequestType.TERMINATE, now
        )
        if session is None:
            return state
        svc._add_used(session, svc.units_of(used_units, session))
        pricing = _StatePricing(session, state)
        used = session.used_units
        rating = pricing.rate(used)
        money = pricing.money is not None and rating.status == "rated"
        amount = rating.retail_amount if money else ZERO
        amount = amount or ZERO
        source = host_network.code
        record = pricing.record(used)
        values = usage_event_values(record, rating, source=source, term=pricing.term, now=now)
        session.status = SessionStatus.TERMINATED
        session.ended_at = now
        session.expires_at = None
        session.end_reason = ""
        answer = svc._answer(session, number=request_number)
        payload = _payload(pricing, number=request_number, kind=RequestType.TERMINATE,
                           answer=answer, now=now)  # fmt: skip
        held = pricing.held
        if held is not None:
            payload["release"] = _release_of(held, session, committed=amount,
                                             committed_units=used)  # fmt: skip
        payload["charge"] = {
            "event": dict(zip(EVENT_FIELDS, values, strict=True)),
            "draws": [list(d) for d in rating.draws],
            "fair_use": [list(f) for f in rating.fair_use],
            "notify_fair_use": rating.notify_fair_use,
            "subscription_id": session.subscription_id,
            "amount": amount,
            "reason": f"{session.service} session {session.reference}",
            "draw_reason": f"{session.service} {source}/{record.record_id}",
        }  # fmt: skip
        written = _write(_guard(payload, pricing))
        session.usage_event_id = written["usage_event"]
        if rating.status == "rated":
            balance = None
            if pricing.money is not None:
                balance = pricing.balance + (held.amount if held else ZERO) - amount
            if _needs_notifications(pricing, rating, balance, now):
                _notify(session, rating, balance, now)
        return answer


def _notify(session: ChargingSession, rating, balance, now) -> None:
    from subscribers.models import BillingAccount, Subscription

    account = BillingAccount.objects.select_related("customer__brand").get(
        pk=session.billing_account_id
    )
    subscription = Subscription.objects.get(pk=session.subscription_id)
    svc.notifications_after_usage(
        account=account, subscription=subscription, rating=rating, balance=balance, now=now
    )
