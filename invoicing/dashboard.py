"""Invoicing's panel on the console home page (core.console.dashboard): what finance acts on.

Every figure links to the list of the documents behind it, filtered the same way.
"""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Sum
from django.urls import reverse

from core.console.dashboard import Figure, Panel
from core.console.formats import money_text
from invoicing.models import BillRunStatus, DunningCaseStatus, InvoiceKind, InvoiceStatus
from invoicing.selectors import (
    bill_runs_visible_to,
    dunning_cases_visible_to,
    dunning_holds_visible_to,
    invoices_visible_to,
)


def _url(name: str, **filters) -> str:
    return f"{reverse(name)}?{urlencode(filters)}" if filters else reverse(name)


def invoicing_panels(*, user, now: dt.datetime) -> list[Panel]:
    """Drafts to review, runs to finish, and what was issued this month."""
    if not user.has_perm("invoicing.view_invoice"):
        return []
    invoices = invoices_visible_to(user)
    drafts = invoices.filter(status=InvoiceStatus.DRAFT).count()
    runs = bill_runs_visible_to(user)
    waiting_runs = runs.filter(status__in=(BillRunStatus.DRAFTED, BillRunStatus.FAILED)).count()
    today = now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    month_start = today.replace(day=1)
    issued = (
        invoices.filter(kind=InvoiceKind.INVOICE, issue_date__gte=month_start)
        .exclude(status__in=(InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED))
        .values("currency")
        .annotate(count=Count("id"), gross=Sum("gross_total"))
        .order_by("currency")
    )
    since = {"kind": InvoiceKind.INVOICE, "issued_from": month_start.isoformat()}
    figures = [
        Figure("Draft invoices to review", drafts,
               _url("invoicing:invoice-list", status=InvoiceStatus.DRAFT),
               "warn" if drafts else "ok"),
        Figure("Bill runs waiting (drafted or failed)", waiting_runs,
               _url("invoicing:billrun-list"), "warn" if waiting_runs else "ok"),
    ]  # fmt: skip
    for row in issued:
        figures += [
            Figure(f"Invoices issued since {month_start:%d %b}", row["count"],
                   _url("invoicing:invoice-list", **since)),
            Figure(f"Invoiced since {month_start:%d %b}, gross",
                   money_text(row["gross"], row["currency"]),
                   _url("invoicing:invoice-list", **since)),
        ]  # fmt: skip
    return [Panel("Invoicing", figures=figures, order=3)]


def billing_account_dunning_panels(*, obj, user, now: dt.datetime) -> list[Panel]:
    """A billing account's dunning (R30): its invoices in dunning, paused or not."""
    if not user.has_perm("invoicing.view_dunningcase"):
        return []
    cases = dunning_cases_visible_to(user).filter(billing_account=obj)
    open_cases = cases.filter(status=DunningCaseStatus.OPEN)
    hold = dunning_holds_visible_to(user).filter(billing_account=obj, resumed_at__isnull=True)
    hold = hold.first()
    count = open_cases.count()
    figures = [
        Figure("Invoices in dunning", count,
               _url("invoicing:dunningcase-list", account=obj.number,
                    status=DunningCaseStatus.OPEN), "warn" if count else "ok"),
    ]  # fmt: skip
    if hold is not None:
        figures.append(
            Figure(f"Dunning paused since {hold.paused_at:%Y-%m-%d}: {hold.reason}", "paused",
                   hold.get_absolute_url(), "warn")
        )  # fmt: skip
    else:
        figures.append(
            Figure("Dunning runs (pause it for a dispute or a promise to pay)", "running",
                   reverse("invoicing:dunning-pause", args=[obj.pk]))
        )  # fmt: skip
    upcoming = open_cases.exclude(next_step_date=None).order_by("next_step_date").first()
    if upcoming is not None:
        figures.append(
            Figure(f"Next step: {upcoming.next_step} ({upcoming.invoice.number})",
                   f"{upcoming.next_step_date:%Y-%m-%d}", upcoming.invoice.get_absolute_url())
        )  # fmt: skip
    return [Panel("Dunning", figures=figures, order=40)]
