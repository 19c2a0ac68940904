"""PDF documents of issued invoices, rendered with WeasyPrint from a Django template.

A4, the table header repeated on every page, "page x of y", the totals once; an EPC069-12
payment QR code (GiroCode) for EUR invoices paid by transfer; an itemised part that lists every
event of the period per subscription, charged or not (R34).
"""

import io
from collections import OrderedDict
from decimal import Decimal

import segno.helpers
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from catalog.models import Service
from core.periods import zone
from invoicing import einvoice, selectors
from invoicing.models import (
    BalanceSummary,
    DocumentFormat,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    InvoiceProfile,
    InvoiceStatus,
)
from subscribers.models import Subscription

SERVICE_LABELS = dict(Service.choices)
UNIT_LABELS = {
    Service.VOICE_OUT: "s",
    Service.VOICE_IN: "s",
    Service.SMS_OUT: "msg",
    Service.SMS_IN: "msg",
    Service.DATA: "B",
    Service.EVENT: "ev",
}


def epc_qr_svg(*, profile: InvoiceProfile | None, invoice: Invoice) -> str:
    """Return the EPC069-12 QR code of an invoice as inline SVG, or '' where none applies."""
    if (
        profile is None
        or not profile.iban
        or invoice.currency != "EUR"
        or invoice.kind != InvoiceKind.INVOICE
        or invoice.gross_total <= 0
    ):
        return ""
    code = segno.helpers.make_epc_qr(
        name=profile.legal_name[:70],
        iban=profile.iban.replace(" ", ""),
        amount=invoice.gross_total,
        text=invoice.number or f"draft {invoice.pk}",
        bic=profile.bic or None,
    )
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=3, border=0, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()


def _itemised(invoice: Invoice, account_ids: list[int], tz: str) -> list[dict]:
    subscriptions: OrderedDict = OrderedDict()
    for event in selectors.usage_events_itemised(
        billing_account_ids=account_ids, start=invoice.period_start, end=invoice.period_end
    ):
        rows = subscriptions.setdefault(event["subscription_id"], [])
        amount = event["retail_amount"]
        rows.append(
            {
                "time": event["started_at"].astimezone(zone(tz)),
                "service": SERVICE_LABELS.get(event["service"], event["service"]),
                "other_party": event["other_party"],
                "zones": " / ".join(
                    zone_code
                    for zone_code in (event["destination_zone"], event["roaming_zone"])
                    if zone_code
                ),
                "units": f"{event['units']:,} {UNIT_LABELS.get(event['service'], '')}".strip(),
                "amount": amount if event["rating_status"] == "rated" else None,
                "status": event["rating_status"],
            }
        )
    return subscriptions


def invoice_context(invoice: Invoice) -> dict:
    """Everything the invoice template shows."""
    account = invoice.billing_account
    profile = InvoiceProfile.objects.filter(brand_id=invoice.brand_id).first()
    lines = list(
        invoice.lines.select_related("subscription", "billing_account").order_by("position")
    )
    sections: OrderedDict = OrderedDict()
    for line in lines:
        section = sections.setdefault(
            line.billing_account_id,
            {"account": line.billing_account, "subscriptions": OrderedDict()},
        )
        key = line.subscription.msisdn if line.subscription_id else ""
        section["subscriptions"].setdefault(key, []).append(line)
    account_ids = sorted({account.pk, *(line.billing_account_id for line in lines)})
    itemised = _itemised(invoice, account_ids, account.timezone)
    msisdns = dict(Subscription.objects.filter(pk__in=list(itemised)).values_list("pk", "msisdn"))
    return {
        "invoice": invoice,
        "account": account,
        "profile": profile,
        "brand_name": profile.legal_name if profile else invoice.brand.name,
        "sections": list(sections.values()),
        "multi_section": len(sections) > 1,
        "taxes": list(invoice.taxes.order_by("rate")),
        "qr_svg": epc_qr_svg(profile=profile, invoice=invoice),
        "itemised": [(msisdns.get(pk, pk), rows) for pk, rows in itemised.items()],
        "percent": lambda rate: (rate * 100).normalize(),
        "payable": invoice.kind == InvoiceKind.INVOICE and invoice.gross_total > Decimal("0"),
        "summary": BalanceSummary.objects.filter(invoice=invoice).first(),
    }


def invoice_html(invoice: Invoice) -> str:
    """Render an invoice's HTML for the PDF."""
    context = invoice_context(invoice)
    context["taxes"] = [
        {"rate": (row.rate * 100).normalize(), "net": row.net, "tax": row.tax, "gross": row.gross}
        for row in context["taxes"]
    ]
    return render_to_string("pdf/invoice.html", context)


def pdf_bytes(html: str, *, variant: str | None = None) -> tuple[bytes, int]:
    """Render HTML to PDF with WeasyPrint (a PDF/A ``variant`` if given); return the bytes
    and the page count."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=".").render()
    return document.write_pdf(pdf_variant=variant), len(document.pages)


def _store(invoice, format_, name: str, content: bytes, pages: int, existing=None):
    document = existing or InvoiceDocument(invoice=invoice, format=format_)
    if existing is not None and existing.file:
        existing.file.delete(save=False)
    document.file.save(name, ContentFile(content), save=False)
    document.size = len(content)
    document.pages = pages
    document.rendered_at = timezone.now()
    document.save()
    return document


def invoice_document_render(*, invoice: Invoice, force: bool = False) -> InvoiceDocument | None:
    """Render and store an issued invoice's PDF; an existing one is kept unless ``force``."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED):
        return None
    existing = InvoiceDocument.objects.filter(invoice=invoice, format=DocumentFormat.PDF).first()
    if existing is not None and not force:
        return existing
    profile = InvoiceProfile.objects.filter(brand_id=invoice.brand_id).first()
    name = invoice.number or str(invoice.pk)
    if einvoice.einvoice_applies(invoice, profile):
        # A business customer's PDF is a Factur-X: PDF/A-3 with its EN 16931 XML inside.
        xml = einvoice.cii_xml(invoice, profile)
        content, pages = pdf_bytes(invoice_html(invoice), variant="pdf/a-3b")
        content = einvoice.facturx_pdf(content, xml)
    else:
        xml = None
        content, pages = pdf_bytes(invoice_html(invoice))
    with transaction.atomic():
        document = _store(invoice, DocumentFormat.PDF, f"{name}.pdf", content, pages, existing)
        if xml is not None:
            cii = InvoiceDocument.objects.filter(invoice=invoice, format=DocumentFormat.CII)
            _store(invoice, DocumentFormat.CII, f"{name}.xml", xml, 0, cii.first())
    return document
