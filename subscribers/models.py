"""Who is billed, for what, and what they have left (billing-rules R6, R11, R20-R25, R29).

Money and units are never edited in place: a balance is the sum of its ledger movements, a bucket's
remainder the sum of its movements. What a subscription was at any instant (plan, number, SIM,
status) is kept as effective-dated terms.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from catalog.models import (  # noqa: F401 - BrandScope lives next to Brand, still named here
    AddOn,
    Allowance,
    Brand,
    BrandScope,
    HostNetwork,
    PaymentModel,
    Plan,
    PlanVersion,
    Promotion,
    TaxRegion,
)

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 6

digits_only = RegexValidator(r"^[0-9]+$", "digits only")


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CustomerKind(models.TextChoices):
    PERSON = "person", "person"
    BUSINESS = "business", "business"


class Customer(TimestampedModel):
    """A person or a business with its contact details (TMF629 customer)."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="customers")
    number = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=10, choices=CustomerKind.choices)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="DE", help_text="ISO 3166 alpha-2")
    tax_id = models.CharField(max_length=32, blank=True, help_text="VAT number of a business")
    language = models.CharField(max_length=8, default="en")
    external_id = models.CharField(max_length=64, blank=True, help_text="the CRM's reference")
    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(fields=["brand", "last_name"])]

    def __str__(self) -> str:
        return f"{self.number} {self.display_name}"

    def get_absolute_url(self) -> str:
        return reverse("subscribers:customer-detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        if self.kind == CustomerKind.BUSINESS:
            return self.company_name
        return f"{self.first_name} {self.last_name}".strip()


class BillingAccountStatus(models.TextChoices):
    ACTIVE = "active", "active"
    CLOSED = "closed", "closed"


class BillingAccount(TimestampedModel):
    """The account invoices go to (TMF666 billingAccount).

    Its timezone decides its billing periods, time bands and proration days (R6); a child account
    of a B2B hierarchy with ``invoice_to_parent`` is invoiced on its parent's invoice.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    number = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=BillingAccountStatus.choices, default=BillingAccountStatus.ACTIVE
    )
    currency = models.CharField(max_length=3, default="EUR")
    timezone = models.CharField(max_length=64, default="Europe/Berlin")
    bill_cycle_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="1 to 28"
    )
    payment_terms_days = models.PositiveSmallIntegerField(default=14)
    tax_region = models.ForeignKey(TaxRegion, on_delete=models.PROTECT, related_name="+")
    payment_model = models.CharField(max_length=10, choices=PaymentModel.choices)
    credit_limit = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        default=Decimal("0"),
        help_text="how far a hybrid account's balance may go below zero",
    )
    dunning_policy = models.CharField(
        max_length=32, blank=True, help_text="code of the dunning policy (invoicing)"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    invoice_to_parent = models.BooleanField(
        default=False, help_text="charges roll up to the parent account's invoice"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bill_cycle_day__gte=1) & Q(bill_cycle_day__lte=28),
                name="bill_cycle_day_1_to_28",
            ),
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="credit_limit_ok"),
            models.CheckConstraint(
                condition=Q(invoice_to_parent=False) | Q(parent__isnull=False),
                name="invoice_to_parent_needs_parent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("subscribers:billingaccount-detail", args=[self.pk])


class SimStatus(models.TextChoices):
    AVAILABLE = "available", "available"
    ASSIGNED = "assigned", "assigned"
    RETIRED = "retired", "retired"


class SimBatch(TimestampedModel):
    """A delivery of SIM cards loaded at once (CSV upload)."""

    reference = models.CharField(max_length=64, unique=True)
    host_network = models.ForeignKey(HostNetwork, on_delete=models.PROTECT, related_name="+")
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "SIM batches"

    def __str__(self) -> str:
        return self.reference


class Sim(TimestampedModel):
    """A SIM card: ICCID and IMSI; on one subscription at a time at most."""

    iccid = models.CharField(max_length=22, unique=True, validators=[digits_only])
    imsi = models.CharField(max_length=15, unique=True, validators=[digits_only])
    status = models.CharField(max_length=10, choices=SimStatus.choices, default=SimStatus.AVAILABLE)
    batch = models.ForeignKey(
        SimBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="sims"
    )
    host_network = models.ForeignKey(HostNetwork, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["iccid"]
        verbose_name = "SIM"

    def __str__(self) -> str:
        return self.iccid


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "pending"
    ACTIVE = "active", "active"
    SUSPENDED = "suspended", "suspended"
    BARRED = "barred", "barred (outgoing)"
    TERMINATED = "terminated", "terminated"


# Statuses in which usage is rated (R19): barring stops outgoing use, incoming is still rated.
RATABLE_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.BARRED})


class Subscription(TimestampedModel):
    """A plan instantiated for a customer on one number and SIM (TMF637 product).

    The current plan, number, SIM and status are kept here for lists; what was in force at any
    instant is in ``terms``.
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="subscriptions"
    )
    status = models.CharField(
        max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.PENDING
    )
    msisdn = models.CharField(max_length=15, validators=[digits_only], db_index=True)
    sim = models.ForeignKey(Sim, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    user_name = models.CharField(
        "used by",
        max_length=200,
        blank=True,
        # A row written by COPY or raw SQL (bulk loads, benchmarks) gets an empty name too.
        default="",
        db_default="",
        help_text="the person using the line, when not the account holder (a family member, "
        "an employee)",
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("add_ons", "promotions")

    class Meta:
        ordering = ["msisdn"]
        indexes = [models.Index(fields=["billing_account", "status"])]

    def __str__(self) -> str:
        return f"+{self.msisdn}"

    def get_absolute_url(self) -> str:
        return reverse("subscribers:subscription-detail", args=[self.pk])


class SubscriptionTerm(models.Model):
    """A stretch ``[valid_from, valid_to)`` in which a subscription's plan, number, SIM and
    status stayed the same. Terms of one subscription follow each other without gap or overlap;
    the last one is open (``valid_to`` empty). The rating engine finds the subscription of a
    number or IMSI at an instant with one indexed query on these rows (R19).
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="terms")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    msisdn = models.CharField(max_length=15)
    imsi = models.CharField(max_length=15, blank=True)
    sim = models.ForeignKey(Sim, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=SubscriptionStatus.choices)
    change = models.CharField(max_length=40, help_text="the lifecycle action that began it")

    class Meta:
        ordering = ["subscription", "valid_from"]
        indexes = [
            models.Index(fields=["msisdn", "valid_from"], name="term_msisdn_from"),
            models.Index(fields=["imsi", "valid_from"], name="term_imsi_from"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="term_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(valid_to__isnull=True),
                name="one_open_term_per_subscription",
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.msisdn} {self.status} {self.plan_id} from {self.valid_from:%Y-%m-%d %H:%M}"


class SubscriptionAddOn(TimestampedModel):
    """An add-on bought for a subscription, valid ``[valid_from, valid_to)``."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="add_ons")
    add_on = models.ForeignKey(AddOn, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["subscription", "valid_from"]

    def __str__(self) -> str:
        return f"{self.add_on.code} on +{self.subscription.msisdn}"


class SubscriptionPromotion(TimestampedModel):
    """A promotion granted to a subscription from a billing period on (R35)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="promotions"
    )
    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="+")
    granted_from = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["subscription", "granted_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "promotion"], name="promotion_once_per_subscription"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion.code} on +{self.subscription.msisdn}"


# --- balances -------------------------------------------------------------------------------


class MovementKind(models.TextChoices):
    TOPUP = "topup", "top-up"
    CHARGE = "charge", "charge"
    RESERVATION = "reservation", "reservation"
    RELEASE = "release", "release"
    EXPIRY = "expiry", "expiry"
    ADJUSTMENT = "adjustment", "adjustment"
    RENEWAL = "renewal", "plan renewal"


class BalanceMovement(models.Model):
    """One movement of a prepaid or hybrid account's money; the balance is their sum.

    ``amount`` is signed: a top-up adds, a charge or a reservation takes away (R21).
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="balance_movements"
    )
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["billing_account", "id"]
        indexes = [models.Index(fields=["billing_account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class BucketSource(models.TextChoices):
    PLAN = "plan", "plan allowance"
    ADD_ON = "add_on", "add-on"
    ADJUSTMENT = "adjustment", "goodwill or correction"


class Bucket(models.Model):
    """Units granted for a validity window (R11, R12); the remainder is the sum of movements.

    A bucket belongs to one subscription, or is ``shared`` by every subscription of a billing
    account on the plan that grants it (a family or B2B pool).
    """

    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="buckets"
    )
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.CASCADE, related_name="buckets"
    )
    shared = models.BooleanField(default=False)
    source = models.CharField(max_length=12, choices=BucketSource.choices)
    allowance = models.ForeignKey(
        Allowance, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    plan_version = models.ForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subscription_add_on = models.ForeignKey(
        SubscriptionAddOn, null=True, blank=True, on_delete=models.CASCADE, related_name="buckets"
    )
    name = models.CharField(max_length=100)
    services = models.JSONField()
    unit = models.CharField(max_length=8, help_text="base unit: SECOND, BYTE, MESSAGE or EVENT")
    initial = models.PositiveBigIntegerField(help_text="units granted, in the base unit")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["valid_to", "id"]
        indexes = [
            models.Index(fields=["subscription", "valid_from"]),
            models.Index(fields=["billing_account", "valid_from"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gt=models.F("valid_from")), name="bucket_window_ok"
            ),
            models.CheckConstraint(
                condition=Q(shared=True) | Q(subscription__isnull=False),
                name="personal_bucket_has_subscription",
            ),
            # One grant per allowance, holder and window: granting twice is refused by the
            # database (R12, idempotent period grants).
            models.UniqueConstraint(
                fields=["subscription", "allowance", "valid_from"],
                condition=Q(shared=False, allowance__isnull=False),
                name="bucket_grant_once",
            ),
            models.UniqueConstraint(
                fields=["billing_account", "allowance", "valid_from"],
                condition=Q(shared=True, allowance__isnull=False),
                name="shared_bucket_grant_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.valid_from:%Y-%m-%d}, {self.valid_to:%Y-%m-%d})"


class BucketMovementKind(models.TextChoices):
    USAGE = "usage", "usage"
    RESERVATION = "reservation", "reservation"
    RELEASE = "release", "release"
    EXPIRY = "expiry", "expiry"
    ADJUSTMENT = "adjustment", "adjustment"


class BucketMovement(models.Model):
    """One signed movement of a bucket's units; remaining = initial + the sum of movements."""

    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(max_length=12, choices=BucketMovementKind.choices)
    quantity = models.BigIntegerField(help_text="signed, in the bucket's base unit")
    reason = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, blank=True)
    # The usage event a draw (or its take-back on rerating) belongs to, by id: a bigint, not a
    # ``usage:<id>`` text (issue 14). No foreign key: the usage store is partitioned by month,
    # and a draw outlives a detached month as the append-only ledger it is.
    usage_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["bucket", "id"]
        indexes = [
            # Serves the movements of a top-up, a session or a refund by their reference; usage
            # draws carry none (their event's id instead), so they are left out of it.
            models.Index(
                fields=["reference"], name="bucket_movement_reference", condition=~Q(reference="")
            ),
            # Serves an event's draws: "how was this priced", online refunds, rerating.
            models.Index(
                fields=["usage_event_id"],
                name="bucket_movement_usage_event",
                condition=Q(usage_event_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity}"


# --- top-ups and vouchers -------------------------------------------------------------------


class TopUpChannel(models.TextChoices):
    VOUCHER = "voucher", "voucher"
    CARD = "card", "card"
    PARTNER = "partner", "partner"
    CONSOLE = "console", "console (operator)"


class TopUp(models.Model):
    """Money added to a prepaid or hybrid account through a channel, with its reference."""

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="top_ups"
    )
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    channel = models.CharField(max_length=10, choices=TopUpChannel.choices)
    reference = models.CharField(max_length=100)
    movement = models.OneToOneField(BalanceMovement, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "reference"], name="topup_reference_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="topup_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} via {self.channel} ({self.reference})"


class VoucherBatch(TimestampedModel):
    """A batch of single-use top-up vouchers of one value."""

    reference = models.CharField(max_length=64, unique=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3)
    count = models.PositiveIntegerField()
    valid_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "voucher batches"

    def __str__(self) -> str:
        return self.reference


class VoucherStatus(models.TextChoices):
    ACTIVE = "active", "active"
    REDEEMED = "redeemed", "redeemed"
    VOID = "void", "void"


class Voucher(models.Model):
    """One voucher; only a hash of its secret code is stored, and it is redeemed once."""

    batch = models.ForeignKey(VoucherBatch, on_delete=models.PROTECT, related_name="vouchers")
    serial = models.CharField(max_length=32, unique=True)
    code_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=10, choices=VoucherStatus.choices, default=VoucherStatus.ACTIVE
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    top_up = models.OneToOneField(
        TopUp, null=True, blank=True, on_delete=models.PROTECT, related_name="voucher"
    )

    class Meta:
        ordering = ["serial"]

    def __str__(self) -> str:
        return self.serial


# --- prepaid plan renewals ------------------------------------------------------------------


class RenewalStatus(models.TextChoices):
    RENEWED = "renewed", "renewed"
    PENDING = "pending", "waiting for a top-up (suspended)"
    LAPSED = "lapsed", "lapsed (the period ended unpaid)"


class PlanRenewal(models.Model):
    """A prepaid subscription's plan renewed (or waiting to be) for one billing period.

    The UNIQUE (subscription, period start) makes a renewal once per period, whatever reruns
    of the beat task happen. A renewal short of balance is PENDING and its subscription
    suspended; a top-up renews it (prorated from that day, R24) and lifts the suspension.
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="renewals"
    )
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="renewals"
    )
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(max_length=8, choices=RenewalStatus.choices)
    fee = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=2, help_text="what the period costs in full"
    )
    amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        default=Decimal("0"),
        help_text="what was taken from the balance (prorated by days, R24)",
    )
    currency = models.CharField(max_length=3)
    days = models.PositiveSmallIntegerField(default=0, help_text="days of the period paid")
    days_in_period = models.PositiveSmallIntegerField(default=0)
    movement = models.OneToOneField(
        BalanceMovement, null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    suspended = models.BooleanField(
        default=False, help_text="this renewal suspended the subscription (lifted on renewal)"
    )
    created_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "subscription"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="plan_renewal_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="plan_renewal_period_ok"
            ),
        ]
        indexes = [models.Index(fields=["status", "period_end"], name="plan_renewal_status")]

    def __str__(self) -> str:
        return f"+{self.subscription.msisdn} {self.period_start:%Y-%m-%d} {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("subscribers:subscription-detail", args=[self.subscription_id])
