"""Finance downloads: a period's invoices as a ZIP of their PDFs, and the invoice register as
XLSX (net, tax and gross per tax rate and currency, typed cells) beside the CSV."""

import datetime as dt
import logging
import tempfile
import zipfile
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from invoicing.documents import invoice_document_render
from invoicing.models import (
    FINAL_STATUSES,
    ArchiveStatus,
    DocumentFormat,
    Invoice,
    InvoiceArchive,
    InvoiceDocument,
    InvoiceKind,
    InvoiceTax,
)

logger = logging.getLogger(__name__)

# The documents of a period that go into its archive: every final one with a PDF of its own.
ARCHIVED_KINDS = (InvoiceKind.INVOICE, InvoiceKind.CREDIT_NOTE, InvoiceKind.STATEMENT)


def _user(acting_user):
    return acting_user if getattr(acting_user, "is_authenticated", False) else None


def _month(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, after


def archive_invoices(archive: InvoiceArchive):
    """Return the documents an archive holds: the brand's final invoices, credit notes and
    statements whose period starts in its month, in number order."""
    first, after = _month(archive.period_year, archive.period_month)
    return (
        Invoice.objects.filter(
            brand_id=archive.brand_id,
            kind__in=ARCHIVED_KINDS,
            status__in=FINAL_STATUSES,
            period_start_date__gte=first,
            period_start_date__lt=after,
        )
        .exclude(number="")
        .order_by("series_id", "number")
    )


def invoice_archive_create(*, brand, year: int, month: int, acting_user=None) -> InvoiceArchive:
    """Ask for the ZIP of a brand's invoices of a month; a Celery task builds it."""
    if not 1 <= month <= 12:
        raise ValidationError({"month": "a month lies between 1 and 12"})
    if not 2000 <= year <= 2999:
        raise ValidationError({"year": "a year between 2000 and 2999"})
    with transaction.atomic():
        archive = InvoiceArchive.objects.create(
            brand=brand, period_year=year, period_month=month, created_by=_user(acting_user)
        )
        transaction.on_commit(lambda: _enqueue(archive.pk))
    return archive


def _enqueue(archive_id: int) -> None:
    from invoicing.tasks import invoice_archive_build_task

    invoice_archive_build_task.delay(archive_id)


def invoice_archive_build(*, archive: InvoiceArchive) -> InvoiceArchive:
    """Build an archive: render the PDFs still missing (the document service), zip them all
    into a stored file. Building a ready archive again changes nothing."""
    archive = InvoiceArchive.objects.select_related("brand").get(pk=archive.pk)
    if archive.status == ArchiveStatus.READY:
        return archive
    InvoiceArchive.objects.filter(pk=archive.pk).update(status=ArchiveStatus.BUILDING)
    try:
        rendered = 0
        invoices = list(archive_invoices(archive))
        have = set(
            InvoiceDocument.objects.filter(
                invoice__in=[i.pk for i in invoices], format=DocumentFormat.PDF
            ).values_list("invoice_id", flat=True)
        )
        for invoice in invoices:
            if invoice.pk not in have:
                invoice_document_render(invoice=invoice)
                rendered += 1
        documents = {
            document.invoice_id: document
            for document in InvoiceDocument.objects.filter(
                invoice__in=[i.pk for i in invoices], format=DocumentFormat.PDF
            )
        }
        with tempfile.TemporaryFile() as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                for invoice in invoices:
                    with (
                        documents[invoice.pk].file.open("rb") as pdf,
                        bundle.open(f"{invoice.number}.pdf", "w") as entry,
                    ):
                        while chunk := pdf.read(1 << 20):
                            entry.write(chunk)
            size = handle.tell()
            handle.seek(0)
            name = (
                f"invoices-{archive.brand.code}-{archive.period_year}-"
                f"{archive.period_month:02d}.zip"
            )
            archive.file.save(name, File(handle), save=False)
        archive.status = ArchiveStatus.READY
        archive.status_detail = ""
        archive.documents = len(invoices)
        archive.rendered = rendered
        archive.size = size
        archive.finished_at = timezone.now()
        archive.save()
    except Exception as error:
        logger.exception("invoice archive %s failed", archive.pk)
        InvoiceArchive.objects.filter(pk=archive.pk).update(
            status=ArchiveStatus.FAILED, status_detail=str(error)[:2000],
            finished_at=timezone.now(),
        )  # fmt: skip
        raise
    return archive


# --- the register as XLSX ---------------------------------------------------------------------

REGISTER_COLUMNS = [
    ("Number", 18), ("Kind", 12), ("Status", 14), ("Issue date", 12), ("Due date", 12),
    ("Period start", 12), ("Account", 14), ("Customer", 28), ("Corrects", 18),
    ("Currency", 9), ("Tax rate", 9), ("Net", 14), ("Tax", 14), ("Gross", 14),
]  # fmt: skip
MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"


def register_rows(invoices):
    """Yield the register's rows: one per final document and tax rate (R4)."""
    rows = (
        InvoiceTax.objects.filter(invoice__in=invoices.values("pk"))
        .select_related("invoice__billing_account", "invoice__corrects")
        .order_by("invoice__series_id", "invoice__number", "rate")
    )
    yield from rows.iterator(chunk_size=2000)


def register_xlsx(invoices, handle) -> None:
    """Write the invoice register to ``handle`` as XLSX: a sheet of every document and tax
    rate, typed (dates as dates, amounts as numbers, rates as percentages), and a summary
    sheet of net, tax and gross per currency and tax rate."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Register")
    bold = Font(bold=True)
    for index, (_, width) in enumerate(REGISTER_COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"

    def header(target, names):
        cells = []
        for name in names:
            cell = WriteOnlyCell(target, value=name)
            cell.font = bold
            cells.append(cell)
        target.append(cells)

    def cell(target, value, number_format=None):
        written = WriteOnlyCell(target, value=value)
        if number_format:
            written.number_format = number_format
        return written

    header(sheet, [name for name, _ in REGISTER_COLUMNS])
    totals: dict[tuple[str, Decimal], list[Decimal]] = defaultdict(
        lambda: [Decimal("0"), Decimal("0"), Decimal("0"), 0]
    )
    for row in register_rows(invoices):
        invoice = row.invoice
        sheet.append([
            cell(sheet, invoice.number), cell(sheet, invoice.get_kind_display()),
            cell(sheet, invoice.get_status_display()),
            cell(sheet, invoice.issue_date, DATE_FORMAT),
            cell(sheet, invoice.due_date, DATE_FORMAT),
            cell(sheet, invoice.period_start_date, DATE_FORMAT),
            cell(sheet, invoice.billing_account.number), cell(sheet, invoice.customer_name),
            cell(sheet, invoice.corrects.number if invoice.corrects else None),
            cell(sheet, invoice.currency), cell(sheet, row.rate, RATE_FORMAT),
            cell(sheet, row.net, MONEY_FORMAT), cell(sheet, row.tax, MONEY_FORMAT),
            cell(sheet, row.gross, MONEY_FORMAT),
        ])  # fmt: skip
        total = totals[(invoice.currency, row.rate)]
        total[0] += row.net
        total[1] += row.tax
        total[2] += row.gross
        total[3] += 1
    summary = workbook.create_sheet("Per rate and currency")
    for index, width in enumerate((10, 10, 16, 16, 16, 10)):
        summary.column_dimensions[chr(ord("A") + index)].width = width
    header(summary, ["Currency", "Tax rate", "Net", "Tax", "Gross", "Rows"])
    for (currency, rate), (net, tax, gross, count) in sorted(totals.items()):
        summary.append([
            cell(summary, currency), cell(summary, rate, RATE_FORMAT),
            cell(summary, net, MONEY_FORMAT), cell(summary, tax, MONEY_FORMAT),
            cell(summary, gross, MONEY_FORMAT), cell(summary, count),
        ])  # fmt: skip
    workbook.save(handle)
