"""PDF documents: A4 over many pages with the table header repeated, page x of y, totals once,
an itemised part listing every event charged or not, and the EPC payment QR code."""

import datetime as dt
import io

import pytest
import segno.helpers
from pypdf import PdfReader

from invoicing import documents, services
from invoicing.demo import invoice_profile_create
from invoicing.models import Invoice
from tests.invoicing.builders import (
    account_add,
    event_add,
    plan_add,
    run_bill,
    subscription_add,
    world_build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(services, "invoices_issued_publish", lambda **kwargs: None)
    world = world_build()
    invoice_profile_create(world.brand)
    plan_add(world, "ADV", fee="30.00")
    account = account_add(world, name="Many")
    subscription = subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 1))
    start = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
    for minute in range(240):
        event_add(subscription, at=start + dt.timedelta(hours=minute), amount="0.010000")
    event_add(subscription, at=start, amount="0", status="error")
    run_bill(world, 2026, 10)
    return services.invoice_issue(invoice=Invoice.objects.get())


def test_a_long_invoice_runs_over_pages_with_headers_and_page_numbers(issued):
    document = documents.invoice_document_render(invoice=issued)
    reader = PdfReader(io.BytesIO(document.file.open("rb").read()))
    pages = [page.extract_text() for page in reader.pages]
    assert document.pages == len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert issued.number in text
        page = reader.pages[number - 1]
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
    itemised = [text for text in pages if "voice out" in text and "4917012345678" in text]
    assert len(itemised) >= 3
    assert all("Time" in text and "Charge EUR" in text for text in itemised)  # header repeated
    assert sum(text.count("Total EUR") for text in pages) == 1
    assert sum(text.count("0.010000") for text in pages) == 240
    assert "not rated" in "".join(pages)


def test_the_pdf_is_kept_and_rendered_again_only_on_demand(issued):
    first = documents.invoice_document_render(invoice=issued)
    again = documents.invoice_document_render(invoice=issued)
    assert again.pk == first.pk and again.rendered_at == first.rendered_at
    forced = documents.invoice_document_render(invoice=issued, force=True)
    assert forced.pk == first.pk and forced.rendered_at > first.rendered_at


def test_a_draft_has_no_document(settings, tmp_path):
    world = world_build()
    plan_add(world, "ADV")
    account = account_add(world)
    subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 1))
    run_bill(world, 2026, 10)
    assert documents.invoice_document_render(invoice=Invoice.objects.get()) is None


def test_the_payment_qr_code_carries_the_epc_fields_of_the_invoice(issued):
    profile = issued.brand.invoice_profile
    svg = documents.epc_qr_svg(profile=profile, invoice=issued)
    expected = segno.helpers.make_epc_qr(
        name="Lorem Mobile GmbH", iban="DE89370400440532013000", amount=issued.gross_total,
        text=issued.number, bic="COBADEFFXXX",
    )  # fmt: skip
    buffer = io.BytesIO()
    expected.save(buffer, kind="svg", scale=3, border=0, xmldecl=False, svgns=True)
    assert svg == buffer.getvalue().decode() and svg.startswith("<svg")
    assert expected.error == "M"
    issued.currency = "GBP"
    assert documents.epc_qr_svg(profile=profile, invoice=issued) == ""
