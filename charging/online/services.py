"""The one online charging service: initiate, update, terminate, one-shot events, refunds.

Every request is one transaction. Rows are locked in one global order - the session, then the
billing account, then its buckets in id order - so that concurrent sessions take turns on a
balance or a shared bucket and never deadlock (R21). Mediation locks buckets only, in id order,
so it fits the same order.

A session holds one reservation at a time: the rating engine (the one that rates usage files,
R23) prices the session's units used so far plus the units asked for next *as one event*, so
increments are applied once (R12) and the allowances are drawn first (R11); the hold writes a
RESERVATION movement on each bucket it draws and on the balance. An update closes the hold
(RELEASE) and holds anew; the terminate rates the used units once more, releases the hold and
writes the usage event, its bucket draws (USAGE) and the balance CHARGE. For every closed
reservation granted = committed + released (a database constraint).

A repeated request (same session, same request number) returns the stored answer and changes
nothing (R20): a UNIQUE (session, request number) key.
"""

import dataclasses
import datetime as dt
import secrets
import threading
import time
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from catalog.models import PaymentModel, Service
from charging.cdr import UsageRecord
from charging.engine import (
    AccountInfo,
    BucketState,
    CatalogCache,
    FairUseCounter,
    RatingEngine,
)
from charging.models import FairUseCount, UsageEvent
from charging.online.models import (
    ChargingClient,
    ChargingRequest,
    ChargingSession,
    Refusal,
    RequestType,
    Reservation,
    ReservationStatus,
    SessionStatus,
)
from charging.online.notifications import notifications_after_usage
from charging.rating import usage_event_build, write_side_effects
from subscribers.models import (
    BalanceMovement,
    BillingAccount,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    BucketSource,
    MovementKind,
    SubscriptionStatus,
)
from subscribers.selectors import LookupResult, subscription_term_at
from subscribers.services import balance_of, buckets_grant

ZERO = Decimal("0")
SUCCESS = "SUCCESS"
RECORD_TYPES = {
    Service.VOICE_OUT: "MOC",
    Service.VOICE_IN: "MTC",
    Service.SMS_OUT: "SMSO",
    Service.SMS_IN: "SMST",
    Service.DATA: "PGW",
    Service.EVENT: "EVT",
}
# Barring stops outgoing use; incoming calls and messages still go through (R19).
INCOMING = (Service.VOICE_IN, Service.SMS_IN)


class ChargingError(Exception):
    """A request the service cannot take as it is (a protocol error, not a refusal)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def validity_seconds() -> int:
    """The validity of a grant (R22), ``ONLINE_VALIDITY_SECONDS`` (default 300)."""
    return int(getattr(settings, "ONLINE_VALIDITY_SECONDS", 300))


def _answer(session, *, result=SUCCESS, granted=0, final=False, number=0, detail="") -> dict:
    return {
        "result": result,
        "reference": session.reference if session else "",
        "sessionStatus": session.status if session else "",
        "requestNumber": number,
        "grantedUnits": granted,
        "usedUnits": session.used_units if session else 0,
        "validityTime": validity_seconds() if result == SUCCESS and granted else None,
        "finalUnit": final,
        "detail": detail,
    }


# --- clients ---------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def charging_client_create(*, host_network, name: str) -> tuple[ChargingClient, str]:
    """Create a host network's credential; return it and its token (shown once)."""
    token = secrets.token_urlsafe(32)
    client = ChargingClient.objects.create(
        host_network=host_network, name=name, token_hash=_token_hash(token)
    )
    return client, token


# token hash -> (monotonic time read, client or None): the clients a process has seen lately.
_clients: dict[str, tuple[float, ChargingClient | None]] = {}


def charging_client_authenticate(token: str) -> ChargingClient | None:
    """Return the active client of a token, or None.

    A long-running server remembers an answer ``ONLINE_CLIENT_CACHE_SECONDS`` (default 10;
    0 = ask the database each time): a client deactivated is refused within that time, and a
    request no longer pays a query for its credential (issue 16, benchmark).
    """
    if not token:
        return None
    key = _token_hash(token)
    seconds = float(getattr(settings, "ONLINE_CLIENT_CACHE_SECONDS", 10))
    now = time.monotonic()
    known = _clients.get(key) if seconds > 0 else None
    if known is not None and now - known[0] < seconds:
        return known[1]
    client = (
        ChargingClient.objects.select_related("host_network")
        .filter(token_hash=key, active=True)
        .first()
    )
    if seconds > 0:
        if len(_clients) > 1000:
            _clients.clear()
        _clients[key] = (now, client)
    return client


# --- the state a hold needs ------------------------------------------------------------------

_catalogs = threading.local()


def shared_catalog() -> CatalogCache:
    """The catalogue indexes of this thread, rebuilt every ``ONLINE_CATALOG_CACHE_SECONDS``.

    Loading the rate cards, zones and plan versions was a third of every request's queries
    (issue 16, benchmark): a long-running server keeps one cache across requests. One per
    thread: a CatalogCache fills itself lazily and is not safe to share (a thread could see a
    plan's version list while another is still loading it, and refuse with NO_RATE). Published
    versions never change (they are versioned, R3); a newly published one is seen within the
    interval (default 30 s; 0 = a fresh cache per request, as the tests use).
    """
    seconds = float(getattr(settings, "ONLINE_CATALOG_CACHE_SECONDS", 30))
    if seconds <= 0:
        return CatalogCache()
    now = time.monotonic()
    current = getattr(_catalogs, "current", None)
    if current is None or now - current[0] >= seconds:
        current = _catalogs.current = (now, CatalogCache())
    return current[1]


@dataclasses.dataclass
class _Term:
    """The subscription term of a session, as the engine reads it (TermData's fields)."""

    subscription_id: int
    billing_account_id: int
    plan_id: int
    msisdn: str = ""


class _Pricing:
    """The locked state of one session's account: buckets, balance, fair use; prices units."""

    def __init__(self, session: ChargingSession, term, account: BillingAccount, held) -> None:
        self.session = session
        self.term = term
        self.account = account
        self.engine = RatingEngine(shared_catalog())
        self.info = AccountInfo(account.timezone, account.bill_cycle_day)
        instant = session.started_at
        buckets = list(
            Bucket.objects.select_for_update(of=("self",))
            .filter(
                Q(subscription_id=term.subscription_id)
                | Q(shared=True, billing_account_id=account.pk),
                valid_from__lte=instant,
                valid_to__gt=instant,
            )
            .order_by("pk")
            .select_related("plan_version")
        )
        moved = dict(
            BucketMovement.objects.filter(bucket_id__in=[b.pk for b in buckets])
            .values("bucket_id")
            .annotate(total=Sum("quantity"))
            .values_list("bucket_id", "total")
        )
        back = dict(held.draws) if held else {}
        zones = _allowance_zones(
            {b.allowance_id for b in buckets if b.allowance_id}, self.engine.cache
        )
        self.buckets = []
        for bucket in buckets:
            destinations, roamings = zones.get(bucket.allowance_id, (frozenset(), frozenset()))
            self.buckets.append(
                BucketState(
                    id=bucket.pk,
                    subscription_id=bucket.subscription_id,
                    billing_account_id=bucket.billing_account_id,
                    shared=bucket.shared,
                    from_plan=bucket.source == BucketSource.PLAN,
                    plan_id=bucket.plan_version.plan_id if bucket.plan_version_id else None,
                    services=frozenset(bucket.services),
                    destination_zones=destinations,
                    roaming_zones=roamings,
                    valid_from=bucket.valid_from,
                    valid_to=bucket.valid_to,
                    # What other sessions and usage left, plus what this session holds (R21).
                    remaining=bucket.initial + (moved.get(bucket.pk) or 0) + back.get(bucket.pk, 0),
                )
            )
        self.buckets.sort(key=BucketState.sort_key)
        counts = {}
        for row in (
            FairUseCount.objects.filter(subscription_id=term.subscription_id)
            .values("policy_id", "period_start")
            .annotate(total=Sum("quantity"))
        ):
            counts[(term.subscription_id, row["policy_id"], row["period_start"])] = row["total"]
        notified = {
            tuple(key)
            for key in FairUseCount.objects.filter(
                subscription_id=term.subscription_id, notified=True
            ).values_list("subscription_id", "policy_id", "period_start")
        }
        self.fair_use = (counts, notified)
        # Money: None for a postpaid account (its usage is invoiced, nothing is held).
        if account.payment_model == PaymentModel.POSTPAID:
            self.money = None
        else:
            floor = -account.credit_limit if account.payment_model == PaymentModel.HYBRID else 0
            self.money = balance_of(account) + (held.amount if held else ZERO) - floor

    def record(self, units: int) -> UsageRecord:
        session = self.session
        service = session.service
        return UsageRecord(
            line_number=0, raw="", record_id=f"ONLINE-{session.reference}",
            record_type=RECORD_TYPES[service], service=service, msisdn=session.msisdn,
            imsi=session.imsi, started_at=session.started_at, utc_offset="+0000",
            duration=units if service in (Service.VOICE_OUT, Service.VOICE_IN) else 0,
            volume_uplink=0, volume_downlink=units if service == Service.DATA else 0,
            units=units, other_party=session.other_party, apn=session.apn,
            visited_plmn=session.visited_plmn, cause="NORMAL", charging_id=session.charging_id,
            source=session.host_network.code,
        )  # fmt: skip

    def rate(self, units: int):
        """Price ``units`` of the session as one event on fresh copies of the state (R23)."""
        buckets = [dataclasses.replace(b) for b in self.buckets]
        counts, notified = self.fair_use
        return self.engine.rate(
            self.record(units),
            term=self.term,
            account=self.info,
            source=self.session.host_network.code,
            buckets=buckets,
            buckets_sorted=True,
            fair_use=FairUseCounter(dict(counts), set(notified)),
        )

    def affordable(self, rating) -> bool:
        if rating.status != "rated":
            return False
        return self.money is None or rating.retail_amount <= self.money

    def largest_grant(self, used: int, requested: int) -> int:
        """Return how many of the requested units the money pays, used ones held already (R21)."""
        if self.affordable(self.rate(used + requested)):
            return requested
        low, high, best = 0, requested - 1, 0
        while low <= high:
            middle = (low + high) // 2
            if self.affordable(self.rate(used + middle)):
                best, low = middle, middle + 1
            else:
                high = middle - 1
        return best


def _allowance_zones(allowance_ids, cache: CatalogCache) -> dict[int, tuple[frozenset, frozenset]]:
    """The zones of allowances, kept with the catalogue cache (a published version's allowances
    do not change)."""
    from catalog.models import Allowance

    known = cache.__dict__.setdefault("online_allowance_zones", {})
    missing = set(allowance_ids) - set(known)
    if missing:
        for allowance in Allowance.objects.filter(pk__in=missing).prefetch_related(
            "destination_zones", "roaming_zones"
        ):
            known[allowance.pk] = (
                frozenset(z.code for z in allowance.destination_zones.all()),
                frozenset(z.code for z in allowance.roaming_zones.all()),
            )
    return {pk: known[pk] for pk in allowance_ids if pk in known}


def _term_of(session: ChargingSession):
    return _Term(
        subscription_id=session.subscription_id,
        billing_account_id=session.billing_account_id,
        plan_id=session._plan_id,
        msisdn=session.msisdn,
    )


def _held(session: ChargingSession) -> Reservation | None:
    return session.reservations.filter(status=ReservationStatus.HELD).first()


def _hold(pricing: _Pricing, *, units: int, rating, number: int, now) -> Reservation:
    """Write a reservation of ``units`` priced by ``rating`` and its RESERVATION movements."""
    session = pricing.session
    money = pricing.money is not None
    reservation = Reservation.objects.create(
        session=session, request_number=number, status=ReservationStatus.HELD, units=units,
        covered_units=rating.covered_units, draws=[list(d) for d in rating.draws],
        currency=rating.currency, amount=rating.retail_amount if money else ZERO,
        created_at=now, valid_until=now + dt.timedelta(seconds=validity_seconds()),
    )  # fmt: skip
    reference = reservation.ledger_reference
    reason = f"hold {session.service} session {session.reference}"
    BucketMovement.objects.bulk_create(
        BucketMovement(
            bucket_id=bucket_id,
            kind=BucketMovementKind.RESERVATION,
            quantity=-quantity,
            reason=reason,
            reference=reference,
        )  # fmt: skip
        for bucket_id, quantity in rating.draws
    )
    if reservation.amount:
        BalanceMovement.objects.create(
            billing_account=pricing.account, kind=MovementKind.RESERVATION,
            amount=-reservation.amount, currency=pricing.account.currency, reason=reason,
            reference=reference,
        )  # fmt: skip
    return reservation


def _release(reservation: Reservation, *, committed: Decimal, committed_units: int, now) -> None:
    """Lift a hold whole (RELEASE movements) and record what of it was committed."""
    reference = reservation.ledger_reference
    reason = f"release session {reservation.session.reference}"
    BucketMovement.objects.bulk_create(
        BucketMovement(
            bucket_id=bucket_id,
            kind=BucketMovementKind.RELEASE,
            quantity=quantity,
            reason=reason,
            reference=reference,
        )  # fmt: skip
        for bucket_id, quantity in reservation.draws
    )
    if reservation.amount:
        BalanceMovement.objects.create(
            billing_account_id=reservation.session.billing_account_id,
            kind=MovementKind.RELEASE, amount=reservation.amount, currency=reservation.currency
            or "EUR", reason=reason, reference=reference,
        )  # fmt: skip
    committed = min(committed, reservation.amount)
    reservation.status = (
        ReservationStatus.COMMITTED if committed_units else ReservationStatus.RELEASED
    )
    reservation.committed_units = committed_units
    reservation.committed_amount = committed
    reservation.released_amount = reservation.amount - committed
    reservation.closed_at = now
    reservation.save()


def _commit(pricing: _Pricing, held: Reservation | None, *, now) -> UsageEvent:
    """Rate the used units once (R23), release the hold, write the event and its charge."""
    session = pricing.session
    used = session.used_units
    rating = pricing.rate(used)
    money = pricing.money is not None and rating.status == "rated"
    amount = rating.retail_amount if money else ZERO
    if held is not None:
        _release(held, committed=amount or ZERO, committed_units=used, now=now)
    event = usage_event_build(
        pricing.record(used),
        rating,
        source=session.host_network.code,
        term=pricing.term,
        now=now,
    )
    UsageEvent.objects.bulk_create([event])
    write_side_effects([event])
    if amount:
        BalanceMovement.objects.create(
            billing_account=pricing.account, kind=MovementKind.CHARGE, amount=-amount,
            currency=pricing.account.currency,
            reason=f"{session.service} session {session.reference}",
            reference=f"usage:{event.pk}",
        )  # fmt: skip
    session.usage_event = event
    if rating.status == "rated":
        notifications_after_usage(
            account=pricing.account, subscription=session.subscription, rating=rating,
            balance=balance_of(pricing.account) if pricing.money is not None else None, now=now,
        )  # fmt: skip
    return event


def _lock_state(session: ChargingSession):
    """Lock the account then its buckets (after the session); return the pricing and hold."""
    account = BillingAccount.objects.select_for_update().get(pk=session.billing_account_id)
    held = _held(session)
    return _Pricing(session, _term_of(session), account, held), held


def _ensure_grants(session: ChargingSession, account_info: AccountInfo) -> None:
    """Grant the plan allowances of the session's period, once (R12)."""
    period = account_info.period_at(session.started_at)
    buckets_grant(
        periods=[(session.subscription_id, session.billing_account_id, period.start, period.end)]
    )


def _store(session, number: int, kind: str, answer: dict, now) -> dict:
    ChargingRequest.objects.create(
        session=session, request_number=number, request_type=kind, answer=answer, created_at=now
    )
    session.last_request_number = max(session.last_request_number, number)
    session.last_request_at = now
    session.save()
    return answer


def _replay(session, number: int) -> dict | None:
    stored = ChargingRequest.objects.filter(session=session, request_number=number).first()
    return None if stored is None else stored.answer


# --- initiate and one-shot events ------------------------------------------------------------


def _open(*, host_network, session_id, kind, number, msisdn, imsi, service, other_party,
          visited_plmn, apn, charging_id, started_at, now):  # fmt: skip
    """Find the subscriber and open the session row; return (session, refusal or None).

    A concurrent twin of the same request waits on the unique key and then replays (R20).
    """
    if service not in Service.values:
        raise ChargingError(f"unknown service {service!r}", field="service")
    if not msisdn and not imsi:
        raise ChargingError("a subscriber is named by MSISDN or IMSI", field="subscriber")
    if not visited_plmn and host_network.plmn_codes:
        # A request that names no serving network is on the host network itself (HOME, R7a).
        visited_plmn = host_network.plmn_codes[0]
    term, reason = subscription_term_at(msisdn=msisdn, imsi=imsi, instant=started_at)
    refusal = ""
    if term is None:
        refusal = (
            Refusal.UNKNOWN_SUBSCRIBER
            if reason == LookupResult.UNKNOWN_SUBSCRIBER
            else Refusal.INACTIVE_SUBSCRIPTION
        )
    elif term.status == SubscriptionStatus.BARRED and service not in INCOMING:
        refusal = Refusal.BARRED
    session = ChargingSession(
        reference=uuid.uuid4().hex, host_network=host_network, session_id=session_id,
        charging_id=charging_id, subscription_id=term.subscription_id if term else None,
        billing_account_id=term.billing_account_id if term else None,
        msisdn=msisdn or (term.msisdn if term else ""), imsi=imsi, service=service,
        other_party=other_party, visited_plmn=visited_plmn, apn=apn,
        status=SessionStatus.REFUSED if refusal else SessionStatus.ACTIVE, refusal=refusal,
        started_at=started_at, last_request_at=now, last_request_number=number,
    )  # fmt: skip
    if onetrip.enabled():
        inserted = onetrip.session_insert(session)
    else:
        try:
            with transaction.atomic():
                session.save()
            inserted = True
        except IntegrityError:
            inserted = False
    if not inserted:
        existing = ChargingSession.objects.get(host_network=host_network, session_id=session_id)
        return existing, None, True
    session._plan_id = term.plan_id if term else None
    return session, refusal, False


def _replay_or_error(session, number):
    answer = _replay(session, number)
    if answer is None:
        raise ChargingError(
            f"session {session.session_id} exists; an update or terminate names it",
            field="sessionId",
        )
    return answer


def _opened_pricing(session: ChargingSession):
    """Grant a just-opened session's allowances, lock it and its state, and price it."""
    account = BillingAccount.objects.get(pk=session.billing_account_id)
    _ensure_grants(session, AccountInfo(account.timezone, account.bill_cycle_day))
    session = ChargingSession.objects.select_for_update().get(pk=session.pk)
    session._plan_id = term_plan(session)
    pricing, _ = _lock_state(session)
    return session, pricing


def charging_initiate(
    *, host_network, session_id: str, request_number: int = 0, msisdn: str = "",
    imsi: str = "", service: str, requested_units: int, other_party: str = "",
    visited_plmn: str = "", apn: str = "", charging_id: str = "", started_at=None,
) -> dict:  # fmt: skip
    """Open a session: find the subscriber, price and hold the units asked for (R20, R21)."""
    if requested_units < 0:
        raise ChargingError("requested units are not negative", field="requestedUnits")
    now = timezone.now()
    started_at = started_at or now
    if onetrip.enabled():
        return onetrip.charging_initiate(
            host_network=host_network, session_id=session_id, request_number=request_number,
            requested_units=requested_units, now=now, msisdn=msisdn, imsi=imsi,
            service=service, other_party=other_party, visited_plmn=visited_plmn, apn=apn,
            charging_id=charging_id, started_at=started_at,
        )  # fmt: skip
    existing = ChargingSession.objects.filter(
        host_network=host_network, session_id=session_id
    ).first()
    if existing is not None:
        return _replay_or_error(existing, request_number)
    with transaction.atomic():
        session, refusal, twin = _open(
            host_network=host_network, session_id=session_id, kind=RequestType.INITIAL,
            number=request_number, msisdn=msisdn, imsi=imsi, service=service,
            other_party=other_party, visited_plmn=visited_plmn, apn=apn,
            charging_id=charging_id, started_at=started_at, now=now,
        )  # fmt: skip
        if twin:
            return _replay_or_error(session, request_number)
        if refusal:
            answer = _answer(session, result=refusal, number=request_number)
            return _store(session, request_number, RequestType.INITIAL, answer, now)
        session, pricing = _opened_pricing(session)
        rating = pricing.rate(requested_units)
        if rating.status != "rated":
            return _refuse(session, Refusal.NO_RATE, request_number, RequestType.INITIAL, now,
                           detail=rating.detail)  # fmt: skip
        granted = pricing.largest_grant(0, requested_units)
        if requested_units and not granted:
            return _refuse(
                session, Refusal.CREDIT_LIMIT_REACHED, request_number, RequestType.INITIAL, now
            )
        _hold(pricing, units=granted, rating=pricing.rate(granted), number=request_number,
              now=now)  # fmt: skip
        session.granted_units = granted
        session.expires_at = now + dt.timedelta(seconds=validity_seconds())
        answer = _answer(
            session, granted=granted, final=granted < requested_units, number=request_number
        )
        return _store(session, request_number, RequestType.INITIAL, answer, now)


def term_plan(session: ChargingSession) -> int:
    """The plan of the session's subscription at its start (its term's plan)."""
    term, _ = subscription_term_at(
        msisdn=session.msisdn, imsi="" if session.msisdn else session.imsi,
        instant=session.started_at,
    )  # fmt: skip
    return term.plan_id


def _refuse(session, refusal, number, kind, now, detail="") -> dict:
    session.status = SessionStatus.REFUSED
    session.refusal = refusal
    session.ended_at = now
    answer = _answer(session, result=refusal, number=number, detail=detail[:200])
    return _store(session, number, kind, answer, now)


def charging_event(
    *, host_network, session_id: str, request_number: int = 0, msisdn: str = "",
    imsi: str = "", service: str = Service.SMS_OUT, units: int = 1, other_party: str = "",
    visited_plmn: str = "", charging_id: str = "", started_at=None,
) -> dict:  # fmt: skip
    """Charge a one-shot event (an SMS): reserve and commit at once, all or nothing."""
    if units < 1:
        raise ChargingError("an event has at least one unit", field="units")
    now = timezone.now()
    started_at = started_at or now
    existing = ChargingSession.objects.filter(
        host_network=host_network, session_id=session_id
    ).first()
    if existing is not None:
        return _replay_or_error(existing, request_number)
    with transaction.atomic():
        session, refusal, twin = _open(
            host_network=host_network, session_id=session_id, kind=RequestType.EVENT,
            number=request_number, msisdn=msisdn, imsi=imsi, service=service,
            other_party=other_party, visited_plmn=visited_plmn, apn="",
            charging_id=charging_id, started_at=started_at, now=now,
        )  # fmt: skip
        if twin:
            return _replay_or_error(session, request_number)
        if refusal:
            answer = _answer(session, result=refusal, number=request_number)
            return _store(session, request_number, RequestType.EVENT, answer, now)
        session, pricing = _opened_pricing(session)
        rating = pricing.rate(units)
        if rating.status != "rated":
            return _refuse(session, Refusal.NO_RATE, request_number, RequestType.EVENT, now,
                           detail=rating.detail)  # fmt: skip
        if not pricing.affordable(rating):
            return _refuse(
                session, Refusal.CREDIT_LIMIT_REACHED, request_number, RequestType.EVENT, now
            )
        held = _hold(pricing, units=units, rating=rating, number=request_number, now=now)
        session.granted_units = session.used_units = units
        _commit(pricing, held, now=now)
        session.status = SessionStatus.TERMINATED
        session.ended_at = now
        answer = _answer(session, granted=units, number=request_number)
        return _store(session, request_number, RequestType.EVENT, answer, now)


# --- update, terminate ------------------------------------------------------------------------


def _locked_session(host_network, reference: str) -> ChargingSession | None:
    return (
        ChargingSession.objects.select_for_update(of=("self",))
        .select_related("host_network")
        .filter(host_network=host_network, reference=reference)
        .first()
    )


def _closed_answer(session, number) -> dict | None:
    if session.status == SessionStatus.EXPIRED:
        return _answer(
            session, result=Refusal.SESSION_EXPIRED, number=number,
            detail=f"the grant expired at {session.ended_at:%Y-%m-%dT%H:%M:%SZ} and was "
            "released (R22); open a new session",
        )  # fmt: skip
    if session.status != SessionStatus.ACTIVE:
        return _answer(session, result=Refusal.SESSION_CLOSED, number=number,
                       detail=f"the session is {session.status}")  # fmt: skip
    return None


def units_of(value, session) -> int:
    """Units given as a number, or as a function of the session's service (read once locked).

    The Nchf door reads a unit container by the session's service (seconds, octets or
    service-specific units): it passes a function, so the session is read once, locked.
    """
    units = value(session.service) if callable(value) else value
    if units < 0:
        raise ChargingError("units are not negative", field="units")
    return units


def _add_used(session, used_units: int) -> None:
    if used_units < 0:
        raise ChargingError("used units are not negative", field="usedUnits")
    # The network may not use more than it was granted; units past the grant are not charged.
    session.used_units = min(session.granted_units, session.used_units + used_units)


def charging_update(
    *, host_network, reference: str, request_number: int, used_units: int,
    requested_units: int,
) -> dict:  # fmt: skip
    """Take the units used since the last report and hold more (R20, R21).

    ``used_units`` and ``requested_units`` are numbers or functions of the service (units_of).
    """
    if not callable(requested_units) and requested_units < 0:
        raise ChargingError("requested units are not negative", field="requestedUnits")
    now = timezone.now()
    if onetrip.enabled():
        return onetrip.charging_update(
            host_network=host_network, reference=reference, request_number=request_number,
            used_units=used_units, requested_units=requested_units, now=now,
        )  # fmt: skip
    with transaction.atomic():
        session = _locked_session(host_network, reference)
        if session is None:
            return _answer(None, result=Refusal.UNKNOWN_SESSION, number=request_number)
        replay = _replay(session, request_number)
        if replay is not None:
            return replay
        closed = _closed_answer(session, request_number)
        if closed is not None:
            return _store(session, request_number, RequestType.UPDATE, closed, now)
        requested_units = units_of(requested_units, session)
        _add_used(session, units_of(used_units, session))
        session._plan_id = term_plan(session)
        pricing, held = _lock_state(session)
        used = session.used_units
        if pricing.rate(used + requested_units).status != "rated":
            answer = _answer(session, result=Refusal.NO_RATE, number=request_number)
            return _store(session, request_number, RequestType.UPDATE, answer, now)
        granted = pricing.largest_grant(used, requested_units)
        if held is not None:
            _release(held, committed=ZERO, committed_units=0, now=now)
        _hold(pricing, units=used + granted, rating=pricing.rate(used + granted),
              number=request_number, now=now)  # fmt: skip
        session.granted_units = used + granted
        session.expires_at = now + dt.timedelta(seconds=validity_seconds())
        result = SUCCESS if granted or not requested_units else Refusal.CREDIT_LIMIT_REACHED
        answer = _answer(
            session, result=result, granted=granted, final=granted < requested_units,
            number=request_number,
        )  # fmt: skip
        return _store(session, request_number, RequestType.UPDATE, answer, now)


def _close(session, *, status: str, now, reason: str = "") -> UsageEvent:
    session._plan_id = term_plan(session)
    pricing, held = _lock_state(session)
    event = _commit(pricing, held, now=now)
    session.status = status
    session.ended_at = now
    session.expires_at = None
    session.end_reason = reason[:200]
    return event


def charging_terminate(
    *, host_network, reference: str, request_number: int, used_units: int
) -> dict:
    """Commit the final units used, release the rest and end the session (R20)."""
    now = timezone.now()
    if onetrip.enabled():
        return onetrip.charging_terminate(
            host_network=host_network, reference=reference, request_number=request_number,
            used_units=used_units, now=now,
        )  # fmt: skip
    with transaction.atomic():
        session = _locked_session(host_network, reference)
        if session is None:
            return _answer(None, result=Refusal.UNKNOWN_SESSION, number=request_number)
        replay = _replay(session, request_number)
        if replay is not None:
            return replay
        closed = _closed_answer(session, request_number)
        if closed is not None:
            return _store(session, request_number, RequestType.TERMINATE, closed, now)
        _add_used(session, units_of(used_units, session))
        _close(session, status=SessionStatus.TERMINATED, now=now)
        answer = _answer(session, number=request_number)
        return _store(session, request_number, RequestType.TERMINATE, answer, now)


def charging_refund(*, host_network, reference: str, request_number: int) -> dict:
    """Give back what a one-shot event took: its money and its allowance units."""
    now = timezone.now()
    with transaction.atomic():
        session = _locked_session(host_network, reference)
        if session is None:
            return _answer(None, result=Refusal.UNKNOWN_SESSION, number=request_number)
        replay = _replay(session, request_number)
        if replay is not None:
            return replay
        event = session.usage_event
        if session.status != SessionStatus.TERMINATED or event is None:
            answer = _answer(session, result=Refusal.NOT_REFUNDABLE, number=request_number,
                             detail=f"the session is {session.status}")  # fmt: skip
            return _store(session, request_number, RequestType.REFUND, answer, now)
        account = BillingAccount.objects.select_for_update().get(pk=session.billing_account_id)
        reason = f"refund of session {session.reference}"
        charge = BalanceMovement.objects.filter(
            billing_account=account, kind=MovementKind.CHARGE, reference=f"usage:{event.pk}"
        ).aggregate(total=Sum("amount"))["total"]
        if charge:
            BalanceMovement.objects.create(
                billing_account=account, kind=MovementKind.ADJUSTMENT, amount=-charge,
                currency=account.currency, reason=reason, reference=f"refund:{event.pk}",
            )  # fmt: skip
        draws = list(
            BucketMovement.objects.select_for_update(of=("self",))
            .filter(usage_event_id=event.pk, kind=BucketMovementKind.USAGE)
            .order_by("bucket_id")
        )
        BucketMovement.objects.bulk_create(
            BucketMovement(
                bucket_id=draw.bucket_id,
                kind=BucketMovementKind.ADJUSTMENT,
                quantity=-draw.quantity,
                reason=reason,
                reference=f"refund:{event.pk}",
            )  # fmt: skip
            for draw in draws
        )
        session.status = SessionStatus.REFUNDED
        answer = _answer(session, number=request_number, detail=f"refunded {-(charge or 0)}")
        return _store(session, request_number, RequestType.REFUND, answer, now)


# --- expiry and the console ------------------------------------------------------------------


def reservations_expire(*, now=None, limit: int = 500) -> int:
    """Close sessions whose grant ran out (R22): commit what was used, release the rest.

    Sessions being answered right now are skipped (SKIP LOCKED) and taken on the next run.
    """
    now = now or timezone.now()
    closed = 0
    ids = list(
        ChargingSession.objects.filter(status=SessionStatus.ACTIVE, expires_at__lt=now)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            session = (
                ChargingSession.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("host_network")
                .filter(pk=pk, status=SessionStatus.ACTIVE, expires_at__lt=now)
                .first()
            )
            if session is None:
                continue
            _close(session, status=SessionStatus.EXPIRED, now=now,
                   reason="validity time passed (R22)")  # fmt: skip
            session.save()
            closed += 1
    return closed


def charging_session_release(*, session: ChargingSession, reason: str, acting_user=None):
    """Force-release a stuck session: commit what was used, release the rest, say why."""
    if not reason:
        raise ChargingError("a forced release says why", field="reason")
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_session(session.host_network, session.reference)
        if locked.status != SessionStatus.ACTIVE:
            raise ChargingError(f"the session is {locked.status}", field="status")
        who = getattr(acting_user, "username", "") or "system"
        _close(locked, status=SessionStatus.RELEASED, now=now, reason=f"{who}: {reason}")
        locked.save()
        return locked


from charging.online import onetrip  # noqa: E402  (it builds on this module)
