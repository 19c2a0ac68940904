"""Demo data of the invoicing: Lorem Mobile's invoice profile and bill cycle, the October 2026
bill run over every account of the cycle, and the golden scenario's three invoices (A, B, C)
issued on 2 November 2026 with their PDFs; the other accounts' invoices wait as drafts for
review.

Dunning (R30): the brand's default policy is patient (a reminder 30 days after the due date);
account B follows a strict one (a reminder after 3 days, a final notice after 10, outgoing
services barred after 14). The demo runs the daily dunning once: loaded after 30 November 2026,
B's unpaid invoice shows its reminder sent and its subscription barred.

Payments: A is paid by a bank transfer read from a CAMT.053 statement (its invoice number in
the reference), B is partly paid by a card payment of the gateway, C is unpaid (its account has
a direct debit mandate); the statement's second line names nothing and waits for finance. The
payments come before the dunning run, so B's rest and C are what it chases.
"""

import contextlib
import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Brand
from invoicing.dunning import dunning_policy_save, dunning_run
from invoicing.models import (
    FINAL_STATUSES,
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
            "sepa_creditor_id": "DE98ZZZ09999999999",
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
    payments = payments_load(brand, acting_user)
    dunning = dunning_load(brand)
    invoices = Invoice.objects.filter(bill_run=run)
    return (
        f"bill run {run} {run.status}: {invoices.count()} invoices, "
        f"{invoices.exclude(status__in=UNISSUED).count()} issued "
        f"({', '.join(i.number for i in golden_invoices())}); "
        f"{receipts} receipts of the prepaid showcase's top-ups; {payments}; {dunning}"
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


DEMO_STATEMENT_ID = "LOREM-DEMO-2026-11"


def demo_statement(profile: InvoiceProfile, invoice: Invoice, booked) -> bytes:
    """A CAMT.053 statement of the brand's bank account: the customer of ``invoice`` pays it
    naming its number; a second transfer names nothing of ours."""
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

    def entry(ref, amount, name, iban, text):
        return (
            f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt>"
            f"<ValDt><Dt>{booked}</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
            "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f"<RltdPties><Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>"
            f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>"
            f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )

    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{DEMO_STATEMENT_ID}</MsgId><CreDtTm>{booked}T20:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{DEMO_STATEMENT_ID}</Id><Acct><Id><IBAN>{profile.iban}</IBAN></Id>"
        "<Ccy>EUR</Ccy></Acct>"
        + entry("DEMO-0001", invoice.gross_total, invoice.customer_name or "Customer",
                "DE02100100100006820101", f"Rechnung {invoice.number} danke")
        + entry("DEMO-0002", "25.00", "Peter Unbekannt", "DE44500105175407324931",
                "Geschenk fuer Oma")
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()  # fmt: skip


def payments_load(brand: Brand, acting_user) -> str:
    """Pay A by statement, B in part by card, leave C unpaid with a mandate (once)."""
    from invoicing.payments import bank, sepa
    from invoicing.payments.models import BankStatement, Payment, SepaMandate
    from invoicing.payments.services import payment_record

    golden = golden_invoices()
    if len(golden) != 3 or any(i.status not in FINAL_STATUSES for i in golden):
        return "no payments (the golden invoices are not issued)"
    a, b, c = golden
    profile = InvoiceProfile.objects.get(brand=brand)
    if not BankStatement.objects.filter(brand=brand, statement_id=DEMO_STATEMENT_ID).exists():
        content = demo_statement(profile, a, timezone.localdate())
        with contextlib.suppress(ValidationError):  # imported before: a statement is imported once
            bank.bank_statement_import(
                brand=brand, name="camt053-demo.xml", content=content, acting_user=acting_user
            )
    if not Payment.objects.filter(brand=brand, external_id="demo-card-B").exists():
        payment_record(
            billing_account=b.billing_account, amount="20.00", currency=b.currency,
            method="card", received_on=timezone.localdate(), external_id="demo-card-B",
            reference=f"card payment {b.number}", invoice_ids=[b.pk], acting_user=acting_user,
        )  # fmt: skip
    if not SepaMandate.objects.filter(billing_account=c.billing_account).exists():
        sepa.sepa_mandate_create(
            billing_account=c.billing_account, reference="LOREM-DEMO-MANDATE-C",
            debtor_name=c.customer_name or "Customer C", iban="DE75512108001245126199",
            signed_on=timezone.localdate(), acting_user=acting_user,
        )  # fmt: skip
    states = ", ".join(
        f"{i.number} {i.get_status_display()}"
        for i in Invoice.objects.filter(pk__in=[a.pk, b.pk, c.pk]).order_by("number")
    )
    return f"payments: {states}"
