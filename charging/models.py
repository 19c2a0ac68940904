"""Mediation of host-network usage files and the rated events (billing-rules R2, R5-R19, R23).

Every record of every file ends in exactly one place: a usage event (rated, or in the rating
error queue), a rejected record with its reason, or a duplicate count (R16).
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from catalog.models import HostNetwork, PlanVersion, RateRow, Service
from core.periods import local_date
from subscribers.models import BillingAccount, Subscription

AMOUNT_DIGITS = 20
RATED_PLACES = 6  # R2


class FileStatus(models.TextChoices):
    PROCESSING = "processing", "processing"
    PROCESSED = "processed", "processed"
    DUPLICATE = "duplicate", "refused: duplicate file (R17)"
    QUARANTINED = "quarantined", "quarantined: trailer mismatch (R18)"
    FAILED = "failed", "failed (unreadable)"


class FileOrigin(models.TextChoices):
    UPLOAD = "upload", "console upload"
    API = "api", "API"
    COMMAND = "command", "command line"
    INBOX = "inbox", "inbox directory"
    BENCHMARK = "benchmark", "benchmark"


class UsageFile(models.Model):
    """One usage file as received, with its counts: read = accepted + rejected + duplicates."""

    name = models.CharField(max_length=255)
    source = models.CharField(max_length=32, help_text="the sending network's code")
    host_network = models.ForeignKey(
        HostNetwork, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.PositiveIntegerField(null=True, blank=True)
    file_time = models.DateTimeField(null=True, blank=True)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file as received")
    size = models.PositiveBigIntegerField(default=0)
    origin = models.CharField(max_length=10, choices=FileOrigin.choices)
    status = models.CharField(max_length=12, choices=FileStatus.choices)
    status_detail = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    content = models.FileField(upload_to="usage-files/%Y/%m/", blank=True)
    trailer_count = models.PositiveIntegerField(null=True, blank=True)
    records_read = models.PositiveIntegerField(default=0)
    records_accepted = models.PositiveIntegerField(default=0)
    records_rejected = models.PositiveIntegerField(default=0)
    records_duplicate = models.PositiveIntegerField(default=0)
    part_count = models.PositiveSmallIntegerField(
        default=0, help_text="parts rated by parallel workers (0: rated whole)"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    worker_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when a worker last took the file to process it (charging.leases)",
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # R17: a file's checksum is accepted once; refused repeats are kept as their own rows.
            # A file that failed on our side (unknown source, unreadable) may come again.
            models.UniqueConstraint(
                fields=["checksum"],
                condition=~Q(status__in=["duplicate", "failed"]),
                name="usage_file_once",
            ),
        ]
        indexes = [models.Index(fields=["source", "sequence"])]
        permissions = [
            ("retry_usagefile", "Can retry a usage file or a part that no worker holds"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("charging:usagefile-detail", args=[self.pk])

    @property
    def balanced(self) -> bool:
        """R16: every record read is accepted, rejected or a duplicate."""
        return self.records_read == (
            self.records_accepted + self.records_rejected + self.records_duplicate
        )


class PartStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class UsageFilePart(models.Model):
    """One partition of a large file, rated by a worker of its own (charging.partitions).

    A file's records are split by subscriber group: every record of the numbers, subscriptions
    and accounts linked by their terms goes to the same part, so no bucket (personal or shared)
    is drawn by two parts and each part rates its records in event-time order (R11, R11b).
    """

    usage_file = models.ForeignKey(UsageFile, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveSmallIntegerField()
    content = models.FileField(upload_to="usage-files/parts/%Y/%m/")
    records = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=PartStatus.choices, default="queued")
    records_read = models.PositiveIntegerField(default=0)
    records_accepted = models.PositiveIntegerField(default=0)
    records_rejected = models.PositiveIntegerField(default=0)
    records_duplicate = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    worker_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when a worker last took the part to rate it (charging.leases)",
    )
    detail = models.CharField(max_length=500, blank=True, help_text="why the part failed")

    class Meta:
        ordering = ["usage_file", "number"]
        constraints = [
            models.UniqueConstraint(fields=["usage_file", "number"], name="usage_file_part_once")
        ]

    def __str__(self) -> str:
        return f"{self.usage_file.name} part {self.number}"


class SequenceGap(models.Model):
    """Files of a source that never arrived: SEQ jumped from ``after`` to ``before``."""

    source = models.CharField(max_length=32)
    missing_from = models.PositiveIntegerField()
    missing_to = models.PositiveIntegerField()
    detected_in = models.ForeignKey(UsageFile, on_delete=models.CASCADE, related_name="gaps")
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source", "missing_from"]

    def __str__(self) -> str:
        if self.missing_from == self.missing_to:
            return f"{self.source} {self.missing_from:06d} missing"
        return f"{self.source} {self.missing_from:06d}–{self.missing_to:06d} missing"


class RejectReason(models.TextChoices):
    """Why a record was not accepted (stable codes, mno-cdr-format.md and R19)."""

    BAD_FIELD_COUNT = "BAD_FIELD_COUNT", "a column is missing or extra"
    BAD_RECORD_TYPE = "BAD_RECORD_TYPE", "unknown record type"
    BAD_NUMBER = "BAD_NUMBER", "a number field is not a non-negative integer"
    BAD_TIME = "BAD_TIME", "event time or UTC offset does not parse"
    BAD_FIELD = "BAD_FIELD", "a field is malformed"
    NO_SUBSCRIBER_ID = "NO_SUBSCRIBER_ID", "neither MSISDN nor IMSI"
    UNKNOWN_SUBSCRIBER = "UNKNOWN_SUBSCRIBER", "the number or IMSI is not known"
    INACTIVE_SUBSCRIPTION = "INACTIVE_SUBSCRIPTION", "the subscription is not active then"
    UNKNOWN_SOURCE = "UNKNOWN_SOURCE", "the sending network is not a known host network"


class RejectStatus(models.TextChoices):
    OPEN = "open", "open"
    REPROCESSED = "reprocessed", "reprocessed"
    DISCARDED = "discarded", "discarded"


class RejectedRecord(models.Model):
    """A record that was not accepted, kept with its line, raw text and reason (R16).

    It can be corrected and reprocessed once; it is then accepted (or rejected again, which
    keeps it open with the new reason).
    """

    usage_file = models.ForeignKey(UsageFile, on_delete=models.PROTECT, related_name="rejects")
    line_number = models.PositiveIntegerField()
    record_id = models.CharField(max_length=64, blank=True)
    raw = models.TextField()
    reason = models.CharField(max_length=24, choices=RejectReason.choices)
    detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=12, choices=RejectStatus.choices, default=RejectStatus.OPEN
    )
    corrected_raw = models.TextField(blank=True)
    reprocessed_at = models.DateTimeField(null=True, blank=True)
    reprocessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    usage_event = models.OneToOneField(
        "UsageEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="from_reject",
        db_constraint=False,  # a partitioned table's id alone is not a unique key
    )  # fmt: skip

    class Meta:
        ordering = ["usage_file", "line_number"]
        indexes = [models.Index(fields=["status", "reason"])]

    def __str__(self) -> str:
        return f"{self.usage_file.name}:{self.line_number} {self.reason}"


class UsageStaging(models.Model):
    """A record of a file being processed, between reading (line order) and rating (time order).

    Files are read in streaming chunks; accepted lines wait here so that rating can take them in
    the order of event time (R11b) without holding the file in memory.
    """

    usage_file = models.ForeignKey(UsageFile, on_delete=models.CASCADE, related_name="+")
    part = models.PositiveSmallIntegerField(default=0, help_text="0: the whole file")
    line_number = models.PositiveIntegerField()
    record_id = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    raw = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["usage_file", "part", "record_id"], name="staging_record_once_per_part"
            )
        ]
        indexes = [models.Index(fields=["usage_file", "part", "started_at", "line_number"])]

    def __str__(self) -> str:
        return f"{self.usage_file_id}:{self.line_number}"


class RatingStatus(models.TextChoices):
    RATED = "rated", "rated"
    ERROR = "error", "rating error"


class RatingError(models.TextChoices):
    """Why an accepted event could not be rated; it waits in the error queue (R7)."""

    NO_PLAN = "NO_PLAN", "no plan version in force at the event's time"
    NO_ZONE = "NO_ZONE", "the number or network is in no zone"
    NO_RATE = "NO_RATE", "no rate row matches"
    NO_WHOLESALE_TARIFF = "NO_WHOLESALE_TARIFF", "the host network has no wholesale card then"
    NO_WHOLESALE_RATE = "NO_WHOLESALE_RATE", "no wholesale rate row matches"
    NO_BAND = "NO_BAND", "the rate card's band set cannot place the time"
    INACTIVE_SUBSCRIPTION = "INACTIVE_SUBSCRIPTION", "on rerating, no longer active then"


class UsageEvent(models.Model):
    """An accepted, normalised usage record and its current rating (TMF635 usage).

    The usage store (issue 14): the table takes millions of rows a day, written with COPY. On
    PostgreSQL it is partitioned by month of ``started_at`` (migration 0005, charging.
    usage_store): its primary key is (id, started_at), partitions are created ahead by a
    periodic task and before a file's months are written, and an old month can be detached
    for archiving. On SQLite it is a plain table. Its references carry no database constraint
    (a per-row trigger each, checked at commit, cost more than the rating), since the rating
    engine writes ids it loaded in the same transaction; deleting a referenced row is still
    refused (PROTECT, by Django). The R17 key (source, record id) lives in UsageRecordKey, a
    narrow table of its own, since a unique index on a partitioned table must hold the
    partition key.

    Only the indexes a read of the product needs, each named with its read in Meta; plan
    version, rate rows and the account are not indexed (their delete protection scans, rare;
    an account's usage is reached through its subscriptions).

    ``units`` is the raw quantity in the service's base unit (seconds, bytes, 1 message);
    ``charged_units`` after increments (R9); ``covered_units`` drawn from allowances (R11,
    R12). Retail and wholesale amounts are exact to 6 places (R2, R14).
    """

    usage_file = models.ForeignKey(
        UsageFile, null=True, blank=True, on_delete=models.PROTECT, related_name="events",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    line_number = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=32)
    record_id = models.CharField(max_length=64)
    record_type = models.CharField(max_length=4)
    service = models.CharField(max_length=10, choices=Service.choices)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    msisdn = models.CharField(max_length=15)
    imsi = models.CharField(max_length=15, blank=True)
    started_at = models.DateTimeField()
    utc_offset = models.CharField(max_length=5)
    duration = models.PositiveIntegerField(default=0)
    volume_uplink = models.PositiveBigIntegerField(default=0)
    volume_downlink = models.PositiveBigIntegerField(default=0)
    units = models.PositiveBigIntegerField()
    other_party = models.CharField(max_length=32, blank=True)
    visited_plmn = models.CharField(max_length=6, blank=True)
    apn = models.CharField(max_length=64, blank=True)
    cause = models.CharField(max_length=10, blank=True)
    charging_id = models.CharField(max_length=64, blank=True)
    # Rating (R7-R14): what was applied, so that any charge can be explained.
    rating_status = models.CharField(max_length=6, choices=RatingStatus.choices)
    rating_error = models.CharField(max_length=24, choices=RatingError.choices, blank=True)
    rating_detail = models.CharField(max_length=300, blank=True)
    destination_zone = models.CharField(max_length=32, blank=True)
    roaming_zone = models.CharField(max_length=32, blank=True)
    time_band = models.CharField(max_length=32, blank=True)
    plan_version = models.ForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    rate_row = models.ForeignKey(
        RateRow, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    charged_units = models.PositiveBigIntegerField(default=0)
    covered_units = models.PositiveBigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    retail_amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True, blank=True
    )
    tax_inclusive = models.BooleanField(default=False)
    throttled = models.BooleanField(default=False)
    fair_use_units = models.PositiveBigIntegerField(
        default=0, help_text="units past a fair-use cap, charged at overage or throttled (R13)"
    )
    wholesale_rate_row = models.ForeignKey(
        RateRow, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    wholesale_units = models.PositiveBigIntegerField(default=0)
    wholesale_amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True, blank=True
    )
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [
            # A subscriber's usage in a period: the subscription and account pages, rerating,
            # invoicing (an account's usage through its subscriptions), fair-use reloads.
            models.Index(fields=["subscription", "started_at"], name="usage_sub_time"),
            # The error queue only: rated events, nearly all of them, are not indexed here.
            models.Index(
                fields=["rating_error"],
                name="usage_error_queue",
                condition=Q(rating_status="error"),
            ),
            # A file's events (file page, R17 closing of resent rejects): a plain index on
            # SQLite; on PostgreSQL a BRIN index (migration 0005), as file ids rise with time.
            models.Index(fields=["usage_file"], name="usage_file"),
        ]
        # The primary key (id; (id, started_at) on PostgreSQL) serves an event's page and the
        # references to it (rejects, rerate changes, fair-use counts, bucket draws).

    def __str__(self) -> str:
        return f"{self.source}/{self.record_id}"

    def get_absolute_url(self) -> str:
        return reverse("charging:usageevent-detail", args=[self.pk])


class UsageRecordKey(models.Model):
    """R17: a record id is accepted once per source; the event that holds it.

    Kept apart from the partitioned usage events, narrow, so that its unique key needs no
    partition key. Written with the events, in the same transaction (charging.pipeline,
    RatingRun.save); a second event with the same key is refused here, as the unique index
    on the events refused it before.
    """

    # The event's id: to find the event of a key, and to remove the key with its event.
    usage_event_id = models.BigIntegerField(primary_key=True)
    source = models.CharField(max_length=32)
    record_id = models.CharField(max_length=64)

    class Meta:
        constraints = [
            # R17: a record id is accepted once per source (duplicate checks, the console's
            # and the API's record id filters).
            models.UniqueConstraint(fields=["source", "record_id"], name="usage_record_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.record_id}"


class FairUseCount(models.Model):
    """Units counted towards a fair-use cap by one event (R13), per subscription and period."""

    usage_event = models.ForeignKey(
        UsageEvent, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    policy_id = models.PositiveBigIntegerField()
    period_start = models.DateTimeField()
    quantity = models.BigIntegerField(help_text="signed: a rerating takes back what it recounts")
    notified = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["subscription", "policy_id", "period_start"])]

    def __str__(self) -> str:
        return f"{self.quantity} towards policy {self.policy_id}"


class RerateScope(models.TextChoices):
    SUBSCRIPTION = "subscription", "one subscription"
    ACCOUNT = "account", "one billing account"
    PERIOD = "period", "every subscriber"


class RerateStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class RerateJob(models.Model):
    """A rerating of usage in ``[start, end)`` after a catalogue correction (R15)."""

    scope = models.CharField(max_length=12, choices=RerateScope.choices)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    billing_account = models.ForeignKey(
        BillingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=300)
    errors_only = models.BooleanField(
        default=False, help_text="only events waiting in the rating error queue"
    )
    status = models.CharField(max_length=8, choices=RerateStatus.choices, default="queued")
    status_detail = models.TextField(blank=True)
    events_total = models.PositiveIntegerField(default=0)
    events_done = models.PositiveIntegerField(default=0)
    events_changed = models.PositiveIntegerField(default=0)
    retail_before = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    retail_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    wholesale_before = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    wholesale_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="rerate_window_ok"),
            models.CheckConstraint(
                condition=(Q(scope="subscription") & Q(subscription__isnull=False))
                | (Q(scope="account") & Q(billing_account__isnull=False))
                | Q(scope="period"),
                name="rerate_scope_names_its_target",
            ),
        ]

    def __str__(self) -> str:
        zone = settings.TIME_ZONE
        start = local_date(self.start, zone)
        end = local_date(self.end - dt.timedelta(microseconds=1), zone)
        return f"rerate {self.scope} {start:%Y-%m-%d}–{end:%Y-%m-%d} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("charging:reratejob-detail", args=[self.pk])

    @property
    def progress(self) -> int:
        """Percent of the job's events rerated."""
        if not self.events_total:
            return 100 if self.status == RerateStatus.DONE else 0
        return int(self.events_done * 100 / self.events_total)


class RerateChange(models.Model):
    """One event whose amounts a rerating changed: before and after (R15).

    Invoicing turns the changes of already-invoiced events into a credit note or a debit
    adjustment on the next invoice; ``settled_at`` says when it took one in.
    """

    job = models.ForeignKey(RerateJob, on_delete=models.CASCADE, related_name="changes")
    usage_event = models.ForeignKey(
        UsageEvent, on_delete=models.PROTECT, related_name="rerates", db_constraint=False
    )
    retail_before = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True
    )
    retail_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True
    )
    wholesale_before = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True
    )
    wholesale_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True
    )
    status_before = models.CharField(max_length=6)
    status_after = models.CharField(max_length=6)
    plan_version_before = models.PositiveBigIntegerField(null=True)
    rate_row_before = models.PositiveBigIntegerField(null=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "usage_event"]
        indexes = [models.Index(fields=["settled_at"], name="rerate_change_unsettled")]

    def __str__(self) -> str:
        return f"{self.usage_event}: {self.retail_before} → {self.retail_after}"


# Online charging's models live with its services (charging.online); Django finds them here.
from charging.online.models import (  # noqa: E402, F401
    ChargingClient,
    ChargingNotification,
    ChargingRequest,
    ChargingSession,
    Reservation,
)
