"""The invoicing demo shows the golden October invoices, issued with their PDFs, once."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from charging import demo as charging_demo
from invoicing import demo
from invoicing.models import BankStatementLine, DunningRecord, Invoice, InvoiceDocument, Payment
from invoicing.payments.selectors import invoice_amount_due

pytestmark = [pytest.mark.django_db, pytest.mark.golden]


@time_machine.travel("2026-11-02 09:00:00+01:00", tick=False)
def test_the_demo_issues_the_golden_invoices_once(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    build_golden_subscribers(build_golden_catalog())
    charging_demo.load()

    with django_capture_on_commit_callbacks(execute=True):
        summary = demo.load()

    a, b, c = demo.golden_invoices()
    assert [i.number for i in (a, b, c)] == [
        "INV-2026-000001", "INV-2026-000002", "INV-2026-000003"
    ]  # fmt: skip
    assert [i.gross_total for i in (a, b, c)] == [
        Decimal("62.11"), Decimal("36.83"), Decimal("14.58")
    ]  # fmt: skip
    assert InvoiceDocument.objects.count() == 3
    assert "3 invoices, 3 issued" in summary
    # A paid by the statement, B partly by card, C unpaid; one bank line waits for finance.
    a, b, c = demo.golden_invoices()
    assert [i.status for i in (a, b, c)] == ["paid", "partially_paid", "issued"]
    assert [invoice_amount_due(invoice=i) for i in (a, b, c)] == [
        Decimal("0.00"), Decimal("16.83"), Decimal("14.58")
    ]  # fmt: skip
    assert BankStatementLine.objects.filter(status="unmatched").count() == 1
    again = demo.load()
    assert again == summary and Invoice.objects.count() == 3
    assert Payment.objects.count() == 2


@time_machine.travel("2026-12-01 07:00:00+01:00", tick=False)
def test_the_demo_shows_account_b_reminded_and_barred_once(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    build_golden_subscribers(build_golden_catalog())
    charging_demo.load()
    with django_capture_on_commit_callbacks(execute=True):
        summary = demo.load()

    a, b, c = demo.golden_invoices()
    assert [i.due_date for i in (a, b, c)] == [dt.date(2026, 11, 16)] * 3
    # A was paid by the demo's statement; B's rest (partly paid by card) and C are chased.
    assert "dunning on 2026-12-01: 2 opened, 3 steps" in summary
    assert [i.status for i in (a, b, c)] == ["paid", "overdue", "overdue"]
    records = DunningRecord.objects.filter(case__invoice=b).order_by("pk")
    assert [r.action for r in records] == ["reminder", "final_notice", "bar_outgoing"]
    assert set(b.billing_account.subscriptions.values_list("status", flat=True)) == {"barred"}
    assert not DunningRecord.objects.exclude(case__invoice=b).exists()  # A, C: 30 days' grace
    assert "dunning on 2026-12-01: 0 opened, 0 steps" in demo.load()
    assert DunningRecord.objects.count() == 3
