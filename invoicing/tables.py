"""Tables of the invoicing console."""

import django_tables2 as tables
from django.utils.html import format_html

from core.console.formats import money_text, percent_text, rated_text
from core.console.tables import ConsoleTable
from invoicing.models import (
    BillCycle,
    BillRun,
    DunningCase,
    DunningHold,
    DunningPolicy,
    Invoice,
    InvoiceArchive,
    InvoiceLine,
)

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class StatusColumn(tables.Column):
    """A status badge; the code in the CSV."""

    def render(self, value, record):
        return format_html('<span class="badge {}">{}</span>', record.status, value)

    def value(self, value, record):
        return record.status


class BillCycleTable(ConsoleTable):
    code = tables.Column(linkify=("invoicing:billcycle-detail", [tables.A("pk")]))
    brand = tables.Column(accessor="brand__code", verbose_name="Brand")

    class Meta(ConsoleTable.Meta):
        model = BillCycle
        fields = ("code", "name", "brand", "cycle_day")


class BillRunTable(ConsoleTable):
    run = tables.Column(
        accessor="pk",
        verbose_name="Run",
        linkify=("invoicing:billrun-detail", [tables.A("pk")]),
        attrs=NUM,
    )
    cycle = tables.Column(accessor="cycle__code", verbose_name="Cycle")
    period = tables.Column(empty_values=(), order_by=("period_year", "period_month"))
    status = StatusColumn()
    progress = tables.Column(empty_values=(), orderable=False, attrs=NUM)
    accounts_total = tables.Column(attrs=NUM, verbose_name="Accounts")
    accounts_failed = tables.Column(attrs=NUM, verbose_name="Errors")
    invoices_issued = tables.Column(attrs=NUM, verbose_name="Issued")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Created")

    class Meta(ConsoleTable.Meta):
        model = BillRun
        fields = ()
        sequence = ("run", "cycle", "period", "status", "progress", "accounts_total",
                    "accounts_failed", "invoices_issued", "created_at")  # fmt: skip

    def render_period(self, record):
        return f"{record.period_year}-{record.period_month:02d}"

    def value_period(self, record):
        return self.render_period(record)

    def render_progress(self, record):
        return f"{record.accounts_done}/{record.accounts_total} ({record.progress} %)"


class InvoiceTable(ConsoleTable):
    document = tables.Column(
        accessor="pk",
        verbose_name="Document",
        linkify=("invoicing:invoice-detail", [tables.A("pk")]),
        order_by=("number", "pk"),
    )
    kind = tables.Column()
    status = StatusColumn()
    account = tables.Column(accessor="billing_account__number", verbose_name="Account")
    customer_name = tables.Column(verbose_name="Customer")
    period_start_date = tables.DateColumn(format="Y-m-d", verbose_name="Period")
    issue_date = tables.DateColumn(format="Y-m-d", verbose_name="Issued")
    due_date = tables.DateColumn(format="Y-m-d", verbose_name="Due")
    currency = tables.Column()
    net_total = tables.Column(attrs=NUM, verbose_name="Net")
    tax_total = tables.Column(attrs=NUM, verbose_name="Tax")
    gross_total = tables.Column(attrs=NUM, verbose_name="Gross")

    class Meta(ConsoleTable.Meta):
        model = Invoice
        fields = ()
        sequence = ("document", "kind", "status", "account", "customer_name", "period_start_date",
                    "issue_date", "due_date", "currency", "net_total", "tax_total",
                    "gross_total")  # fmt: skip

    def render_document(self, record):
        return record.number or f"draft {record.pk}"

    def value_document(self, record):
        return record.number or f"draft {record.pk}"


class InvoiceLineTable(ConsoleTable):
    position = tables.Column(verbose_name="#", attrs=NUM)
    kind = tables.Column()
    subscription = tables.Column(verbose_name="Number")
    description = tables.Column()
    period = tables.Column(empty_values=(), orderable=False)
    quantity = tables.Column(attrs=NUM, verbose_name="Qty")
    rated_amount = tables.Column(attrs=NUM, verbose_name="Exact sum")
    tax_rate = tables.Column(attrs=NUM, verbose_name="Tax rate")
    amount = tables.Column(attrs=NUM)

    class Meta(ConsoleTable.Meta):
        model = InvoiceLine
        fields = ()
        per_page = 200
        sequence = ("position", "kind", "subscription", "description", "period", "quantity",
                    "rated_amount", "tax_rate", "amount")  # fmt: skip

    # Exports keep the numbers (typed cells); the page shows them with their unit.
    def value_tax_rate(self, value):
        return value

    def value_rated_amount(self, value):
        return value

    def value_amount(self, value):
        return value

    def render_tax_rate(self, value):
        return percent_text(value)

    def render_rated_amount(self, value, record):
        return rated_text(value, record.invoice.currency)

    def render_amount(self, value, record):
        return money_text(value, record.invoice.currency)

    def render_period(self, record):
        if not record.period_start_date:
            return "—"
        return f"{record.period_start_date:%Y-%m-%d} – {record.period_last_date:%Y-%m-%d}"


# --- dunning (R30) and downloads ----------------------------------------------------------------


class DunningCaseTable(ConsoleTable):
    invoice = tables.Column(
        accessor="invoice__number",
        verbose_name="Invoice",
        linkify=lambda record: record.invoice.get_absolute_url(),
    )
    status = StatusColumn()
    account = tables.Column(accessor="billing_account__number", verbose_name="Account")
    customer = tables.Column(accessor="invoice__customer_name", verbose_name="Customer")
    due_date = tables.DateColumn(accessor="invoice__due_date", format="Y-m-d", verbose_name="Due")
    days_overdue = tables.Column(empty_values=(), orderable=False, attrs=NUM,
                                 verbose_name="Days overdue")  # fmt: skip
    currency = tables.Column(accessor="invoice__currency", verbose_name="Currency")
    gross = tables.Column(accessor="invoice__gross_total", attrs=NUM, verbose_name="Gross")
    policy = tables.Column(accessor="policy__code", verbose_name="Policy", default="no policy")
    last_step = tables.Column(verbose_name="Current step", default="—")
    next_step = tables.Column(verbose_name="Next step", default="—")
    next_step_date = tables.DateColumn(format="Y-m-d", verbose_name="Next step on")
    opened_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Opened")

    totals = ("gross",)

    class Meta(ConsoleTable.Meta):
        model = DunningCase
        fields = ()
        sequence = ("invoice", "status", "account", "customer", "due_date", "days_overdue",
                    "currency", "gross", "policy", "last_step", "next_step", "next_step_date",
                    "opened_at")  # fmt: skip

    def __init__(self, *args, today=None, **kwargs):
        import django.utils.timezone

        self.today = today or django.utils.timezone.localdate()
        super().__init__(*args, **kwargs)

    def render_days_overdue(self, record):
        if record.invoice.due_date is None:
            return "—"
        return (self.today - record.invoice.due_date).days

    def value_days_overdue(self, record):
        return self.render_days_overdue(record)


class DunningPolicyTable(ConsoleTable):
    code = tables.Column(linkify=lambda record: record.get_absolute_url())
    name = tables.Column()
    brand = tables.Column(accessor="brand__code", verbose_name="Brand")
    is_default = tables.BooleanColumn(verbose_name="Default")
    steps = tables.Column(empty_values=(), orderable=False)

    class Meta(ConsoleTable.Meta):
        model = DunningPolicy
        fields = ()
        sequence = ("code", "name", "brand", "is_default", "steps")

    def render_steps(self, record):
        return "; ".join(f"{step.days_after_due} d: {step.get_action_display()}"
                         for step in record.steps.all())  # fmt: skip

    def value_steps(self, record):
        return self.render_steps(record)


class DunningHoldTable(ConsoleTable):
    hold = tables.Column(accessor="pk", verbose_name="Pause", attrs=NUM,
                         linkify=lambda record: record.get_absolute_url())  # fmt: skip
    account = tables.Column(accessor="billing_account__number", verbose_name="Account")
    reason = tables.Column()
    paused_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Paused")
    paused_by = tables.Column(verbose_name="By", default="—")
    resumed_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Resumed", default="—")
    resume_reason = tables.Column(verbose_name="Why resumed")

    class Meta(ConsoleTable.Meta):
        model = DunningHold
        fields = ()
        sequence = ("hold", "account", "reason", "paused_at", "paused_by", "resumed_at",
                    "resume_reason")  # fmt: skip


class InvoiceArchiveTable(ConsoleTable):
    archive = tables.Column(accessor="pk", verbose_name="Archive", attrs=NUM,
                            linkify=lambda record: record.get_absolute_url())  # fmt: skip
    brand = tables.Column(accessor="brand__code", verbose_name="Brand")
    period = tables.Column(empty_values=(), order_by=("period_year", "period_month"))
    status = StatusColumn()
    documents = tables.Column(attrs=NUM, verbose_name="PDFs")
    size = tables.Column(attrs=NUM, verbose_name="Bytes")
    created_by = tables.Column(verbose_name="Asked by", default="—")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Asked")

    class Meta(ConsoleTable.Meta):
        model = InvoiceArchive
        fields = ()
        sequence = ("archive", "brand", "period", "status", "documents", "size", "created_by",
                    "created_at")  # fmt: skip

    def render_period(self, record):
        return f"{record.period_year}-{record.period_month:02d}"

    def value_period(self, record):
        return self.render_period(record)
