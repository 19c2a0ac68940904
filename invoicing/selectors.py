"""Reads of the invoicing: usage as the bill run and the documents see it, brand scoping.

Every read of charging's usage events goes through this module and names only the fields
``USAGE_FIELDS`` lists, so that the usage store can change its shape (partitions, indexes)
behind one place.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum, Value

from charging.models import RatingStatus, RerateChange, UsageEvent
from invoicing.models import (
    BillCycle,
    BillRun,
    DunningCase,
    DunningHold,
    DunningPolicy,
    Invoice,
    InvoiceArchive,
)
from subscribers.selectors import brands_of

# The only fields of a usage event that invoicing reads.
USAGE_FIELDS = (
    "subscription_id",
    "billing_account_id",
    "service",
    "destination_zone",
    "roaming_zone",
    "time_band",
    "record_id",
    "started_at",
    "units",
    "charged_units",
    "covered_units",
    "retail_amount",
    "wholesale_amount",
    "currency",
    "tax_inclusive",
    "rating_status",
    "plan_version_id",
    "usage_file_id",
    "line_number",
    "other_party",
)


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The rated usage of one subscription in one (service, destination, roaming) group (R34)."""

    billing_account_id: int
    subscription_id: int
    service: str
    destination_zone: str
    roaming_zone: str
    events: int
    retail_amount: Decimal
    plan_version_id: int | None
    first_started_at: dt.datetime


def usage_groups(
    *,
    billing_account_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    unpaid_only: bool = False,
    subscription_ids: Iterable[int] | None = None,
) -> list[UsageGroup]:
    """Sum the rated retail charges of some accounts' events started in [start, end).

    One GROUP BY per call (R3: the exact stored charges are summed here and rounded once per
    line by the caller). ``plan_version_id`` is the latest version the group's events were
    rated on: it names the tax category of the line. ``subscription_ids``, when the caller
    knows the accounts' subscriptions, narrows the events by the (subscription, start) index:
    a bill run's chunk then reads its own events instead of scanning the period's.
    """
    events = UsageEvent.objects.filter(
        billing_account_id__any=list(billing_account_ids),
        started_at__gte=start,
        started_at__lt=end,
        rating_status=RatingStatus.RATED,
    )
    if subscription_ids is not None:
        events = events.filter(subscription_id__any=list(subscription_ids))
    if unpaid_only:
        # A hybrid account's events charged online were paid from its balance (R29): only the
        # others are invoiced as usage.
        events = events.filter(~Exists(_balance_charge()))
    rows = (
        events.values(
            "billing_account_id", "subscription_id", "service", "destination_zone", "roaming_zone"
        )  # fmt: skip
        .annotate(
            events=Count("record_id"),
            amount=Sum("retail_amount"),
            plan_version=Max("plan_version_id"),
            first=Min("started_at"),
        )
        .order_by()
    )
    return [
        UsageGroup(
            billing_account_id=row["billing_account_id"],
            subscription_id=row["subscription_id"],
            service=row["service"],
            destination_zone=row["destination_zone"],
            roaming_zone=row["roaming_zone"],
            events=row["events"],
            retail_amount=row["amount"] or Decimal("0"),
            plan_version_id=row["plan_version"],
            first_started_at=row["first"],
        )
        for row in rows
    ]


def _balance_charge():
    from django.db.models import CharField
    from django.db.models.functions import Cast, Concat

    from subscribers.models import BalanceMovement, MovementKind

    return BalanceMovement.objects.filter(
        billing_account_id=OuterRef("billing_account_id"),
        kind=MovementKind.CHARGE,
        reference=Concat(Value("usage:"), Cast(OuterRef("id"), CharField())),
    )


# Ledger kinds that book money; holds of live sessions (reservation, release) are left out.
BOOKED_KINDS = ("topup", "charge", "renewal", "adjustment", "expiry")


@dataclass(frozen=True, slots=True)
class BalanceSums:
    """A billing account's booked balance at a period's start and its movements in it."""

    opening: Decimal = Decimal("0")
    top_ups: Decimal = Decimal("0")
    renewals: Decimal = Decimal("0")
    usage: Decimal = Decimal("0")
    adjustments: Decimal = Decimal("0")

    @property
    def closing(self) -> Decimal:
        return self.opening + self.top_ups + self.adjustments - self.renewals - self.usage

    @property
    def moved(self) -> bool:
        return any((self.top_ups, self.renewals, self.usage, self.adjustments))


def balance_sums(
    *, billing_account_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> dict[int, BalanceSums]:
    """Sum the booked ledger of some accounts before ``start`` and by kind in [start, end).

    One GROUP BY per call. Renewals and usage come out positive (what was spent).
    """
    from subscribers.models import BalanceMovement

    rows = (
        BalanceMovement.objects.filter(
            billing_account_id__any=list(billing_account_ids),
            created_at__lt=end,
            kind__in=BOOKED_KINDS,
        )
        .values("billing_account_id", "kind")
        .annotate(
            before=Sum("amount", filter=Q(created_at__lt=start)),
            during=Sum("amount", filter=Q(created_at__gte=start)),
        )
        .order_by()
    )
    found: dict[int, dict] = {}
    for row in rows:
        sums = found.setdefault(row["billing_account_id"], {"opening": Decimal("0")})
        sums["opening"] += row["before"] or Decimal("0")
        during = row["during"] or Decimal("0")
        if row["kind"] == "topup":
            sums["top_ups"] = sums.get("top_ups", Decimal("0")) + during
        elif row["kind"] == "renewal":
            sums["renewals"] = sums.get("renewals", Decimal("0")) - during
        elif row["kind"] == "charge":
            sums["usage"] = sums.get("usage", Decimal("0")) - during
        else:
            sums["adjustments"] = sums.get("adjustments", Decimal("0")) + during
    return {pk: BalanceSums(**values) for pk, values in found.items()}


def usage_events_itemised(
    *, billing_account_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> Iterator[dict]:
    """Yield every event of some accounts started in [start, end), charged or not, in time
    order per subscription: the itemised part of an invoice (R34).

    The events are found through the accounts' subscriptions, by the (subscription, start)
    index: by account alone PostgreSQL would scan every event of the period for one invoice.
    """
    from subscribers.models import Subscription

    account_ids = list(billing_account_ids)
    return (
        UsageEvent.objects.filter(
            subscription_id__in=Subscription.objects.filter(
                billing_account_id__any=account_ids
            ).values("pk"),
            billing_account_id__any=account_ids,
            started_at__gte=start,
            started_at__lt=end,
        )
        .order_by("subscription_id", "started_at", "record_id")
        .values(*USAGE_FIELDS)
        .iterator(chunk_size=2000)
    )


@dataclass(frozen=True, slots=True)
class RerateDelta:
    """An unsettled rerating change of an event of an earlier period (R15)."""

    change_id: int
    billing_account_id: int
    subscription_id: int
    plan_version_id: int | None
    delta: Decimal


def _rated(status: str, amount: Decimal | None) -> Decimal:
    if status != RatingStatus.RATED or amount is None:
        return Decimal("0")
    return amount


def rerate_deltas(*, billing_account_ids: Iterable[int], before: dt.datetime) -> list[RerateDelta]:
    """Return the unsettled rerating changes of events started before ``before`` (R15).

    Events of the period being billed are billed at their current charge already; changes of
    events of earlier periods, invoiced at their old charge, become adjustment lines.
    """
    from invoicing.models import RerateSettlement

    taken = RerateSettlement.objects.filter(rerate_change_id=OuterRef("pk"))
    rows = RerateChange.objects.filter(
        ~Exists(taken),
        settled_at__isnull=True,
        usage_event__billing_account_id__any=list(billing_account_ids),
        usage_event__started_at__lt=before,
    ).values_list(
        "id",
        "usage_event__billing_account_id",
        "usage_event__subscription_id",
        "usage_event__plan_version_id",
        "status_before",
        "retail_before",
        "status_after",
        "retail_after",
    )
    deltas = []
    for change_id, account_id, subscription_id, version_id, s0, r0, s1, r1 in rows:
        delta = _rated(s1, r1) - _rated(s0, r0)
        deltas.append(RerateDelta(change_id, account_id, subscription_id, version_id, delta))
    return deltas


# --- brand scoping ----------------------------------------------------------------------------


def invoices_visible_to(user) -> QuerySet[Invoice]:
    """Return the invoices a user may see (brand scoping)."""
    brands = brands_of(user)
    invoices = Invoice.objects.select_related("billing_account__customer", "bill_run__cycle")
    return invoices if brands is None else invoices.filter(brand_id__in=brands)


def bill_runs_visible_to(user) -> QuerySet[BillRun]:
    """Return the bill runs a user may see (brand scoping)."""
    brands = brands_of(user)
    runs = BillRun.objects.select_related("cycle__brand")
    return runs if brands is None else runs.filter(cycle__brand_id__in=brands)


def bill_cycles_visible_to(user) -> QuerySet[BillCycle]:
    """Return the bill cycles a user may see (brand scoping)."""
    brands = brands_of(user)
    cycles = BillCycle.objects.select_related("brand")
    return cycles if brands is None else cycles.filter(brand_id__in=brands)


def previous_invoice(invoice: Invoice) -> Invoice | None:
    """Return the account's last invoice before this one's period, for comparison."""
    return (
        Invoice.objects.filter(
            billing_account_id=invoice.billing_account_id,
            kind=invoice.kind,
            period_start_date__lt=invoice.period_start_date,
        )
        .exclude(Q(status="void"))
        .order_by("-period_start_date")
        .first()
    )


def dunning_policies_visible_to(user) -> QuerySet[DunningPolicy]:
    """Return the dunning policies a user may see (brand scoping)."""
    brands = brands_of(user)
    policies = DunningPolicy.objects.select_related("brand")
    return policies if brands is None else policies.filter(brand_id__in=brands)


def dunning_cases_visible_to(user) -> QuerySet[DunningCase]:
    """Return the dunning cases a user may see (brand scoping)."""
    brands = brands_of(user)
    cases = DunningCase.objects.select_related(
        "invoice", "billing_account", "policy", "last_step", "next_step", "brand"
    )
    return cases if brands is None else cases.filter(brand_id__in=brands)


def dunning_holds_visible_to(user) -> QuerySet[DunningHold]:
    """Return the dunning pauses a user may see (brand scoping)."""
    brands = brands_of(user)
    holds = DunningHold.objects.select_related("billing_account", "paused_by", "resumed_by")
    return holds if brands is None else holds.filter(brand_id__in=brands)


def invoice_archives_visible_to(user) -> QuerySet[InvoiceArchive]:
    """Return the invoice archives a user may see (brand scoping)."""
    brands = brands_of(user)
    archives = InvoiceArchive.objects.select_related("brand", "created_by")
    return archives if brands is None else archives.filter(brand_id__in=brands)
