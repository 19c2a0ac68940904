"""Tables of the payments console."""

import django_tables2 as tables

from core.console.tables import ConsoleTable
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    Payment,
    SepaMandate,
)
from invoicing.tables import NUM, StatusColumn


class PaymentTable(ConsoleTable):
    payment = tables.Column(
        accessor="pk", verbose_name="Payment",
        linkify=("invoicing:payment-detail", [tables.A("pk")]), attrs=NUM,
    )  # fmt: skip
    received_on = tables.DateColumn(format="Y-m-d", verbose_name="Value date")
    account = tables.Column(accessor="billing_account__number", verbose_name="Account")
    method = tables.Column()
    reference = tables.Column()
    currency = tables.Column()
    amount = tables.Column(attrs=NUM)
    remaining = tables.Column(attrs=NUM, verbose_name="Unallocated")
    external_id = tables.Column(verbose_name="Gateway id")
    totals = ("amount",)
    optional_columns = ("external_id",)

    class Meta(ConsoleTable.Meta):
        model = Payment
        fields = ()
        sequence = ("payment", "received_on", "account", "method", "reference", "currency",
                    "amount", "remaining", "external_id")  # fmt: skip


class StatementTable(ConsoleTable):
    statement = tables.Column(
        accessor="pk", verbose_name="Statement",
        linkify=("invoicing:bankstatement-detail", [tables.A("pk")]), attrs=NUM,
    )  # fmt: skip
    file_name = tables.Column(verbose_name="File")
    format = tables.Column()
    statement_id = tables.Column(verbose_name="Bank's id")
    account_iban = tables.Column(verbose_name="Account")
    lines_total = tables.Column(attrs=NUM, verbose_name="Lines")
    lines_matched = tables.Column(attrs=NUM, verbose_name="Matched")
    imported_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Imported")

    class Meta(ConsoleTable.Meta):
        model = BankStatement
        fields = ()
        sequence = ("statement", "file_name", "format", "statement_id", "account_iban",
                    "lines_total", "lines_matched", "imported_at")  # fmt: skip


class StatementLineTable(ConsoleTable):
    line = tables.Column(
        accessor="pk", verbose_name="Line",
        linkify=("invoicing:statementline-detail", [tables.A("pk")]), attrs=NUM,
    )  # fmt: skip
    booking_date = tables.DateColumn(format="Y-m-d", verbose_name="Booked")
    counterparty_name = tables.Column(verbose_name="Payer / payee")
    remittance = tables.Column(verbose_name="Reference")
    currency = tables.Column()
    amount = tables.Column(attrs=NUM)
    status = StatusColumn()
    match_note = tables.Column(verbose_name="Why")

    class Meta(ConsoleTable.Meta):
        model = BankStatementLine
        fields = ()
        sequence = ("line", "booking_date", "counterparty_name", "remittance", "currency",
                    "amount", "status", "match_note")  # fmt: skip


class MandateTable(ConsoleTable):
    reference = tables.Column(linkify=("invoicing:sepamandate-detail", [tables.A("pk")]))
    account = tables.Column(accessor="billing_account__number", verbose_name="Account")
    debtor_name = tables.Column(verbose_name="Account holder")
    iban = tables.Column(verbose_name="IBAN")
    signed_on = tables.DateColumn(format="Y-m-d", verbose_name="Signed")
    first_collected_on = tables.DateColumn(format="Y-m-d", verbose_name="First collected")
    revoked_on = tables.DateColumn(format="Y-m-d", verbose_name="Revoked")

    class Meta(ConsoleTable.Meta):
        model = SepaMandate
        fields = ()
        sequence = ("reference", "account", "debtor_name", "iban", "signed_on",
                    "first_collected_on", "revoked_on")  # fmt: skip


class ReceivableInvoiceTable(ConsoleTable):
    """Invoices with what is left to pay (the aged receivables' drill-down)."""

    number = tables.Column(linkify=("invoicing:invoice-detail", [tables.A("pk")]))
    status = StatusColumn()
    account = tables.Column(accessor="billing_account__number", verbose_name="Account")
    customer_name = tables.Column(verbose_name="Customer")
    issue_date = tables.DateColumn(format="Y-m-d", verbose_name="Issued")
    due_date = tables.DateColumn(format="Y-m-d", verbose_name="Due")
    currency = tables.Column()
    gross_total = tables.Column(attrs=NUM, verbose_name="Gross")
    amount_due = tables.Column(attrs=NUM, verbose_name="Amount due")

    class Meta(ConsoleTable.Meta):
        fields = ()
        per_page = 100
        sequence = ("number", "status", "account", "customer_name", "issue_date", "due_date",
                    "currency", "gross_total", "amount_due")  # fmt: skip


class AgingTable(ConsoleTable):
    """The aged receivables per account (rows are dicts), for the CSV and XLSX export."""

    currency = tables.Column()
    account = tables.Column(verbose_name="Account")
    name = tables.Column(verbose_name="Name")
    current = tables.Column(verbose_name="Not yet due", attrs=NUM)
    d0_30 = tables.Column(verbose_name="0-30 days", attrs=NUM)
    d31_60 = tables.Column(verbose_name="31-60 days", attrs=NUM)
    d61_90 = tables.Column(verbose_name="61-90 days", attrs=NUM)
    d90_plus = tables.Column(verbose_name="90+ days", attrs=NUM)
    total = tables.Column(verbose_name="Total", attrs=NUM)
    invoices = tables.Column(verbose_name="Invoices", attrs=NUM)

    class Meta(ConsoleTable.Meta):
        orderable = False
