"""What invoicing shows on a customer's and a billing account's page: their bills.

Each figure links to the invoice list filtered to the documents behind it.
"""

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.urls import reverse

from core.console.dashboard import Figure, Panel
from core.console.formats import money_text
from invoicing.models import InvoiceKind, InvoiceStatus
from invoicing.payments.selectors import invoices_with_amount_due
from invoicing.selectors import invoices_visible_to

UNPAID = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)


def _list(**filters) -> str:
    return f"{reverse('invoicing:invoice-list')}?{urlencode(filters)}"


def _bills_panel(invoices, filters: dict, title: str) -> list[Panel]:
    bills = invoices.filter(kind=InvoiceKind.INVOICE).exclude(status=InvoiceStatus.EXCLUDED)
    counts = bills.aggregate(
        all=Count("id"),
        drafts=Count("id", filter=Q(status=InvoiceStatus.DRAFT)),
        overdue=Count("id", filter=Q(status=InvoiceStatus.OVERDUE)),
    )
    if not counts["all"] and not invoices.exists():
        return []
    figures = [
        Figure("Invoices", counts["all"], _list(kind=InvoiceKind.INVOICE, **filters)),
    ]
    latest = bills.exclude(status=InvoiceStatus.DRAFT).order_by("-issue_date", "-pk").first()
    if latest is not None:
        figures.append(
            Figure(
                f"Latest invoice, {latest.number} of {latest.issue_date:%d %b %Y}: "
                f"{latest.get_status_display()}",
                money_text(latest.gross_total, latest.currency),
                latest.get_absolute_url(),
            )
        )
    unpaid = (
        invoices_with_amount_due(bills.filter(status__in=UNPAID))
        .values("currency")
        .annotate(count=Count("id"), due=Sum("amount_due"))
        .order_by("currency")
    )
    for row in unpaid:
        count = row["count"]
        figures.append(
            Figure(
                f"Left to pay on {count} invoice{'s' if count != 1 else ''} not paid in full",
                money_text(row["due"], row["currency"]),
                _list(kind=InvoiceKind.INVOICE, currency=row["currency"], **filters),
            )
        )
    if counts["overdue"]:
        figures.append(
            Figure("Overdue", counts["overdue"], _list(status=InvoiceStatus.OVERDUE, **filters),
                   "warn")
        )  # fmt: skip
    if counts["drafts"]:
        figures.append(
            Figure("Drafts awaiting review", counts["drafts"],
                   _list(status=InvoiceStatus.DRAFT, **filters), "warn")
        )  # fmt: skip
    others = invoices.exclude(kind=InvoiceKind.INVOICE).exclude(status=InvoiceStatus.EXCLUDED)
    for row in others.values("kind").annotate(count=Count("id")).order_by("kind"):
        label = InvoiceKind(row["kind"]).label
        figures.append(
            Figure(f"{label.capitalize()}s", row["count"], _list(kind=row["kind"], **filters))
        )
    return [Panel(title, figures=figures, order=15)]


def billing_account_bills(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The bills of a billing account, on its page."""
    if not user.has_perm("invoicing.view_invoice"):
        return []
    invoices = invoices_visible_to(user).filter(billing_account=obj)
    return _bills_panel(invoices, {"account": obj.number}, "Invoices")


def customer_bills(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The bills of every billing account of a customer, on the customer's page."""
    if not user.has_perm("invoicing.view_invoice"):
        return []
    invoices = invoices_visible_to(user).filter(billing_account__customer=obj)
    return _bills_panel(invoices, {"customer_number": obj.number}, "Invoices")
