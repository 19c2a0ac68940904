"""Console lists of charging: one ConsoleTable per list, sortable, exported as CSV."""

import django_tables2 as tables
from django.utils.html import format_html

from charging.models import (
    RejectedRecord,
    RerateChange,
    RerateJob,
    SequenceGap,
    UsageEvent,
    UsageFile,
)
from charging.simulator import BASE_UNITS
from core.console.formats import readable_quantity
from core.console.tables import ConsoleTable

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


def amount_text(value) -> str:
    """An amount stored to 6 places (R2), shown as stored."""
    return "—" if value is None else f"{value:f}"


class BadgeColumn(tables.Column):
    """A status badge showing the short code (its description on hover); the code in the CSV."""

    def __init__(self, *args, css_field: str = "status", **kwargs):
        super().__init__(*args, **kwargs)
        self.css_field = css_field

    def render(self, value, record):
        code = getattr(record, self.css_field)
        return format_html('<span class="badge {}" title="{}">{}</span>', code, value, code)

    def value(self, value, record):
        return getattr(record, self.css_field)


class AmountColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return amount_text(value)

    def value(self, value):
        return amount_text(value)


class MsisdnColumn(tables.Column):
    def render(self, value):
        return f"+{value}" if value else "—"

    def value(self, value):
        return f"+{value}" if value else ""


class UnitsColumn(tables.Column):
    """A quantity in the event's base unit (R5): seconds, bytes or messages."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)

    def render(self, value, record):
        return readable_quantity(value, BASE_UNITS.get(record.service, ""))

    def value(self, value):
        return value


STALLED_TEXT = "stalled: no worker holds it"


class FileStatusColumn(BadgeColumn):
    """A file's status; a file (or a part of it) that no live worker holds says so (issue 13)."""

    def render(self, value, record):
        if getattr(record, "stalled", False):
            return format_html(
                '<span class="badge stalled" title="its worker stopped: retry it from its '
                'page">{}</span>',
                STALLED_TEXT,
            )
        return super().render(value, record)

    def value(self, value, record):
        return "stalled" if getattr(record, "stalled", False) else record.status


class UsageFileTable(ConsoleTable):
    name = tables.Column(linkify=True)
    status = FileStatusColumn()
    sequence = tables.Column(attrs=NUM, verbose_name="SEQ")
    records_read = tables.Column(attrs=NUM, verbose_name="Read")
    records_accepted = tables.Column(attrs=NUM, verbose_name="Accepted")
    records_rejected = tables.Column(attrs=NUM, verbose_name="Rejected")
    records_duplicate = tables.Column(attrs=NUM, verbose_name="Duplicates")
    balanced = tables.Column(
        accessor="balanced",
        orderable=False,
        verbose_name="Balanced (R16)",
        empty_values=(),
    )
    received_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Received")

    class Meta(ConsoleTable.Meta):
        model = UsageFile
        attrs = {"class": "table nowrap"}
        fields = (
            "name",
            "status",
            "source",
            "sequence",
            "origin",
            "records_read",
            "records_accepted",
            "records_rejected",
            "records_duplicate",
            "received_at",
        )
        sequence = (
            "name",
            "status",
            "source",
            "sequence",
            "origin",
            "records_read",
            "records_accepted",
            "records_rejected",
            "records_duplicate",
            "balanced",
            "received_at",
        )

    def render_sequence(self, value):
        return "" if value is None else f"{value:06d}"

    def value_sequence(self, value):
        return "" if value is None else f"{value:06d}"

    def render_balanced(self, value):
        if value:
            return format_html('<span class="badge balanced">{}</span>', "yes")
        return format_html('<span class="badge unbalanced">{}</span>', "NO")

    def value_balanced(self, value):
        return "yes" if value else "no"


class RejectedRecordTable(ConsoleTable):
    line = tables.Column(
        accessor="line_number",
        verbose_name="Line",
        linkify=("charging:rejectedrecord-detail", [tables.A("pk")]),
        attrs=NUM,
    )
    usage_file = tables.Column(linkify=True, verbose_name="File", order_by=("usage_file__name",))
    record_id = tables.Column(verbose_name="Record id")
    reason = tables.Column()
    detail = tables.Column(orderable=False)
    status = BadgeColumn()
    reprocessed_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Closed")

    class Meta(ConsoleTable.Meta):
        model = RejectedRecord
        fields = ("usage_file", "line", "record_id", "reason", "detail", "status")
        sequence = (
            "usage_file",
            "line",
            "record_id",
            "reason",
            "detail",
            "status",
            "reprocessed_at",
        )

    def render_reason(self, value, record):
        return format_html('<code title="{}">{}</code>', value, record.reason)

    def value_reason(self, record):
        return record.reason


class UsageEventTable(ConsoleTable):
    totals = ("retail_amount", "wholesale_amount")
    optional_columns = ("other_party", "time_band", "units")
    started_at = tables.DateTimeColumn(
        format="Y-m-d H:i:s",
        verbose_name="Start",
        linkify=("charging:usageevent-detail", [tables.A("pk")]),
    )
    msisdn = MsisdnColumn(verbose_name="MSISDN")
    service = tables.Column()
    other_party = MsisdnColumn(verbose_name="Other party")
    destination_zone = tables.Column(verbose_name="Destination")
    roaming_zone = tables.Column(verbose_name="Roaming")
    time_band = tables.Column(verbose_name="Band")
    units = UnitsColumn()
    charged_units = UnitsColumn(verbose_name="Charged")
    covered_units = UnitsColumn(verbose_name="From allowance")
    retail_amount = AmountColumn(verbose_name="Retail (6 dp)")
    wholesale_amount = AmountColumn(verbose_name="Wholesale (6 dp)")
    rating_status = BadgeColumn(verbose_name="Rating", css_field="rating_status")
    record_id = tables.Column(verbose_name="Record")

    class Meta(ConsoleTable.Meta):
        model = UsageEvent
        attrs = {"class": "table nowrap"}
        fields = ("started_at", "msisdn", "service")
        sequence = (
            "started_at",
            "msisdn",
            "service",
            "other_party",
            "destination_zone",
            "roaming_zone",
            "time_band",
            "retail_amount",
            "wholesale_amount",
            "units",
            "charged_units",
            "covered_units",
            "rating_status",
            "record_id",
        )
        per_page = 50


class ErrorQueueTable(ConsoleTable):
    started_at = tables.DateTimeColumn(
        format="Y-m-d H:i:s",
        verbose_name="Start",
        linkify=("charging:usageevent-detail", [tables.A("pk")]),
    )
    record = tables.Column(
        accessor="record_id",
        verbose_name="Record",
        linkify=("charging:usageevent-detail", [tables.A("pk")]),
    )
    msisdn = MsisdnColumn(verbose_name="MSISDN")
    service = tables.Column()
    rating_error = tables.Column(verbose_name="Error")
    rating_detail = tables.Column(
        verbose_name="Detail", orderable=False, attrs={"td": {"class": "wrap"}}
    )
    source = tables.Column()
    usage_file = tables.Column(linkify=True, verbose_name="File", order_by=("usage_file__name",))

    class Meta(ConsoleTable.Meta):
        model = UsageEvent
        attrs = {"class": "table nowrap"}
        fields = ("started_at", "msisdn", "service")
        sequence = (
            "started_at",
            "record",
            "msisdn",
            "service",
            "rating_error",
            "rating_detail",
            "source",
            "usage_file",
        )
        per_page = 50

    def render_rating_error(self, value, record):
        return format_html(
            '<code class="error-code" title="{}">{}</code>', value, record.rating_error
        )

    def value_rating_error(self, record):
        return record.rating_error


class RerateJobTable(ConsoleTable):
    job = tables.Column(
        accessor="pk",
        verbose_name="Job",
        linkify=("charging:reratejob-detail", [tables.A("pk")]),
        attrs=NUM,
    )
    status = BadgeColumn()
    target = tables.Column(empty_values=(), orderable=False, verbose_name="Who")
    start = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="From")
    end = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Until")
    progress = tables.Column(empty_values=(), orderable=False, attrs=NUM)
    events_changed = tables.Column(attrs=NUM, verbose_name="Changed")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Created")
    created_by = tables.Column(verbose_name="By")

    class Meta(ConsoleTable.Meta):
        model = RerateJob
        fields = ("scope", "reason", "errors_only")
        sequence = (
            "job",
            "status",
            "scope",
            "target",
            "start",
            "end",
            "errors_only",
            "reason",
            "progress",
            "events_changed",
            "created_at",
            "created_by",
        )

    def render_target(self, record):
        return target_of(record)

    def value_target(self, record):
        return target_of(record)

    def render_progress(self, record):
        return f"{record.events_done}/{record.events_total} ({record.progress} %)"

    def value_progress(self, record):
        return f"{record.events_done}/{record.events_total}"


def target_of(job: RerateJob) -> str:
    if job.subscription_id:
        return str(job.subscription)
    if job.billing_account_id:
        return str(job.billing_account)
    return "every subscriber"


class RerateChangeTable(ConsoleTable):
    usage_event = tables.Column(
        linkify=True, verbose_name="Event", order_by=("usage_event__started_at",)
    )
    started_at = tables.DateTimeColumn(
        accessor="usage_event__started_at", format="Y-m-d H:i:s", verbose_name="Start"
    )
    msisdn = MsisdnColumn(accessor="usage_event__msisdn", verbose_name="MSISDN")
    status_before = tables.Column(verbose_name="Status before")
    status_after = tables.Column(verbose_name="Status after")
    retail_before = AmountColumn(verbose_name="Retail before")
    retail_after = AmountColumn(verbose_name="Retail after")
    wholesale_before = AmountColumn(verbose_name="Wholesale before")
    wholesale_after = AmountColumn(verbose_name="Wholesale after")
    settled_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Settled")

    class Meta(ConsoleTable.Meta):
        model = RerateChange
        fields = ()
        sequence = (
            "usage_event",
            "started_at",
            "msisdn",
            "status_before",
            "status_after",
            "retail_before",
            "retail_after",
            "wholesale_before",
            "wholesale_after",
            "settled_at",
        )
        per_page = 50


class SequenceGapTable(ConsoleTable):
    missing = tables.Column(empty_values=(), orderable=False, verbose_name="Missing files")
    source = tables.Column()
    detected_in = tables.Column(linkify=True, verbose_name="Noticed when this file came")
    detected_at = tables.DateTimeColumn(format="Y-m-d H:i T", verbose_name="Noticed")
    resolved_at = tables.DateTimeColumn(format="Y-m-d H:i T", verbose_name="Arrived")

    class Meta(ConsoleTable.Meta):
        model = SequenceGap
        fields = ("source", "missing", "detected_in", "detected_at", "resolved_at")

    def render_missing(self, record):
        if record.missing_from == record.missing_to:
            return f"{record.missing_from:06d}"
        return f"{record.missing_from:06d} – {record.missing_to:06d}"

    def value_missing(self, record):
        return self.render_missing(record)
