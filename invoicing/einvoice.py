"""EN 16931 e-invoices for business customers: the CII XML of an issued invoice or credit note
(Factur-X profile EN 16931), generated and checked against its XSD by the factur-x library, and
embedded into the PDF/A-3 of the invoice (Factur-X / ZUGFeRD).

Only net-priced documents get one: a tax-inclusive invoice has no net line amounts (R4 splits
the gross per rate, never per line), which EN 16931 requires.
"""

from decimal import Decimal

import facturx

from invoicing.models import Invoice, InvoiceKind, InvoiceProfile
from subscribers.models import CustomerKind

TYPE_CODES = {InvoiceKind.INVOICE: "380", InvoiceKind.CREDIT_NOTE: "381"}
SEPA_CREDIT_TRANSFER = "58"
STANDARD_RATE = "S"
ZERO_RATED = "Z"
UNIT = "C62"  # one (UN/ECE recommendation 20)


def einvoice_applies(invoice: Invoice, profile: InvoiceProfile | None) -> bool:
    """Tell whether an issued document gets an EN 16931 e-invoice: a business customer, net
    prices, an invoice or a credit note, and a supplier profile with a VAT id."""
    return (
        profile is not None
        and bool(profile.vat_id)
        and invoice.kind in TYPE_CODES
        and not invoice.tax_inclusive
        and bool(invoice.number)
        and invoice.billing_account.customer.kind == CustomerKind.BUSINESS
    )


def _address(text: str, fallback_country: str) -> dict:
    """Split an address block "street / postal code city / country" into EN 16931 fields."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    country = fallback_country
    if lines and len(lines[-1]) == 2 and lines[-1].isalpha():
        country = lines.pop().upper()
    address = {"country_code": country}
    if lines:
        address["addr_l1"] = lines[0]
    if len(lines) > 1:
        postcode, _, city = lines[1].partition(" ")
        address.update(postcode=postcode, city=city or postcode)
    return address


def _amount(value: Decimal, sign: int) -> str:
    return str(value * sign)


def cii_data(invoice: Invoice, profile: InvoiceProfile) -> dict:
    """Return the factur-x data dict (keyed by EN 16931 business terms) of a document."""
    customer = invoice.billing_account.customer
    # A credit note states positive amounts under its own type code (381).
    sign = -1 if invoice.kind == InvoiceKind.CREDIT_NOTE else 1
    seller = {"name": profile.legal_name, "vat_identifier": profile.vat_id,
              **_address(profile.address, "DE")}  # fmt: skip
    if profile.tax_number:
        seller["tax_identifier"] = profile.tax_number
    buyer = {"name": invoice.customer_name or customer.display_name, "country_code":
             customer.country or "DE"}  # fmt: skip
    if customer.street:
        buyer["addr_l1"] = customer.street
    if customer.postal_code:
        buyer["postcode"] = customer.postal_code
    if customer.city:
        buyer["city"] = customer.city
    if invoice.customer_tax_id:
        buyer["vat_identifier"] = invoice.customer_tax_id
    lines = []
    for line in invoice.lines.order_by("position"):
        amount = line.amount * sign
        line_data = {
            "BT-126": str(line.position),
            "BT-153": line.description[:200],
            "BT-129": "1" if amount >= 0 else "-1",
            "BT-130": UNIT,
            "BT-146": str(abs(amount)),
            "BT-131": str(amount),
            "BT-151": STANDARD_RATE if line.tax_rate else ZERO_RATED,
            "BT-152": str((line.tax_rate * 100).normalize()),
        }
        if line.period_start_date and line.period_end_date:
            line_data["BT-134"] = line.period_start_date
            line_data["BT-135"] = line.period_last_date
        lines.append(line_data)
    taxes = [
        {
            "BT-116": _amount(row.net, sign),
            "BT-117": _amount(row.tax, sign),
            "BT-118": STANDARD_RATE if row.rate else ZERO_RATED,
            "BT-119": str((row.rate * 100).normalize()),
        }
        for row in invoice.taxes.order_by("rate")
    ]
    data = {
        "BT-1": invoice.number,
        "BT-2": invoice.issue_date,
        "BT-3": TYPE_CODES[invoice.kind],
        "BT-5": invoice.currency,
        # The supply date (BT-72): the period's last day; factur-x also needs it to write the
        # delivery block, which the schema does not allow empty.
        "BT-72": invoice.period_last_date,
        "BT-73": invoice.period_start_date,
        "BT-74": invoice.period_last_date,
        "BG-4": seller,
        "BG-7": buyer,
        "BG-23": taxes,
        "BG-25": lines,
        "BT-106": _amount(invoice.net_total, sign),
        "BT-109": _amount(invoice.net_total, sign),
        "BT-110": _amount(invoice.tax_total, sign),
        "BT-112": _amount(invoice.gross_total, sign),
        "BT-115": _amount(invoice.gross_total, sign),
    }
    if invoice.kind == InvoiceKind.INVOICE:
        if invoice.due_date:
            data["BT-9"] = invoice.due_date
        data["BT-20"] = f"{invoice.billing_account.payment_terms_days} days net"
        if profile.iban:
            data.update({"BT-81": SEPA_CREDIT_TRANSFER, "BT-84": profile.iban.replace(" ", ""),
                         "BT-83": invoice.number})  # fmt: skip
    if invoice.corrects_id:
        data["BG-3"] = [{"BT-25": invoice.corrects.number, "BT-26": invoice.corrects.issue_date}]
    return data


def cii_xml(invoice: Invoice, profile: InvoiceProfile) -> bytes:
    """Return the EN 16931 CII XML of a document, checked against the Factur-X XSD."""
    return facturx.generate_cii_xml(
        cii_data(invoice, profile), level="en16931", check_xsd=True, check_schematron=False
    )


def facturx_pdf(pdf: bytes, xml: bytes) -> bytes:
    """Embed the CII XML into a PDF/A-3 as Factur-X (profile EN 16931)."""
    return facturx.generate_from_binary(
        pdf, xml, flavor="factur-x", level="en16931", check_xsd=True, lang="en"
    )
