"""Models of the settlement: partners, agreements, runs, statements, reconciliation, disputes.

What the MVNO owes its host networks and partners and what they owe it (R31, R32). A run
computes one partner's statement for one calendar month; the statement's lines are written
again while it is a draft (a rerun is idempotent) and never change once issued.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from catalog.models import Brand, HostNetwork
from core.money import RATED_PLACES

AMOUNT_DIGITS = 20
PERCENT_DIGITS = 9
PERCENT_PLACES = 6


class PartnerKind(models.TextChoices):
    HOST_NETWORK = "host_network", "host network"
    INTERCONNECT = "interconnect", "interconnect carrier"
    CONTENT = "content", "content / VAS provider"
    RESELLER = "reseller", "reseller"
    HOSTED_BRAND = "hosted_brand", "hosted brand"


class Partner(models.Model):
    """A party the MVNO settles with (TMF668 partner), belonging to the brand that contracts it.

    A host network partner names its catalogue ``host_network``: its events' wholesale ratings
    (R14) and its tariffs' fees (R31) make its cost. A reseller or hosted brand names the
    ``partner_brand`` whose invoiced revenue it shares (R32).
    """

    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="+", help_text="the contracting brand"
    )
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=14, choices=PartnerKind.choices)
    currency = models.CharField(max_length=3, default="EUR")
    timezone = models.CharField(max_length=64, default="Europe/Berlin")
    host_network = models.ForeignKey(
        HostNetwork, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    partner_brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="a reseller's or hosted brand's own brand",
    )
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    vat_id = models.CharField(max_length=32, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="host_network") | Q(host_network__isnull=False),
                name="host_network_partner_names_network",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("settlement:partner-detail", args=[self.pk])


class AgreementKind(models.TextChoices):
    WHOLESALE = "wholesale", "wholesale (host network costs, R31)"
    REVENUE_SHARE = "revenue_share", "revenue share paid to the partner (R32)"
    RESELLER = "reseller", "reseller keeps a share, owes the MVNO the rest (R32)"


class ShareBasis(models.TextChoices):
    REVENUE = "revenue", "tiers by invoiced revenue"
    VOLUME = "volume", "tiers by volume (invoiced events)"


class Agreement(models.Model):
    """A partner agreement (TMF651), in force over [effective_from, effective_to).

    Wholesale: the host network's card and fees in force are the catalogue's tariffs; the
    agreement holds the reconciliation tolerance. Revenue share and reseller: the invoiced
    revenue of the named plans, services and brands (none named: all) is shared at
    ``percent``, or progressively by ``tiers`` (``[{"from": "0", "percent": "10"}, …]``,
    thresholds in revenue or events), then held between ``floor`` and ``cap``.
    """

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="agreements")
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=14, choices=AgreementKind.choices)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="the first day not covered")
    plan_codes = models.JSONField(default=list, blank=True)
    services = models.JSONField(default=list, blank=True)
    brand_codes = models.JSONField(default=list, blank=True)
    basis = models.CharField(max_length=8, choices=ShareBasis.choices, default=ShareBasis.REVENUE)
    percent = models.DecimalField(
        max_digits=PERCENT_DIGITS,
        decimal_places=PERCENT_PLACES,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    tiers = models.JSONField(default=list, blank=True)
    cap = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True, blank=True
    )
    floor = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True, blank=True
    )
    tolerance_amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=Decimal("0.01")
    )
    tolerance_percent = models.DecimalField(
        max_digits=PERCENT_DIGITS, decimal_places=PERCENT_PLACES, default=Decimal("0.5")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["partner", "effective_from"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("settlement:agreement-detail", args=[self.pk])


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class SettlementRun(models.Model):
    """One partner's settlement of one calendar month, computed by a Celery job."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="runs")
    period_year = models.PositiveSmallIntegerField()
    period_month = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    status_detail = models.TextField(blank=True)
    events = models.BigIntegerField(default=0)
    seconds = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_year", "-period_month", "partner"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_year", "period_month"], name="one_settlement_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner.code} {self.period_year}-{self.period_month:02d}"

    def get_absolute_url(self) -> str:
        return reverse("settlement:run-detail", args=[self.pk])


class StatementStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    ISSUED = "issued", "issued"
    AGREED = "agreed", "agreed"
    DISPUTED = "disputed", "disputed"


class Direction(models.TextChoices):
    PAYABLE = "payable", "the MVNO owes the partner"
    RECEIVABLE = "receivable", "the partner owes the MVNO"


class Statement(models.Model):
    """A settlement statement (TMF678-like bill): draft → issued → agreed or disputed."""

    run = models.OneToOneField(SettlementRun, on_delete=models.PROTECT, related_name="statement")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="statements")
    status = models.CharField(
        max_length=8, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    number = models.CharField(max_length=40, blank=True)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = models.CharField(max_length=3)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    exact_total = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=Decimal("0")
    )
    total = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=Decimal("0"))
    issued_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    pdf = models.FileField(upload_to="settlement/%Y/%m/", blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "partner"]

    def __str__(self) -> str:
        return self.number or f"draft {self.run}"

    def get_absolute_url(self) -> str:
        return reverse("settlement:statement-detail", args=[self.pk])


class LineKind(models.TextChoices):
    USAGE = "usage", "wholesale usage"
    SIM_FEE = "sim_fee", "SIM fees"
    PLATFORM_FEE = "platform_fee", "platform fee"
    SHORTFALL = "shortfall", "minimum commitment shortfall"
    REVENUE = "revenue", "invoiced revenue"
    SHARE = "share", "revenue share"
    DISPUTE = "dispute", "dispute settled"


class StatementLine(models.Model):
    """One line of a statement: exact to 6 places (R2), rounded once in the statement total.

    ``counts`` tells whether the line adds to the total (the invoiced revenue a share is
    computed on is shown but not owed).
    """

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    service = models.CharField(max_length=10, blank=True)
    roaming_zone = models.CharField(max_length=32, blank=True)
    events = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    counts = models.BooleanField(default=True)
    dispute = models.ForeignKey(
        "DisputeItem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["statement", "position"]

    def __str__(self) -> str:
        return self.description


class Reconciliation(models.Model):
    """A host network's invoice (or usage summary) imported and matched against our figures."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="reconciliations")
    period_year = models.PositiveSmallIntegerField()
    period_month = models.PositiveSmallIntegerField()
    file_name = models.CharField(max_length=255)
    lines_read = models.PositiveIntegerField(default=0)
    lines_matched = models.PositiveIntegerField(default=0)
    their_total = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=Decimal("0")
    )
    our_total = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=Decimal("0")
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.partner.code} {self.period_year}-{self.period_month:02d} {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("settlement:reconciliation-detail", args=[self.pk])


class DisputeStatus(models.TextChoices):
    OPEN = "open", "open"
    ACCEPTED = "accepted", "accepted (we pay the partner's figure)"
    REJECTED = "rejected", "rejected (our figure stands)"
    CREDITED = "credited", "credited (the partner credits the difference)"


class DisputeItem(models.Model):
    """A line of a partner's invoice that differs from ours beyond the tolerance (R31).

    ``difference`` is theirs minus ours. Accepted: the next statement adds the difference;
    credited: the next statement takes it off (the partner's invoice was paid in full);
    rejected: nothing changes.
    """

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.PROTECT, related_name="disputes"
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="disputes")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    service = models.CharField(max_length=10)
    roaming_zone = models.CharField(max_length=32)
    our_units = models.BigIntegerField(default=0)
    our_amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    their_units = models.BigIntegerField(default=0)
    their_amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    difference = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    status = models.CharField(
        max_length=8, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    note = models.CharField(max_length=300, blank=True)
    settled_on = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "service", "roaming_zone"]

    def __str__(self) -> str:
        return f"{self.partner.code} {self.service}/{self.roaming_zone or '—'}: {self.difference}"

    def get_absolute_url(self) -> str:
        return reverse("settlement:dispute-detail", args=[self.pk])
