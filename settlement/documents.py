"""PDF statements of the settlement, rendered with WeasyPrint like invoices (invoicing.documents).

A4, the table header repeated on every page, "page x of y", lines per service and roaming zone
with their events and units, exact amounts (6 places, R2) and the total rounded once.
"""

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from invoicing.documents import UNIT_LABELS, pdf_bytes
from invoicing.models import InvoiceProfile
from settlement.models import Statement, StatementStatus


def statement_context(statement: Statement) -> dict:
    profile = InvoiceProfile.objects.filter(brand_id=statement.partner.brand_id).first()
    lines = list(statement.lines.order_by("position"))
    for line in lines:
        unit = UNIT_LABELS.get(line.service, "") if line.kind == "usage" else ""
        line.units_text = f"{line.units:,} {unit}".strip() if line.units else ""
    return {
        "statement": statement,
        "partner": statement.partner,
        "run": statement.run,
        "profile": profile,
        "brand_name": profile.legal_name if profile else statement.partner.brand.name,
        "lines": lines,
        "counted": [line for line in lines if line.counts],
        "shown": [line for line in lines if not line.counts],
        "period_last": (statement.period_end - timezone.timedelta(seconds=1)),
        "generated_at": timezone.now(),
    }


def statement_html(statement: Statement) -> str:
    return render_to_string("pdf/settlement_statement.html", statement_context(statement))


def statement_pdf(statement: Statement) -> bytes:
    """The statement's PDF bytes (a draft's too, marked as such, for a preview)."""
    content, _pages = pdf_bytes(statement_html(statement))
    return content


def statement_document_render(*, statement: Statement, force: bool = False) -> Statement:
    """Render and store an issued statement's PDF; an existing one is kept unless ``force``."""
    if statement.status == StatementStatus.DRAFT:
        return statement
    if statement.pdf and not force:
        return statement
    content = statement_pdf(statement)
    if statement.pdf:
        statement.pdf.delete(save=False)
    statement.pdf.save(f"{statement.number or statement.pk}.pdf", ContentFile(content), save=False)
    Statement.objects.filter(pk=statement.pk).update(pdf=statement.pdf.name)
    return statement
