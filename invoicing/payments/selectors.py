"""Reads of the payments: an invoice's amount due, an account's unallocated credit, a
payment's remaining money, brand scoping, and the aged receivables report.

The amount due of an invoice is derived, never stored: its gross total, less the credit notes
issued against it, less the net of the allocations of payments to it. Every page, the API, the
state of the invoice and the dunning read it from ``invoices_with_amount_due`` here.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from invoicing.models import Invoice, InvoiceKind, InvoiceStatus
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    LineStatus,
    Payment,
    PaymentAllocation,
    PaymentReturn,
    Refund,
    SepaCollection,
    SepaMandate,
)
from subscribers.selectors import brands_of

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=20, decimal_places=2)
# Invoices that can be paid (and so have an amount due): issued and not void.
OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
PAYABLE_STATUSES = (*OPEN_STATUSES, InvoiceStatus.PAID)


def _sum_of(queryset, column: str = "amount"):
    """A correlated subquery of a sum, 0 when there are no rows, at two places."""
    return Cast(
        Coalesce(
            Subquery(
                queryset.order_by()
                .annotate(_one=Value(1))
                .values("_one")
                .annotate(total=Sum(column))
                .values("total")[:1],
                output_field=MONEY,
            ),
            Value(ZERO),
            output_field=MONEY,
        ),
        MONEY,
    )


def invoices_with_amount_due(
    queryset: QuerySet[Invoice], *, as_of: dt.date | None = None
) -> QuerySet[Invoice]:
    """Annotate invoices with ``amount_paid``, ``amount_credited`` and ``amount_due``.

    ``amount_credited`` is the (positive) gross of the issued credit notes against an invoice;
    ``amount_paid`` the net of the payments allocated to it; ``amount_due`` what is left.
    ``as_of``: as the books stood at the end of that day: credit notes issued by then, payments
    received by then (their value date), and a payment's allocation taken back (a return, a
    refund) only from the day it was taken back.
    """
    allocations = PaymentAllocation.objects.filter(invoice_id=OuterRef("pk"))
    credit_notes = Invoice.objects.filter(
        corrects_id=OuterRef("pk"), kind=InvoiceKind.CREDIT_NOTE
    ).exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED])
    if as_of is not None:
        day_after = timezone.make_aware(
            dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
        )
        allocations = allocations.filter(
            Q(amount__gt=0)
            | Q(payment__returned__returned_on__lte=as_of)
            | Q(payment__returned__isnull=True, created_at__lt=day_after),
            payment__received_on__lte=as_of,
        )
        credit_notes = credit_notes.filter(issue_date__lte=as_of)
    paid = _sum_of(allocations)
    credited = _sum_of(credit_notes, "gross_total")
    return queryset.annotate(amount_paid=paid, amount_credited=-credited).annotate(
        amount_due=Cast(F("gross_total") - F("amount_credited") - F("amount_paid"), MONEY)
    )


def invoice_amount_due(*, invoice: Invoice) -> Decimal:
    """Return what is left to pay of one invoice (0 for a document that is not payable)."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.status not in PAYABLE_STATUSES:
        return ZERO
    row = invoices_with_amount_due(Invoice.objects.filter(pk=invoice.pk)).values("amount_due")
    return row[0]["amount_due"]


def open_invoices(*, billing_account_id: int, currency: str) -> QuerySet[Invoice]:
    """Return an account's invoices with something left to pay, oldest first (by due date,
    then issue date, then number)."""
    invoices = Invoice.objects.filter(
        billing_account_id=billing_account_id,
        currency=currency,
        kind=InvoiceKind.INVOICE,
        status__in=OPEN_STATUSES,
    )
    return (
        invoices_with_amount_due(invoices)
        .filter(amount_due__gt=0)
        .order_by(F("due_date").asc(nulls_last=True), "issue_date", "pk")
    )


def payments_with_remaining(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """Annotate payments with ``allocated``, ``refunded``, ``returned_amount`` and
    ``remaining`` (the unallocated credit the payment still holds)."""
    allocated = _sum_of(PaymentAllocation.objects.filter(payment_id=OuterRef("pk")))
    refunded = _sum_of(Refund.objects.filter(payment_id=OuterRef("pk")))
    returned = _sum_of(PaymentReturn.objects.filter(payment_id=OuterRef("pk")))
    return queryset.annotate(
        allocated=allocated, refunded=refunded, returned_amount=returned
    ).annotate(
        remaining=Cast(F("amount") - F("allocated") - F("refunded") - F("returned_amount"), MONEY)
    )


def payments_with_credit(*, billing_account_id: int, currency: str) -> QuerySet[Payment]:
    """Return an account's payments that still hold unallocated credit, oldest first."""
    payments = Payment.objects.filter(billing_account_id=billing_account_id, currency=currency)
    return payments_with_remaining(payments).filter(remaining__gt=0).order_by("received_on", "pk")


def account_credit(*, billing_account_id: int) -> dict[str, Decimal]:
    """Return an account's unallocated credit per currency (only currencies with some)."""
    rows = payments_with_remaining(Payment.objects.filter(billing_account_id=billing_account_id))
    credit: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for currency, remaining in rows.values_list("currency", "remaining"):
        if remaining > 0:
            credit[currency] += remaining
    return dict(credit)


def accounts_with_credit(*, billing_account_ids) -> list[int]:
    """Return those of some accounts that hold unallocated credit (one query)."""
    payments = payments_with_remaining(
        Payment.objects.filter(billing_account_id__in=list(billing_account_ids))
    )
    return sorted(
        set(payments.filter(remaining__gt=0).values_list("billing_account_id", flat=True))
    )


# --- brand scoping ----------------------------------------------------------------------------


def _scoped(queryset, user, brand_path: str = "brand_id"):
    brands = brands_of(user)
    return queryset if brands is None else queryset.filter(**{f"{brand_path}__in": brands})


def payments_visible_to(user) -> QuerySet[Payment]:
    """Return the payments a user may see (brand scoping)."""
    return _scoped(Payment.objects.select_related("billing_account__customer", "brand"), user)


def refunds_visible_to(user) -> QuerySet[Refund]:
    """Return the refunds a user may see (brand scoping)."""
    return _scoped(
        Refund.objects.select_related("payment__billing_account"), user, "payment__brand_id"
    )


def allocations_visible_to(user) -> QuerySet[PaymentAllocation]:
    """Return the allocations a user may see (brand scoping)."""
    return _scoped(
        PaymentAllocation.objects.select_related("invoice", "payment"), user, "payment__brand_id"
    )


def bank_statements_visible_to(user) -> QuerySet[BankStatement]:
    """Return the bank statements a user may see (brand scoping)."""
    return _scoped(BankStatement.objects.select_related("brand"), user)


def statement_lines_visible_to(user) -> QuerySet[BankStatementLine]:
    """Return the bank statement lines a user may see (brand scoping)."""
    return _scoped(
        BankStatementLine.objects.select_related("statement"), user, "statement__brand_id"
    )


def unmatched_lines_visible_to(user) -> QuerySet[BankStatementLine]:
    """Return the lines waiting for finance, oldest first."""
    return (
        statement_lines_visible_to(user)
        .filter(status=LineStatus.UNMATCHED)
        .order_by("booking_date", "pk")
    )


def mandates_visible_to(user) -> QuerySet[SepaMandate]:
    """Return the SEPA mandates a user may see (brand scoping)."""
    return _scoped(SepaMandate.objects.select_related("billing_account"), user)


def collections_visible_to(user) -> QuerySet[SepaCollection]:
    """Return the direct debit collections a user may see (brand scoping)."""
    return _scoped(SepaCollection.objects.select_related("bill_run__cycle"), user)


# --- aged receivables -------------------------------------------------------------------------

BUCKETS = (
    ("current", "not yet due", None, -1),
    ("d0_30", "0–30 days", 0, 30),
    ("d31_60", "31–60 days", 31, 60),
    ("d61_90", "61–90 days", 61, 90),
    ("d90_plus", "90+ days", 91, None),
)
BUCKET_NAMES = [name for name, *_ in BUCKETS]


def bucket_of(days_past_due: int) -> str:
    """Return the aging bucket of an invoice this many days past its due date (negative: not
    yet due; 0 to 30 days; 31 to 60; 61 to 90; more than 90)."""
    if days_past_due < 0:
        return "current"
    if days_past_due <= 30:
        return "d0_30"
    if days_past_due <= 60:
        return "d31_60"
    if days_past_due <= 90:
        return "d61_90"
    return "d90_plus"


def bucket_range(bucket: str, as_of: dt.date) -> Q:
    """Return the due dates of a bucket's invoices on a day, as a filter."""
    for name, _label, low, high in BUCKETS:
        if name != bucket:
            continue
        query = Q()
        if low is not None:
            query &= Q(due_date__lte=as_of - dt.timedelta(days=low))
        if high is not None:
            query &= Q(due_date__gte=as_of - dt.timedelta(days=high))
        return query
    raise ValueError(f"no bucket {bucket}")


@dataclass
class AgingRow:
    """What one account (or a currency's total) owes, per bucket."""

    currency: str
    billing_account_id: int | None = None
    account_number: str = ""
    account_name: str = ""
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKET_NAMES, ZERO))
    invoices: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def named(self) -> list[tuple[str, Decimal]]:
        """(bucket name, amount) in bucket order."""
        return [(name, self.buckets[name]) for name in BUCKET_NAMES]


def receivable_invoices(
    *, user, as_of: dt.date, invoices: QuerySet[Invoice] | None = None
) -> QuerySet[Invoice]:
    """Return the invoices a user may see with something left to pay on a day.

    ``invoices``: the invoices to read instead of those the user may see (already scoped by
    the caller, e.g. the assurance KPIs by brand); ``user`` is then not read.
    """
    from invoicing.selectors import invoices_visible_to

    if invoices is None:
        invoices = invoices_visible_to(user)
    # Paid invoices too: one paid after the day was still owed on it (the books as they stood).
    invoices = invoices.filter(
        kind=InvoiceKind.INVOICE, status__in=PAYABLE_STATUSES, issue_date__lte=as_of
    )
    return invoices_with_amount_due(invoices, as_of=as_of).filter(amount_due__gt=0)


def aged_receivables(
    *, user, as_of: dt.date, invoices: QuerySet[Invoice] | None = None
) -> tuple[list[AgingRow], list[AgingRow]]:
    """Return (rows per currency and account, totals per currency) of what is owed on a day,
    in buckets of days past due (one query); ``invoices`` as in ``receivable_invoices``."""
    rows: dict[tuple, AgingRow] = {}
    totals: dict[str, AgingRow] = {}
    values = receivable_invoices(user=user, as_of=as_of, invoices=invoices).values_list(
        "currency", "billing_account_id", "billing_account__number", "billing_account__name",
        "due_date", "amount_due",
    )  # fmt: skip
    for currency, account_id, number, name, due_date, due in values:
        days = (as_of - due_date).days if due_date else 0
        bucket = bucket_of(days)
        row = rows.setdefault((currency, number), AgingRow(currency, account_id, number, name))
        total = totals.setdefault(currency, AgingRow(currency))
        for target in (row, total):
            target.buckets[bucket] += due
            target.invoices += 1
    ordered = [rows[key] for key in sorted(rows)]
    return ordered, [totals[key] for key in sorted(totals)]
