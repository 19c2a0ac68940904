"""The bill run's engine: draft invoices for a chunk of billing accounts, set-based.

Everything a chunk needs is loaded with a fixed number of queries whatever its size (accounts,
children, subscriptions, terms, plan versions, earlier fee lines, add-ons, promotions, one
GROUP BY over usage, rerating changes); the invoices are computed in Python and written with
``bulk_create``. Rules: R3 (usage lines), R4 (tax per rate), R15 (rerating adjustments), R24
(recurring fees by day), R25 (plan changes), R26 (one invoice per account and period), R34
(lines), R35 (promotions).
"""

import datetime as dt
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from catalog.models import (
    DiscountType,
    FeeTiming,
    PaymentModel,
    PlanVersion,
    PrepaidTaxPoint,
    Service,
    TaxRate,
    TaxRegion,
)
from catalog.selectors import IN_FORCE
from core.money import prorate, quantize_minor, split_gross, tax_on_net
from core.periods import Period, billing_period, local_date, local_midnight
from invoicing import selectors
from invoicing.models import (
    BalanceSummary,
    BillRun,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    LineKind,
    RerateSettlement,
)
from subscribers.models import (
    BillingAccount,
    PlanRenewal,
    RenewalStatus,
    Subscription,
    SubscriptionAddOn,
    SubscriptionPromotion,
    SubscriptionStatus,
    SubscriptionTerm,
)

# Statuses in which a subscription pays its recurring fee (R24): from activation to termination,
# a suspension or a bar included.
FEE_STATUSES = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED, SubscriptionStatus.BARRED}
)
SERVICE_ORDER = {code: index for index, code in enumerate(Service.values)}
SERVICE_LABELS = dict(Service.choices)
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
MARGIN = dt.timedelta(days=2)  # wider than any UTC offset: a window that covers every timezone


class BillingError(Exception):
    """An account that cannot be billed (no tax rate, a missing plan version); it is recorded
    on the run and retried by a rerun."""


def period_label(period: Period) -> str:
    """Name a period: "October 2026" for a whole calendar month, else its dates."""
    start, last = period.start_date, period.end_date - dt.timedelta(days=1)
    if start.day == 1 and period.end_date.day == 1:
        return f"{MONTHS[start.month - 1]} {start.year}"
    return f"{start:%d %b %Y} – {last:%d %b %Y}"


def days_label(first: dt.date, stop: dt.date) -> str:
    """Name the days [first, stop): "15–31 October 2026"."""
    last = stop - dt.timedelta(days=1)
    if first.month == last.month and first.year == last.year:
        return f"{first.day}–{last.day} {MONTHS[last.month - 1]} {last.year}"
    return f"{first.day} {MONTHS[first.month - 1]} {first.year} – " + (
        f"{last.day} {MONTHS[last.month - 1]} {last.year}"
    )


def usage_label(service: str, destination: str, roaming: str) -> str:
    """Name a usage line as R34 keys it: service, destination zone, roaming zone."""
    parts = [SERVICE_LABELS.get(service, service)]
    if destination:
        parts.append(destination)
    if roaming:
        parts.append(roaming)
    return ", ".join(parts)


@dataclass
class Draft:
    """An invoice being computed: its row, its lines and what the lines took in."""

    invoice: Invoice
    lines: list[InvoiceLine] = field(default_factory=list)
    rerate_changes: dict[int, list[int]] = field(default_factory=dict)  # line index → changes
    balance: dict | None = None  # a prepaid statement's or hybrid invoice's BalanceSummary

    def add(self, line: InvoiceLine) -> InvoiceLine:
        line.position = len(self.lines) + 1
        self.lines.append(line)
        return line


class Row:
    """Plain values of one model row, without a model instance: the bill run builds a row per
    invoice and line and writes them with COPY (model instances cost more than the billing)."""

    model = None
    fields: tuple = ()
    defaults: dict = {}
    getter = None  # the row's field values as one tuple, in ``fields`` order
    __slots__ = ("__dict__",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        concrete = [f for f in cls.model._meta.concrete_fields if not f.primary_key]
        cls.fields = tuple(f.attname for f in concrete)
        cls.defaults = {f.attname: f.get_default() for f in concrete}
        getter = operator.attrgetter(*cls.fields)
        cls.getter = staticmethod(getter if len(cls.fields) > 1 else lambda row: (getter(row),))

    def __init__(self, **values):
        row = self.__dict__
        defaults = self.defaults
        row.update(defaults)
        row["pk"] = None
        for name, value in values.items():
            if name in defaults or f"{name}_id" not in defaults:
                row[name] = value
            else:
                row[f"{name}_id"] = value.pk if value is not None else None

    def values(self) -> tuple:
        return self.getter(self)

    def instance(self):
        return self.model(**{name: getattr(self, name) for name in self.fields})


class InvoiceRow(Row):
    model = Invoice


class LineRow(Row):
    model = InvoiceLine


class TaxRow(Row):
    model = InvoiceTax


def invoice_taxes(
    lines: list[InvoiceLine], *, currency: str, tax_inclusive: bool
) -> list[InvoiceTax]:
    """Compute the tax rows of an invoice per tax rate (R4).

    Net prices: tax = rate × the sum of the rate's already-rounded lines, rounded once. Gross
    (tax-inclusive) prices: net = gross / (1 + rate) rounded once, tax = gross − net.
    """
    sums: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        sums[line.tax_rate] += line.amount
    taxes = []
    for rate in sorted(sums):
        amount = sums[rate]
        if tax_inclusive:
            net, tax = split_gross(amount, rate=rate, currency=currency)
            gross = amount
        else:
            net, tax = amount, tax_on_net(amount, rate=rate, currency=currency)
            gross = net + tax
        taxes.append(TaxRow(rate=rate, net=net, tax=tax, gross=gross))
    return taxes


def apply_totals(draft: Draft) -> list[InvoiceTax]:
    """Set an invoice's totals from its tax rows and return the rows."""
    invoice = draft.invoice
    taxes = invoice_taxes(
        draft.lines, currency=invoice.currency, tax_inclusive=invoice.tax_inclusive
    )
    invoice.net_total = sum((t.net for t in taxes), Decimal("0"))
    invoice.tax_total = sum((t.tax for t in taxes), Decimal("0"))
    invoice.gross_total = sum((t.gross for t in taxes), Decimal("0"))
    return taxes


def customer_address(customer) -> str:
    """Return the postal address block of a customer."""
    lines = [customer.street, f"{customer.postal_code} {customer.city}".strip(), customer.country]
    return "\n".join(line for line in lines if line)


ACCOUNT_VALUES = (
    "pk", "number", "timezone", "currency", "tax_region_id", "payment_model", "parent_id",
    "customer__brand_id", "customer__kind", "customer__first_name", "customer__last_name",
    "customer__company_name", "customer__street", "customer__postal_code", "customer__city",
    "customer__country", "customer__tax_id",
)  # fmt: skip


class AccountData:
    """What the bill run needs of a billing account and its customer, without model instances."""

    __slots__ = ("pk", "number", "timezone", "currency", "tax_region_id", "payment_model",
                 "parent_id", "brand_id", "customer_name", "customer_address",
                 "customer_tax_id")  # fmt: skip

    def __init__(self, row: tuple) -> None:
        (self.pk, self.number, self.timezone, self.currency, self.tax_region_id,
         self.payment_model, self.parent_id, self.brand_id, kind, first, last, company, street,
         postal_code, city, country, self.customer_tax_id) = row  # fmt: skip
        self.customer_name = company if kind == "business" else f"{first} {last}".strip()
        lines = [street, f"{postal_code} {city}".strip(), country]
        self.customer_address = "\n".join(line for line in lines if line)


def _account_data(queryset) -> list[AccountData]:
    return [AccountData(row) for row in queryset.order_by("number").values_list(*ACCOUNT_VALUES)]


class ChunkBiller:
    """Bill one chunk of accounts of a bill run: load once, compute, write (R26)."""

    def __init__(self, run: BillRun, *, cache: dict | None = None) -> None:
        self.run = run
        self.cycle_day = run.cycle.cycle_day
        self.cache = cache if cache is not None else {}
        self.cache.setdefault("versions", {})
        self.cache.setdefault("tax", {})

    # --- loading ------------------------------------------------------------------------------

    def period_of(self, account_tz: str) -> Period:
        return billing_period(
            year=self.run.period_year,
            month=self.run.period_month,
            tz=account_tz,
            cycle_day=self.cycle_day,
        )

    def _versions(self, plan_ids) -> dict[int, list[PlanVersion]]:
        known = self.cache["versions"]
        missing = set(plan_ids) - set(known)
        if missing:
            for plan_id in missing:
                known[plan_id] = []
            rows = (
                PlanVersion.objects.filter(plan_id__in=missing, status__in=IN_FORCE)
                .select_related("plan")
                .order_by("plan_id", "effective_from")
            )
            for version in rows:
                known[version.plan_id].append(version)
        return known

    def version_at(self, plan_id: int, instant: dt.datetime) -> PlanVersion:
        current = None
        for version in self.cache["versions"].get(plan_id, []):
            if version.effective_from <= instant:
                current = version
        if current is None:
            raise BillingError(f"plan {plan_id} has no version in force at {instant:%Y-%m-%d}")
        return current

    def version_by_id(self, version_id: int) -> PlanVersion | None:
        by_id = self.cache.setdefault("by_id", {})
        version = by_id.get(version_id)
        if version is not None:
            return version
        for versions in self.cache["versions"].values():
            for known in versions:
                by_id[known.pk] = known
        if version_id in by_id:
            return by_id[version_id]
        version = PlanVersion.objects.select_related("plan").filter(pk=version_id).first()
        if version is not None:
            versions = self.cache["versions"].setdefault(version.plan_id, [])
            if version not in versions:
                versions.append(version)
                versions.sort(key=lambda v: v.effective_from)
            by_id[version.pk] = version
        return version

    def tax_rate(self, region_id: int, category_id: int | None, day: dt.date) -> Decimal:
        if category_id is None:
            raise BillingError("a charge has no tax category (plan version or add-on)")
        key = (region_id, category_id)
        rates = self.cache["tax"].get(key)
        if rates is None:
            rates = list(
                TaxRate.objects.filter(region_id=region_id, category_id=category_id)
                .order_by("valid_from")
                .values_list("valid_from", "rate")
            )
            self.cache["tax"][key] = rates
        found = None
        for valid_from, rate in rates:
            if valid_from <= day:
                found = rate
        if found is None:
            raise BillingError(f"no tax rate for category {category_id} on {day}")
        return found

    # --- billing ------------------------------------------------------------------------------

    def bill(self, account_ids: list[int]) -> tuple[list[Draft], dict[int, str], list[int]]:
        """Compute the drafts of some accounts: (drafts, errors by account, empty accounts)."""
        accounts = _account_data(BillingAccount.objects.filter(pk__any=account_ids))
        children = _account_data(
            BillingAccount.objects.filter(parent_id__any=account_ids, invoice_to_parent=True)
        )
        children_of = defaultdict(list)
        for child in children:
            children_of[child.parent_id].append(child)
        all_accounts = accounts + children
        all_ids = [a.pk for a in all_accounts]
        periods = {a.pk: self.period_of(a.timezone) for a in accounts}
        for child in children:
            periods[child.pk] = periods[child.parent_id]
        window_start = min((p.start for p in periods.values()), default=None)
        window_end = max((p.end for p in periods.values()), default=None)
        if window_start is None:
            return [], {}, []
        window_start -= MARGIN
        window_end += MARGIN

        subscriptions = list(
            Subscription.objects.filter(billing_account_id__any=all_ids)
            .order_by("msisdn", "pk")
            .values_list("pk", "billing_account_id", "plan_id", "activated_at", named=True)
        )
        subs_of = defaultdict(list)
        for subscription in subscriptions:
            subs_of[subscription.billing_account_id].append(subscription)
        sub_ids = [s.pk for s in subscriptions]
        terms_of = defaultdict(list)
        for term in (
            SubscriptionTerm.objects.filter(subscription_id__any=sub_ids, valid_from__lt=window_end)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=window_start))
            .order_by("subscription_id", "valid_from")
            .values_list(
                "subscription_id", "valid_from", "valid_to", "plan_id", "status", named=True
            )  # fmt: skip
        ):
            terms_of[term.subscription_id].append(term)
        self._versions({t.plan_id for terms in terms_of.values() for t in terms})

        charged_of = defaultdict(list)
        earlier = (
            InvoiceLine.objects.filter(
                subscription_id__any=sub_ids,
                kind=LineKind.RECURRING,
                days__isnull=False,
                period_end_date__gt=min(p.start_date for p in periods.values()),
                period_start_date__lt=max(
                    p.next(self.cycle_day).end_date for p in periods.values()
                ),
            )  # fmt: skip
            .exclude(invoice__status__in=[InvoiceStatus.EXCLUDED, InvoiceStatus.VOID])
            .exclude(invoice__kind=InvoiceKind.CREDIT_NOTE, invoice__status=InvoiceStatus.DRAFT)
            .values_list(
                "subscription_id",
                "invoice__billing_account_id",
                "invoice__period_start_date",
                "period_start_date",
                "period_end_date",
                "plan_version_id",
                "amount",
            )
        )
        for sub_id, inv_account, inv_start, first, stop, version_id, amount in earlier:
            charged_of[sub_id].append((inv_account, inv_start, first, stop, version_id, amount))

        add_ons_of = defaultdict(list)
        for bought in (
            SubscriptionAddOn.objects.filter(
                subscription_id__any=sub_ids,
                valid_from__gte=window_start,
                valid_from__lt=window_end,
            )
            .select_related("add_on")
            .order_by("valid_from", "pk")
        ):
            add_ons_of[bought.subscription_id].append(bought)
        promotions_of = defaultdict(list)
        for granted in SubscriptionPromotion.objects.filter(
            subscription_id__any=sub_ids
        ).select_related("promotion"):
            promotions_of[granted.subscription_id].append(granted)
        eligible = defaultdict(set)
        promotion_ids = {g.promotion_id for gs in promotions_of.values() for g in gs}
        if promotion_ids:
            through = SubscriptionPromotion.promotion.field.related_model.eligible_plans.through
            for promotion_id, plan_id in through.objects.filter(
                promotion_id__in=promotion_ids
            ).values_list("promotion_id", "plan_id"):
                eligible[promotion_id].add(plan_id)

        usage_of = defaultdict(list)
        by_tz = defaultdict(list)
        for account in all_accounts:
            by_tz[(periods[account.pk].start, periods[account.pk].end)].append(account.pk)
        hybrid = {a.pk for a in all_accounts if a.payment_model == PaymentModel.HYBRID}
        balance_of: dict[int, selectors.BalanceSums] = {}
        for (start, end), ids in by_tz.items():
            for unpaid_only in (False, True):
                part = [pk for pk in ids if (pk in hybrid) == unpaid_only]
                if not part:
                    continue
                for group in selectors.usage_groups(
                    billing_account_ids=part,
                    start=start,
                    end=end,
                    unpaid_only=unpaid_only,
                    subscription_ids=sub_ids,
                ):
                    usage_of[group.subscription_id].append(group)
            with_balance = [
                a.pk for a in accounts if a.pk in ids and a.payment_model != PaymentModel.POSTPAID
            ]
            if with_balance:
                balance_of.update(
                    selectors.balance_sums(billing_account_ids=with_balance, start=start, end=end)
                )
        renewals_of = defaultdict(list)
        for renewal in PlanRenewal.objects.filter(
            subscription_id__any=sub_ids,
            status=RenewalStatus.RENEWED,
            period_start__gte=window_start,
            period_start__lt=window_end,
        ).order_by("period_start", "pk"):
            renewals_of[renewal.subscription_id].append(renewal)
        rerates_of = defaultdict(list)
        for (start, _end), ids in by_tz.items():
            for delta in selectors.rerate_deltas(billing_account_ids=ids, before=start):
                rerates_of[delta.billing_account_id].append(delta)
        self._versions(
            {
                v.plan_id
                for v in PlanVersion.objects.filter(
                    pk__in={g.plan_version_id for gs in usage_of.values() for g in gs}
                    | {d.plan_version_id for ds in rerates_of.values() for d in ds}
                ).only("plan_id")
            }
        )

        drafts, errors, empty = [], {}, []
        for account in accounts:
            try:
                draft = self._bill_account(
                    account,
                    sections=[account, *children_of[account.pk]],
                    period=periods[account.pk],
                    subs_of=subs_of,
                    terms_of=terms_of,
                    charged_of=charged_of,
                    add_ons_of=add_ons_of,
                    promotions_of=promotions_of,
                    eligible=eligible,
                    usage_of=usage_of,
                    rerates_of=rerates_of,
                    renewals_of=renewals_of,
                    balance_of=balance_of,
                )
            except BillingError as error:
                errors[account.pk] = str(error)
                continue
            if draft is None:
                empty.append(account.pk)
            else:
                drafts.append(draft)
        return drafts, errors, empty

    def _bill_account(self, account, *, sections, period, **data) -> Draft | None:
        kind = (
            InvoiceKind.STATEMENT
            if account.payment_model == PaymentModel.PREPAID
            else InvoiceKind.INVOICE
        )
        invoice = InvoiceRow(
            brand_id=account.brand_id,
            billing_account_id=account.pk,
            bill_run_id=self.run.pk,
            kind=kind,
            status=InvoiceStatus.DRAFT,
            period_start_date=period.start_date,
            period_end_date=period.end_date,
            period_start=period.start,
            period_end=period.end,
            currency=account.currency,
            customer_name=account.customer_name,
            customer_address=account.customer_address,
            customer_tax_id=account.customer_tax_id,
        )
        draft = Draft(invoice)
        tax_modes = set()
        for section in sections:
            for subscription in data["subs_of"][section.pk]:
                self._bill_subscription(
                    draft, account, section, subscription, period, tax_modes, **data
                )
            self._bill_rerates(draft, account, section, period, data["rerates_of"], tax_modes)
        if account.payment_model != PaymentModel.POSTPAID:
            self._bill_balance(draft, account, period, tax_modes, data)
        if not draft.lines and draft.balance is None:
            return None
        if len(tax_modes) > 1:
            raise BillingError("tax-inclusive and net prices on one account (R4)")
        invoice.tax_inclusive = tax_modes.pop() if tax_modes else False
        return draft

    def tax_point(self, region_id: int) -> str:
        points = self.cache.setdefault("tax_points", {})
        if region_id not in points:
            points[region_id] = TaxRegion.objects.get(pk=region_id).prepaid_tax_point
        return points[region_id]

    def _bill_balance(self, draft, account, period, tax_modes, data) -> None:
        """Summarise the balance of a prepaid statement or a hybrid invoice (R29).

        A prepaid statement carries the tax of what was used when the tax region accounts it
        at use; accounted at top-up, the receipts carried it and the statement's lines are
        shown without tax. A hybrid invoice takes over the credit its account used (a booked
        balance below zero at the period's end) as a line; issuing it gives that credit back
        to the balance.
        """
        sums = data["balance_of"].get(account.pk, selectors.BalanceSums())
        point = self.tax_point(account.tax_region_id)
        credit = Decimal("0")
        if account.payment_model == PaymentModel.PREPAID:
            if point == PrepaidTaxPoint.AT_TOP_UP:
                for line in draft.lines:
                    line.tax_rate = Decimal("0")
            if not draft.lines and not sums.moved:
                return
        else:
            closing = quantize_minor(sums.closing, account.currency)
            if closing < 0:
                credit = -closing
                version = self._balance_version(account, period, data)
                tax_modes.add(version.tax_inclusive)
                self._line(
                    draft,
                    account,
                    None,
                    kind=LineKind.ADJUSTMENT,
                    description="usage beyond the balance, on credit to "
                    f"{period.end_date - dt.timedelta(days=1):%d %b %Y}",
                    period_start_date=period.start_date,
                    period_end_date=period.end_date,
                    rated_amount=-sums.closing,
                    amount=credit,
                    tax_rate=self.tax_rate(
                        account.tax_region_id,
                        version.tax_category_id,
                        period.end_date - dt.timedelta(days=1),
                    ),
                    plan_version=version,
                )
            elif not draft.lines:
                return
        draft.balance = {
            "tax_point": point,
            "opening": sums.opening,
            "top_ups": sums.top_ups,
            "renewals": sums.renewals,
            "usage": sums.usage,
            "adjustments": sums.adjustments,
            "closing": sums.closing,
            "credit_invoiced": credit,
        }

    def _balance_version(self, account, period, data) -> PlanVersion:
        """The plan version whose tax category a hybrid account's credit line takes."""
        for subscription in data["subs_of"][account.pk]:
            return self.version_at(subscription.plan_id, period.end - dt.timedelta(seconds=1))
        raise BillingError("a hybrid account without subscription has no tax category")

    def _bill_renewals(self, draft, account, section, subscription, period, tax_modes, data):
        """Add a line per prepaid renewal of P: the fee the balance paid (R24, R29)."""
        supply_day = period.end_date - dt.timedelta(days=1)
        for renewal in data["renewals_of"][subscription.pk]:
            if not period.contains(renewal.period_start) or not renewal.amount:
                continue
            version = self.version_by_id(renewal.plan_version_id)
            tax_modes.add(version.tax_inclusive)
            self._line(
                draft,
                section,
                subscription.pk,
                kind=LineKind.RECURRING,
                description=f"{version.plan.code}, renewal {period_label(period)}, "
                "paid from the balance",
                period_start_date=period.end_date - dt.timedelta(days=renewal.days),
                period_end_date=period.end_date,
                days=renewal.days,
                days_in_period=renewal.days_in_period,
                unit_price=renewal.fee,
                amount=renewal.amount,
                tax_rate=self.tax_rate(account.tax_region_id, version.tax_category_id, supply_day),
                plan_version=version,
            )

    def _line(self, draft, section, subscription_id, **values) -> LineRow:
        version = values.get("plan_version")
        return draft.add(
            LineRow(
                billing_account_id=section.pk,
                subscription_id=subscription_id,
                plan_id=version.plan_id if version is not None else None,
                **values,
            )
        )

    def _bill_subscription(
        self, draft, account, section, subscription, period, tax_modes, **data
    ) -> None:
        if account.payment_model == PaymentModel.PREPAID:
            # A prepaid statement: the renewals the balance paid, add-ons, usage (R29).
            self._bill_renewals(draft, account, section, subscription, period, tax_modes, data)
            self._bill_add_ons(draft, account, section, subscription, period, tax_modes, data)
            self._bill_usage(draft, account, section, subscription, period, tax_modes, data)
            return
        tz = account.timezone
        region = account.tax_region_id
        supply_day = period.end_date - dt.timedelta(days=1)
        terms = data["terms_of"][subscription.pk]
        # Days of P used, per plan (R24): the activation day in, the termination day out.
        used: list[tuple[dt.date, dt.date, int]] = []
        for term in terms:
            if term.status not in FEE_STATUSES:
                continue
            first = max(local_date(term.valid_from, tz), period.start_date)
            stop = period.end_date if term.valid_to is None else local_date(term.valid_to, tz)
            stop = min(stop, period.end_date)
            if first < stop:
                used.append((first, stop, term.plan_id))
        # Days of P charged already (in advance on an earlier invoice), minus credits (R24).
        charged: list[tuple[dt.date, dt.date, int]] = []
        credited: list[tuple[dt.date, dt.date]] = []
        own = (account.pk, period.start_date)
        for inv_account, inv_start, first, stop, version_id, amount in data["charged_of"][
            subscription.pk
        ]:
            if (inv_account, inv_start) == own:
                continue
            first, stop = max(first, period.start_date), min(stop, period.end_date)
            if first >= stop:
                continue
            if amount >= 0:
                charged.append((first, stop, version_id))
            else:
                credited.append((first, stop))
        # Compare stretch by stretch between every boundary; equal neighbours make one line.
        bounds = {period.start_date, period.end_date}
        for first, stop, *_ in (*used, *charged, *credited):
            bounds.update((first, stop))
        bounds = sorted(bounds)
        runs: list[list] = []  # [action, plan_or_version, first, stop]
        for first, stop in zip(bounds, bounds[1:], strict=False):
            plan_id = next((p for a, b, p in used if a <= first < b), None)
            version_id = next((v for a, b, v in reversed(charged) if a <= first < b), None)
            if version_id and any(a <= first < b for a, b in credited):
                version_id = None
            charged_plan = self.version_by_id(version_id).plan_id if version_id else None
            if charged_plan == plan_id:
                continue
            actions = []
            if version_id:
                actions.append(("credit", version_id))
            if plan_id:
                actions.append(("charge", plan_id))
            for action, key in actions:
                last = next((r for r in reversed(runs) if r[0] == action), None)
                if last and last[1] == key and last[3] == first:
                    last[3] = stop
                else:
                    runs.append([action, key, first, stop])
        runs.sort(key=lambda r: (r[2], r[0] != "credit"))
        for action, key, first, stop in runs:
            days = (stop - first).days
            if action == "credit":
                version = self.version_by_id(key)
            else:
                version = self.version_at(key, local_midnight(first, tz))
            fee = version.recurring_fee
            amount = prorate(
                fee, days_used=days, days_in_period=period.days, currency=account.currency
            )
            if days == period.days:
                label = period_label(period)
            else:
                label = f"{days_label(first, stop)} ({days}/{period.days} days)"
            if action == "credit":
                amount = -amount
                label = f"credit {label}"
            elif version.fee_timing == FeeTiming.IN_ARREARS:
                label = f"{label}, in arrears"
            tax_modes.add(version.tax_inclusive)
            line = self._line(
                draft,
                section,
                subscription.pk,
                kind=LineKind.RECURRING,
                description=f"{version.plan.code}, {label}",
                period_start_date=first,
                period_end_date=stop,
                days=days,
                days_in_period=period.days,
                unit_price=fee,
                amount=amount,
                tax_rate=self.tax_rate(region, version.tax_category_id, supply_day),
                plan_version=version,
            )
            self._promote(draft, section, subscription, line, period, account, data)
        # In advance: the next period's fee if still active at the end of P on an advance plan.
        last_instant = period.end - dt.timedelta(microseconds=1)
        at_end = next(
            (
                t
                for t in terms
                if t.valid_from <= last_instant
                and (t.valid_to is None or t.valid_to > last_instant)
            ),
            None,
        )
        if at_end is not None and at_end.status in FEE_STATUSES:
            following = period.next(self.cycle_day)
            version = self.version_at(at_end.plan_id, following.start)
            already = any(
                first <= following.start_date < stop and amount > 0 and (a, s) != own
                for a, s, first, stop, _v, amount in data["charged_of"][subscription.pk]
            )
            if version.fee_timing == FeeTiming.IN_ADVANCE and not already:
                tax_modes.add(version.tax_inclusive)
                line = self._line(
                    draft,
                    section,
                    subscription.pk,
                    kind=LineKind.RECURRING,
                    description=f"{version.plan.code}, {period_label(following)}, in advance",
                    period_start_date=following.start_date,
                    period_end_date=following.end_date,
                    days=following.days,
                    days_in_period=following.days,
                    unit_price=version.recurring_fee,
                    amount=quantize_minor(version.recurring_fee, account.currency),
                    tax_rate=self.tax_rate(region, version.tax_category_id, supply_day),
                    plan_version=version,
                )
                self._promote(draft, section, subscription, line, following, account, data)
        # One-time: the activation fee of a subscription activated in P.
        if subscription.activated_at and period.contains(subscription.activated_at):
            version = self.version_at(subscription.plan_id, subscription.activated_at)
            for term in terms:
                if term.valid_from <= subscription.activated_at and (
                    term.valid_to is None or term.valid_to > subscription.activated_at
                ):
                    version = self.version_at(term.plan_id, subscription.activated_at)
            if version.activation_fee:
                tax_modes.add(version.tax_inclusive)
                self._line(
                    draft,
                    section,
                    subscription.pk,
                    kind=LineKind.ONE_TIME,
                    description=f"{version.plan.code}, activation fee",
                    period_start_date=local_date(subscription.activated_at, tz),
                    period_end_date=local_date(subscription.activated_at, tz)
                    + dt.timedelta(days=1),
                    unit_price=version.activation_fee,
                    amount=quantize_minor(version.activation_fee, account.currency),
                    tax_rate=self.tax_rate(region, version.tax_category_id, supply_day),
                    plan_version=version,
                )
        # Add-ons bought in P (R34): a postpaid account pays them here; a prepaid statement
        # shows them (paid at purchase from the balance); a hybrid balance paid them too.
        if account.payment_model != PaymentModel.HYBRID:
            self._bill_add_ons(draft, account, section, subscription, period, tax_modes, data)
        self._bill_usage(draft, account, section, subscription, period, tax_modes, data)

    def _bill_add_ons(self, draft, account, section, subscription, period, tax_modes, data):
        """Add a line per add-on bought in P (R34)."""
        tz = account.timezone
        region = account.tax_region_id
        supply_day = period.end_date - dt.timedelta(days=1)
        for bought in data["add_ons_of"][subscription.pk]:
            if not period.contains(bought.valid_from) or not bought.add_on.price:
                continue
            add_on = bought.add_on
            category = add_on.tax_category_id
            if category is None:
                plan_version = self.version_at(subscription.plan_id, bought.valid_from)
                category = plan_version.tax_category_id
            tax_modes.add(add_on.tax_inclusive)
            valid_to = bought.valid_to or period.end
            self._line(
                draft,
                section,
                subscription.pk,
                kind=LineKind.ONE_TIME,
                description=f"{add_on.name}, valid "
                f"{days_label(local_date(bought.valid_from, tz), local_date(valid_to, tz))}",
                period_start_date=local_date(bought.valid_from, tz),
                period_end_date=max(
                    local_date(valid_to, tz),
                    local_date(bought.valid_from, tz) + dt.timedelta(days=1),
                ),
                unit_price=add_on.price,
                amount=quantize_minor(add_on.price, account.currency),
                tax_rate=self.tax_rate(region, category, supply_day),
                subscription_add_on=bought,
            )

    def _bill_usage(self, draft, account, section, subscription, period, tax_modes, data):
        """Add the usage lines of a subscription (R3, R34)."""
        region = account.tax_region_id
        supply_day = period.end_date - dt.timedelta(days=1)
        # Usage (R3, R34): one line per (service, destination, roaming), rounded once; a line
        # that rounds to zero is left out of the summary.
        groups = sorted(
            data["usage_of"][subscription.pk],
            key=lambda g: (g.first_started_at, SERVICE_ORDER.get(g.service, 99)),
        )
        for group in groups:
            amount = quantize_minor(group.retail_amount, account.currency)
            if not amount:
                continue
            version = self.version_by_id(group.plan_version_id)
            if version is None:
                raise BillingError(f"usage rated on unknown plan version {group.plan_version_id}")
            tax_modes.add(version.tax_inclusive)
            self._line(
                draft,
                section,
                subscription.pk,
                kind=LineKind.USAGE,
                description=usage_label(group.service, group.destination_zone, group.roaming_zone),
                service=group.service,
                destination_zone=group.destination_zone,
                roaming_zone=group.roaming_zone,
                period_start_date=period.start_date,
                period_end_date=period.end_date,
                quantity=group.events,
                rated_amount=group.retail_amount,
                amount=amount,
                tax_rate=self.tax_rate(region, version.tax_category_id, supply_day),
                plan_version=version,
            )

    def _promote(self, draft, section, subscription, line, covered: Period, account, data):
        """Add a promotion's discount line under a recurring fee line (R35)."""
        for granted in data["promotions_of"][subscription.pk]:
            promotion = granted.promotion
            plan_ids = data["eligible"][promotion.pk]
            if plan_ids and line.plan_id not in plan_ids:
                continue
            first = billing_period(
                year=local_date(granted.granted_from, account.timezone).year,
                month=local_date(granted.granted_from, account.timezone).month,
                tz=account.timezone,
                cycle_day=self.cycle_day,
            )
            if local_date(granted.granted_from, account.timezone) < first.start_date:
                first = billing_period(
                    year=first.start_date.year if first.start_date.month > 1 else
                    first.start_date.year - 1,
                    month=first.start_date.month - 1 or 12,
                    tz=account.timezone,
                    cycle_day=self.cycle_day,
                )  # fmt: skip
            index = (covered.start_date.year - first.start_date.year) * 12 + (
                covered.start_date.month - first.start_date.month
            )
            if not 0 <= index < promotion.periods:
                continue
            fee = abs(line.amount)
            if promotion.discount_type == DiscountType.PERCENT:
                discount = quantize_minor(fee * promotion.value / 100, account.currency)
            elif promotion.discount_type == DiscountType.FIXED:
                discount = min(quantize_minor(promotion.value, account.currency), fee)
            else:
                intro = prorate(
                    promotion.value,
                    days_used=line.days or covered.days,
                    days_in_period=line.days_in_period or covered.days,
                    currency=account.currency,
                )
                discount = max(fee - intro, Decimal("0"))
            if not discount:
                continue
            sign = -1 if line.amount >= 0 else 1
            self._line(
                draft,
                section,
                subscription.pk,
                kind=LineKind.DISCOUNT,
                description=f"{promotion.name}, {line.description.split(', ', 1)[-1]}",
                period_start_date=line.period_start_date,
                period_end_date=line.period_end_date,
                days=line.days,
                days_in_period=line.days_in_period,
                amount=sign * discount,
                tax_rate=line.tax_rate,
                plan_version_id=line.plan_version_id,
                promotion=promotion,
            )

    def _bill_rerates(self, draft, account, section, period, rerates_of, tax_modes) -> None:
        """Turn unsettled rerating changes of earlier periods into adjustment lines (R15)."""
        by_subscription = defaultdict(list)
        for delta in rerates_of[section.pk]:
            by_subscription[delta.subscription_id].append(delta)
        supply_day = period.end_date - dt.timedelta(days=1)
        for subscription_id, deltas in sorted(by_subscription.items()):
            total = sum((d.delta for d in deltas), Decimal("0"))
            amount = quantize_minor(total, account.currency)
            if not amount:
                continue
            version = self.version_by_id(max(d.plan_version_id or 0 for d in deltas))
            if version is None:
                raise BillingError("a rerated event names no plan version")
            tax_modes.add(version.tax_inclusive)
            line = self._line(
                draft,
                section,
                subscription_id,
                kind=LineKind.ADJUSTMENT,
                description=f"rerating of {len(deltas)} earlier event(s)",
                quantity=len(deltas),
                rated_amount=total,
                amount=amount,
                tax_rate=self.tax_rate(account.tax_region_id, version.tax_category_id, supply_day),
                plan_version=version,
            )
            draft.rerate_changes[line.position] = [d.change_id for d in deltas]


def _copy(model, columns: tuple, rows) -> None:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(name) for name in columns)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _reserve_ids(model, count: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def drafts_write(drafts: list[Draft]) -> list[int]:
    """Write computed drafts with their lines, tax rows and rerating links; return the
    invoices' ids. PostgreSQL takes them with COPY, other databases with bulk_create."""
    from django.db import connection
    from django.utils import timezone

    if not drafts:
        return []
    tax_rows = [apply_totals(draft) for draft in drafts]
    now = timezone.now()
    for draft in drafts:
        draft.invoice.created_at = draft.invoice.updated_at = now
    if connection.vendor != "postgresql":
        return _drafts_bulk_create(drafts, tax_rows)
    invoice_ids = _reserve_ids(Invoice, len(drafts))
    # Lines need their ids known here only to link rerating changes to them; else the
    # database numbers them as COPY writes them.
    linked = any(draft.rerate_changes for draft in drafts)
    line_count = sum(len(draft.lines) for draft in drafts)
    line_ids = iter(_reserve_ids(InvoiceLine, line_count)) if linked and line_count else None
    line_values = LineRow.getter
    lines, taxes, links = [], [], []
    for draft, invoice_id, rows in zip(drafts, invoice_ids, tax_rows, strict=True):
        draft.invoice.pk = invoice_id
        for line in draft.lines:
            line.invoice_id = invoice_id
            if line_ids is None:
                lines.append(line_values(line))
            else:
                line.pk = next(line_ids)
                lines.append((line.pk, *line_values(line)))
        for row in rows:
            row.invoice_id = invoice_id
            taxes.append(row.values())
        for position, change_ids in draft.rerate_changes.items():
            line_id = draft.lines[position - 1].pk
            links.extend((line_id, change_id) for change_id in change_ids)
    _copy(Invoice, ("id", *InvoiceRow.fields), ((d.invoice.pk, *d.invoice.values())
                                                for d in drafts))  # fmt: skip
    _copy(InvoiceLine, ("id", *LineRow.fields) if line_ids is not None else LineRow.fields, lines)
    _copy(InvoiceTax, TaxRow.fields, taxes)
    if links:
        _copy(RerateSettlement, ("line_id", "rerate_change_id"), links)
    _balances_write(drafts)
    return invoice_ids


def _balances_write(drafts: list[Draft]) -> None:
    """Write the balance summaries of prepaid statements and hybrid invoices (R29)."""
    BalanceSummary.objects.bulk_create(
        BalanceSummary(invoice_id=draft.invoice.pk, **draft.balance)
        for draft in drafts
        if draft.balance is not None
    )


def _drafts_bulk_create(drafts: list[Draft], tax_rows: list) -> list[int]:
    invoices = Invoice.objects.bulk_create([d.invoice.instance() for d in drafts])
    lines, taxes, links = [], [], []
    for draft, invoice, rows in zip(drafts, invoices, tax_rows, strict=True):
        for line in draft.lines:
            line.invoice_id = invoice.pk
        made = [line.instance() for line in draft.lines]
        lines.extend(made)
        for row in rows:
            row.invoice_id = invoice.pk
            taxes.append(row.instance())
        for position, change_ids in draft.rerate_changes.items():
            links.append((made[position - 1], change_ids))
    for draft, invoice in zip(drafts, invoices, strict=True):
        draft.invoice.pk = invoice.pk
    _balances_write(drafts)
    InvoiceLine.objects.bulk_create(lines, batch_size=2000)
    InvoiceTax.objects.bulk_create(taxes, batch_size=2000)
    RerateSettlement.objects.bulk_create(
        RerateSettlement(line=line, rerate_change_id=change_id)
        for line, change_ids in links
        for change_id in change_ids
    )
    return [invoice.pk for invoice in invoices]
