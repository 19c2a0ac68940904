"""Reads of the revenue assurance: the usage chain of a period (R33), wholesale cost, KPIs.

Every figure is one set-based query over the usage store (the month partitions of
``charging_usageevent`` are pruned by the ``started_at`` range) or over invoices; nothing is
read row by row. Wholesale cost of usage is read through ``wholesale_cost`` only: the wholesale
amounts the rated events carry (R14); the host networks' fixed fees (R31) come from settlement's
statements (``host_network_fees``) and enter the margin.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from assurance.models import Finding, Reconciliation, WhatIfRun
from catalog.models import Plan, PlanVersion
from catalog.selectors import brands_of
from charging.models import FileStatus, RatingStatus, SequenceGap, UsageEvent, UsageFile
from core.periods import Period, billing_period, billing_period_containing
from invoicing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from subscribers.models import Subscription, SubscriptionStatus, SubscriptionTerm

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=20, decimal_places=6)
# Invoices that count as invoiced: final and not void (R28).
INVOICED_STATUSES = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.PARTIALLY_PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.OVERDUE,
)
UNPAID_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
BILLED_KINDS = (InvoiceKind.INVOICE, InvoiceKind.STATEMENT)
LOADED_FILES = (FileStatus.PROCESSED, FileStatus.PROCESSING)
HOME_ZONES = ("", "HOME")


def _setting(name: str, default):
    return getattr(settings, name, default)


def file_lag() -> dt.timedelta:
    """How long after a period's end its last files may still arrive (ASSURANCE_FILE_LAG_HOURS).

    A file belongs to the period its file time (or, without one, its arrival) falls in once
    moved back by the lag: CDR_..._20261101000500 closes October's traffic.
    """
    return dt.timedelta(hours=_setting("ASSURANCE_FILE_LAG_HOURS", 24))


def period_of(*, year: int, month: int) -> Period:
    """The reconciled period: a calendar month in the console's time zone."""
    return billing_period(year=year, month=month, tz=settings.TIME_ZONE)


def last_closed_period(*, now: dt.datetime | None = None) -> Period:
    """The last period whose end is ASSURANCE_CLOSE_DAYS behind ``now`` (bills are out)."""
    now = now or timezone.now()
    close = dt.timedelta(days=_setting("ASSURANCE_CLOSE_DAYS", 5))
    current = billing_period_containing(now - close, tz=settings.TIME_ZONE)
    previous = current.start - dt.timedelta(seconds=1)
    return billing_period_containing(previous, tz=settings.TIME_ZONE)


def period_closed(period: Period, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return now >= period.end + dt.timedelta(days=_setting("ASSURANCE_CLOSE_DAYS", 5))


@dataclass(frozen=True)
class PeriodData:
    """A period and what it holds for some brands: final invoices, usage events."""

    period: Period
    invoices: bool
    usage: bool

    @property
    def has_data(self) -> bool:
        return self.invoices or self.usage


PICKER_MONTHS = 24


def periods_with_data(
    *, brand_ids=None, now: dt.datetime | None = None, count: int = PICKER_MONTHS
) -> list[PeriodData]:
    """The ``count`` periods up to the current one, newest first, with what each holds.

    Invoices: one query for the months of their periods (final invoices and statements, as
    the KPIs count them); usage: one EXISTS per month, which stops at the first event (a month
    partition each on PostgreSQL).
    """
    now = now or timezone.now()
    current = billing_period_containing(now, tz=settings.TIME_ZONE)
    periods = list(reversed(periods_back(current, count)))
    oldest = periods[-1]
    invoiced = {
        (month.year, month.month)
        for month in _scope_invoices(
            Invoice.objects.filter(
                kind__in=BILLED_KINDS,
                status__in=INVOICED_STATUSES,
                period_start__gte=oldest.start,
                period_start__lt=current.end,
            ),
            brand_ids=brand_ids,
        ).datetimes("period_start", "month", tzinfo=timezone.get_default_timezone())
    }
    result = []
    for period in periods:
        events = _scope_events(events_of_period(period), brand_ids=brand_ids, plan_id=None)
        result.append(
            PeriodData(
                period=period,
                invoices=(period.start_date.year, period.start_date.month) in invoiced,
                usage=events.exists(),
            )
        )
    return result


def default_period(*, brand_ids=None, now: dt.datetime | None = None) -> Period:
    """The period a dashboard opens on: the latest with invoices or usage for the brands,
    else the last closed one."""
    for item in periods_with_data(brand_ids=brand_ids, now=now):
        if item.has_data:
            return item.period
    return last_closed_period(now=now)


def periods_back(period: Period, count: int) -> list[Period]:
    """``count`` periods ending with ``period``, oldest first."""
    periods = [period]
    while len(periods) < count:
        before = periods[0].start - dt.timedelta(seconds=1)
        periods.insert(0, billing_period_containing(before, tz=settings.TIME_ZONE))
    return periods


# --- what the chain reads ---------------------------------------------------------------------


def files_of_period(period: Period) -> QuerySet[UsageFile]:
    """The usage files of a period: file time (or arrival) moved back by the lag inside it."""
    lag = file_lag()
    return UsageFile.objects.annotate(stamp=Coalesce("file_time", "received_at")).filter(
        stamp__gte=period.start + lag, stamp__lt=period.end + lag
    )


def events_of_period(period: Period) -> QuerySet[UsageEvent]:
    """The usage events started in a period (the usage store's month partitions)."""
    return UsageEvent.objects.filter(started_at__gte=period.start, started_at__lt=period.end)


def invoiced_lines() -> QuerySet[InvoiceLine]:
    """Lines of final, not void invoices and statements (credit notes correct them apart)."""
    return InvoiceLine.objects.filter(
        invoice__kind__in=BILLED_KINDS, invoice__status__in=INVOICED_STATUSES
    )


def on_an_invoice():
    """An Exists() telling whether a usage event's account was invoiced for its time.

    An event is invoiced when a final invoice (its account's own, or a parent's with the
    account's section) covers its start: its usage line, or, when its group rounds to zero,
    its itemised part (R34).
    """
    return Exists(
        invoiced_lines().filter(
            billing_account_id=OuterRef("billing_account_id"),
            invoice__period_start__lte=OuterRef("started_at"),
            invoice__period_end__gt=OuterRef("started_at"),
        )
    )


def usage_lines_of_period(period: Period) -> QuerySet[InvoiceLine]:
    """The usage lines invoiced for a period (invoices whose period starts in it)."""
    return invoiced_lines().filter(
        kind=LineKind.USAGE,
        invoice__period_start__gte=period.start,
        invoice__period_start__lt=period.end,
    )


def line_events(line: InvoiceLine) -> QuerySet[UsageEvent]:
    """The rated events a usage line sums (R34): its subscription's group in its period."""
    invoice = line.invoice
    return UsageEvent.objects.filter(
        subscription_id=line.subscription_id,
        billing_account_id=line.billing_account_id,
        service=line.service,
        destination_zone=line.destination_zone,
        roaming_zone=line.roaming_zone,
        started_at__gte=invoice.period_start,
        started_at__lt=invoice.period_end,
        rating_status=RatingStatus.RATED,
    )


def event_line(event: UsageEvent) -> InvoiceLine | None:
    """The invoice line an event landed on (its usage line; None when not invoiced)."""
    return (
        InvoiceLine.objects.filter(
            kind=LineKind.USAGE,
            subscription_id=event.subscription_id,
            billing_account_id=event.billing_account_id,
            service=event.service,
            destination_zone=event.destination_zone,
            roaming_zone=event.roaming_zone,
            invoice__kind__in=BILLED_KINDS,
            invoice__period_start__lte=event.started_at,
            invoice__period_end__gt=event.started_at,
        )
        .exclude(invoice__status__in=(InvoiceStatus.VOID, InvoiceStatus.EXCLUDED))
        .select_related("invoice")
        .order_by("-invoice__status")
        .first()
    )


def event_invoice(event: UsageEvent) -> Invoice | None:
    """The invoice whose period covers an event, even when its group rounds to no line."""
    line = (
        InvoiceLine.objects.filter(
            billing_account_id=event.billing_account_id,
            invoice__kind__in=BILLED_KINDS,
            invoice__period_start__lte=event.started_at,
            invoice__period_end__gt=event.started_at,
        )
        .exclude(invoice__status__in=(InvoiceStatus.VOID, InvoiceStatus.EXCLUDED))
        .select_related("invoice")
        .first()
    )
    return line.invoice if line else None


def settlement_line_of(event: UsageEvent):
    """The partner statement line an event's wholesale cost landed on (R31), or None.

    A host network's statement groups its usage by service and roaming zone over the month:
    the line is the usage line of the statement of the partner of the event's host network
    whose period holds the event, for its service and roaming zone. The latest statement wins
    when a draft was run again.
    """
    from settlement.models import LineKind, StatementLine

    if event.wholesale_amount is None:
        return None
    return (
        StatementLine.objects.filter(
            kind=LineKind.USAGE,
            service=event.service,
            roaming_zone=event.roaming_zone or "",
            statement__partner__host_network__code=event.source,
            statement__period_start__lte=event.started_at,
            statement__period_end__gt=event.started_at,
        )
        .select_related("statement")
        .order_by("-statement_id")
        .first()
    )


def wholesale_cost(events: QuerySet[UsageEvent]) -> QuerySet[UsageEvent]:
    """The one place wholesale cost is read from: annotate each event with ``cost``.

    Today the wholesale amount the rating engine gave each event (R14). When settlement's
    partner statements exist, this is where their figures take over.
    """
    return events.annotate(cost=Coalesce(F("wholesale_amount"), Value(ZERO), output_field=MONEY))


# --- the chain of a period --------------------------------------------------------------------


@dataclass
class ChainRow:
    source: str = ""
    files_loaded: int = 0
    files_duplicate: int = 0
    files_quarantined: int = 0
    files_failed: int = 0
    sequence_gaps: int = 0
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rated: int = 0
    in_error: int = 0
    events: int = 0
    rated_retail: Decimal = ZERO
    invoiced_usage: Decimal = ZERO
    unbilled: Decimal = ZERO
    rounding: Decimal = ZERO
    difference: Decimal = ZERO
    wholesale: Decimal = ZERO

    def add(self, other: "ChainRow") -> None:
        for name in self.__dataclass_fields__:
            if name != "source":
                setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Chain:
    period: Period
    rows: list[ChainRow] = field(default_factory=list)
    total: ChainRow = field(default_factory=ChainRow)
    currency: str = ""
    # Read once for the checks that follow the chain (assurance.services): the events of each
    # loaded file of the period, and the period's event summary (``event_summary``).
    events_per_file: dict = field(default_factory=dict)
    summary: list = field(default_factory=list)


# --- the event summary of a period: one GROUP BY over the usage store -------------------------

SUMMARY_KEYS = ("source", "currency", "billing_account_id", "plan_version_id", "rating_status",
                "invoiced")  # fmt: skip


@dataclass(frozen=True)
class SummaryRow:
    """The events of a period sharing source, currency, account, plan version, rating status
    and whether an invoice covers them: their count and money (wholesale cost as
    ``wholesale_cost`` reads it: the events' wholesale amount, none counting as zero)."""

    source: str
    currency: str
    billing_account_id: int | None
    plan_version_id: int | None
    rating_status: str
    invoiced: bool
    events: int
    retail: Decimal  # every event's retail amount (none counts as zero)
    charged: int  # events with a retail amount above zero
    charged_retail: Decimal
    cost: Decimal
    costly: int  # events with a wholesale cost above zero
    costly_cost: Decimal


_COVERED_SQL = """
    SELECT line.billing_account_id AS account,
           range_agg(tstzrange(invoice.period_start, invoice.period_end, '[)')) AS spans
    FROM {line} line JOIN {invoice} invoice ON invoice.id = line.invoice_id
    WHERE invoice.kind = ANY(%(kinds)s) AND invoice.status = ANY(%(statuses)s)
      AND invoice.period_start < %(end)s AND invoice.period_end > %(start)s
      AND line.billing_account_id IS NOT NULL
    GROUP BY line.billing_account_id
"""


def _covered_sql() -> str:
    """Per account, the spans its final invoices cover (``on_an_invoice``), as a multirange."""
    return _COVERED_SQL.format(line=InvoiceLine._meta.db_table, invoice=Invoice._meta.db_table)


def _covered_params(period: Period) -> dict:
    return {"kinds": list(BILLED_KINDS), "statuses": list(INVOICED_STATUSES),
            "start": period.start, "end": period.end}  # fmt: skip


_SUMMARY_SQL = """
WITH covered AS ({covered})
SELECT event.source, event.currency, event.billing_account_id, event.plan_version_id,
       event.rating_status, COALESCE(covered.spans @> event.started_at, false) AS invoiced,
       COUNT(*),
       COALESCE(SUM(event.retail_amount), 0),
       COUNT(*) FILTER (WHERE event.retail_amount > 0),
       COALESCE(SUM(event.retail_amount) FILTER (WHERE event.retail_amount > 0), 0),
       COALESCE(SUM(COALESCE(event.wholesale_amount, 0)), 0),
       COUNT(*) FILTER (WHERE COALESCE(event.wholesale_amount, 0) > 0),
       COALESCE(SUM(event.wholesale_amount) FILTER (WHERE event.wholesale_amount > 0), 0)
FROM {event} event LEFT JOIN covered ON covered.account = event.billing_account_id
WHERE event.started_at >= %(start)s AND event.started_at < %(end)s
GROUP BY 1, 2, 3, 4, 5, 6
"""


def event_summary(period: Period) -> list[SummaryRow]:
    """Summarise a period's events by source, currency, account, plan version, rating status
    and invoiced (``on_an_invoice``), in one scan of the usage store.

    The chain (R33) and the leakage checks by account or plan read their figures from these
    few thousand rows instead of scanning a month of events once each. On PostgreSQL the
    invoiced test is a hash join on the account with the invoiced spans merged per account
    (a multirange): one containment test per event, not one sub-query per event.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        sql = _SUMMARY_SQL.format(covered=_covered_sql(), event=UsageEvent._meta.db_table)
        params = _covered_params(period)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [SummaryRow(*row) for row in cursor.fetchall()]
    positive = Q(retail_amount__gt=0)
    costly = Q(cost__gt=0)
    rows = (
        wholesale_cost(events_of_period(period))
        .annotate(invoiced=on_an_invoice())
        .values(*SUMMARY_KEYS)
        .annotate(
            events=Count("id"),
            retail=Coalesce(Sum("retail_amount"), ZERO, output_field=MONEY),
            charged=Count("id", filter=positive),
            charged_retail=Coalesce(Sum("retail_amount", filter=positive), ZERO,
                                    output_field=MONEY),
            spent=Coalesce(Sum("cost"), ZERO, output_field=MONEY),
            costly=Count("id", filter=costly),
            costly_cost=Coalesce(Sum("cost", filter=costly), ZERO, output_field=MONEY),
        )
        .order_by()
    )  # fmt: skip
    return [
        SummaryRow(*(row[key] for key in SUMMARY_KEYS), row["events"], row["retail"],
                   row["charged"], row["charged_retail"], row["spent"], row["costly"],
                   row["costly_cost"])
        for row in rows
    ]  # fmt: skip


_UNBILLED_IDS_SQL = """
WITH covered AS ({covered})
SELECT account, id FROM (
    SELECT event.billing_account_id AS account, event.id,
           ROW_NUMBER() OVER (PARTITION BY event.billing_account_id ORDER BY event.id) AS rank
    FROM {event} event LEFT JOIN covered ON covered.account = event.billing_account_id
    WHERE event.started_at >= %(start)s AND event.started_at < %(end)s
      AND event.rating_status = %(rated)s AND event.retail_amount > 0
      AND (event.billing_account_id IN (SELECT unnest(%(accounts)s::bigint[]))
           OR (%(nulls)s AND event.billing_account_id IS NULL))
      AND NOT COALESCE(covered.spans @> event.started_at, false)
) ranked WHERE rank <= %(limit)s ORDER BY account, id
"""


def of_accounts(accounts) -> Q:
    """Events of these billing accounts, None standing for events of no account."""
    condition = Q(billing_account_id__in=[account for account in accounts if account is not None])
    if None in accounts:
        condition |= Q(billing_account_id__isnull=True)
    return condition


def unbilled_event_ids(period: Period, *, accounts: list[int], limit: int) -> dict[int, list]:
    """The first ``limit`` ids of each account's rated, charged events on no invoice.

    One query (a window over the accounts' events); on PostgreSQL with the same invoiced
    test as ``event_summary``.
    """
    from django.db import connection

    if not accounts:
        return {}
    if connection.vendor == "postgresql":
        sql = _UNBILLED_IDS_SQL.format(covered=_covered_sql(), event=UsageEvent._meta.db_table)
        params = {**_covered_params(period), "rated": RatingStatus.RATED,
                  "accounts": [a for a in accounts if a is not None],
                  "nulls": None in accounts, "limit": limit}  # fmt: skip
        ids: dict[int, list] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for account, pk in cursor.fetchall():
                ids.setdefault(account, []).append(pk)
        return ids
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    events = (
        events_of_period(period)
        .filter(rating_status=RatingStatus.RATED, retail_amount__gt=0)
        .filter(of_accounts(accounts))
        .annotate(invoiced=on_an_invoice())
        .filter(invoiced=False)
        .annotate(rank=Window(RowNumber(), partition_by=[F("billing_account_id")],
                              order_by=F("pk").asc()))
        .order_by()
    )  # fmt: skip
    ids = {}
    for account, pk in events.filter(rank__lte=limit).values_list("billing_account_id", "pk"):
        ids.setdefault(account, []).append(pk)
    for values in ids.values():
        values.sort()
    return ids


def usage_chain(period: Period) -> Chain:
    """Compute the usage chain of a period per source and in total (R33), in five queries.

    Files by source, sequence gaps, the loaded files' events by file, the period's event
    summary (``event_summary``) and the usage lines: each one set-based query.
    """
    files = files_of_period(period)
    rows: dict[str, ChainRow] = {}

    def row(source: str) -> ChainRow:
        return rows.setdefault(source, ChainRow(source=source))

    for item in (
        files.values("source")
        .annotate(
            loaded=Count("id", filter=Q(status__in=LOADED_FILES)),
            duplicate=Count("id", filter=Q(status=FileStatus.DUPLICATE)),
            quarantined=Count("id", filter=Q(status=FileStatus.QUARANTINED)),
            failed=Count("id", filter=Q(status=FileStatus.FAILED)),
            received=Coalesce(Sum("records_read", filter=Q(status__in=LOADED_FILES)), 0),
            accepted=Coalesce(Sum("records_accepted", filter=Q(status__in=LOADED_FILES)), 0),
            rejected=Coalesce(Sum("records_rejected", filter=Q(status__in=LOADED_FILES)), 0),
            duplicates=Coalesce(Sum("records_duplicate", filter=Q(status__in=LOADED_FILES)), 0),
        )
        .order_by()
    ):
        this = row(item["source"])
        this.files_loaded, this.files_duplicate = item["loaded"], item["duplicate"]
        this.files_quarantined, this.files_failed = item["quarantined"], item["failed"]
        this.received, this.accepted = item["received"], item["accepted"]
        this.rejected, this.duplicates = item["rejected"], item["duplicates"]
    for item in (
        SequenceGap.objects.filter(detected_in__in=files.values("pk"))
        .values("source")
        .annotate(count=Count("id"))
        .order_by()
    ):
        row(item["source"]).sequence_gaps = item["count"]
    # The events of the period's loaded files, by file and source, by rating status.
    loaded = files.filter(status__in=LOADED_FILES).values("pk")
    per_file: dict[int, int] = {}
    for item in (
        UsageEvent.objects.filter(usage_file_id__in=loaded)
        .values("usage_file_id", "source")
        .annotate(
            events=Count("id"),
            rated=Count("id", filter=Q(rating_status=RatingStatus.RATED)),
            error=Count("id", filter=Q(rating_status=RatingStatus.ERROR)),
        )
        .order_by()
    ):
        this = row(item["source"])
        this.rated += item["rated"]
        this.in_error += item["error"]
        per_file[item["usage_file_id"]] = per_file.get(item["usage_file_id"], 0) + item["events"]
    # The money of the events started in the period: rated, on no invoice, wholesale.
    summary = event_summary(period)
    currencies: dict[str, str] = {}
    for item in summary:
        this = row(item.source)
        this.events += item.events
        this.wholesale += item.cost
        currencies.setdefault(item.source, item.currency)
        if item.rating_status != RatingStatus.RATED:
            continue
        this.rated_retail += item.retail
        if item.invoiced:
            # Per source, the invoiced part is the exact retail of its invoiced events.
            this.invoiced_usage += item.retail
        else:
            this.unbilled += item.retail
    chain = Chain(period=period, rows=sorted(rows.values(), key=lambda r: r.source))
    chain.events_per_file, chain.summary = per_file, summary
    total = ChainRow()
    for this in chain.rows:
        total.add(this)
    # In total: invoiced is what the usage lines say, rounded; rounding is what they left.
    lines = usage_lines_of_period(period).aggregate(
        amount=Coalesce(Sum("amount"), ZERO, output_field=MONEY),
        rated=Coalesce(Sum("rated_amount"), ZERO, output_field=MONEY),
    )
    total.invoiced_usage = lines["amount"]
    total.rounding = lines["rated"] - lines["amount"]
    total.difference = total.rated_retail - total.invoiced_usage - total.unbilled - total.rounding
    chain.total = total
    chain.currency = next((currencies[source] for source in sorted(currencies)
                           if currencies[source]), "")  # fmt: skip
    return chain


def half_minor_unit(currency: str) -> Decimal:
    from core.money import minor_unit_exponent

    return minor_unit_exponent(currency or "EUR") / 2


# --- KPIs -------------------------------------------------------------------------------------

FEE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED, SubscriptionStatus.BARRED)


def _scope_subscriptions(subscriptions, *, brand_ids, plan_id):
    if brand_ids is not None:
        subscriptions = subscriptions.filter(billing_account__customer__brand_id__in=brand_ids)
    if plan_id:
        subscriptions = subscriptions.filter(plan_id=plan_id)
    return subscriptions


def _scope_events(events, *, brand_ids, plan_id):
    if brand_ids is not None:
        events = events.filter(
            billing_account_id__in=Subscription.objects.filter(
                billing_account__customer__brand_id__in=brand_ids
            ).values("billing_account_id")
        )
    if plan_id:
        events = events.filter(plan_version__plan_id=plan_id)
    return events


def _scope_invoices(invoices, *, brand_ids):
    return invoices if brand_ids is None else invoices.filter(brand_id__in=brand_ids)


def active_subscriptions(period: Period, *, brand_ids=None, plan_id=None):
    """Subscriptions in a fee-paying status on any day of the period (R24)."""
    terms = SubscriptionTerm.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=period.start),
        valid_from__lt=period.end,
        status__in=FEE_STATUSES,
    )
    subscriptions = Subscription.objects.filter(pk__in=terms.values("subscription_id"))
    return _scope_subscriptions(subscriptions, brand_ids=brand_ids, plan_id=plan_id)


def active_at(instant: dt.datetime, *, brand_ids=None, plan_id=None):
    terms = SubscriptionTerm.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=instant),
        valid_from__lte=instant,
        status__in=FEE_STATUSES,
    )
    subscriptions = Subscription.objects.filter(pk__in=terms.values("subscription_id"))
    return _scope_subscriptions(subscriptions, brand_ids=brand_ids, plan_id=plan_id)


def gross_adds(period: Period, *, brand_ids=None, plan_id=None):
    """Subscriptions first activated in the period."""
    earlier = SubscriptionTerm.objects.filter(
        subscription_id=OuterRef("pk"),
        status=SubscriptionStatus.ACTIVE,
        valid_from__lt=period.start,
    )
    first = SubscriptionTerm.objects.filter(
        status=SubscriptionStatus.ACTIVE, valid_from__gte=period.start, valid_from__lt=period.end
    )
    subscriptions = Subscription.objects.filter(pk__in=first.values("subscription_id")).exclude(
        Exists(earlier)
    )
    return _scope_subscriptions(subscriptions, brand_ids=brand_ids, plan_id=plan_id)


def churned(period: Period, *, brand_ids=None, plan_id=None):
    """Subscriptions terminated in the period."""
    ended = SubscriptionTerm.objects.filter(
        status=SubscriptionStatus.TERMINATED,
        valid_from__gte=period.start,
        valid_from__lt=period.end,
    )
    subscriptions = Subscription.objects.filter(pk__in=ended.values("subscription_id"))
    return _scope_subscriptions(subscriptions, brand_ids=brand_ids, plan_id=plan_id)


def invoices_of_period(period: Period, *, brand_ids=None):
    invoices = Invoice.objects.filter(
        kind__in=BILLED_KINDS,
        status__in=INVOICED_STATUSES,
        period_start__gte=period.start,
        period_start__lt=period.end,
    )
    return _scope_invoices(invoices, brand_ids=brand_ids)


@dataclass
class Kpis:
    period: Period
    currency: str
    active: int
    gross_adds: int
    churned: int
    base: int
    churn_rate: Decimal | None
    revenue: Decimal
    arpu: Decimal | None
    usage_retail: Decimal
    wholesale: Decimal
    margin: Decimal
    roaming_retail: Decimal
    roaming_share: Decimal | None
    usage_by_service: dict
    usage_per_subscriber: dict
    billed_gross: Decimal
    unpaid_gross: Decimal
    dso_days: Decimal | None
    unbilled: Decimal
    plans: list = field(default_factory=list)
    # R31: the host networks' fixed fees of the month's settlement statements (allocated to
    # the plan when one is asked for); ``margin`` is revenue less usage wholesale and these.
    host_fees: Decimal = ZERO
    host_fee_statements: list = field(default_factory=list)
    usage_margin: Decimal = ZERO  # usage retail less usage wholesale (the scenario's margin)
    # Collections beside DSO: what was owed on the period's last day, per currency, in
    # invoicing's aged-receivables buckets (invoicing.payments.selectors.aged_receivables).
    receivables_as_of: dt.date | None = None
    receivables: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "period": self.period.start_date.strftime("%Y-%m"),
            "currency": self.currency,
            "activeSubscribers": self.active,
            "grossAdds": self.gross_adds,
            "churned": self.churned,
            "churnRate": _text(self.churn_rate),
            "revenue": str(self.revenue),
            "arpu": _text(self.arpu),
            "usageRetail": str(self.usage_retail),
            "wholesaleCost": str(self.wholesale),
            "margin": str(self.margin),
            "hostNetworkFees": str(self.host_fees),
            "hostNetworkFeeStatements": [statement.pk for statement in self.host_fee_statements],
            "usageMargin": str(self.usage_margin),
            "roamingShare": _text(self.roaming_share),
            "usagePerSubscriber": {k: str(v) for k, v in self.usage_per_subscriber.items()},
            "billedGross": str(self.billed_gross),
            "unpaidGross": str(self.unpaid_gross),
            "dsoDays": _text(self.dso_days),
            "unbilledUsage": str(self.unbilled),
            "agedReceivables": {
                "asOf": self.receivables_as_of.isoformat() if self.receivables_as_of else None,
                "currencies": [
                    {
                        "currency": total.currency,
                        "buckets": {name: str(value) for name, value in total.named},
                        "total": str(total.total),
                        "invoices": total.invoices,
                    }
                    for total in self.receivables
                ],
            },
            "plans": self.plans,
        }


def _text(value):
    return None if value is None else str(value)


def _ratio(part, whole, places="0.0001") -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal(places))


def kpis(period: Period, *, brand_ids=None, plan_id=None) -> Kpis:
    """The KPIs of a period for some brands (None: every brand) and, optionally, one plan."""
    active = active_subscriptions(period, brand_ids=brand_ids, plan_id=plan_id).count()
    adds = gross_adds(period, brand_ids=brand_ids, plan_id=plan_id).count()
    lost = churned(period, brand_ids=brand_ids, plan_id=plan_id).count()
    base = active_at(period.start, brand_ids=brand_ids, plan_id=plan_id).count()
    events = _scope_events(events_of_period(period), brand_ids=brand_ids, plan_id=plan_id)
    rated = Q(rating_status=RatingStatus.RATED)
    money = (
        wholesale_cost(events)
        .annotate(invoiced=on_an_invoice())
        .aggregate(
            retail=Coalesce(Sum("retail_amount", filter=rated), ZERO, output_field=MONEY),
            spent=Coalesce(Sum("cost"), ZERO, output_field=MONEY),
            roaming=Coalesce(
                Sum("retail_amount", filter=rated & ~Q(roaming_zone__in=HOME_ZONES)),
                ZERO,
                output_field=MONEY,
            ),
            unbilled=Coalesce(
                Sum("retail_amount", filter=rated & Q(invoiced=False)), ZERO, output_field=MONEY
            ),
        )
    )
    by_service = {
        item["service"]: {"units": item["units"], "retail": item["retail"] or ZERO}
        for item in events.filter(rated)
        .values("service")
        .annotate(units=Sum("units"), retail=Sum("retail_amount"))
        .order_by("service")
    }
    invoices = invoices_of_period(period, brand_ids=brand_ids)
    if plan_id:
        revenue_lines = (
            invoiced_lines()
            .filter(invoice__in=invoices, plan_version__plan_id=plan_id)
            .exclude(kind=LineKind.USAGE)
        )
        fees = revenue_lines.aggregate(v=Coalesce(Sum("amount"), ZERO, output_field=MONEY))["v"]
        revenue = fees + money["retail"]
    else:
        revenue = invoices.aggregate(v=Coalesce(Sum("net_total"), ZERO, output_field=MONEY))["v"]
    billed = invoices.aggregate(
        gross=Coalesce(Sum("gross_total"), ZERO, output_field=MONEY),
        unpaid=Coalesce(
            Sum("gross_total", filter=Q(status__in=UNPAID_STATUSES)), ZERO, output_field=MONEY
        ),
    )
    dso = None
    if billed["gross"]:
        dso = (billed["unpaid"] / billed["gross"] * period.days).quantize(Decimal("0.1"))
    hosts = host_network_fees(period, brand_ids=brand_ids)
    host_fees = hosts.by_plan.get(plan_id, ZERO) if plan_id else hosts.total
    currency = (
        events.exclude(currency="").values_list("currency", flat=True).first()
        or invoices.values_list("currency", flat=True).first()
        or ""
    )
    result = Kpis(
        period=period,
        currency=currency,
        active=active,
        gross_adds=adds,
        churned=lost,
        base=base,
        churn_rate=_ratio(lost, base),
        revenue=revenue,
        arpu=(revenue / active).quantize(Decimal("0.01")) if active else None,
        usage_retail=money["retail"],
        wholesale=money["spent"],
        margin=revenue - money["spent"] - host_fees,
        host_fees=host_fees,
        host_fee_statements=hosts.statements if host_fees else [],
        usage_margin=money["retail"] - money["spent"],
        roaming_retail=money["roaming"],
        roaming_share=_ratio(money["roaming"], money["retail"]),
        usage_by_service=by_service,
        usage_per_subscriber={
            service: (Decimal(values["units"]) / active).quantize(Decimal("0.01"))
            for service, values in by_service.items()
        }
        if active
        else {},
        billed_gross=billed["gross"],
        unpaid_gross=billed["unpaid"],
        dso_days=dso,
        unbilled=money["unbilled"],
    )
    if not plan_id:
        result.plans = plan_margins(period, brand_ids=brand_ids, hosts=hosts)
        # Invoices are not per plan: the receivables are the brands' only.
        result.receivables_as_of, result.receivables = aged_receivables_at_end(
            period, brand_ids=brand_ids
        )
    return result


def aged_receivables_at_end(period: Period, *, brand_ids=None) -> tuple[dt.date, list]:
    """What was owed on a period's last day, per currency, in invoicing's aging buckets.

    invoicing's own selector, on the brands' invoices: each open invoice's amount due (its
    total less credit notes and the payments allocated to it) in the bucket of its days past
    due on that day. The drill-down is invoicing's aged-receivables invoice list.
    """
    from invoicing.payments.selectors import aged_receivables

    as_of = period.end_date - dt.timedelta(days=1)
    invoices = _scope_invoices(Invoice.objects.all(), brand_ids=brand_ids)
    _rows, totals = aged_receivables(user=None, as_of=as_of, invoices=invoices)
    return as_of, totals


@dataclass
class HostFees:
    """A period's fixed host-network fees (R31) from its settlement statements, per plan."""

    total: Decimal = ZERO
    by_plan: dict = field(default_factory=dict)  # plan id (None: no SIM to allocate to) → fee
    statements: list = field(default_factory=list)  # the statements they come from


FIXED_FEE_KINDS = ("sim_fee", "platform_fee", "shortfall")  # settlement.models.LineKind


def host_network_fees(period: Period, *, brand_ids=None) -> HostFees:
    """The host networks' fixed fees of a period allocated to plans (R31).

    For each host network's settlement statement of the month: its SIM fee, platform fee and
    minimum-commitment shortfall lines, shared among plans by the SIMs the statement counted
    (its subscriptions on the host network's SIMs active on any day of the statement's period,
    settlement.selectors.active_sims) under each SIM's plan: the per-SIM fee falls on the
    SIM's plan exactly; the platform fee and a shortfall in proportion. Each share is rounded
    to the rated places (R2) and what rounding leaves goes to the plan with most SIMs, so the
    shares add up to the statement's lines. A month without a statement has no fees here.
    Brand scoping: a brand's plans bear their shares; what no plan bears is shown to users who
    see every brand only.
    """
    from core.money import quantize_rated
    from settlement.models import Statement, StatementLine

    fees = HostFees()
    statements = (
        Statement.objects.filter(
            partner__host_network__isnull=False,
            run__period_year=period.start_date.year,
            run__period_month=period.start_date.month,
        )
        .select_related("partner")
        .order_by("pk")
    )
    brand_plans = (
        None
        if brand_ids is None
        else set(Plan.objects.filter(brand_id__in=brand_ids).values_list("pk", flat=True))
    )
    for statement in statements:
        amounts = list(
            StatementLine.objects.filter(statement=statement, kind__in=FIXED_FEE_KINDS)
            .order_by("position")
            .values_list("amount", flat=True)
        )
        if not amounts:
            continue
        sims = dict(
            Subscription.objects.filter(
                sim__host_network_id=statement.partner.host_network_id,
                activated_at__isnull=False,
                activated_at__lt=statement.period_end,
            )
            .filter(Q(terminated_at__isnull=True) | Q(terminated_at__gt=statement.period_start))
            .values("plan_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("plan_id", "n")
        )
        counted = sum(sims.values())
        shares: dict = {}
        for amount in amounts:
            if not counted:
                shares[None] = shares.get(None, ZERO) + amount
                continue
            part = {plan: quantize_rated(amount * n / counted) for plan, n in sims.items()}
            largest = min(sims, key=lambda plan: (-sims[plan], plan))
            part[largest] += amount - sum(part.values(), ZERO)
            for plan, value in part.items():
                shares[plan] = shares.get(plan, ZERO) + value
        shown = {
            plan: value
            for plan, value in shares.items()
            if brand_plans is None or plan in brand_plans
        }
        if not shown:
            continue
        fees.statements.append(statement)
        for plan, value in shown.items():
            fees.by_plan[plan] = fees.by_plan.get(plan, ZERO) + value
            fees.total += value
    return fees


def plan_margins(
    period: Period, *, brand_ids=None, summary: list | None = None, hosts: HostFees | None = None
) -> list[dict]:
    """Retail (usage and fees invoiced) and wholesale cost per plan of a period.

    ``wholesale`` is the usage's (R14, the events' wholesale amounts); ``host_fees`` the host
    networks' fixed fees allocated to the plan where a settlement statement of the month exists
    (``host_network_fees``, R31); ``margin`` is retail less both. ``hosts``: those fees already
    read.

    ``summary``: the period's ``event_summary`` already read (every brand), so that the
    reconciliation does not scan the period's events again for it.
    """
    rows: dict[int, dict] = {}
    if summary is not None and brand_ids is None:
        versions = dict(
            PlanVersion.objects.filter(
                pk__in={row.plan_version_id for row in summary if row.plan_version_id}
            ).values_list("pk", "plan_id")
        )
        codes = dict(Plan.objects.filter(pk__in=set(versions.values())).values_list("pk", "code"))
        for item in summary:
            if item.plan_version_id is None:
                continue
            plan = versions[item.plan_version_id]
            this = rows.setdefault(plan, {"plan": plan, "code": codes[plan],
                                          "currency": item.currency, "usage": ZERO,
                                          "fees": ZERO, "wholesale": ZERO})  # fmt: skip
            if item.rating_status == RatingStatus.RATED:
                this["usage"] += item.retail
            this["wholesale"] += item.cost
    else:
        events = _scope_events(events_of_period(period), brand_ids=brand_ids, plan_id=None)
        for item in (
            wholesale_cost(events.exclude(plan_version=None))
            .values("plan_version__plan_id", "plan_version__plan__code", "currency")
            .annotate(
                retail=Coalesce(
                    Sum("retail_amount", filter=Q(rating_status=RatingStatus.RATED)),
                    ZERO,
                    output_field=MONEY,
                ),
                spent=Coalesce(Sum("cost"), ZERO, output_field=MONEY),
            )
            .order_by()
        ):
            plan = item["plan_version__plan_id"]
            rows[plan] = {"plan": plan, "code": item["plan_version__plan__code"],
                          "currency": item["currency"], "usage": item["retail"],
                          "fees": ZERO, "wholesale": item["spent"]}  # fmt: skip
    for item in (
        invoiced_lines()
        .filter(invoice__in=invoices_of_period(period, brand_ids=brand_ids))
        .exclude(kind=LineKind.USAGE)
        .exclude(plan_version=None)
        .values("plan_version__plan_id", "plan_version__plan__code", "invoice__currency")
        .annotate(amount=Sum("amount"))
        .order_by()
    ):
        plan = item["plan_version__plan_id"]
        this = rows.setdefault(plan, {"plan": plan, "code": item["plan_version__plan__code"],
                                      "currency": item["invoice__currency"], "usage": ZERO,
                                      "fees": ZERO, "wholesale": ZERO})  # fmt: skip
        this["fees"] += item["amount"] or ZERO
    hosts = hosts if hosts is not None else host_network_fees(period, brand_ids=brand_ids)
    fee_plans = {plan for plan in hosts.by_plan if plan is not None}
    for plan in Plan.objects.filter(pk__in=fee_plans - set(rows)).order_by("pk"):
        rows[plan.pk] = {"plan": plan.pk, "code": plan.code, "currency": plan.currency,
                         "usage": ZERO, "fees": ZERO, "wholesale": ZERO}  # fmt: skip
    statements = [statement.pk for statement in hosts.statements]
    result = []
    for this in sorted(rows.values(), key=lambda r: r["code"]):
        this["retail"] = this["usage"] + this["fees"]
        this["host_fees"] = hosts.by_plan.get(this["plan"], ZERO)
        this["margin"] = this["retail"] - this["wholesale"] - this["host_fees"]
        this["statements"] = statements if this["plan"] in fee_plans else []
        result.append(
            {
                key: (str(value) if isinstance(value, Decimal) else value)
                for key, value in this.items()
            }
        )
    return result


def usage_mix(period: Period, *, brand_ids=None) -> list[dict]:
    """Rated retail and units per service of a period."""
    events = _scope_events(events_of_period(period), brand_ids=brand_ids, plan_id=None)
    return list(
        events.filter(rating_status=RatingStatus.RATED)
        .values("service")
        .annotate(
            events=Count("id"),
            units=Sum("units"),
            retail=Coalesce(Sum("retail_amount"), ZERO, output_field=MONEY),
        )
        .order_by("service")
    )


# --- brand scoping ----------------------------------------------------------------------------


def findings_visible_to(user) -> QuerySet[Finding]:
    """Findings a user may see: their brands' own; usage-chain findings (no brand) only by
    users who see every brand, like the usage files and sequence gaps they are about."""
    findings = Finding.objects.select_related("brand", "owner")
    brands = brands_of(user)
    return findings if brands is None else findings.filter(brand_id__in=brands)


def reconciliations_visible_to(user) -> QuerySet[Reconciliation]:
    """Reconciliations are of the whole usage chain: users who see every brand only."""
    runs = Reconciliation.objects.all()
    return runs if brands_of(user) is None else runs.none()


def whatif_runs_visible_to(user) -> QuerySet[WhatIfRun]:
    runs = WhatIfRun.objects.select_related("plan_version__plan", "brand")
    brands = brands_of(user)
    return runs if brands is None else runs.filter(brand_id__in=brands)
