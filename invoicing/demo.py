"""Demo data of the invoicing: Lorem Mobile's invoice profile and bill cycle, the October 2026
bill run over every account of the cycle, and the golden scenario's three invoices (A, B, C)
issued on 2 November 2026 with their PDFs; the other accounts' invoices wait as drafts for
review.

Dunning (R30): the brand's default policy is patient (a reminder 30 days after the due date);
account B follows a strict one (a reminder after 3 days, a final notice after 10, outgoing
services barred after 14). The demo runs the daily dunning once: loaded after 30 November 2026,
B's unpaid invoice shows its reminder sent and its subscription barred.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Brand
from invoicing.dunning import dunning_policy_save, dunning_run
from invoicing.models import (
    BillRun,
    DunningAction,
    DunningPolicy,
    Invoice,
    InvoiceProfile,
    InvoiceStatus,
)
from invoicing.services import bill_cycle_save, bill_run_execute, invoices_issue
from subscribers.demo import GOLDEN_SUBSCRIBERS
from subscribers.models import Subscription

BRAND_CODE = "LOREM"
PERIOD = (2026, 10)
ISSUE_DATE = dt.date(2026, 11, 2)
UNISSUED = (InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED)
DUNNING_POLICIES = (
    ("STANDARD", "Standard: patient", True, (
        (DunningAction.REMINDER, 30), (DunningAction.FINAL_NOTICE, 45),
        (DunningAction.BAR_OUTGOING, 60), (DunningAction.TERMINATE, 90),
    )),
    ("STRICT", "Strict: barred after two weeks", False, (
        (DunningAction.REMINDER, 3), (DunningAction.FINAL_NOTICE, 10),
        (DunningAction.BAR_OUTGOING, 14),
    )),
)  # fmt: skip
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
            invoices_issue(invoice_ids=[invoice.pk], acting_user=acting_user, issue_date=ISSUE_DATE)
    receipts = prepaid_receipts()
    dunning = dunning_load(brand)
    invoices = Invoice.objects.filter(bill_run=run)
    return (
        f"bill run {run} {run.status}: {invoices.count()} invoices, "
        f"{invoices.exclude(status__in=UNISSUED).count()} issued "
        f"({', '.join(i.number for i in golden_invoices())}); "
        f"{receipts} receipts of the prepaid showcase's top-ups; {dunning}"
    )


def dunning_load(brand: Brand) -> str:
    """Create the brand's dunning policies, put account B on the strict one and run the daily
    dunning once (R30)."""
    for code, name, is_default, steps in DUNNING_POLICIES:
        if not DunningPolicy.objects.filter(brand=brand, code=code).exists():
            dunning_policy_save(
                brand=brand, code=code, name=name, is_default=is_default,
                steps=[{"action": a, "days_after_due": d} for a, d in steps],
            )  # fmt: skip
    invoices = golden_invoices()
    if len(invoices) == 3:
        account = invoices[1].billing_account  # Ben Müller's, whose line is still active
        if account.dunning_policy != "STRICT":
            account.dunning_policy = "STRICT"
            account._change_reason = "demo: the strict dunning policy"
            account.save(update_fields=["dunning_policy", "updated_at"])
    result = dunning_run()
    return f"dunning on {result['date']}: {result['opened']} opened, {result['steps']} steps"


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
