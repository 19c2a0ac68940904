"""Finance downloads: a month's invoices as a ZIP of their PDFs (missing ones rendered for it),
reachable from the console and the API, and the invoice register as XLSX with typed cells and
net / tax / gross per currency and tax rate."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from invoicing import services
from invoicing.documents import invoice_document_render
from invoicing.models import ArchiveStatus, Invoice, InvoiceArchive, InvoiceDocument
from tests.invoicing.builders import account_add, plan_add, run_bill, subscription_add, world_build

pytestmark = pytest.mark.django_db
ISSUED = "2026-11-02 09:00:00+01:00"


@pytest.fixture(autouse=True)
def media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    # Issuing's own background rendering is left out: the archive renders what is missing.
    monkeypatch.setattr(services, "invoices_issued_publish", lambda **kwargs: None)


@pytest.fixture
def issued(db):
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    plan_add(world, "LOW", fee="10.00")
    for name, plan in (("Alice", "ADV"), ("Bob", "LOW")):
        account = account_add(world, name=name)
        subscription_add(world, account, plan, active_from=dt.date(2026, 10, 1))
    with time_machine.travel(ISSUED, tick=False):
        services.bill_run_issue(bill_run=run_bill(world, 2026, 10))
    world.invoices = list(Invoice.objects.order_by("number"))
    return world


def test_the_archive_zips_every_pdf_and_renders_the_missing_ones(
    issued, finance, console_client_for, django_capture_on_commit_callbacks
):
    first, second = issued.invoices
    invoice_document_render(invoice=first)  # one rendered already, one not
    client = console_client_for(finance)
    form = {"brand": issued.brand.pk, "year": "2026", "month": "10"}
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly
        response = client.post("/invoicing/archives/new/", form)

    archive = InvoiceArchive.objects.get()
    assert response["Location"] == archive.get_absolute_url()
    assert (archive.status, archive.documents, archive.rendered) == (ArchiveStatus.READY, 2, 1)
    assert InvoiceDocument.objects.filter(invoice=second, format="pdf").exists()
    download = client.get(f"/invoicing/archives/{archive.pk}/download/")
    assert download["Content-Type"] == "application/zip"
    content = b"".join(download.streaming_content)
    assert archive.size == len(content)
    bundle = zipfile.ZipFile(io.BytesIO(content))
    assert bundle.namelist() == [f"{first.number}.pdf", f"{second.number}.pdf"]
    stored = InvoiceDocument.objects.get(invoice=first, format="pdf").file.read()
    assert bundle.read(f"{first.number}.pdf") == stored
    assert bundle.read(f"{second.number}.pdf").startswith(b"%PDF-")


def test_an_empty_month_gives_an_empty_archive(
    issued, finance, api_client_for, django_capture_on_commit_callbacks
):
    client = api_client_for(finance)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/invoicing/invoiceArchive",
            {"brand": {"id": str(issued.brand.pk)}, "year": 2026, "month": 9},
            format="json",
        )
    assert response.status_code == 202
    body = client.get(f"/api/v1/invoicing/invoiceArchive/{response.json()['id']}").json()
    assert (body["status"], body["documents"], body["period"]) == ("ready", 0, "2026-09")
    download = client.get(body["url"])
    assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist() == []


def test_the_api_asks_for_an_archive_and_answers_bad_input_with_field_errors(
    issued, finance, auditor, api_client_for
):
    client = api_client_for(finance)
    bad = client.post(
        "/api/v1/invoicing/invoiceArchive", {"year": 1999, "month": 13}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["fieldErrors"]) == {"brand", "year", "month"}
    refused = api_client_for(auditor).post(
        "/api/v1/invoicing/invoiceArchive",
        {"brand": {"id": str(issued.brand.pk)}, "year": 2026, "month": 10},
        format="json",
    )
    assert refused.status_code == 403 and not InvoiceArchive.objects.exists()


def test_the_register_xlsx_has_typed_cells_and_sums_per_rate_and_currency(
    issued, finance, console_client_for
):
    client = console_client_for(finance)
    response = client.get("/invoicing/invoices/register.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book["Register"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Number", "Kind", "Status", "Issue date"]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [row["Number"].value for row in rows] == [i.number for i in issued.invoices]
    first = rows[0]
    assert first["Issue date"].value == dt.datetime(2026, 11, 2)
    assert first["Issue date"].is_date and first["Issue date"].number_format == "yyyy-mm-dd"
    assert first["Tax rate"].data_type == "n" and first["Tax rate"].number_format == "0.00%"
    assert Decimal(str(first["Tax rate"].value)) == Decimal("0.19")
    for name in ("Net", "Tax", "Gross"):
        assert first[name].data_type == "n" and first[name].number_format == "#,##0.00"
    amounts = [
        tuple(Decimal(str(row[name].value)) for name in ("Net", "Tax", "Gross")) for row in rows
    ]
    assert amounts == [
        (Decimal("60"), Decimal("11.4"), Decimal("71.4")),
        (Decimal("20"), Decimal("3.8"), Decimal("23.8")),
    ]
    summary = [[cell.value for cell in row] for row in book["Per rate and currency"].iter_rows()]
    assert summary[0] == ["Currency", "Tax rate", "Net", "Tax", "Gross", "Rows"]
    currency, rate, net, tax, gross, count = summary[1]
    assert (currency, count) == ("EUR", 2)
    assert [Decimal(str(v)) for v in (rate, net, tax, gross)] == [
        Decimal("0.19"),
        Decimal("80"),
        Decimal("15.2"),
        Decimal("95.2"),
    ]


def test_the_register_xlsx_follows_the_invoice_filters_and_brands(
    issued, make_user, console_client_for
):
    from catalog.models import BrandScope

    client = console_client_for(make_user("fin-a", "finance"))
    response = client.get("/invoicing/invoices/register.xlsx", {"customer": "Bob"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["Register"]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [issued.invoices[1].number]

    other = world_build()
    stranger = make_user("fin-b", "finance")
    BrandScope.objects.create(user=stranger, brand=other.brand)
    client = console_client_for(stranger)
    response = client.get("/invoicing/invoices/register.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["Register"]
    assert sheet.max_row == 1  # the header only
    archive = InvoiceArchive.objects.create(brand=issued.brand, period_year=2026, period_month=10)
    assert client.get(f"/invoicing/archives/{archive.pk}/").status_code == 404
    assert client.get(f"/invoicing/archives/{archive.pk}/download/").status_code == 404
