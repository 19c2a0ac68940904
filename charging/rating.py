"""Rating a run of usage records: the state between chunks, and what a rated event is.

RatingRun holds what rating one source's records needs between chunks: the subscribers' terms,
their accounts, buckets (locked) and fair-use counts; the engine prices each record. Callers
(mediation, JSON usage batches, rerating, reprocessing) write what it returns.
"""

import datetime as dt
import re

from django.db.models import Q, Sum
from django.utils import timezone

from charging.cdr import UsageRecord
from charging.engine import AccountInfo, BucketState, CatalogCache, FairUseCounter, RatingEngine
from charging.models import (
    FairUseCount,
    RatingStatus,
    RejectedRecord,
    UsageEvent,
    UsageRecordKey,
)
from subscribers.models import (
    BillingAccount,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    BucketSource,
)
from subscribers.selectors import TermIndex
from subscribers.services import buckets_grant


class RatingRun:
    """Rates chunks of one source's records, keeping bucket and fair-use state between chunks.

    Buckets are locked (SELECT … FOR UPDATE, in id order) when first loaded, so two runs that
    touch the same subscriber's buckets take turns instead of drawing the same units twice.
    """

    def __init__(self, *, source: str, engine: RatingEngine | None = None) -> None:
        self.source = source
        self.engine = engine or RatingEngine(CatalogCache())
        self.buckets: dict[int, BucketState] = {}
        self.personal: dict[int, list[BucketState]] = {}
        self.shared: dict[int, list[BucketState]] = {}
        # Subscriptions and accounts whose buckets are loaded: two sets, so that a chunk asks
        # them about its own holders only, not walks every holder of the run (issue 14).
        self.subscriptions_loaded: set[int] = set()
        self.accounts_loaded: set[int] = set()
        self.fair_use = FairUseCounter()
        self.fair_use_loaded: set[int] = set()
        self.accounts: dict[int, AccountInfo] = {}
        self.granted: set[tuple[int, dt.datetime]] = set()
        # Terms are loaded once per number for the whole run (a snapshot, like the catalogue).
        self.terms = TermIndex([])
        self.allowance_zones: dict[int, tuple[frozenset, frozenset]] = {}
        # Whether the source has sessions charged online (R23): mediation then checks each chunk.
        self.online_sessions = False

    # -- state loading
    def _load_accounts(self, account_ids) -> None:
        missing = set(account_ids) - set(self.accounts)
        for pk, tz, cycle in BillingAccount.objects.filter(pk__in=missing).values_list(
            "pk", "timezone", "bill_cycle_day"
        ):
            self.accounts[pk] = AccountInfo(tz, cycle)

    def _ensure_grants(self, pairs) -> None:
        """Grant plan allowances for each (term, period) a chunk touches, once (R12)."""
        wanted = []
        for term, period in pairs:
            key = (term.subscription_id, period.start)
            if key not in self.granted:
                self.granted.add(key)
                # The holder's buckets are loaded again: a grant may add some (a new period).
                self.subscriptions_loaded.discard(term.subscription_id)
                self.accounts_loaded.discard(term.billing_account_id)
                wanted.append(
                    (term.subscription_id, term.billing_account_id, period.start, period.end)
                )
        # In subscription id order: two runs granting the same subscribers insert (and wait on
        # each other's inserts) in one global order, never in opposite orders (issue 13).
        buckets_grant(periods=sorted(wanted, key=lambda period: (period[0], period[2])))

    def _load_buckets(self, terms) -> None:
        subscription_ids = {t.subscription_id for t in terms} - self.subscriptions_loaded
        account_ids = {t.billing_account_id for t in terms} - self.accounts_loaded
        if not subscription_ids and not account_ids:
            return
        self.subscriptions_loaded |= subscription_ids
        self.accounts_loaded |= account_ids
        query = Q(subscription_id__in=subscription_ids) | Q(
            shared=True, billing_account_id__in=account_ids
        )
        known = self.buckets
        # Plain values in one locking query, not model instances (issue 14); buckets held
        # already (a holder reloaded after a grant) are skipped here, not sent back as a list.
        rows = [
            row
            for row in Bucket.objects.select_for_update(of=("self",))
            .filter(query)
            .order_by("pk")
            .values_list(
                "pk",
                "subscription_id",
                "billing_account_id",
                "shared",
                "source",
                "plan_version__plan_id",
                "services",
                "allowance_id",
                "valid_from",
                "valid_to",
                "initial",
            )  # fmt: skip
            if row[0] not in known
        ]
        if not rows:
            return
        moved = dict(
            BucketMovement.objects.filter(bucket_id__in=[row[0] for row in rows])
            .order_by()
            .values("bucket_id")
            .annotate(total=Sum("quantity"))
            .values_list("bucket_id", "total")
        )
        zones = self.allowance_zones
        missing = {row[7] for row in rows if row[7]} - set(zones)
        if missing:
            zones.update(_allowance_zones(missing))
        plan = BucketSource.PLAN
        empty = (frozenset(), frozenset())
        for (pk, subscription_id, account_id, shared, source, plan_id, services, allowance_id,
             valid_from, valid_to, initial) in rows:  # fmt: skip
            destinations, roamings = zones.get(allowance_id, empty)
            state = known[pk] = BucketState(
                id=pk,
                subscription_id=subscription_id,
                billing_account_id=account_id,
                shared=shared,
                from_plan=source == plan,
                plan_id=plan_id,
                services=frozenset(services),
                destination_zones=destinations,
                roaming_zones=roamings,
                valid_from=valid_from,
                valid_to=valid_to,
                remaining=initial + (moved.get(pk) or 0),
            )
            if state.shared:
                holder = self.shared.setdefault(state.billing_account_id, [])
            else:
                holder = self.personal.setdefault(state.subscription_id, [])
            holder.append(state)
            holder.sort(key=BucketState.sort_key)

    def _load_fair_use(self, subscription_ids) -> None:
        missing = set(subscription_ids) - self.fair_use_loaded
        if not missing:
            return
        self.fair_use_loaded |= missing
        rows = (
            FairUseCount.objects.filter(subscription_id__in=missing)
            .values("subscription_id", "policy_id", "period_start")
            .annotate(total=Sum("quantity"))
        )
        for row in rows:
            key = (row["subscription_id"], row["policy_id"], row["period_start"])
            self.fair_use.counts[key] = row["total"]
        for key in FairUseCount.objects.filter(
            subscription_id__in=missing, notified=True
        ).values_list("subscription_id", "policy_id", "period_start"):
            self.fair_use.notified.add(tuple(key))

    # -- rating
    def rate(self, records: list[UsageRecord], *, usage_file=None):
        """Rate records in the given order; return (events to save, rejected records)."""
        rated, rejects = self.rate_each(records, usage_file=usage_file)
        now = timezone.now()
        events = [
            usage_event_build(record, rating, source=source, term=term, usage_file=usage_file,
                              now=now)
            for record, term, rating, source in rated
        ]  # fmt: skip
        return events, rejects

    def rate_each(self, records: list[UsageRecord], *, usage_file=None):
        """Rate records in the given order.

        Return ``(rated, rejects)``: ``(record, term, rating, source)`` for each record whose
        subscriber is known then, and unsaved RejectedRecord rows for the others (R19).
        """
        terms = self.terms
        terms.extend(
            msisdns={r.msisdn for r in records}, imsis={r.imsi for r in records if not r.msisdn}
        )
        resolved, rejects = [], []
        for record in records:
            term, reason = terms.resolve(
                msisdn=record.msisdn, imsi=record.imsi, instant=record.started_at
            )
            if term is None:
                rejects.append(
                    RejectedRecord(
                        usage_file=usage_file, line_number=record.line_number or 0,
                        record_id=record.record_id, raw=record.raw, reason=reason,
                        detail=f"at {record.started_at:%Y-%m-%d %H:%M:%S}Z (R19)",
                    )
                )  # fmt: skip
            else:
                resolved.append((record, term))
        self._load_accounts({t.billing_account_id for _, t in resolved})
        accounts = self.accounts
        self._ensure_grants(
            (term, accounts[term.billing_account_id].period_at(record.started_at))
            for record, term in resolved
        )
        self._load_buckets([t for _, t in resolved])
        self._load_fair_use({t.subscription_id for _, t in resolved})
        rated = []
        rate, fair_use, default_source = self.engine.rate, self.fair_use, self.source
        personal, shared = self.personal, self.shared
        drawing_order: dict[tuple, list] = {}  # per chunk: loads between chunks add buckets
        for record, term in resolved:
            holder = (term.subscription_id, term.billing_account_id)
            buckets = drawing_order.get(holder)
            if buckets is None:
                buckets = drawing_order[holder] = sorted(
                    personal.get(holder[0], []) + shared.get(holder[1], []),
                    key=BucketState.sort_key,
                )
            source = record.source or default_source
            rating = rate(
                record,
                term=term,
                account=accounts[term.billing_account_id],
                source=source,
                buckets=buckets,
                buckets_sorted=True,
                fair_use=fair_use,
            )
            rated.append((record, term, rating, source))
        return rated, rejects

    def save(self, events: list[UsageEvent]) -> list[UsageEvent]:
        """Write new events, then their bucket draws and fair-use counts (bulk)."""
        UsageEvent.objects.bulk_create(events)
        usage_record_keys_write(events)
        write_side_effects(events)
        return events


def usage_record_keys_write(events: list[UsageEvent]) -> None:
    """Write the R17 keys of new events; a record id accepted before raises IntegrityError."""
    UsageRecordKey.objects.bulk_create(
        UsageRecordKey(usage_event_id=event.pk, source=event.source, record_id=event.record_id)
        for event in events
    )


def write_side_effects(events: list[UsageEvent]) -> None:
    """Write the bucket draws (R11) and fair-use counts (R13) of rated events."""
    movements, counts = [], []
    for event in events:
        rating = event._rating
        for bucket_id, quantity in rating.draws:
            movements.append(
                BucketMovement(
                    bucket_id=bucket_id, kind=BucketMovementKind.USAGE, quantity=-quantity,
                    reason=f"{event.service} {event.source}/{event.record_id}",
                    usage_event_id=event.pk,
                )
            )  # fmt: skip
        for policy_id, period_start, quantity in rating.fair_use:
            counts.append(
                FairUseCount(
                    usage_event=event, subscription_id=event.subscription_id,
                    policy_id=policy_id, period_start=period_start, quantity=quantity,
                    notified=rating.notify_fair_use,
                )
            )  # fmt: skip
    BucketMovement.objects.bulk_create(movements)
    FairUseCount.objects.bulk_create(counts)


def _allowance_zones(allowance_ids) -> dict[int, tuple[frozenset, frozenset]]:
    from catalog.models import Allowance

    result = {}
    for allowance in Allowance.objects.filter(pk__in=allowance_ids).prefetch_related(
        "destination_zones", "roaming_zones"
    ):
        result[allowance.pk] = (
            frozenset(z.code for z in allowance.destination_zones.all()),
            frozenset(z.code for z in allowance.roaming_zones.all()),
        )
    return result


# The columns of a usage event in the order usage_event_values gives them (and COPY writes them).
EVENT_FIELDS = (
    "usage_file_id", "line_number", "source", "record_id", "record_type", "service",
    "subscription_id", "billing_account_id", "msisdn", "imsi", "started_at", "utc_offset",
    "duration", "volume_uplink", "volume_downlink", "units", "other_party", "visited_plmn", "apn",
    "cause", "charging_id", "rating_status", "rating_error", "rating_detail", "destination_zone",
    "roaming_zone", "time_band", "plan_version_id", "rate_row_id", "charged_units",
    "covered_units", "currency", "retail_amount", "tax_inclusive", "throttled", "fair_use_units",
    "wholesale_rate_row_id", "wholesale_units", "wholesale_amount", "rated_at",
)  # fmt: skip
RATED = RatingStatus.RATED.value
ERROR = RatingStatus.ERROR.value


def usage_event_values(
    record: UsageRecord, rating, *, source: str, term=None, usage_file_id=None, now=None
) -> tuple:
    """A record and its rating as a usage event's values, in EVENT_FIELDS order."""
    rated = rating.status == "rated"
    return (
        usage_file_id, record.line_number or None, source, record.record_id, record.record_type,
        record.service, term.subscription_id if term else None,
        term.billing_account_id if term else None,
        record.msisdn or (term.msisdn if term else ""), record.imsi, record.started_at,
        record.utc_offset, record.duration, record.volume_uplink, record.volume_downlink,
        record.units, record.other_party, record.visited_plmn, record.apn, record.cause,
        record.charging_id, RATED if rated else ERROR, rating.error, rating.detail,
        rating.destination_zone, rating.roaming_zone, rating.time_band, rating.plan_version_id,
        rating.rate_row_id, rating.charged_units, rating.covered_units, rating.currency,
        rating.retail_amount, rating.tax_inclusive, rating.throttled, rating.fair_use_units,
        rating.wholesale_rate_row_id, rating.wholesale_units, rating.wholesale_amount,
        now if now and rated else None,
    )  # fmt: skip


# COPY text format (PostgreSQL): NULL is \N, and a backslash, tab, newline or carriage return in
# a text value is escaped. Only free text from a record can hold one; digits and codes cannot.
_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def copy_text(value: str) -> str:
    """A text value as COPY's text format holds it."""
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def usage_event_line(pk: int, record: UsageRecord, rating, *, source: str, term, file_id, now):
    """A rated event as one line of ``COPY … FROM STDIN`` text, columns ``id`` then EVENT_FIELDS.

    The same values as usage_event_values, formatted once into one string (issue 14): no tuple
    of 41 values for the driver to adapt one by one. ``term`` is known (mediation rates only
    records whose subscriber is known); ``now``, the rating time, may be given as its text.
    """
    N = _NULL
    rated = rating.status == "rated"
    msisdn = record.msisdn or term.msisdn
    texts = (source, record.record_id, msisdn, record.imsi, record.utc_offset, record.other_party,
             record.visited_plmn, record.apn, record.cause, record.charging_id, rating.detail,
             rating.destination_zone, rating.roaming_zone, rating.time_band)  # fmt: skip
    if _COPY_SPECIAL.search("".join(texts)):  # one scan for the rare value that needs escaping
        texts = tuple(value.translate(_COPY_ESCAPES) for value in texts)
    (source, record_id, msisdn, imsi, utc_offset, other_party, visited_plmn, apn, cause,
     charging_id, detail, destination, roaming, band) = texts  # fmt: skip
    line = record.line_number
    plan = rating.plan_version_id
    row = rating.rate_row_id
    wholesale_row = rating.wholesale_rate_row_id
    retail = rating.retail_amount
    wholesale = rating.wholesale_amount
    return (
        f"{pk}\t{N if file_id is None else file_id}\t{line or N}\t{source}\t{record_id}\t"
        f"{record.record_type}\t{record.service}\t{term.subscription_id}\t"
        f"{term.billing_account_id}\t{msisdn}\t{imsi}\t{record.started_at}\t{utc_offset}\t"
        f"{record.duration}\t{record.volume_uplink}\t{record.volume_downlink}\t{record.units}\t"
        f"{other_party}\t{visited_plmn}\t{apn}\t{cause}\t{charging_id}\t"
        f"{RATED if rated else ERROR}\t{rating.error}\t{detail}\t{destination}\t{roaming}\t"
        f"{band}\t{N if plan is None else plan}\t{N if row is None else row}\t"
        f"{rating.charged_units}\t{rating.covered_units}\t{rating.currency}\t"
        f"{N if retail is None else retail}\t{'t' if rating.tax_inclusive else 'f'}\t"
        f"{'t' if rating.throttled else 'f'}\t{rating.fair_use_units}\t"
        f"{N if wholesale_row is None else wholesale_row}\t{rating.wholesale_units}\t"
        f"{N if wholesale is None else wholesale}\t{now if now and rated else N}\n"
    )


def usage_event_build(
    record: UsageRecord, rating, *, source: str, term=None, usage_file=None, now=None
) -> UsageEvent:
    """Hold a record and its rating in an unsaved UsageEvent (the simulator keeps it unsaved)."""
    values = usage_event_values(
        record, rating, source=source, term=term,
        usage_file_id=usage_file.pk if usage_file else None, now=now,
    )  # fmt: skip
    event = UsageEvent(**dict(zip(EVENT_FIELDS, values, strict=True)))
    if usage_file is not None:
        event.usage_file = usage_file
    event._rating = rating
    return event
