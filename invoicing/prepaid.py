"""Prepaid and hybrid documents: a receipt per top-up, the credit a hybrid invoice takes over
(R27, R29).

Subscribers know nothing of invoicing (the dependency points one way): the beat task
``invoicing.receipts_issue`` finds top-ups without a receipt and issues one each, numbered
gaplessly in the brand's receipt series (``RC-<year>``, R27) by the same issuing as invoices,
whose PDF the same task renders. Whether a receipt carries tax is the tax region's
``prepaid_tax_point`` (R29): at top-up the money paid is gross at the account's plan's rate;
at use the receipt is a receipt of money only and the period's statement carries the tax.
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef

from catalog.models import PrepaidTaxPoint, TaxRate
from catalog.selectors import plan_version_at
from core.periods import local_date, local_midnight
from invoicing.billing import Draft, LineRow, apply_totals, customer_address
from invoicing.models import (
    BalanceSummary,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    TopUpReceipt,
)
from subscribers.models import (
    SubscriptionStatus,
    TopUp,
)

RECEIPT_CHUNK = 500


def _tax_category_of(account, instant: dt.datetime):
    """The tax category of an account's money: its (latest) live subscription's plan."""
    subscriptions = account.subscriptions.exclude(status=SubscriptionStatus.PENDING).order_by(
        "-activated_at", "-pk"
    )
    for subscription in subscriptions:
        version = plan_version_at(plan=subscription.plan_id, instant=instant)
        if version is not None and version.tax_category_id:
            return version.tax_category_id
    return None


def _rate(region_id: int, category_id: int, day: dt.date) -> Decimal:
    rate = (
        TaxRate.objects.filter(region_id=region_id, category_id=category_id, valid_from__lte=day)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ValidationError({"tax_rate": f"no tax rate for category {category_id} on {day}"})
    return rate


def _receipt_draft(top_up: TopUp) -> tuple[Draft, str]:
    account = top_up.billing_account
    customer = account.customer
    tz = account.timezone
    day = local_date(top_up.created_at, tz)
    point = account.tax_region.prepaid_tax_point
    if point == PrepaidTaxPoint.AT_TOP_UP:
        category = _tax_category_of(account, top_up.created_at)
        if category is None:
            raise ValidationError({"billing_account": "no plan names the tax category"})
        rate = _rate(account.tax_region_id, category, day)
        note = "tax accounted at top-up (R29)"
    else:
        rate = Decimal("0")
        note = "tax accounted when the balance is used, on the statement (R29)"
    invoice = Invoice(
        brand_id=customer.brand_id,
        billing_account=account,
        kind=InvoiceKind.RECEIPT,
        status=InvoiceStatus.DRAFT,
        period_start_date=day,
        period_end_date=day + dt.timedelta(days=1),
        period_start=local_midnight(day, tz),
        period_end=local_midnight(day + dt.timedelta(days=1), tz),
        currency=top_up.currency,
        # Money paid is what the customer paid: gross; its net is split out per R4.
        tax_inclusive=True,
        customer_name=customer.display_name,
        customer_address=customer_address(customer),
        customer_tax_id=customer.tax_id,
        reason=note,
    )
    draft = Draft(invoice)
    draft.add(
        LineRow(
            kind=LineKind.ONE_TIME,
            billing_account_id=account.pk,
            subscription_id=None,
            description=f"Top-up via {top_up.get_channel_display()}, reference {top_up.reference}",
            period_start_date=day,
            period_end_date=day + dt.timedelta(days=1),
            unit_price=top_up.amount,
            amount=top_up.amount,
            tax_rate=rate,
        )
    )
    return draft, point


def receipts_issue(*, limit: int = RECEIPT_CHUNK, billing_account_ids=None) -> list[int]:
    """Issue a receipt for each top-up that has none yet; return the receipts' ids.

    Top-ups are taken with SKIP LOCKED, so two workers never receipt the same one, and the
    UNIQUE top-up of ``TopUpReceipt`` makes it once whatever happens; numbers come from the
    receipt series' locked counter in the same transaction (R27), so a rollback leaves no gap.
    """
    from invoicing.services import invoices_issue

    receipted = TopUpReceipt.objects.filter(top_up_id=OuterRef("pk"))
    with transaction.atomic():
        top_ups = list(
            TopUp.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(~Exists(receipted))
            .filter(
                **(
                    {}
                    if billing_account_ids is None
                    else {"billing_account_id__in": billing_account_ids}
                )
            )
            .select_related("billing_account__customer", "billing_account__tax_region")
            .order_by("pk")[:limit]
        )
        if not top_ups:
            return []
        drafts, points = [], []
        for top_up in top_ups:
            draft, point = _receipt_draft(top_up)
            drafts.append(draft)
            points.append(point)
        ids = drafts_write_receipts(drafts)
        TopUpReceipt.objects.bulk_create(
            TopUpReceipt(top_up=top_up, invoice_id=invoice_id, tax_point=point)
            for top_up, invoice_id, point in zip(top_ups, ids, points, strict=True)
        )
        invoices_issue(invoice_ids=ids)
    return ids


def drafts_write_receipts(drafts: list[Draft]) -> list[int]:
    """Write receipt drafts (model instances, not the bill run's rows) with their totals."""
    from invoicing.models import InvoiceLine, InvoiceTax

    ids = []
    for draft in drafts:
        taxes = apply_totals(draft)
        draft.invoice.save()
        InvoiceLine.objects.bulk_create(
            InvoiceLine(invoice=draft.invoice, **_line_values(line)) for line in draft.lines
        )
        InvoiceTax.objects.bulk_create(
            InvoiceTax(invoice=draft.invoice, rate=row.rate, net=row.net, tax=row.tax,
                       gross=row.gross)
            for row in taxes
        )  # fmt: skip
        ids.append(draft.invoice.pk)
    return ids


def _line_values(line: LineRow) -> dict:
    values = {name: getattr(line, name) for name in LineRow.fields}
    values.pop("invoice_id", None)
    return values


def hybrid_credit_settle(*, invoice_ids: list[int], acting_user=None) -> int:
    """Give back to the balance the credit hybrid invoices took over, once each (R29).

    Called while issuing: the invoice now asks for the money the balance had lent, so the
    balance returns to what it holds (a booked ADJUSTMENT naming the invoice).
    """
    from subscribers.services import balance_adjust

    summaries = (
        BalanceSummary.objects.select_for_update(of=("self",))
        .filter(invoice_id__in=invoice_ids, credit_invoiced__gt=0, settlement__isnull=True)
        .select_related("invoice__billing_account")
        .order_by("invoice_id")
    )
    settled = 0
    for summary in summaries:
        invoice = summary.invoice
        summary.settlement = balance_adjust(
            billing_account=invoice.billing_account,
            amount=summary.credit_invoiced,
            reason=f"credit used in {invoice.period_start_date:%b %Y} invoiced on {invoice.number}",
            reference=f"invoice:{invoice.pk}",
            acting_user=acting_user,
        )
        summary.save(update_fields=["settlement"])
        settled += 1
    return settled


def invoice_links(ids) -> dict[str, tuple[str, str]]:
    """Name and link the invoices behind ``invoice:<id>`` movements (a hybrid's credit)."""
    from django.urls import reverse

    rows = Invoice.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list(
        "pk", "number", "kind"
    )
    return {
        str(pk): (
            f"{kind.replace('_', ' ')} {number or pk}",
            reverse("invoicing:invoice-detail", args=[pk]),
        )
        for pk, number, kind in rows
    }
