"""Prepaid and hybrid documents (R27, R29): receipts per top-up, statements per period, tax at
top-up or at use, hybrid invoices for usage beyond the balance."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from catalog.models import PrepaidTaxPoint
from invoicing.models import BalanceSummary, Invoice, InvoiceKind, InvoiceStatus, TopUpReceipt
from invoicing.prepaid import receipts_issue
from invoicing.services import bill_run_issue
from subscribers import services
from subscribers.models import BalanceMovement, MovementKind
from subscribers.prepaid import prepaid_renewals_run
from tests.invoicing.builders import (
    account_add,
    event_add,
    lines,
    plan_add,
    run_bill,
    subscription_add,
    world_build,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOV_START = dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 1 November 00:00 in Berlin


def at(year, month, day, hour=12):
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def world():
    world = world_build()
    plan_add(world, "PRE", fee="9.99", payment_model="prepaid", tax_inclusive=True)
    return world


def set_tax_point(world, point):
    world.tax_region.prepaid_tax_point = point
    world.tax_region.save()


def top_up(account, amount, reference, when):
    with time_machine.travel(when, tick=False):
        return services.top_up(
            billing_account=account, amount=Decimal(amount), channel="card", reference=reference
        )


def online_charge(subscription, *, when, amount):
    """A usage event charged online: the event and its CHARGE on the balance."""
    event = event_add(subscription, at=when, amount=amount)
    with time_machine.travel(when, tick=False):
        BalanceMovement.objects.create(
            billing_account=subscription.billing_account,
            kind=MovementKind.CHARGE,
            amount=-Decimal(amount),
            currency="EUR",
            reason="voice session",
            reference=f"usage:{event.pk}",
        )
    return event


def test_every_top_up_gets_one_receipt_numbered_gaplessly(world):
    first = account_add(world, payment_model="prepaid")
    second = account_add(world, payment_model="prepaid", name="Other")
    subscription_add(world, first, "PRE", active_from=dt.date(2026, 10, 1))
    subscription_add(world, second, "PRE", active_from=dt.date(2026, 10, 1))
    top_up(first, "20.00", "A", at(2026, 10, 2))
    top_up(second, "15.00", "B", at(2026, 10, 3))
    with time_machine.travel(at(2026, 10, 3, 13), tick=False):
        issued = receipts_issue()
        assert receipts_issue() == []  # a rerun finds nothing left
    top_up(first, "5.00", "C", at(2026, 10, 4))
    with time_machine.travel(at(2026, 10, 4, 13), tick=False):
        issued += receipts_issue()
    receipts = Invoice.objects.filter(pk__in=issued).order_by("number")
    assert [(r.number, r.kind, r.status, r.gross_total) for r in receipts] == [
        ("RC-2026-000001", InvoiceKind.RECEIPT, InvoiceStatus.ISSUED, Decimal("20.00")),
        ("RC-2026-000002", InvoiceKind.RECEIPT, InvoiceStatus.ISSUED, Decimal("15.00")),
        ("RC-2026-000003", InvoiceKind.RECEIPT, InvoiceStatus.ISSUED, Decimal("5.00")),
    ]
    assert TopUpReceipt.objects.count() == 3


def test_a_receipt_carries_no_tax_when_the_region_accounts_it_at_use(world):
    account = account_add(world, payment_model="prepaid")
    subscription_add(world, account, "PRE", active_from=dt.date(2026, 10, 1))
    top_up(account, "20.00", "A", at(2026, 10, 2))
    (receipt_id,) = receipts_issue()
    receipt = Invoice.objects.get(pk=receipt_id)
    assert (receipt.net_total, receipt.tax_total, receipt.gross_total) == (
        Decimal("20.00"), Decimal("0.00"), Decimal("20.00"),
    )  # fmt: skip
    assert "when the balance is used" in receipt.reason
    assert lines(receipt) == [("Top-up via card, reference A", "20.00")]


def test_a_receipt_carries_the_tax_when_the_region_accounts_it_at_top_up(world):
    set_tax_point(world, PrepaidTaxPoint.AT_TOP_UP)
    account = account_add(world, payment_model="prepaid")
    subscription_add(world, account, "PRE", active_from=dt.date(2026, 10, 1))
    top_up(account, "20.00", "A", at(2026, 10, 2))
    (receipt_id,) = receipts_issue()
    receipt = Invoice.objects.get(pk=receipt_id)
    # 20.00 gross at 19 %: net 20 / 1.19 = 16.806… → 16.81, tax 3.19 (R4).
    assert (receipt.net_total, receipt.tax_total, receipt.gross_total) == (
        Decimal("16.81"), Decimal("3.19"), Decimal("20.00"),
    )  # fmt: skip
    assert TopUpReceipt.objects.get(invoice=receipt).tax_point == PrepaidTaxPoint.AT_TOP_UP


def november_statement(world):
    account = account_add(world, payment_model="prepaid")
    subscription = subscription_add(world, account, "PRE", active_from=dt.date(2026, 10, 1))
    top_up(account, "30.00", "A", at(2026, 10, 20))
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        prepaid_renewals_run()
    online_charge(subscription, when=at(2026, 11, 5), amount="1.50")
    top_up(account, "5.00", "B", at(2026, 11, 6))
    with time_machine.travel(at(2026, 12, 1), tick=False):
        run_bill(world, 2026, 11)
    return account, Invoice.objects.get(
        billing_account=account, kind=InvoiceKind.STATEMENT, period_start_date=dt.date(2026, 11, 1)
    )


def test_a_prepaid_statement_shows_renewal_usage_top_ups_and_balances_taxed_at_use(world):
    _account, statement = november_statement(world)
    assert lines(statement) == [
        ("PRE-" + world.brand.code + ", renewal November 2026, paid from the balance", "9.99"),
        ("voice out, NAT_MOBILE, HOME", "1.50"),
    ]
    # Gross 11.49 at 19 % inclusive: net 11.49 / 1.19 = 9.655… → 9.66, tax 1.83 (R4).
    assert (statement.net_total, statement.tax_total, statement.gross_total) == (
        Decimal("9.66"), Decimal("1.83"), Decimal("11.49"),
    )  # fmt: skip
    summary = BalanceSummary.objects.get(invoice=statement)
    assert (summary.opening, summary.top_ups, summary.renewals, summary.usage) == (
        Decimal("30.000000"), Decimal("5.000000"), Decimal("9.990000"), Decimal("1.500000"),
    )  # fmt: skip
    assert summary.closing == Decimal("23.510000")
    assert summary.tax_point == PrepaidTaxPoint.AT_USE


def test_a_prepaid_statement_carries_no_tax_when_the_receipts_did(world):
    set_tax_point(world, PrepaidTaxPoint.AT_TOP_UP)
    _account, statement = november_statement(world)
    assert (statement.net_total, statement.tax_total, statement.gross_total) == (
        Decimal("11.49"), Decimal("0.00"), Decimal("11.49"),
    )  # fmt: skip


def test_a_second_bill_run_makes_no_second_statement(world):
    account, statement = november_statement(world)
    with time_machine.travel(at(2026, 12, 1, 14), tick=False):
        run_bill(world, 2026, 11)
    assert Invoice.objects.filter(billing_account=account, kind=InvoiceKind.STATEMENT).count() == (
        Invoice.objects.filter(
            billing_account=account, kind=InvoiceKind.STATEMENT, pk=statement.pk
        ).count()
    )
    assert BalanceSummary.objects.filter(invoice__billing_account=account).count() == 1


def test_a_hybrid_invoice_bills_usage_the_balance_did_not_pay_and_the_credit_used(world):
    plan_add(world, "HYB", fee="20.00", payment_model="hybrid")
    account = account_add(world, payment_model="hybrid", credit_limit=Decimal("50"))
    subscription = subscription_add(world, account, "HYB", active_from=dt.date(2026, 10, 1))
    top_up(account, "10.00", "A", at(2026, 10, 2))
    online_charge(subscription, when=at(2026, 10, 5), amount="15.00")  # 5.00 of it on credit
    event_add(subscription, at=at(2026, 10, 6), amount="2.00")  # rated from a file, unpaid
    with time_machine.travel(at(2026, 11, 1, 8), tick=False):
        run = run_bill(world, 2026, 10)
    invoice = Invoice.objects.get(billing_account=account, kind=InvoiceKind.INVOICE)
    code = f"HYB-{world.brand.code}"
    assert lines(invoice) == [
        (f"{code}, October 2026", "20.00"),
        (f"{code}, November 2026, in advance", "20.00"),
        ("voice out, NAT_MOBILE, HOME", "2.00"),
        ("usage beyond the balance, on credit to 31 Oct 2026", "5.00"),
    ]
    # Net 47.00 at 19 %: tax 8.93, gross 55.93 (R4).
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("47.00"), Decimal("8.93"), Decimal("55.93"),
    )  # fmt: skip
    assert services.balance_of(account) == Decimal("-5.000000")
    with time_machine.travel(at(2026, 11, 2), tick=False):
        bill_run_issue(bill_run=run)
    invoice.refresh_from_db()
    # Issued: the invoice asks for the credit, the balance has it back, once.
    assert services.balance_of(account) == Decimal("0.000000")
    settlement = BalanceSummary.objects.get(invoice=invoice).settlement
    assert (settlement.amount, settlement.reference) == (
        Decimal("5.000000"), f"invoice:{invoice.pk}",
    )  # fmt: skip
    assert invoice.number in settlement.reason


def test_a_hybrid_account_within_its_balance_is_invoiced_for_fees_only(world):
    plan_add(world, "HYB", fee="20.00", payment_model="hybrid")
    account = account_add(world, payment_model="hybrid", credit_limit=Decimal("50"))
    subscription = subscription_add(world, account, "HYB", active_from=dt.date(2026, 10, 1))
    top_up(account, "10.00", "A", at(2026, 10, 2))
    online_charge(subscription, when=at(2026, 10, 5), amount="4.00")
    with time_machine.travel(at(2026, 11, 1, 8), tick=False):
        run_bill(world, 2026, 10)
    invoice = Invoice.objects.get(billing_account=account, kind=InvoiceKind.INVOICE)
    assert [amount for _d, amount in lines(invoice)] == ["20.00", "20.00"]
    summary = BalanceSummary.objects.get(invoice=invoice)
    assert (summary.closing, summary.credit_invoiced) == (Decimal("6.000000"), Decimal("0.00"))


def test_a_receipt_and_a_statement_render_as_pdf_with_their_balance(world, settings, tmp_path):
    import io
    import os

    from pypdf import PdfReader

    from invoicing import documents
    from invoicing.demo import invoice_profile_create
    from invoicing.services import invoice_issue

    settings.MEDIA_ROOT = tmp_path
    invoice_profile_create(world.brand)
    account, statement = november_statement(world)
    statement = invoice_issue(invoice=statement)
    receipt = Invoice.objects.get(pk=receipts_issue()[0])
    texts = {}
    for document in (receipt, statement):
        rendered = documents.invoice_document_render(invoice=document)
        content = rendered.file.open("rb").read()
        texts[document.kind] = "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(content)).pages
        )
        if os.environ.get("PREPAID_PDF_DIR"):
            with open(f"{os.environ['PREPAID_PDF_DIR']}/{document.kind}.pdf", "wb") as out:
                out.write(content)
    assert (
        receipt.number in texts["receipt"] and "Received with thanks: EUR 30.00" in texts["receipt"]
    )
    assert "Please pay" not in texts["receipt"]
    statement_text = texts["statement"]
    assert statement.number in statement_text and "nothing is payable" in statement_text
    assert "23.51" in statement_text and "30.00" in statement_text  # closing and opening


def test_the_demo_receipts_the_prepaid_showcase_top_ups(settings, tmp_path):
    from invoicing import demo as invoicing_demo
    from subscribers import demo as subscribers_demo

    settings.MEDIA_ROOT = tmp_path
    world = world_build(code="LOREM")
    plan_add(world, "FLEXP", fee="9.99", payment_model="prepaid", tax_inclusive=True)
    with time_machine.travel(at(2026, 11, 3), tick=False):
        done = subscribers_demo.prepaid_showcase(tax_region=world.tax_region, acting_user=None)
        assert invoicing_demo.prepaid_receipts() == 3
        assert invoicing_demo.prepaid_receipts() == 3  # once
    assert done == ["Prepaid, renewed: renewed", "Prepaid, balance short: pending"]
    numbers = sorted(
        Invoice.objects.filter(kind=InvoiceKind.RECEIPT).values_list("number", flat=True)
    )
    assert numbers == ["RC-2026-000001", "RC-2026-000002", "RC-2026-000003"]
