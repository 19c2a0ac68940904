"""The October invoices of the golden scenario, end to end (R3, R4, R24, R26, R27, R34).

From the catalogue and the subscribers built through their services and the sample CDR files
through the real ingestion path, the bill run drafts the three invoices of the scenario, line by
line and total by total; a second run changes nothing; issuing numbers them without gaps; each
PDF holds its total.
"""

import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from pypdf import PdfReader

from charging.services import usage_file_ingest
from invoicing.demo import invoice_profile_create
from invoicing.models import BillRunStatus, Invoice, InvoiceDocument, InvoiceLine, InvoiceStatus
from invoicing.services import bill_cycle_save, bill_run_create, bill_run_execute, bill_run_issue

pytestmark = [pytest.mark.django_db, pytest.mark.golden]

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILES = [
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",
]

EXPECTED_LINES = {
    "A": [
        ("SMART-10, October 2026", "19.99"),
        ("SMART-10, November 2026, in advance", "19.99"),
        ("voice out, NAT_MOBILE, HOME", "0.18"),
        ("voice out, WORLD, HOME", "1.14"),
        ("voice out, PREMIUM, HOME", "3.98"),
        ("SMS out, WORLD, HOME", "0.29"),
        ("voice out, NAT_FIXED, WORLD1", "5.96"),
        ("voice in, INCOMING, WORLD1", "0.49"),
        ("data, WORLD1", "0.12"),
        ("voice out, NAT_FIXED, HOME", "0.05"),
    ],
    "B": [
        ("SMART-10, 15–31 October 2026 (17/31 days)", "10.96"),
        ("SMART-10, November 2026, in advance", "19.99"),
    ],
    "C": [("SMART-10, 1–19 October 2026 (19/31 days)", "12.25")],
}
EXPECTED_TOTALS = {
    "A": ("52.19", "9.92", "62.11"),
    "B": ("30.95", "5.88", "36.83"),
    "C": ("12.25", "2.33", "14.58"),
}


def pdf_text(invoice: Invoice) -> str:
    document = InvoiceDocument.objects.get(invoice=invoice, format="pdf")
    with document.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def golden(tmp_path, settings):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    catalog = build_golden_catalog()
    invoice_profile_create(catalog.brand)
    subscribers = build_golden_subscribers(catalog)
    for name in FILES:
        usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    return catalog, subscribers


def lines_of(invoice: Invoice) -> list[tuple[str, str]]:
    return [(line.description, str(line.amount)) for line in invoice.lines.order_by("position")]


@time_machine.travel("2026-11-02 09:00:00+01:00", tick=False)
def test_october_bill_run_drafts_issues_and_renders_the_three_invoices(
    golden, django_capture_on_commit_callbacks
):
    catalog, subscribers = golden
    cycle = bill_cycle_save(brand=catalog.brand, cycle_day=1)

    with django_capture_on_commit_callbacks(execute=True):
        run = bill_run_create(cycle=cycle, year=2026, month=10)
    run.refresh_from_db()
    assert run.status == BillRunStatus.DRAFTED
    assert (run.accounts_total, run.accounts_done, run.accounts_failed) == (3, 3, 0)

    invoices = {
        key: Invoice.objects.get(billing_account=account, period_start_date="2026-10-01")
        for key, account in subscribers.accounts.items()
    }
    for key, invoice in invoices.items():
        assert invoice.status == InvoiceStatus.DRAFT and invoice.number == ""
        assert lines_of(invoice) == EXPECTED_LINES[key], key
        totals = (str(invoice.net_total), str(invoice.tax_total), str(invoice.gross_total))
        assert totals == EXPECTED_TOTALS[key], key
        tax = invoice.taxes.get()
        assert (tax.rate, str(tax.net), str(tax.tax)) == (
            Decimal("0.19000"), EXPECTED_TOTALS[key][0], EXPECTED_TOTALS[key][1]
        )  # fmt: skip

    # R3 / R33: the usage lines hold the exact rated retail; rounding stays below half a cent.
    usage = InvoiceLine.objects.filter(kind="usage")
    assert sum(line.rated_amount for line in usage) == Decimal("12.218343")
    assert sum(line.amount for line in usage) == Decimal("12.21")

    # R26: a second run changes nothing and makes no second invoice.
    before = {i.pk: (lines_of(i), i.gross_total, i.updated_at) for i in Invoice.objects.all()}
    again = bill_run_execute(bill_run=run)
    assert again.status == BillRunStatus.DRAFTED
    after = {i.pk: (lines_of(i), i.gross_total, i.updated_at) for i in Invoice.objects.all()}
    assert after == before and len(after) == 3
    assert bill_run_create(cycle=cycle, year=2026, month=10) == run

    # R27: issued with gapless numbers in account order.
    with django_capture_on_commit_callbacks(execute=True):
        issued = bill_run_issue(bill_run=run)
    assert issued.status == BillRunStatus.ISSUED and issued.invoices_issued == 3
    numbers = {key: Invoice.objects.get(pk=invoice.pk).number for key, invoice in invoices.items()}
    assert sorted(numbers.values()) == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]

    # Each PDF was rendered on issue and holds its number, total and itemised events.
    for key, invoice in invoices.items():
        invoice.refresh_from_db()
        text = pdf_text(invoice)
        assert invoice.number in text
        assert EXPECTED_TOTALS[key][2] in text
    text_a = pdf_text(invoices["A"])
    assert "Itemised usage" in text_a
    assert "Page 1 of 2" in text_a and "Page 2 of 2" in text_a
    assert "Lorem Mobile GmbH" in text_a and "DE89370400440532013000" in text_a
    assert "EPC QR" in text_a  # the payment QR code is drawn beside the payment terms
    assert "49900123456" in text_a or "+4915112340001" in text_a

    # A rerun after issuing changes nothing either.
    bill_run_execute(bill_run=run)
    assert Invoice.objects.count() == 3
