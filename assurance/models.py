"""Revenue assurance: reconciliations of the usage chain (R33) and leakage findings.

A reconciliation is a snapshot of one period's usage chain, one row per source (host network)
and one total row (``source`` empty); it is never changed after it is written (append-only: a
new run is a new snapshot). A finding is one difference or leak, keyed by a stable fingerprint
(the check and what it is about), so that a finding that comes back after it was fixed is the
same row, reopened and marked as recurring.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from catalog.models import Brand

AMOUNT_DIGITS = 20
RATED_PLACES = 6


class Reconciliation(models.Model):
    """One run of the usage-chain reconciliation of a period (R33), on schedule or on demand."""

    period_start_date = models.DateField()
    period_end_date = models.DateField(help_text="the first day after the period")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = models.CharField(max_length=3, blank=True)
    balanced = models.BooleanField(default=False)
    findings = models.PositiveIntegerField(default=0, help_text="findings the run raised")
    seconds = models.DecimalField(max_digits=10, decimal_places=3, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=12, default="on demand")

    class Meta:
        ordering = ["-period_start_date", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.period_start_date:%Y-%m} ({self.created_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("assurance:reconciliation-detail", args=[self.pk])


class ReconciliationRow(models.Model):
    """The usage chain of one source in a period (``source`` empty: every source together).

    R33: received = accepted + rejected + duplicates; accepted = rated + in error; rated retail
    = invoiced usage + unbilled + rounding. Record counts are of the files of the period;
    amounts are of the events started in the period.
    """

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="rows"
    )
    source = models.CharField(max_length=32, blank=True)
    files_loaded = models.PositiveIntegerField(default=0)
    files_duplicate = models.PositiveIntegerField(default=0)
    files_quarantined = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    sequence_gaps = models.PositiveIntegerField(default=0)
    received = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    rated = models.BigIntegerField(default=0)
    in_error = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0, help_text="events started in the period")
    rated_retail = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    invoiced_usage = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    unbilled = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0)
    rounding = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0)
    difference = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0,
        help_text="rated retail − (invoiced + unbilled + rounding): zero when the chain balances",
    )  # fmt: skip
    wholesale = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )

    class Meta:
        ordering = ["reconciliation", "source"]
        constraints = [
            models.UniqueConstraint(fields=["reconciliation", "source"], name="recon_row_once")
        ]

    def __str__(self) -> str:
        return f"{self.reconciliation} {self.source or 'all sources'}"

    @property
    def records_balanced(self) -> bool:
        return self.received == self.accepted + self.rejected + self.duplicates

    @property
    def rating_balanced(self) -> bool:
        return self.accepted == self.rated + self.in_error


class FindingKind(models.TextChoices):
    """What a finding was raised by: a reconciliation difference or a leakage check."""

    FILE_BALANCE = "file_balance", "file counts do not add up (R16, R33)"
    RATING_BALANCE = "rating_balance", "accepted records not all rated or in error (R33)"
    MONEY_BALANCE = "money_balance", "rated retail ≠ invoiced + unbilled + rounding (R33)"
    LINE_ROUNDING = "line_rounding", "a usage line rounded by more than half a minor unit (R33)"
    SEQUENCE_GAP = "sequence_gap", "missing file (sequence gap)"
    QUARANTINED_FILE = "quarantined_file", "quarantined file (R18)"
    DUPLICATE_FILE = "duplicate_file", "duplicate file refused (R17)"
    UNBILLED = "unbilled", "rated usage on no invoice after its period closed"
    INACTIVE_USAGE = "inactive_usage", "usage on a suspended, barred or terminated subscription"
    NO_RECURRING_FEE = "no_recurring_fee", "active subscription with no recurring fee invoiced"
    ZERO_RATED = "zero_rated", "rated at zero outside free destinations and allowances"
    DUPLICATE_CHARGE = "duplicate_charge", "same subscription, start and quantity twice"
    WHOLESALE_NO_RETAIL = "wholesale_no_retail", "wholesale cost with no retail event"
    PLAN_MARGIN = "plan_margin", "plan's wholesale cost exceeds its retail"
    AGED_ERRORS = "aged_errors", "rating errors older than the allowed days"
    OPEN_SESSIONS = "open_sessions", "online sessions never terminated"


class FindingState(models.TextChoices):
    OPEN = "open", "open"
    EXPLAINED = "explained", "explained"
    FIXED = "fixed", "fixed"


class Finding(models.Model):
    """A difference of the usage chain or a leak: its amount at risk and the records behind it.

    ``records`` is what the finding is about: ``{"model": "charging.usageevent", "ids": [...]}``
    (at most ``RECORDS_KEPT`` ids, ``record_count`` says how many there are). The fingerprint
    is stable across runs: a finding seen again is the same row; one that comes back after it
    was fixed is reopened and counts its recurrences.
    """

    RECORDS_KEPT = 200

    fingerprint = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=24, choices=FindingKind.choices)
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="empty: a finding of the usage chain, seen by users of every brand",
    )  # fmt: skip
    period_start_date = models.DateField()
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    amount_at_risk = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    currency = models.CharField(max_length=3, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    records = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=FindingState.choices, default="open")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    fixed_at = models.DateTimeField(null=True, blank=True)
    recurrences = models.PositiveIntegerField(
        default=0, help_text="times it came back after it was fixed"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["state", "-amount_at_risk", "-last_seen_at", "id"]
        indexes = [models.Index(fields=["period_start_date", "kind"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("assurance:finding-detail", args=[self.pk])

    @property
    def recurred(self) -> bool:
        return self.recurrences > 0


class FindingComment(models.Model):
    """A note on a finding: append-only, never edited."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["finding", "created_at", "id"]

    def __str__(self) -> str:
        return f"comment on finding {self.finding_id}"


class WhatIfRun(models.Model):
    """A draft plan version rated on the last closed period's real usage of its plan's
    subscribers: nothing written to any ledger, only the outcome kept here."""

    plan_version = models.ForeignKey(
        "catalog.PlanVersion", on_delete=models.CASCADE, related_name="+"
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    period_start_date = models.DateField()
    currency = models.CharField(max_length=3)
    subscriptions = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="events the draft cannot rate")
    retail_before = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    retail_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    recurring_before = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    recurring_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    wholesale = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    bill_shock = models.JSONField(default=list, help_text="subscriptions whose bill rises most")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"what-if {self.plan_version} on {self.period_start_date:%Y-%m}"

    def get_absolute_url(self) -> str:
        return reverse("assurance:whatif-detail", args=[self.pk])

    @property
    def revenue_before(self):
        return self.retail_before + self.recurring_before

    @property
    def revenue_after(self):
        return self.retail_after + self.recurring_after

    @property
    def margin_before(self):
        return self.revenue_before - self.wholesale

    @property
    def margin_after(self):
        return self.revenue_after - self.wholesale
