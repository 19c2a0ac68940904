"""Revenue assurance: reconcile the usage chain (R33), detect leaks, keep findings, what-if.

Each check is one set-based query (assurance.selectors reads), grouped by what a person would
fix: an account, a subscription, a file, a rate row, a plan. A detected difference becomes a
Finding keyed by a fingerprint of (check, what it is about, period): seen again, it is the
same finding, refreshed; seen again after it was fixed, it is reopened and counts the
recurrence.
"""

import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone

from assurance import selectors
from assurance.models import (
    Finding,
    FindingComment,
    FindingKind,
    FindingState,
    Reconciliation,
    ReconciliationRow,
    WhatIfRun,
)
from catalog.models import PlanVersion, Status
from charging.cdr import UsageRecord
from charging.engine import (
    OUTGOING,
    AccountInfo,
    BucketState,
    CatalogCache,
    FairUseCounter,
    RatingEngine,
)
from charging.models import FileStatus, RatingStatus, SequenceGap, UsageEvent
from charging.online.models import ChargingSession, SessionStatus
from core.periods import Period
from invoicing.models import LineKind
from subscribers.models import BillingAccount, SubscriptionStatus, SubscriptionTerm

logger = logging.getLogger(__name__)
ZERO = Decimal("0")
EVENT = "charging.usageevent"
FILE = "charging.usagefile"
GAP = "charging.sequencegap"
LINE = "invoicing.invoiceline"
SUBSCRIPTION = "subscribers.subscription"
SESSION = "charging.chargingsession"


@dataclass
class Detected:
    """A finding as a check sees it, before it is kept."""

    kind: str
    key: str
    title: str
    records_model: str
    record_ids: list
    record_count: int
    amount: Decimal = ZERO
    currency: str = ""
    brand_id: int | None = None
    detail: str = ""


@dataclass
class Outcome:
    reconciliation: Reconciliation
    findings: list[Finding] = field(default_factory=list)
    timings: dict = field(default_factory=dict)


def fingerprint(kind: str, period: Period, key: str) -> str:
    """A finding's stable identity: the check, the period and what it is about."""
    text = f"{kind}|{period.start_date:%Y-%m}|{key}"
    return hashlib.sha256(text.encode()).hexdigest()


def _ids(queryset, limit: int = Finding.RECORDS_KEPT) -> list:
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:limit])


def _ids_by_group(queryset, keys: list[str], limit: int = Finding.RECORDS_KEPT) -> dict:
    """The first ``limit`` ids of each group of ``keys``, in one query (a window function)."""
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    ranked = queryset.annotate(
        rank=Window(RowNumber(), partition_by=[F(key) for key in keys], order_by=F("pk").asc())
    ).order_by()
    groups: dict = {}
    for row in ranked.filter(rank__lte=limit).values_list(*keys, "pk"):
        groups.setdefault(tuple(row[:-1]), []).append(row[-1])
    for ids in groups.values():
        ids.sort()
    return groups


# --- the checks -------------------------------------------------------------------------------


def _brand_of_accounts(account_ids: Iterable[int]) -> dict[int, int]:
    return dict(
        BillingAccount.objects.filter(pk__in=list(account_ids)).values_list(
            "pk", "customer__brand_id"
        )
    )


def chain_findings(period: Period, chain: selectors.Chain) -> list[Detected]:
    """The differences of the usage chain (R33) and the files behind them."""
    found: list[Detected] = []
    files = selectors.files_of_period(period)
    loaded = files.filter(status__in=selectors.LOADED_FILES)
    unbalanced = loaded.exclude(
        records_read=F("records_accepted") + F("records_rejected") + F("records_duplicate")
    )
    for usage_file in unbalanced:
        found.append(Detected(
            FindingKind.FILE_BALANCE, f"file:{usage_file.pk}",
            f"{usage_file.name}: read {usage_file.records_read} ≠ accepted + rejected + "
            "duplicates", FILE, [usage_file.pk], 1))  # fmt: skip
    stored = chain.events_per_file  # the loaded files' events, read with the chain
    rating_off = [usage_file for usage_file in loaded
                  if stored.get(usage_file.pk, 0) != usage_file.records_accepted]  # fmt: skip
    ids = _ids_by_group(
        UsageEvent.objects.filter(usage_file_id__in=[f.pk for f in rating_off]), ["usage_file_id"]
    ) if rating_off else {}  # fmt: skip
    for usage_file in rating_off:
        events = stored.get(usage_file.pk, 0)
        found.append(Detected(
            FindingKind.RATING_BALANCE, f"file:{usage_file.pk}",
            f"{usage_file.name}: {usage_file.records_accepted} accepted, {events} rated or in "
            "error", EVENT, ids.get((usage_file.pk,), []), events,
        ))  # fmt: skip
    total = chain.total
    if total.difference:
        found.append(Detected(
            FindingKind.MONEY_BALANCE, "total",
            f"Usage chain off by {total.difference} {chain.currency}: rated {total.rated_retail}"
            f" ≠ invoiced {total.invoiced_usage} + unbilled {total.unbilled} + rounding "
            f"{total.rounding}", LINE, _ids(selectors.usage_lines_of_period(period)),
            selectors.usage_lines_of_period(period).count(), abs(total.difference),
            chain.currency,
            detail="A usage line's exact sum differs from its events now (an event rerated "
                   "or added after the invoice), or events were invoiced outside the period.",
        ))  # fmt: skip
    half = selectors.half_minor_unit(chain.currency)
    over = (
        selectors.usage_lines_of_period(period)
        .annotate(off=Abs(F("rated_amount") - F("amount")))
        .filter(off__gt=half)
    )
    count = over.count()
    if count:
        amount = over.aggregate(v=Sum("off"))["v"] or ZERO
        found.append(Detected(
            FindingKind.LINE_ROUNDING, "lines",
            f"{count} usage line(s) rounded by more than half a minor unit", LINE, _ids(over),
            count, amount, chain.currency))  # fmt: skip
    for gap in SequenceGap.objects.filter(detected_in__in=files.values("pk")):
        found.append(Detected(
            FindingKind.SEQUENCE_GAP, f"gap:{gap.source}:{gap.missing_from}:{gap.missing_to}",
            f"Missing file: {gap}", GAP, [gap.pk], 1))  # fmt: skip
    for usage_file in files.filter(status=FileStatus.QUARANTINED):
        found.append(Detected(
            FindingKind.QUARANTINED_FILE, f"file:{usage_file.pk}",
            f"Quarantined file {usage_file.name}: {usage_file.status_detail[:200]}", FILE,
            [usage_file.pk], 1))  # fmt: skip
    for usage_file in files.filter(status=FileStatus.DUPLICATE):
        found.append(Detected(
            FindingKind.DUPLICATE_FILE, f"file:{usage_file.pk}",
            f"Duplicate file refused: {usage_file.name}", FILE, [usage_file.pk], 1))  # fmt: skip
    return found


def _grouped(events, key: str, *, amount: str, brand_from_account: bool = True):
    """Group events by ``key`` (a field), with count, amount, currency and account."""
    return (
        events.values(key)
        .annotate(
            count=Count("id"),
            amount=Coalesce(Sum(amount), ZERO, output_field=selectors.MONEY),
            currency=Max("currency"),
            account=Max("billing_account_id"),
        )
        .order_by(key)
    )


def _event_findings(kind, period, events, key, title, *, amount="retail_amount"):
    found = []
    rows = list(_grouped(events, key, amount=amount))
    if not rows:
        return found
    brands = _brand_of_accounts(row["account"] for row in rows)
    by_group = _ids_by_group(events, [key])
    for row in rows:
        ids = by_group.get((row[key],), [])
        found.append(Detected(
            kind, f"{key}:{row[key]}", title(row), EVENT, ids, row["count"], row["amount"],
            row["currency"] or "", brands.get(row["account"])))  # fmt: skip
    return found


def _summary_findings(kind, summary, keep, *, count: str, amount: str, title, ids):
    """Findings by account from the period's event summary: the rows ``keep`` selects, their
    ``count`` and ``amount`` summed per account (accounts with none left out), ids by ``ids``."""
    accounts: dict[int, list] = {}
    for row in summary:
        if keep(row) and getattr(row, count):
            this = accounts.setdefault(row.billing_account_id, [0, ZERO, ""])
            this[0] += getattr(row, count)
            this[1] += getattr(row, amount)
            this[2] = max(this[2], row.currency or "")
    if not accounts:
        return []
    order = sorted(accounts, key=lambda account: (account is None, account or 0))  # NULLS LAST
    brands = _brand_of_accounts(account for account in order if account is not None)
    record_ids = ids(order)
    return [
        Detected(kind, f"billing_account_id:{account}", title(account, number), EVENT,
                 record_ids.get(account, []), number, money, currency,
                 brands.get(account))
        for account in order
        for number, money, currency in [accounts[account]]
    ]  # fmt: skip


@contextlib.contextmanager
def _streamed_grouping():
    """Group rows in the order an index gives them, not in a hash table (PostgreSQL only).

    Grouping a month of events by (subscription, start) makes about one group per event: a
    hash table of a million entries costs more than walking the (subscription, time) index,
    whose entries come sorted and hold both keys (an index-only scan on a vacuumed partition),
    but the planner prices the hash lower. Inside the reconciliation's transaction only.
    """
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_hashagg')")
        (before,) = cursor.fetchone()
        cursor.execute("SELECT set_config('enable_hashagg', 'off', true)")
        try:
            yield
        finally:
            cursor.execute("SELECT set_config('enable_hashagg', %s, true)", [before])


class _Laps:
    """Seconds each check took, into ``timings`` (the benchmark prints them)."""

    def __init__(self, timings: dict | None) -> None:
        self.timings = timings if timings is not None else {}
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.last, 3)
        self.last = now


def leakage_findings(
    period: Period,
    *,
    now: dt.datetime,
    timings: dict | None = None,
    summary: list[selectors.SummaryRow] | None = None,
) -> list[Detected]:
    """The leakage checks of a period (issue 18), each grouped by what a person fixes.

    Each check is one set-based query; the checks by account or plan (unbilled, wholesale
    with no retail, plan margin) read the period's event summary (``selectors.event_summary``,
    the chain's, or read here) and then fetch only their findings' record ids.
    """
    found: list[Detected] = []
    if summary is None:
        summary = selectors.event_summary(period)
    events = selectors.events_of_period(period)
    rated = events.filter(rating_status=RatingStatus.RATED)
    closed = selectors.period_closed(period, now=now)
    label = f"{period.start_date:%Y-%m}"
    lap = _Laps(timings)

    # Rated usage on no invoice after the period closed: from the period's event summary.
    if closed:
        found += _summary_findings(
            FindingKind.UNBILLED, summary,
            lambda r: r.rating_status == RatingStatus.RATED and not r.invoiced,
            count="charged", amount="charged_retail",
            title=lambda account, count: f"{count} rated event(s) of account {account} on no "
            f"invoice of {label}",
            ids=lambda accounts: selectors.unbilled_event_ids(period, accounts=accounts,
                                                              limit=Finding.RECORDS_KEPT),
        )  # fmt: skip

    lap("unbilled")
    # Usage on a suspended, barred (outgoing) or terminated subscription.
    bad_term = SubscriptionTerm.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        valid_from__lte=OuterRef("started_at"),
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("started_at")))
    troubled = SubscriptionTerm.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=period.start),
        valid_from__lt=period.end,
        status__in=(SubscriptionStatus.SUSPENDED, SubscriptionStatus.TERMINATED,
                    SubscriptionStatus.PENDING, SubscriptionStatus.BARRED),
    ).values("subscription_id")  # fmt: skip
    inactive = events.filter(subscription_id__in=troubled).filter(
        Exists(bad_term.filter(status__in=(SubscriptionStatus.SUSPENDED,
                                           SubscriptionStatus.TERMINATED,
                                           SubscriptionStatus.PENDING)))
        | Exists(bad_term.filter(status=SubscriptionStatus.BARRED)) & Q(service__in=OUTGOING)
    )  # fmt: skip
    found += _event_findings(
        FindingKind.INACTIVE_USAGE, period, selectors.wholesale_cost(inactive), "subscription_id",
        lambda r: f"{r['count']} event(s) of subscription {r['subscription_id']} while it was "
        f"suspended, barred or terminated", amount="cost")  # fmt: skip

    lap("inactive_usage")
    # Active subscriptions with no recurring fee invoiced for the period.
    if closed:
        fee_line = selectors.invoiced_lines().filter(
            subscription_id=OuterRef("pk"),
            kind=LineKind.RECURRING,
            period_start_date__lt=period.end_date,
            period_end_date__gt=period.start_date,
        )
        missing = selectors.active_subscriptions(period).exclude(Exists(fee_line))
        fees: dict[int, Decimal] = {}
        for plan_id, fee in (
            PlanVersion.objects.filter(plan_id__in=missing.values("plan_id"),
                                       status=Status.PUBLISHED, effective_from__lt=period.end)
            .order_by("plan_id", "effective_from")
            .values_list("plan_id", "recurring_fee")
        ):  # fmt: skip
            fees[plan_id] = fee  # the last in force wins
        for subscription in missing.select_related("plan", "billing_account__customer"):
            fee = fees.get(subscription.plan_id, ZERO)
            if not fee:
                continue
            found.append(Detected(
                FindingKind.NO_RECURRING_FEE, f"subscription:{subscription.pk}",
                f"Subscription {subscription.msisdn} active in {label} with no recurring fee "
                "invoiced", SUBSCRIPTION, [subscription.pk], 1, fee,
                subscription.plan.currency, subscription.billing_account.customer.brand_id,
            ))  # fmt: skip

    lap("no_recurring_fee")
    # Rated at zero outside free destinations and allowances.
    zero = rated.filter(retail_amount=0, charged_units__gt=F("covered_units")).filter(
        Q(rate_row__price__gt=0) | Q(rate_row__connection_fee__gt=0)
    )
    found += _event_findings(
        FindingKind.ZERO_RATED, period, selectors.wholesale_cost(zero), "rate_row_id",
        lambda r: f"{r['count']} event(s) rated at zero on priced rate row {r['rate_row_id']}",
        amount="cost")  # fmt: skip

    lap("zero_rated")
    # Duplicate charges: same subscription, start, service and quantity, other record ids (R17
    # keeps a record id once per source). First the (subscription, start) pairs seen twice among
    # all the period's events (a superset of the rated ones: the twins below are rated only),
    # read from the (subscription, time) index alone, in its order; then only their events are
    # grouped with the amounts.
    with _streamed_grouping():
        pairs = list(
            events.values("subscription_id", "started_at")
            .annotate(n=Count("*"))
            .filter(n__gt=1)
            .order_by()
            .values_list("subscription_id", "started_at")
        )
    suspects = rated.filter(
        subscription_id__in={pair[0] for pair in pairs}, started_at__in={pair[1] for pair in pairs}
    )
    twins = (
        suspects.values("subscription_id", "started_at", "service", "units")
        .annotate(count=Count("id"), records=Count("id"),
                  amount=Sum("retail_amount"), low=Max("retail_amount"),
                  currency=Max("currency"), account=Max("billing_account_id"))
        .filter(records__gt=1)
        .order_by("subscription_id", "started_at")
    )  # fmt: skip
    twins = list(twins) if pairs else []
    brands = _brand_of_accounts(row["account"] for row in twins)
    twin_keys = ["subscription_id", "started_at", "service", "units"]
    twin_ids = _ids_by_group(
        suspects, twin_keys
    ) if twins else {}  # fmt: skip
    for row in twins:
        same = twin_ids.get(tuple(row[key] for key in twin_keys), [])
        extra = (row["amount"] or ZERO) - (row["low"] or ZERO)
        found.append(Detected(
            FindingKind.DUPLICATE_CHARGE,
            f"twins:{row['subscription_id']}:{row['started_at'].isoformat()}:{row['units']}",
            f"{row['count']} charges of subscription {row['subscription_id']} for the same "
            f"{row['service']} at {row['started_at']:%Y-%m-%d %H:%M:%S} UTC", EVENT, same,
            row["count"], extra, row["currency"] or "", brands.get(row["account"])))  # fmt: skip

    lap("duplicate_charge")
    # Wholesale cost with no retail event (a cost the rating could not bill): from the summary.
    orphan = (
        selectors.wholesale_cost(events)
        .filter(cost__gt=0)
        .exclude(rating_status=RatingStatus.RATED)
    )
    found += _summary_findings(
        FindingKind.WHOLESALE_NO_RETAIL, summary, lambda r: r.rating_status != RatingStatus.RATED,
        count="costly", amount="costly_cost",
        title=lambda account, count: f"{count} event(s) of account {account} with a wholesale "
        "cost and no retail charge",
        ids=lambda accounts: {
            key[0]: ids for key, ids in _ids_by_group(
                orphan.filter(selectors.of_accounts(accounts)),
                ["billing_account_id"]).items()
        },
    )  # fmt: skip

    lap("wholesale_no_retail")
    # Plans whose wholesale cost exceeds their retail (usage and fees invoiced).
    for plan in selectors.plan_margins(period, summary=summary):
        if Decimal(plan["wholesale"]) > Decimal(plan["retail"]):
            brand = PlanVersion.objects.filter(plan_id=plan["plan"]).values_list(
                "plan__brand_id", flat=True).first()  # fmt: skip
            ids = _ids(events.filter(plan_version__plan_id=plan["plan"]))
            found.append(Detected(
                FindingKind.PLAN_MARGIN, f"plan:{plan['plan']}",
                f"Plan {plan['code']}: wholesale {plan['wholesale']} above retail "
                f"{plan['retail']} in {label}", EVENT, ids, len(ids),
                Decimal(plan["wholesale"]) - Decimal(plan["retail"]), plan["currency"],
                brand,
            ))  # fmt: skip

    lap("plan_margin")
    # Rating errors older than ASSURANCE_ERROR_AGE_DAYS.
    age = dt.timedelta(days=getattr(settings, "ASSURANCE_ERROR_AGE_DAYS", 14))
    aged = events.filter(rating_status=RatingStatus.ERROR).filter(
        Q(rated_at__lt=now - age) | Q(rated_at__isnull=True, usage_file__received_at__lt=now - age)
    )
    found += _event_findings(
        FindingKind.AGED_ERRORS, period, selectors.wholesale_cost(aged), "rating_error",
        lambda r: f"{r['count']} rating error(s) {r['rating_error']} older than {age.days} days",
        amount="cost")  # fmt: skip
    for item in found:
        if item.kind == FindingKind.AGED_ERRORS:
            item.brand_id = None  # errors of many accounts: the whole chain's

    lap("aged_errors")
    # Online sessions never terminated (no request for ASSURANCE_SESSION_STALE_HOURS).
    stale = dt.timedelta(hours=getattr(settings, "ASSURANCE_SESSION_STALE_HOURS", 24))
    sessions = ChargingSession.objects.filter(
        status=SessionStatus.ACTIVE, started_at__gte=period.start, started_at__lt=period.end,
        last_request_at__lt=now - stale,
    )  # fmt: skip
    for row in (
        sessions.values("billing_account__customer__brand_id")
        .annotate(count=Count("id"))
        .order_by()
    ):
        brand = row["billing_account__customer__brand_id"]
        ids = _ids(sessions.filter(billing_account__customer__brand_id=brand))
        found.append(Detected(
            FindingKind.OPEN_SESSIONS, f"sessions:{brand}",
            f"{row['count']} online session(s) of {label} never terminated", SESSION, ids,
            row["count"], ZERO, "", brand))  # fmt: skip
    lap("open_sessions")
    return found


UPDATED_FIELDS = ("kind", "brand", "period_start_date", "title", "detail", "amount_at_risk",
                  "currency", "record_count", "records", "last_seen_at")  # fmt: skip


def findings_keep(*, period: Period, detected: list[Detected], now: dt.datetime) -> list[Finding]:
    """Create or refresh the findings; one fixed and seen again is reopened (a recurrence)."""
    prints = {fingerprint(item.kind, period, item.key): item for item in detected}
    existing = {
        finding.fingerprint: finding
        for finding in Finding.objects.select_for_update().filter(fingerprint__in=list(prints))
        .order_by("pk")
    }  # fmt: skip
    from simple_history.utils import bulk_create_with_history, bulk_update_with_history

    created, seen, reopened = [], [], []
    for key, item in prints.items():
        values = {
            "kind": item.kind, "brand_id": item.brand_id, "period_start_date": period.start_date,
            "title": item.title[:300], "detail": item.detail,
            "amount_at_risk": item.amount, "currency": item.currency,
            "record_count": item.record_count,
            "records": {"model": item.records_model, "ids": item.record_ids},
            "last_seen_at": now,
        }  # fmt: skip
        finding = existing.get(key)
        if finding is None:
            created.append(Finding(fingerprint=key, first_seen_at=now, **values))
            continue
        for name, value in values.items():
            setattr(finding, name, value)
        if finding.state == FindingState.FIXED:
            finding.state = FindingState.OPEN
            finding.recurrences += 1
            finding.fixed_at = None
            reopened.append(finding)
        else:
            seen.append(finding)
    # In bulk, with their history rows: a period of many accounts raises thousands at once.
    fields = [*UPDATED_FIELDS, "state", "recurrences", "fixed_at"]
    from django.db import connection

    if connection.vendor == "postgresql":
        # One UPDATE … FROM unnest() per batch, and each history row copied by the database
        # from the row it records: Django's bulk_update writes a CASE per field and row, which
        # for the thousands of findings of a daily rerun costs far more than the checks.
        Finding.objects.bulk_create(created, batch_size=1000)
        _findings_update(seen, fields)
        _findings_update(reopened, fields)
        _history_copy(created, "+", "found")
        _history_copy(seen, "~", "seen again")
        _history_copy(reopened, "~", "came back after it was fixed")
    else:
        bulk_create_with_history(created, Finding, batch_size=1000,
                                 default_change_reason="found")  # fmt: skip
        if seen:
            bulk_update_with_history(seen, Finding, fields, batch_size=1000,
                                     default_change_reason="seen again")  # fmt: skip
        if reopened:
            bulk_update_with_history(
                reopened, Finding, fields, batch_size=1000,
                default_change_reason="came back after it was fixed",
            )  # fmt: skip
    by_print = {finding.fingerprint: finding for finding in (*created, *seen, *reopened)}
    if created and created[0].pk is None:  # databases that return no ids from bulk_create
        by_print.update(Finding.objects.filter(fingerprint__in=[f.fingerprint for f in created])
                        .in_bulk(field_name="fingerprint"))  # fmt: skip
    return [by_print[key] for key in prints]


def _findings_update(findings: list[Finding], names: list[str], batch: int = 1000) -> None:
    """Write these fields of the findings: one UPDATE … FROM unnest() per batch (PostgreSQL)."""
    from django.db import connection

    if not findings:
        return
    columns = [Finding._meta.get_field("id"), *(Finding._meta.get_field(n) for n in names)]
    table = connection.ops.quote_name(Finding._meta.db_table)
    sets = ", ".join(
        f"{connection.ops.quote_name(f.column)} = v.{connection.ops.quote_name(f.column)}"
        for f in columns[1:]
    )
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    names_sql = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    sql = (f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({names_sql}) "
           f"WHERE {table}.id = v.id")  # fmt: skip
    with connection.cursor() as cursor:
        for start in range(0, len(findings), batch):
            rows = findings[start : start + batch]
            params = [
                [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows]
                for f in columns
            ]
            cursor.execute(sql, params)


def _history_copy(findings: list[Finding], history_type: str, reason: str) -> None:
    """Write the history rows of these findings as they now are (simple_history's fields),
    copied by the database from the findings' rows (PostgreSQL)."""
    from django.db import connection

    if not findings or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    history = Finding.history.model
    tracked = [field.column for field in history.tracked_fields]
    quote = connection.ops.quote_name
    user = history.get_default_history_user(findings[0])
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} "
        f"({', '.join(quote(c) for c in tracked)}, history_date, history_change_reason, "
        f"history_type, history_user_id) "
        f"SELECT {', '.join(quote(c) for c in tracked)}, %s, %s, %s, %s "
        f"FROM {quote(Finding._meta.db_table)} WHERE id = ANY(%s) ORDER BY id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), reason, history_type,
                             getattr(user, "pk", None), [f.pk for f in findings]])  # fmt: skip


def _work_mem() -> None:
    """Give this transaction's sorts and hashes room (ASSURANCE_WORK_MEM, PostgreSQL only):
    the checks group a month of events at once, and spilling to disk costs more than memory."""
    from django.db import connection

    if connection.vendor == "postgresql":
        size = getattr(settings, "ASSURANCE_WORK_MEM", "128MB")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [size])


def reconciliation_run(
    *, year: int, month: int, user=None, trigger: str = "on demand", now: dt.datetime | None = None
) -> Outcome:
    """Reconcile a period's usage chain (R33), run the leakage checks, keep the findings.

    The reads run in a transaction of their own, with room to sort (ASSURANCE_WORK_MEM); the
    snapshot of the chain and its findings are written together in one more.
    """
    if not 1 <= month <= 12 or not 2000 <= year <= 2999:
        raise ValidationError({"period": "give a month as YYYY-MM between 2000 and 2999"})
    now = now or timezone.now()
    period = selectors.period_of(year=year, month=month)
    started = time.perf_counter()
    timings: dict = {}
    with transaction.atomic():
        _work_mem()
        lap = _Laps(timings)
        chain = selectors.usage_chain(period)
        lap("chain")
        detected = chain_findings(period, chain)
        lap("chain_findings")
        detected += leakage_findings(period, now=now, timings=timings, summary=chain.summary)
        lap = _Laps(timings)
    with transaction.atomic():
        findings = findings_keep(period=period, detected=detected, now=now)
        balanced = not any(
            item.kind in (FindingKind.FILE_BALANCE, FindingKind.RATING_BALANCE,
                          FindingKind.MONEY_BALANCE, FindingKind.LINE_ROUNDING)
            for item in detected
        )  # fmt: skip
        reconciliation = Reconciliation.objects.create(
            period_start_date=period.start_date,
            period_end_date=period.end_date,
            period_start=period.start,
            period_end=period.end,
            currency=chain.currency,
            balanced=balanced,
            findings=len(findings),
            seconds=Decimal(f"{time.perf_counter() - started:.3f}"),
            created_by=user if getattr(user, "is_authenticated", False) else None,
            trigger=trigger,
        )
        rows = [*chain.rows, chain.total]
        ReconciliationRow.objects.bulk_create(
            ReconciliationRow(
                reconciliation=reconciliation,
                **{name: getattr(row, name) for name in row.__dataclass_fields__},
            )
            for row in rows
            if row is chain.total or row.source
        )
    lap("findings_kept")
    logger.info("reconciliation %s: %s findings in %.2f s (%s)", period.start_date,
                len(findings), time.perf_counter() - started, timings)  # fmt: skip
    return Outcome(reconciliation=reconciliation, findings=findings, timings=timings)


def reconciliation_scheduled(*, now: dt.datetime | None = None) -> Outcome:
    """The scheduled run: the last closed period (celery beat)."""
    now = now or timezone.now()
    period = selectors.last_closed_period(now=now)
    return reconciliation_run(year=period.start_date.year, month=period.start_date.month,
                              trigger="scheduled", now=now)  # fmt: skip


# --- findings: owner, state, comments ---------------------------------------------------------


def finding_update(*, finding: Finding, user, state: str | None = None, owner=...,
                   comment: str = "") -> Finding:  # fmt: skip
    """Change a finding's state and owner, with a comment (explaining it needs one)."""
    if state is not None and state not in FindingState.values:
        raise ValidationError({"state": f"one of {', '.join(FindingState.values)}"})
    comment = (comment or "").strip()
    if state == FindingState.EXPLAINED and not comment and not finding.comments.exists():
        raise ValidationError({"comment": "say why the finding is explained"})
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        if state is not None and state != finding.state:
            finding.state = state
            finding.fixed_at = timezone.now() if state == FindingState.FIXED else None
        if owner is not ...:
            finding.owner = owner
        finding._history_user = user
        finding.save()
        if comment:
            FindingComment.objects.create(finding=finding, author=user, text=comment)
    return finding


def finding_comment_add(*, finding: Finding, user, text: str) -> FindingComment:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "write a comment"})
    if len(text) > 4000:
        raise ValidationError({"text": "at most 4000 characters"})
    return FindingComment.objects.create(finding=finding, author=user, text=text)


# --- what-if of a draft plan version ----------------------------------------------------------


BILL_SHOCK_SIZE = 20


def whatif_run(
    *, plan_version: PlanVersion, user=None, now: dt.datetime | None = None
) -> WhatIfRun:
    """Rate the last closed period's real usage of a plan's subscribers on a draft version.

    The same rating engine as mediation (R23), with the draft's allowances as fresh buckets
    per subscription and period, in event-time order; nothing is written but the outcome.
    """
    if plan_version.status != Status.DRAFT:
        raise ValidationError({"plan_version": "a what-if runs on a draft plan version only"})
    now = now or timezone.now()
    period = selectors.last_closed_period(now=now)
    plan = plan_version.plan
    events = (
        selectors.wholesale_cost(selectors.events_of_period(period))
        .filter(rating_status=RatingStatus.RATED, plan_version__plan_id=plan.pk)
        .order_by("subscription_id", "started_at", "id")
    )
    cache = CatalogCache()
    version = cache.version(plan_version)
    engine = RatingEngine(cache)
    allowances = list(
        plan_version.allowances.prefetch_related("destination_zones", "roaming_zones").order_by(
            "id"
        )
    )
    accounts = {}
    per_sub: dict[int, dict] = {}
    buckets: dict[int, list] = {}
    errors = 0
    totals = {"before": ZERO, "after": ZERO, "wholesale": ZERO, "events": 0}
    for event in events.iterator(chunk_size=2000):
        account = accounts.get(event.billing_account_id)
        if account is None:
            info = BillingAccount.objects.values("timezone", "bill_cycle_day").get(
                pk=event.billing_account_id)  # fmt: skip
            account = accounts[event.billing_account_id] = AccountInfo(
                info["timezone"], info["bill_cycle_day"])  # fmt: skip
        own = buckets.get(event.subscription_id)
        if own is None:
            own = buckets[event.subscription_id] = [
                BucketState(
                    id=allowance.pk, subscription_id=event.subscription_id,
                    billing_account_id=event.billing_account_id, shared=allowance.shared,
                    from_plan=True, plan_id=plan.pk, services=frozenset(allowance.services),
                    destination_zones=frozenset(z.code for z in allowance.destination_zones.all()),
                    roaming_zones=frozenset(z.code for z in allowance.roaming_zones.all()),
                    valid_from=period.start, valid_to=period.end,
                    remaining=allowance.quantity_base,
                )
                for allowance in allowances
            ]  # fmt: skip
        # The engine reads a usage record as mediation makes it (charging.cdr).
        record = UsageRecord(
            event.line_number or 0, "", event.record_id, event.record_type, event.service,
            event.msisdn, event.imsi, event.started_at, event.utc_offset, event.duration,
            event.volume_uplink, event.volume_downlink, event.units, event.other_party,
            event.apn, event.visited_plmn, event.cause, event.charging_id, event.source,
        )  # fmt: skip
        term = _Term(plan_id=plan.pk, subscription_id=event.subscription_id,
                     billing_account_id=event.billing_account_id)  # fmt: skip
        rating = engine.rate(record, term=term, account=account, source=event.source,
                             buckets=own, fair_use=FairUseCounter(), version=version)  # fmt: skip
        after = rating.retail_amount if rating.status == RatingStatus.RATED else None
        if after is None:
            errors += 1
            after = ZERO
        row = per_sub.setdefault(event.subscription_id,
                                 {"subscription": event.subscription_id, "msisdn": event.msisdn,
                                  "before": ZERO, "after": ZERO})  # fmt: skip
        row["before"] += event.retail_amount or ZERO
        row["after"] += after
        totals["before"] += event.retail_amount or ZERO
        totals["after"] += after
        totals["wholesale"] += event.cost
        totals["events"] += 1
    subscriptions = list(selectors.active_subscriptions(period, plan_id=plan.pk).values_list(
        "pk", "msisdn"))  # fmt: skip
    current = (
        PlanVersion.objects.filter(plan=plan, status=Status.PUBLISHED,
                                   effective_from__lt=period.end)
        .order_by("-effective_from").first()
    )  # fmt: skip
    fee_before = current.recurring_fee if current else ZERO
    fee_after = plan_version.recurring_fee
    for pk, msisdn in subscriptions:
        row = per_sub.setdefault(pk, {"subscription": pk, "msisdn": msisdn, "before": ZERO,
                                      "after": ZERO})  # fmt: skip
        row["before"] += fee_before
        row["after"] += fee_after
    shock = sorted(per_sub.values(), key=lambda r: (-(r["after"] - r["before"]), r["subscription"]))
    shock = [
        {"subscription": r["subscription"], "msisdn": r["msisdn"], "before": str(r["before"]),
         "after": str(r["after"]), "change": str(r["after"] - r["before"])}
        for r in shock[:BILL_SHOCK_SIZE] if r["after"] > r["before"]
    ]  # fmt: skip
    return WhatIfRun.objects.create(
        plan_version=plan_version, brand_id=plan.brand_id, period_start_date=period.start_date,
        currency=plan.currency, subscriptions=len(per_sub), events=totals["events"],
        errors=errors, retail_before=totals["before"], retail_after=totals["after"],
        recurring_before=fee_before * len(subscriptions),
        recurring_after=fee_after * len(subscriptions), wholesale=totals["wholesale"],
        bill_shock=shock, created_by=user if getattr(user, "is_authenticated", False) else None,
    )  # fmt: skip


@dataclass(frozen=True)
class _Term:
    """The term the engine reads: the plan and who holds it."""

    plan_id: int
    subscription_id: int
    billing_account_id: int
    status: str = SubscriptionStatus.ACTIVE
