"""What the payments show on a billing account's page (core.console related panels)."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Sum
from django.urls import reverse

from core.console.dashboard import Figure, Panel
from core.console.formats import money_text
from invoicing.models import Invoice, InvoiceKind
from invoicing.payments import selectors
from invoicing.payments.models import SepaMandate


def billing_account_payments(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The account's amount due, credit, mandate and payments, with what finance does next."""
    if not user.has_perm("invoicing.view_payment"):
        return []
    open_invoices = selectors.invoices_with_amount_due(
        Invoice.objects.filter(
            billing_account=obj, kind=InvoiceKind.INVOICE, status__in=selectors.OPEN_STATUSES
        )
    )
    due = open_invoices.aggregate(total=Sum("amount_due"))["total"] or Decimal("0.00")
    credit = selectors.account_credit(billing_account_id=obj.pk).get(obj.currency, Decimal("0.00"))
    mandate = SepaMandate.objects.filter(billing_account=obj, revoked_on__isnull=True).first()
    payments = reverse("invoicing:payment-list")
    by_account = urlencode({"account": obj.number})
    mandate_url = (
        mandate.get_absolute_url()
        if mandate
        else f"{reverse('invoicing:sepamandate-list')}?{by_account}"
    )
    figures = [
        Figure(
            "amount due",
            money_text(due, obj.currency),
            f"{reverse('invoicing:invoice-list')}?{by_account}",
            "warn" if due > 0 else "ok",
        ),
        Figure(
            "unallocated credit",
            money_text(credit, obj.currency),
            f"{payments}?{by_account}&unallocated=true",
        ),
        Figure("payments", obj.payments.count(), f"{payments}?{by_account}"),
        Figure("direct debit mandate", mandate.reference if mandate else "none", mandate_url),
    ]
    if user.has_perm("invoicing.add_payment"):
        figures.append(
            Figure(
                "record a payment", "+", f"{reverse('invoicing:payment-create')}?account={obj.pk}"
            )
        )
        if credit > 0:
            figures.append(
                Figure(
                    "refund the credit",
                    "↩",
                    reverse("invoicing:account-credit-refund", args=[obj.pk]),
                )
            )
    if user.has_perm("invoicing.add_sepamandate"):
        figures.append(
            Figure(
                "new mandate", "+", f"{reverse('invoicing:sepamandate-create')}?account={obj.pk}"
            )
        )
    return [Panel(title="Payments", figures=figures, order=20)]
