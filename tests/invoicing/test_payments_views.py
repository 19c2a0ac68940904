"""The payments console: recording a bank transfer, allocations, refunds, the statement import
and its queue, mandates, the direct debit file and the aged receivables (with exports)."""

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from openpyxl import load_workbook

from invoicing.models import BillRun, BillRunStatus, Invoice, InvoiceStatus
from invoicing.payments.models import BankStatementLine, LineStatus, Payment, SepaCollection
from invoicing.services import bill_cycle_save
from subscribers.models import BrandScope
from tests.invoicing.builders import account_add, world_build
from tests.invoicing.payment_builders import invoice_issued_add, profile_add

DATA = Path(__file__).parent / "data"
NOW = "2026-11-20 10:00:00+01:00"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(db):
    world = world_build()
    profile_add(world.brand)
    world.account = account_add(world, name="Anna Mueller", number="A-100001")
    world.old = invoice_issued_add(world.account, gross="60.83", number="INV-2026-000101",
                                   issued_on=dt.date(2026, 7, 2))  # fmt: skip
    world.new = invoice_issued_add(world.account, gross="40.00", number="INV-2026-000102",
                                   issued_on=dt.date(2026, 11, 2))  # fmt: skip
    return world


def test_finance_records_a_bank_transfer_from_the_invoice_page(world, finance, console_client_for):
    client = console_client_for(finance)
    page = client.get(f"/invoicing/invoices/{world.new.pk}/").content.decode()
    assert f"/invoicing/payments/new/?invoice={world.new.pk}" in page
    assert 'id="amount-due">40.00 EUR' in page
    form = client.get(f"/invoicing/payments/new/?invoice={world.new.pk}").content.decode()
    assert 'value="A-100001"' in form and 'value="INV-2026-000102"' in form
    response = client.post("/invoicing/payments/new/", {
        "account": "A-100001", "amount": "50.00", "currency": "EUR",
        "method": "bank_transfer", "received_on": "2026-11-19", "reference": "Überweisung",
        "invoices": "INV-2026-000102", "payer_name": "", "note": "",
    })  # fmt: skip
    payment = Payment.objects.get()
    assert response.status_code == 302 and response.url == f"/invoicing/payments/{payment.pk}/"
    assert Invoice.objects.get(pk=world.new.pk).status == InvoiceStatus.PAID
    assert Invoice.objects.get(pk=world.old.pk).status == InvoiceStatus.PARTIALLY_PAID
    detail = client.get(response.url).content.decode()
    assert "INV-2026-000102" in detail and "as the payer named" in detail
    assert 'id="payment-remaining">0.00 EUR' in detail


def test_a_refused_payment_stays_on_the_form_with_the_reason(world, finance, console_client_for):
    client = console_client_for(finance)
    page = client.post("/invoicing/payments/new/", {
        "account": "A-100001", "amount": "10.00", "currency": "GBP", "method": "bank_transfer",
        "received_on": "2026-11-19", "invoices": "INV-2099-000001",
    })  # fmt: skip
    assert page.status_code == 200
    assert "no invoice INV-2099-000001 of A-100001" in page.content.decode()
    assert not Payment.objects.exists()


def test_refund_and_return_pages_take_money_back(world, finance, console_client_for):
    client = console_client_for(finance)
    client.post("/invoicing/payments/new/", {
        "account": "A-100001", "amount": "70.00", "currency": "EUR", "method": "bank_transfer",
        "received_on": "2026-11-19",
    })  # fmt: skip
    payment = Payment.objects.get()
    refund = client.post(f"/invoicing/payments/{payment.pk}/refund/",
                         {"amount": "9.17", "reason": "overpaid"})  # fmt: skip
    assert refund.status_code == 302
    assert Invoice.objects.get(pk=world.old.pk).status == InvoiceStatus.PAID
    returned = client.post(f"/invoicing/payments/{payment.pk}/return/",
                           {"reason_code": "AC04", "returned_on": "2026-11-20"})  # fmt: skip
    assert returned.status_code == 302
    assert Invoice.objects.get(pk=world.old.pk).status == InvoiceStatus.ISSUED
    assert "returned (AC04 account closed)" in client.get(returned.url).content.decode()


def test_readers_see_payments_but_cannot_record_one(world, auditor, console_client_for):
    client = console_client_for(auditor)
    assert client.get("/invoicing/payments/").status_code == 200
    assert client.get("/invoicing/payments/new/").status_code == 403
    assert client.get(f"/invoicing/accounts/{world.account.pk}/refund-credit/").status_code == 403


def test_the_payment_list_filters_and_exports_xlsx(world, finance, console_client_for):
    client = console_client_for(finance)
    client.post("/invoicing/payments/new/", {
        "account": "A-100001", "amount": "110.83", "currency": "EUR", "method": "card",
        "received_on": "2026-11-19",
    })  # fmt: skip
    listed = client.get("/invoicing/payments/", {"unallocated": "true"}).content.decode()
    assert "1 result" in listed
    export = client.get("/invoicing/payments/", {"_export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Payment", "Value date", "Account")
    assert rows[1][2] == "A-100001" and Decimal(str(rows[1][6])) == Decimal("110.83")


def test_a_statement_is_imported_from_the_console_and_its_line_matched_by_hand(
    world, finance, console_client_for
):
    client = console_client_for(finance)
    with open(DATA / "camt053_20261116.xml", "rb") as handle:
        response = client.post("/invoicing/statements/import/",
                               {"brand": world.brand.pk, "file": handle})  # fmt: skip
    assert response.status_code == 302
    with open(DATA / "camt053_20261116.xml", "rb") as handle:
        again = client.post("/invoicing/statements/import/",
                            {"brand": world.brand.pk, "file": handle})  # fmt: skip
    assert "imported already" in again.content.decode()
    queue = client.get("/invoicing/bank-lines/").content.decode()
    assert "Geschenk fuer Oma" in queue and "Rechnung INV-2026-000101" not in queue
    gift = BankStatementLine.objects.get(position=3)
    matched = client.post(f"/invoicing/bank-lines/{gift.pk}/match/",
                          {"account": "A-100001", "invoices": ""})  # fmt: skip
    assert matched.status_code == 302
    gift.refresh_from_db()
    assert gift.status == LineStatus.MATCHED
    fee = BankStatementLine.objects.get(position=5)
    client.post(f"/invoicing/bank-lines/{fee.pk}/discard/", {"reason": "bank fee"})
    fee.refresh_from_db()
    assert (fee.status, fee.discard_reason) == (LineStatus.DISCARDED, "bank fee")


def test_the_account_page_shows_payments_and_a_mandate_is_recorded(world, finance,
                                                                   console_client_for):  # fmt: skip
    client = console_client_for(finance)
    page = client.get(f"/subscribers/accounts/{world.account.pk}/").content.decode()
    assert "100.83 EUR" in page and "record a payment" in page
    created = client.post("/invoicing/mandates/new/", {
        "account": "A-100001", "reference": "M-ANNA-1", "debtor_name": "Anna Mueller",
        "iban": "DE02 1001 0010 0006 8201 01", "bic": "", "signed_on": "2026-11-01",
    })  # fmt: skip
    assert created.status_code == 302
    assert "M-ANNA-1" in client.get(f"/subscribers/accounts/{world.account.pk}/").content.decode()


def test_the_direct_debit_file_is_made_from_the_run_page_and_downloaded(
    world, finance, console_client_for
):
    client = console_client_for(finance)
    cycle = bill_cycle_save(brand=world.brand, cycle_day=1)
    run = BillRun.objects.create(
        cycle=cycle, period_year=2026, period_month=10, status=BillRunStatus.ISSUED
    )
    Invoice.objects.filter(pk=world.new.pk).update(bill_run=run)
    client.post("/invoicing/mandates/new/", {
        "account": "A-100001", "reference": "M-ANNA-1", "debtor_name": "Anna Mueller",
        "iban": "DE02100100100006820101", "signed_on": "2026-11-01",
    })  # fmt: skip
    assert f"/invoicing/runs/{run.pk}/direct-debit/" in client.get(
        f"/invoicing/runs/{run.pk}/").content.decode()  # fmt: skip
    made = client.post(f"/invoicing/runs/{run.pk}/direct-debit/", {"collection_date": "2026-11-24"})
    collection = SepaCollection.objects.get()
    assert made.url == f"/invoicing/direct-debits/{collection.pk}/"
    download = client.get(f"/invoicing/direct-debits/{collection.pk}/file/")
    assert download["Content-Type"] == "application/xml"
    assert b"<MndtId>M-ANNA-1</MndtId>" in download.content
    assert Invoice.objects.get(pk=world.new.pk).status == InvoiceStatus.PAID


def test_aged_receivables_bucket_drill_down_and_export(world, finance, console_client_for):
    client = console_client_for(finance)
    page = client.get("/invoicing/receivables/", {"as_of": "2026-11-20"}).content.decode()
    # old: due 2026-07-16, 127 days past due; new: due 2026-11-16, 4 days past due.
    assert 'bucket=d90_plus&currency=EUR&account=A-100001">60.83' in page
    assert 'bucket=d0_30&currency=EUR&account=A-100001">40.00' in page
    drill = client.get("/invoicing/receivables/invoices/", {
        "as_of": "2026-11-20", "bucket": "d90_plus", "currency": "EUR"})  # fmt: skip
    text = drill.content.decode()
    assert "INV-2026-000101" in text and "INV-2026-000102" not in text
    csv = client.get("/invoicing/receivables/", {"as_of": "2026-11-20", "_export": "csv"})
    rows = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert rows[0].startswith("Currency,Account,Name,Not yet due,0-30 days")
    assert rows[1] == "EUR,A-100001,Anna Mueller,0.00,40.00,0.00,0.00,60.83,100.83,2"
    assert rows[2] == "EUR,TOTAL,,0.00,40.00,0.00,0.00,60.83,100.83,2"
    xlsx = client.get("/invoicing/receivables/", {"as_of": "2026-11-20", "_export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert len(list(sheet.iter_rows())) == 3


def test_another_brands_payments_are_hidden(world, finance, console_client_for):
    client = console_client_for(finance)
    client.post("/invoicing/payments/new/", {
        "account": "A-100001", "amount": "10.00", "currency": "EUR", "method": "card",
        "received_on": "2026-11-19",
    })  # fmt: skip
    payment = Payment.objects.get()
    BrandScope.objects.create(user=finance, brand=world_build().brand)
    assert client.get(f"/invoicing/payments/{payment.pk}/").status_code == 404
    assert "A-100001" not in client.get("/invoicing/receivables/").content.decode()


def test_another_brands_receivables_are_hidden_in_the_drill_down(world, finance,
                                                                 console_client_for):  # fmt: skip
    client = console_client_for(finance)
    BrandScope.objects.create(user=finance, brand=world_build().brand)
    page = client.get("/invoicing/receivables/invoices/").content.decode()
    assert "INV-2026-000101" not in page and "A-100001" not in page
