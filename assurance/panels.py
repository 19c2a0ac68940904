"""What the assurance shows on other apps' pages (AppConfig.console_related): the lineage of
any cent, one click from an invoice's lines and from a usage event."""

from django.urls import reverse

from core.console.dashboard import Figure, Panel
from invoicing.models import LineKind


def invoice_lineage(*, obj, user, now) -> list[Panel]:
    """Each usage line of an invoice, linked to the events and file lines it sums."""
    if not user.has_perm("assurance.view_finding"):
        return []
    figures = [
        Figure(line.description, str(line.amount),
               reverse("assurance:lineage-line", args=[line.pk]))
        for line in obj.lines.filter(kind=LineKind.USAGE).order_by("position")
    ]  # fmt: skip
    if not figures:
        return []
    return [Panel("Lineage: usage lines to their events and file lines", figures=figures,
                  order=80)]  # fmt: skip


def event_lineage(*, obj, user, now) -> list[Panel]:
    """An event's file line, rating and the invoice line it landed on, on one page."""
    if not user.has_perm("assurance.view_finding"):
        return []
    url = reverse("assurance:lineage-event", args=[obj.pk])
    return [Panel("Lineage", figures=[Figure("File line, rating and invoice", "→", url)],
                  order=80)]  # fmt: skip
