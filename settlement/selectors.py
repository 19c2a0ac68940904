"""Reads of the settlement: wholesale usage, active SIMs, invoiced revenue, margin, scoping.

Every figure is one set-based query (GROUP BY in the database, never a loop over events), so
that a month of millions of events settles in seconds (R31). Usage events are read only
through this module and only by the fields ``charging`` stores for settlement (source,
service, roaming zone, wholesale units and amount, R14).

``margin`` is shared with the assurance dashboards: it takes a period and a dimension and
returns plain rows.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from catalog.models import Brand, HostNetworkTariff
from charging.models import RatingStatus, UsageEvent
from core.periods import Period, billing_period
from invoicing.models import FINAL_STATUSES, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from settlement.models import (
    Agreement,
    DisputeItem,
    Partner,
    Reconciliation,
    SettlementRun,
    Statement,
)
from subscribers.models import Subscription
from subscribers.selectors import brands_of

ZERO = Decimal("0")


def period_of(*, partner: Partner, year: int, month: int) -> Period:
    """The calendar month a partner settles, in the partner's timezone."""
    return billing_period(year=year, month=month, tz=partner.timezone, cycle_day=1)


def brand_tree(brand_id: int) -> list[int]:
    """A brand and every sub-brand under it (the brands a host network carries)."""
    found, frontier = [brand_id], [brand_id]
    while frontier:
        frontier = list(Brand.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found.extend(frontier)
    return found


# --- wholesale (R31) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WholesaleGroup:
    service: str
    roaming_zone: str
    events: int
    units: int
    amount: Decimal


def wholesale_usage(*, source: str, start: dt.datetime, end: dt.datetime) -> list[WholesaleGroup]:
    """Sum the wholesale ratings (R14) of a host network's rated events started in [start,
    end), per service and roaming zone: one GROUP BY over the month's partition."""
    rows = (
        UsageEvent.objects.filter(
            source=source,
            started_at__gte=start,
            started_at__lt=end,
            rating_status=RatingStatus.RATED,
        )
        .values("service", "roaming_zone")
        .annotate(
            events=Count("record_id"), units=Sum("wholesale_units"), amount=Sum("wholesale_amount")
        )
        .order_by("service", "roaming_zone")
    )
    return [
        WholesaleGroup(
            service=row["service"],
            roaming_zone=row["roaming_zone"],
            events=row["events"],
            units=row["units"] or 0,
            amount=row["amount"] or ZERO,
        )
        for row in rows
    ]


def wholesale_events(
    *, source: str, start: dt.datetime, end: dt.datetime, service: str = "", roaming_zone=None
) -> QuerySet[UsageEvent]:
    """The rated events behind a wholesale figure (evidence, margin links)."""
    events = UsageEvent.objects.filter(
        source=source, started_at__gte=start, started_at__lt=end, rating_status=RatingStatus.RATED
    )
    if service:
        events = events.filter(service=service)
    if roaming_zone is not None:
        events = events.filter(roaming_zone=roaming_zone)
    return events.order_by("started_at", "id")


def active_sims(*, host_network_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Count the subscriptions on the host network's SIMs that were active on any day of
    [start, end) (R31's per-SIM fee): activated before the end and not terminated by the
    start. One COUNT."""
    return (
        Subscription.objects.filter(
            sim__host_network_id=host_network_id,
            activated_at__isnull=False,
            activated_at__lt=end,
        )
        .filter(Q(terminated_at__isnull=True) | Q(terminated_at__gt=start))
        .count()
    )


def tariff_for(*, host_network_id: int, period: Period) -> HostNetworkTariff | None:
    """The host network's tariff whose fees apply to a month: the one in force on its first
    day, else the first one that starts inside it."""
    tariffs = HostNetworkTariff.objects.select_related("rate_card").filter(
        host_network_id=host_network_id
    )
    current = tariffs.filter(effective_from__lte=period.start).order_by("-effective_from").first()
    return (
        current or tariffs.filter(effective_from__lt=period.end).order_by("effective_from").first()
    )


def agreements_in_force(*, partner: Partner, period: Period) -> QuerySet[Agreement]:
    """The partner's agreements that cover any day of the month."""
    return partner.agreements.filter(effective_from__lt=period.end_date).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gt=period.start_date)
    )


# --- invoiced revenue (R32) -------------------------------------------------------------------


def invoiced_lines(*, period: Period) -> QuerySet[InvoiceLine]:
    """The invoice lines a month's revenue is made of (R32: invoiced, not rated): the lines of
    the invoices issued for the month, and the credit notes issued in the month (a credit note
    reduces the period it is issued in)."""
    billed = FINAL_STATUSES - {InvoiceStatus.VOID}
    return InvoiceLine.objects.filter(
        Q(
            invoice__kind=InvoiceKind.INVOICE,
            invoice__status__in=billed,
            invoice__period_start_date__gte=period.start_date,
            invoice__period_start_date__lt=period.end_date,
        )
        | Q(
            invoice__kind=InvoiceKind.CREDIT_NOTE,
            invoice__status__in=FINAL_STATUSES,
            invoice__issued_at__gte=period.start,
            invoice__issued_at__lt=period.end,
        )
    )


def _net(rows) -> Decimal:
    """Net amount of grouped lines: a tax-inclusive invoice's lines are gross (R14: net =
    gross / (1 + rate), unrounded)."""
    total = ZERO
    for row in rows:
        amount = row["amount"] or ZERO
        total += amount / (1 + row["tax_rate"]) if row["invoice__tax_inclusive"] else amount
    return total


def invoiced_revenue(
    *, period: Period, plan_codes=(), services=(), brand_codes=(), brand_ids=None
) -> tuple[Decimal, int]:
    """The net invoiced revenue and the invoiced events of the named plans, services and
    brands (none named: all) in a month (R32); one GROUP BY."""
    lines = invoiced_lines(period=period)
    if plan_codes:
        lines = lines.filter(plan_version__plan__code__in=list(plan_codes))
    if services:
        lines = lines.filter(service__in=list(services))
    if brand_codes:
        lines = lines.filter(invoice__brand__code__in=list(brand_codes))
    if brand_ids is not None:
        lines = lines.filter(invoice__brand_id__in=list(brand_ids))
    rows = list(
        lines.values("invoice__tax_inclusive", "tax_rate")
        .annotate(amount=Sum("amount"), events=Sum("quantity", filter=Q(kind="usage")))
        .order_by()
    )
    return _net(rows), sum(row["events"] or 0 for row in rows)


# --- margin -----------------------------------------------------------------------------------

DIMENSIONS = ("plan", "brand", "partner")


@dataclass(frozen=True, slots=True)
class MarginRow:
    """One figure of the margin of a month: retail invoiced minus wholesale.

    ``usage_retail`` is the exact rated retail of the invoiced usage lines (R3);
    ``retail`` the net invoiced revenue of every line; ``wholesale`` the events' wholesale
    ratings (R14); ``fees`` the partner's recurring fees (partner dimension only, from its
    statement); ``usage_margin`` = usage_retail − wholesale; ``margin`` = retail − wholesale −
    fees. ``key`` is the plan code, brand code or partner code the row is about.
    """

    dimension: str
    key: str
    name: str
    retail: Decimal
    usage_retail: Decimal
    wholesale: Decimal
    fees: Decimal
    events: int

    @property
    def usage_margin(self) -> Decimal:
        return self.usage_retail - self.wholesale

    @property
    def margin(self) -> Decimal:
        return self.retail - self.wholesale - self.fees


def _event_rows(period: Period, field: str, brand_ids) -> dict:
    events = UsageEvent.objects.filter(
        started_at__gte=period.start, started_at__lt=period.end, rating_status=RatingStatus.RATED
    )
    if brand_ids is not None:
        events = events.filter(billing_account__customer__brand_id__in=list(brand_ids))
    rows = (
        events.values(field)
        .annotate(wholesale=Sum("wholesale_amount"), retail=Sum("retail_amount"), n=Count("id"))
        .order_by()
    )
    return {row[field]: row for row in rows}


def _line_rows(period: Period, field: str, brand_ids) -> dict:
    lines = invoiced_lines(period=period)
    if brand_ids is not None:
        lines = lines.filter(invoice__brand_id__in=list(brand_ids))
    grouped: dict = {}
    for row in (
        lines.values(field, "invoice__tax_inclusive", "tax_rate")
        .annotate(amount=Sum("amount"), usage=Sum("rated_amount", filter=Q(kind="usage")))
        .order_by()
    ):
        entry = grouped.setdefault(row[field], {"retail": ZERO, "usage": ZERO})
        entry["retail"] += _net([row])
        usage = row["usage"] or ZERO
        entry["usage"] += usage / (1 + row["tax_rate"]) if row["invoice__tax_inclusive"] else usage
    return grouped


def margin(
    *, year: int, month: int, dimension: str, tz: str = "Europe/Berlin", user=None
) -> list[MarginRow]:
    """The margin of a month per plan, brand or partner (retail invoiced − wholesale), scoped
    to the brands ``user`` may see. Three GROUP BYs whatever the volume."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension is one of {', '.join(DIMENSIONS)}")
    period = billing_period(year=year, month=month, tz=tz)
    brand_ids = brands_of(user) if user is not None else None
    rows: list[MarginRow] = []
    if dimension == "plan":
        from catalog.models import Plan

        events = _event_rows(period, "plan_version__plan_id", brand_ids)
        lines = _line_rows(period, "plan_version__plan_id", brand_ids)
        plans = {p.pk: p for p in Plan.objects.filter(pk__in=set(events) | set(lines) - {None})}
        for pk, plan in sorted(plans.items(), key=lambda item: item[1].code):
            event, line = events.get(pk, {}), lines.get(pk, {})
            rows.append(_row("plan", plan.code, plan.name, event, line, ZERO))
    elif dimension == "brand":
        events = _event_rows(period, "billing_account__customer__brand_id", brand_ids)
        lines = _line_rows(period, "invoice__brand_id", brand_ids)
        brands = {b.pk: b for b in Brand.objects.filter(pk__in=set(events) | set(lines) - {None})}
        for pk, brand in sorted(brands.items(), key=lambda item: item[1].code):
            rows.append(
                _row("brand", brand.code, brand.name, events.get(pk, {}), lines.get(pk, {}), ZERO)
            )
    else:
        events = _event_rows(period, "source", brand_ids)
        partners = partners_visible_to(user) if user is not None else Partner.objects.all()
        for partner in partners.filter(host_network__isnull=False).select_related("host_network"):
            event = events.get(partner.host_network.code, {})
            statement = (
                Statement.objects.filter(
                    partner=partner, run__period_year=year, run__period_month=month
                )
                .only("pk")
                .first()
            )
            fees = ZERO
            if statement is not None:
                fees = (
                    statement.lines.filter(
                        kind__in=("sim_fee", "platform_fee", "shortfall")
                    ).aggregate(total=Sum("amount"))["total"]
                    or ZERO
                )
            retail = event.get("retail") or ZERO
            rows.append(
                MarginRow(
                    dimension="partner",
                    key=partner.code,
                    name=partner.name,
                    retail=retail,
                    usage_retail=retail,
                    wholesale=event.get("wholesale") or ZERO,
                    fees=fees,
                    events=event.get("n") or 0,
                )
            )
    return rows


def _row(dimension, key, name, event: dict, line: dict, fees) -> MarginRow:
    return MarginRow(
        dimension=dimension,
        key=key,
        name=name,
        retail=line.get("retail") or ZERO,
        usage_retail=line.get("usage") or ZERO,
        wholesale=event.get("wholesale") or ZERO,
        fees=fees,
        events=event.get("n") or 0,
    )


def margin_events(
    *, year: int, month: int, dimension: str, key: str, tz: str = "Europe/Berlin"
) -> QuerySet[UsageEvent]:
    """The rated events behind one margin figure."""
    period = billing_period(year=year, month=month, tz=tz)
    events = UsageEvent.objects.filter(
        started_at__gte=period.start, started_at__lt=period.end, rating_status=RatingStatus.RATED
    )
    if dimension == "plan":
        events = events.filter(plan_version__plan__code=key)
    elif dimension == "brand":
        events = events.filter(billing_account__customer__brand__code=key)
    elif dimension == "partner":
        partner = Partner.objects.filter(code=key).select_related("host_network").first()
        source = partner.host_network.code if partner and partner.host_network_id else "\x00"
        events = events.filter(source=source)
    else:
        raise ValueError(f"dimension is one of {', '.join(DIMENSIONS)}")
    return events.order_by("started_at", "id")


# --- brand scoping ----------------------------------------------------------------------------


def partners_visible_to(user) -> QuerySet[Partner]:
    brands = brands_of(user)
    partners = Partner.objects.select_related("brand", "host_network", "partner_brand")
    return partners if brands is None else partners.filter(brand_id__in=brands)


def agreements_visible_to(user) -> QuerySet[Agreement]:
    brands = brands_of(user)
    agreements = Agreement.objects.select_related("partner")
    return agreements if brands is None else agreements.filter(partner__brand_id__in=brands)


def runs_visible_to(user) -> QuerySet[SettlementRun]:
    brands = brands_of(user)
    runs = SettlementRun.objects.select_related("partner")
    return runs if brands is None else runs.filter(partner__brand_id__in=brands)


def statements_visible_to(user) -> QuerySet[Statement]:
    brands = brands_of(user)
    statements = Statement.objects.select_related("partner", "run")
    return statements if brands is None else statements.filter(partner__brand_id__in=brands)


def reconciliations_visible_to(user) -> QuerySet[Reconciliation]:
    brands = brands_of(user)
    items = Reconciliation.objects.select_related("partner")
    return items if brands is None else items.filter(partner__brand_id__in=brands)


def disputes_visible_to(user) -> QuerySet[DisputeItem]:
    brands = brands_of(user)
    items = DisputeItem.objects.select_related("partner", "reconciliation")
    return items if brands is None else items.filter(partner__brand_id__in=brands)


def invoices_of_period(*, period: Period) -> QuerySet[Invoice]:
    """The invoices whose lines make a month's invoiced revenue (for links)."""
    return Invoice.objects.filter(pk__in=invoiced_lines(period=period).values("invoice_id"))
