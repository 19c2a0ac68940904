"""Demo data of the invoicing: Lorem Mobile's invoice profile and bill cycle, the October 2026
bill run over every account of the cycle, and the golden scenario's three invoices (A, B, C)
issued with their PDFs; the other accounts' invoices wait as drafts for review."""

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Brand
from invoicing.models import BillRun, Invoice, InvoiceProfile, InvoiceStatus
from invoicing.services import bill_cycle_save, bill_run_execute, invoices_issue
from subscribers.demo import GOLDEN_SUBSCRIBERS
from subscribers.models import Subscription

BRAND_CODE = "LOREM"
PERIOD = (2026, 10)
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" width="120" height="40">'
    '<rect width="40" height="40" rx="8" fill="#1d4e89"/>'
    '<text x="20" y="27" font-size="20" text-anchor="middle" fill="#fff" '
    'font-family="DejaVu Sans">L</text>'
    '<text x="48" y="27" font-size="16" fill="#1d4e89" font-family="DejaVu Sans">Lorem</text>'
    "</svg>"
)


def invoice_profile_create(brand: Brand) -> InvoiceProfile:
    """Create (or return) Lorem Mobile's invoice profile: supplier details and bank account."""
    profile, _ = InvoiceProfile.objects.get_or_create(
        brand=brand,
        defaults={
            "legal_name": "Lorem Mobile GmbH",
            "address": "Friedrichstraße 100\n10117 Berlin\nDE",
            "vat_id": "DE123456789",
            "tax_number": "30/123/45678",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
            "email": "billing@lorem-mobile.example",
            "logo_svg": LOGO_SVG,
            "payment_note": "Questions about this invoice? billing@lorem-mobile.example",
        },
    )
    return profile


def golden_invoices() -> list[Invoice]:
    """Return the October invoices of the scenario's accounts A, B, C, in that order."""
    msisdns = [row[3] for row in GOLDEN_SUBSCRIBERS]
    accounts = dict(
        Subscription.objects.filter(msisdn__in=msisdns).values_list("msisdn", "billing_account_id")
    )
    invoices = []
    for msisdn in msisdns:
        invoice = Invoice.objects.filter(
            billing_account_id=accounts.get(msisdn), kind="invoice", period_start_date__year=2026,
            period_start_date__month=10,
        ).first()  # fmt: skip
        if invoice is not None:
            invoices.append(invoice)
    return invoices


def load() -> str:
    """Bill October 2026 and issue the golden invoices; a second run changes nothing."""
    brand = Brand.objects.filter(code=BRAND_CODE).first()
    if brand is None:
        return f"skipped: no brand {BRAND_CODE}"
    invoice_profile_create(brand)
    cycle = bill_cycle_save(brand=brand, cycle_day=1)
    run, _ = BillRun.objects.get_or_create(
        cycle=cycle, period_year=PERIOD[0], period_month=PERIOD[1]
    )
    if run.status in ("queued", "failed", "running"):
        run = bill_run_execute(bill_run=run)
    golden = [i for i in golden_invoices() if i.status == InvoiceStatus.DRAFT]
    acting_user = get_user_model().objects.filter(username="finance").first()
    for invoice in golden:  # one by one, so that A, B and C get numbers 1, 2, 3
        with transaction.atomic():
            invoices_issue(invoice_ids=[invoice.pk], acting_user=acting_user)
    receipts = prepaid_receipts()
    invoices = Invoice.objects.filter(bill_run=run)
    return (
        f"bill run {run} {run.status}: {invoices.count()} invoices, "
        f"{invoices.filter(status=InvoiceStatus.ISSUED).count()} issued "
        f"({', '.join(i.number for i in golden_invoices())}); "
        f"{receipts} receipts of the prepaid showcase's top-ups"
    )


def prepaid_receipts() -> int:
    """Receipt the top-ups of the prepaid showcase lines (the beat task receipts the rest)."""
    from invoicing.prepaid import receipts_issue
    from subscribers.demo import PREPAID_MSISDNS

    accounts = list(
        Subscription.objects.filter(msisdn__in=PREPAID_MSISDNS.values()).values_list(
            "billing_account_id", flat=True
        )
    )
    receipts_issue(billing_account_ids=accounts)
    return Invoice.objects.filter(billing_account_id__in=accounts, kind="receipt").count()
