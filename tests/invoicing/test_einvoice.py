"""EN 16931 e-invoices for business customers: Factur-X PDF/A-3 with its CII XML, valid
against the Factur-X EN 16931 schema."""

import datetime as dt
import io

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from invoicing import documents, services
from invoicing.demo import invoice_profile_create
from invoicing.models import DocumentFormat, Invoice
from tests.invoicing.builders import account_add, plan_add, run_bill, subscription_add, world_build

pytestmark = pytest.mark.django_db
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@pytest.fixture
def world(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(services, "invoices_issued_publish", lambda **kwargs: None)
    world = world_build()
    invoice_profile_create(world.brand)
    plan_add(world, "ADV", fee="30.00")
    return world


def issued_for(world, *, business: bool) -> Invoice:
    account = account_add(world, name="Acme" if business else "Private")
    if business:
        customer = account.customer
        customer.kind, customer.company_name, customer.tax_id = (
            "business",
            "Acme GmbH",
            "DE999999999",
        )
        customer.save()
    subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 15))
    run_bill(world, 2026, 10)
    return services.invoice_issue(invoice=Invoice.objects.get(billing_account=account))


def xml_of(invoice: Invoice) -> bytes:
    pdf = invoice.documents.get(format=DocumentFormat.PDF).file.open("rb").read()
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    return xml


def test_a_business_invoice_is_a_factur_x_pdf_whose_xml_passes_the_schema(world):
    invoice = issued_for(world, business=True)

    documents.invoice_document_render(invoice=invoice)

    xml = xml_of(invoice)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    tree = etree.fromstring(xml)
    assert tree.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NS) == invoice.number
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "380"
    summary = ".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
    assert tree.findtext(summary + "ram:GrandTotalAmount", namespaces=NS) == str(
        invoice.gross_total
    )
    assert tree.findtext(summary + "ram:TaxBasisTotalAmount", namespaces=NS) == "46.45"
    assert tree.findtext(".//ram:BuyerTradeParty/ram:Name", namespaces=NS) == "Acme GmbH"
    assert tree.findtext(".//ram:PayeePartyCreditorFinancialAccount/ram:IBANID",
                         namespaces=NS) == "DE89370400440532013000"  # fmt: skip
    stored = invoice.documents.get(format=DocumentFormat.CII).file.open("rb").read()
    assert stored == xml
    reader = PdfReader(io.BytesIO(invoice.documents.get(format="pdf").file.open("rb").read()))
    xmp = reader.xmp_metadata.stream.get_data()
    assert b"pdfaid:part" in xmp and b"fx:ConformanceLevel" in xmp  # PDF/A-3 and Factur-X
    assert invoice.number in "".join(page.extract_text() for page in reader.pages)


def test_a_business_credit_note_is_type_381_with_positive_amounts(world):
    invoice = issued_for(world, business=True)
    note = services.credit_note_create(invoice=invoice, reason="goodwill", amount="10.00")

    documents.invoice_document_render(invoice=note)

    tree = etree.fromstring(xml_of(note))
    assert facturx.xml_check_xsd(etree.tostring(tree), flavor="factur-x", level="en16931")
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    assert tree.findtext(".//ram:GrandTotalAmount", namespaces=NS) == "11.90"
    assert tree.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID",
                         namespaces=NS) == invoice.number  # fmt: skip


def test_a_private_customer_gets_a_plain_pdf(world):
    invoice = issued_for(world, business=False)
    documents.invoice_document_render(invoice=invoice)
    assert not invoice.documents.filter(format=DocumentFormat.CII).exists()
    pdf = invoice.documents.get(format="pdf").file.open("rb").read()
    assert not facturx.get_xml_from_pdf(pdf, check_xsd=False)[1]


def test_the_api_serves_the_e_invoice_xml_as_an_attachment(world, auditor, api_client_for):
    invoice = issued_for(world, business=True)
    documents.invoice_document_render(invoice=invoice)
    client = api_client_for(auditor)
    bill = client.get(f"/api/v1/invoicing/customerBill/{invoice.pk}").json()
    attachments = {a["mimeType"]: a["url"] for a in bill["billDocument"]}
    assert len(attachments) == 2, bill["billDocument"]
    xml = client.get(attachments["application/xml"])
    assert xml.status_code == 200 and xml["Content-Type"] == "application/xml"
    assert b"".join(xml.streaming_content) == xml_of(invoice)
    bad = client.get(f"/api/v1/invoicing/customerBill/{invoice.pk}/document", {"kind": "x"})
    assert bad.status_code == 400
