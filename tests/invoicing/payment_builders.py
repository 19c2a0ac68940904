"""Issued invoices written straight as rows, for the payment tests: the payments do not care
how an invoice was billed, only its account, total, number and due date."""

import datetime as dt
import itertools
from decimal import Decimal

from invoicing.models import Invoice, InvoiceKind, InvoiceProfile, InvoiceStatus, InvoiceTax

_months = itertools.count(1)


def invoice_issued_add(
    account, *, gross: str, number: str, issued_on: dt.date, due_on: dt.date | None = None,
    status: str = InvoiceStatus.ISSUED,
) -> Invoice:  # fmt: skip
    """An issued invoice of an account with one tax row at 19 % (its net and tax made up)."""
    month = next(_months)
    start = dt.date(2000 + month // 12, month % 12 + 1, 1)
    end = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    gross_total = Decimal(gross)
    net = (gross_total / Decimal("1.19")).quantize(Decimal("0.01"))
    invoice = Invoice.objects.create(
        brand_id=account.customer.brand_id, billing_account=account, kind=InvoiceKind.INVOICE,
        status=status, number=number, period_start_date=start, period_end_date=end,
        period_start=dt.datetime(start.year, start.month, 1, tzinfo=dt.UTC),
        period_end=dt.datetime(end.year, end.month, 1, tzinfo=dt.UTC),
        currency=account.currency, net_total=net, tax_total=gross_total - net,
        gross_total=gross_total, issue_date=issued_on,
        due_date=due_on or issued_on + dt.timedelta(days=14),
        customer_name=account.name,
    )  # fmt: skip
    InvoiceTax.objects.create(
        invoice=invoice, rate=Decimal("0.19"), net=net, tax=gross_total - net, gross=gross_total
    )
    return invoice


def profile_add(brand, *, iban: str = "DE89370400440532013000", creditor_id: str = ""):
    """The brand's invoice profile with its bank account and SEPA creditor id."""
    return InvoiceProfile.objects.create(
        brand=brand, legal_name=f"{brand.name} GmbH", address="Hauptstraße 1\n10115 Berlin",
        iban=iban, bic="COBADEFFXXX", sepa_creditor_id=creditor_id or "DE98ZZZ09999999999",
    )  # fmt: skip
