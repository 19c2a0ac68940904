"""Tables of the settlement console (django-tables2, CSV and XLSX export)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from charging.models import UsageEvent
from core.console.tables import ConsoleTable
from settlement.models import (
    Agreement,
    DisputeItem,
    Partner,
    Reconciliation,
    SettlementRun,
    Statement,
    StatementLine,
)

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class StatusColumn(tables.Column):
    """A status badge; the code in the CSV."""

    def render(self, value, record):
        return format_html('<span class="badge {}">{}</span>', record.status, value)

    def value(self, value, record):
        return record.status


class PeriodMixin:
    def render_period(self, record):
        return f"{record.period_year}-{record.period_month:02d}"

    def value_period(self, record):
        return self.render_period(record)


class PartnerTable(ConsoleTable):
    code = tables.Column(linkify=("settlement:partner-detail", [tables.A("pk")]))
    brand = tables.Column(accessor="brand__code", verbose_name="Brand")
    host_network = tables.Column(accessor="host_network__code", verbose_name="Host network")

    class Meta(ConsoleTable.Meta):
        model = Partner
        fields = ("code", "name", "kind", "brand", "currency", "host_network",
                  "payment_terms_days", "contact_email")  # fmt: skip


class AgreementTable(ConsoleTable):
    code = tables.Column(linkify=("settlement:agreement-detail", [tables.A("pk")]))
    partner = tables.Column(accessor="partner__code", verbose_name="Partner")
    percent = tables.Column(attrs=NUM)

    class Meta(ConsoleTable.Meta):
        model = Agreement
        fields = ("code", "name", "partner", "kind", "effective_from", "effective_to", "basis",
                  "percent")  # fmt: skip


class RunTable(PeriodMixin, ConsoleTable):
    run = tables.Column(
        accessor="pk", verbose_name="Run", linkify=("settlement:run-detail", [tables.A("pk")]),
        attrs=NUM,
    )  # fmt: skip
    partner = tables.Column(accessor="partner__code", verbose_name="Partner")
    period = tables.Column(empty_values=(), order_by=("period_year", "period_month"))
    status = StatusColumn()
    events = tables.Column(attrs=NUM)
    seconds = tables.Column(attrs=NUM, verbose_name="Seconds")
    finished_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Finished")

    class Meta(ConsoleTable.Meta):
        model = SettlementRun
        fields = ()
        sequence = ("run", "partner", "period", "status", "events", "seconds", "finished_at")


class StatementTable(ConsoleTable):
    statement = tables.Column(
        accessor="pk", verbose_name="Statement", empty_values=(),
        linkify=("settlement:statement-detail", [tables.A("pk")]),
    )  # fmt: skip
    partner = tables.Column(accessor="partner__code", verbose_name="Partner")
    period = tables.Column(empty_values=(), order_by=("period_start",))
    status = StatusColumn()
    direction = tables.Column()
    total = tables.Column(attrs=NUM)
    currency = tables.Column()
    due_date = tables.DateColumn(format="Y-m-d")
    totals = ("total",)

    class Meta(ConsoleTable.Meta):
        model = Statement
        fields = ()
        sequence = ("statement", "partner", "period", "status", "direction", "total", "currency",
                    "due_date")  # fmt: skip

    def render_statement(self, record):
        return str(record)

    def value_statement(self, record):
        return str(record)

    def render_period(self, record):
        return f"{record.run.period_year}-{record.run.period_month:02d}"

    def value_period(self, record):
        return self.render_period(record)


class StatementLineTable(ConsoleTable):
    position = tables.Column(attrs=NUM, verbose_name="#")
    kind = tables.Column()
    description = tables.Column()
    service = tables.Column()
    roaming_zone = tables.Column(verbose_name="Zone")
    events = tables.Column(attrs=NUM)
    units = tables.Column(attrs=NUM)
    amount = tables.Column(attrs=NUM)
    counts = tables.BooleanColumn(verbose_name="In total")

    class Meta(ConsoleTable.Meta):
        model = StatementLine
        fields = ()
        per_page = 100


class ReconciliationTable(PeriodMixin, ConsoleTable):
    file_name = tables.Column(linkify=("settlement:reconciliation-detail", [tables.A("pk")]))
    partner = tables.Column(accessor="partner__code", verbose_name="Partner")
    period = tables.Column(empty_values=(), order_by=("period_year", "period_month"))
    lines_read = tables.Column(attrs=NUM, verbose_name="Lines")
    lines_matched = tables.Column(attrs=NUM, verbose_name="Matched")
    their_total = tables.Column(attrs=NUM, verbose_name="Theirs")
    our_total = tables.Column(attrs=NUM, verbose_name="Ours")
    imported_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Imported")

    class Meta(ConsoleTable.Meta):
        model = Reconciliation
        fields = ()
        sequence = ("file_name", "partner", "period", "lines_read", "lines_matched",
                    "their_total", "our_total", "imported_at")  # fmt: skip


class DisputeTable(ConsoleTable):
    item = tables.Column(
        accessor="pk", verbose_name="Item", attrs=NUM,
        linkify=("settlement:dispute-detail", [tables.A("pk")]),
    )  # fmt: skip
    partner = tables.Column(accessor="partner__code", verbose_name="Partner")
    period = tables.DateTimeColumn(accessor="period_start", format="Y-m", verbose_name="Period")
    service = tables.Column()
    roaming_zone = tables.Column(verbose_name="Zone")
    our_amount = tables.Column(attrs=NUM, verbose_name="Ours")
    their_amount = tables.Column(attrs=NUM, verbose_name="Theirs")
    difference = tables.Column(attrs=NUM)
    status = StatusColumn()
    totals = ("difference",)

    class Meta(ConsoleTable.Meta):
        model = DisputeItem
        fields = ()
        sequence = ("item", "partner", "period", "service", "roaming_zone", "our_amount",
                    "their_amount", "difference", "status")  # fmt: skip


class EventTable(ConsoleTable):
    record_id = tables.Column(linkify=lambda record: record.get_absolute_url())
    source = tables.Column()
    service = tables.Column()
    msisdn = tables.Column()
    started_at = tables.DateTimeColumn(format="Y-m-d H:i:s")
    roaming_zone = tables.Column(verbose_name="Roaming")
    destination_zone = tables.Column(verbose_name="Destination")
    wholesale_units = tables.Column(attrs=NUM)
    wholesale_amount = tables.Column(attrs=NUM, verbose_name="Wholesale")
    retail_amount = tables.Column(attrs=NUM, verbose_name="Retail")
    totals = ("wholesale_amount", "retail_amount")

    class Meta(ConsoleTable.Meta):
        model = UsageEvent
        fields = ()
        per_page = 50


class MarginTable(tables.Table):
    """The margin rows of a month (plain rows from settlement.selectors.margin)."""

    key = tables.Column(verbose_name="Code")
    name = tables.Column()
    retail = tables.Column(attrs=NUM, verbose_name="Retail invoiced (net)")
    usage_retail = tables.Column(attrs=NUM, verbose_name="Usage retail")
    wholesale = tables.Column(attrs=NUM, verbose_name="Wholesale usage")
    fees = tables.Column(attrs=NUM, verbose_name="Partner fees")
    usage_margin = tables.Column(attrs=NUM, verbose_name="Usage margin")
    margin = tables.Column(attrs=NUM)
    events = tables.Column(attrs=NUM)

    class Meta:
        attrs = {"class": "table"}
        template_name = "core/table.html"
        orderable = False

    def __init__(self, *args, year=None, month=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.year, self.month = year, month

    def render_events(self, record):
        url = reverse("settlement:margin-events")
        query = (
            f"?dimension={record.dimension}&key={record.key}&year={self.year}&month={self.month}"
        )
        return format_html('<a href="{}{}">{}</a>', url, query, record.events)
