"""Bill cycles, bill runs, invoices, credit notes and their documents (billing-rules R3, R4,
R24-R29, R34, R35).

An invoice is built as a draft by a bill run, reviewed, then issued: issuing gives it a gapless
number from its series' counter row (R27) and makes it final (R28). Corrections are credit notes,
themselves invoices of kind ``credit_note`` whose amounts are negative and which name the invoice
they correct. Amounts are Decimals in the invoice's currency, rounded to its minor unit through
``core.money`` only.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Round
from django.urls import reverse
from simple_history.models import HistoricalRecords

from catalog.models import Brand, PlanVersion, PrepaidTaxPoint, Promotion
from core.money import RATED_PLACES
from subscribers.models import BillingAccount, Subscription, SubscriptionAddOn

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 2
RATE_DIGITS = 7
RATE_PLACES = 5


class BillCycle(models.Model):
    """The billing accounts of one brand that share a bill cycle day (TMF666
    billingCycleSpecification); a bill run bills one cycle for one period."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    cycle_day = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="the day of the month each period starts (1 to 28)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["brand", "cycle_day"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "cycle_day"], name="bill_cycle_once_per_day"),
            models.CheckConstraint(
                condition=Q(cycle_day__gte=1) & Q(cycle_day__lte=28), name="bill_cycle_day_ok"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("invoicing:billcycle-detail", args=[self.pk])


class BillRunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DRAFTED = "drafted", "drafts ready for review"
    ISSUING = "issuing", "issuing"
    ISSUED = "issued", "issued"
    FAILED = "failed", "failed"


class BillRun(models.Model):
    """One bill cycle billed for one period: a Celery job over the cycle's accounts (R26).

    The period is the month ``period_year``/``period_month`` starting on the cycle day, in each
    account's own timezone. Progress is kept on the row so the console and the API can show it.
    """

    cycle = models.ForeignKey(BillCycle, on_delete=models.PROTECT, related_name="runs")
    period_year = models.PositiveSmallIntegerField()
    period_month = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    status = models.CharField(
        max_length=10, choices=BillRunStatus.choices, default=BillRunStatus.QUEUED
    )
    status_detail = models.TextField(blank=True)
    accounts_total = models.PositiveIntegerField(default=0)
    accounts_done = models.PositiveIntegerField(default=0)
    accounts_empty = models.PositiveIntegerField(
        default=0, help_text="accounts with nothing to bill in the period"
    )
    accounts_failed = models.PositiveIntegerField(default=0)
    invoices_issued = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_year", "-period_month", "cycle"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "period_year", "period_month"], name="bill_run_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(period_month__gte=1) & Q(period_month__lte=12),
                name="bill_run_month_ok",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle.code} {self.period_year}-{self.period_month:02d}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:billrun-detail", args=[self.pk])

    @property
    def progress(self) -> int:
        """Percent of the run's accounts done (billed, empty or failed)."""
        if not self.accounts_total:
            return 100 if self.status in (BillRunStatus.DRAFTED, BillRunStatus.ISSUED) else 0
        return min(100, int(self.accounts_done * 100 / self.accounts_total))

    @property
    def eta_seconds(self) -> int | None:
        """Seconds left at the pace so far, or None before any progress or after the end."""
        if self.status != BillRunStatus.RUNNING or not self.started_at or not self.progress_at:
            return None
        if not self.accounts_done:
            return None
        elapsed = (self.progress_at - self.started_at).total_seconds()
        left = max(self.accounts_total - self.accounts_done, 0)
        return int(elapsed / self.accounts_done * left)


class BillRunError(models.Model):
    """An account the bill run could not bill, and why; a rerun tries it again."""

    bill_run = models.ForeignKey(BillRun, on_delete=models.CASCADE, related_name="errors")
    billing_account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="+")
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bill_run", "billing_account"]

    def __str__(self) -> str:
        return f"{self.billing_account}: {self.message[:60]}"


class InvoiceSeries(models.Model):
    """A numbering series and its counter row, locked while issuing (R27)."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32, help_text="the prefix, e.g. INV-2026")
    last_number = models.PositiveBigIntegerField(default=0)
    width = models.PositiveSmallIntegerField(default=6)

    class Meta:
        ordering = ["brand", "code"]
        verbose_name_plural = "invoice series"
        constraints = [
            models.UniqueConstraint(fields=["brand", "code"], name="invoice_series_once")
        ]

    def __str__(self) -> str:
        return f"{self.code} (last {self.last_number})"

    def format(self, value: int) -> str:
        return f"{self.code}-{value:0{self.width}d}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "invoice"
    CREDIT_NOTE = "credit_note", "credit note"
    STATEMENT = "statement", "prepaid statement"
    RECEIPT = "receipt", "top-up receipt"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "draft"
    EXCLUDED = "excluded", "excluded from the run"
    ISSUED = "issued", "issued"
    PARTIALLY_PAID = "partially_paid", "partially paid"
    PAID = "paid", "paid"
    OVERDUE = "overdue", "overdue"
    VOID = "void", "void"


# Statuses of a document that is final (R28): it has a number and never changes again.
FINAL_STATUSES = frozenset(
    {
        InvoiceStatus.ISSUED,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.VOID,
    }
)


class Invoice(models.Model):
    """An invoice, credit note, prepaid statement or receipt of one billing account (TMF678
    customerBill).

    One document of a kind per account and period (R26): the database refuses a second one.
    ``net_total``, ``tax_total`` and ``gross_total`` are the sums of its tax rows (R4).
    """

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="invoices"
    )
    bill_run = models.ForeignKey(
        BillRun, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default="invoice")
    status = models.CharField(
        max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    series = models.ForeignKey(
        InvoiceSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(max_length=40, blank=True, db_index=True)
    period_start_date = models.DateField()
    period_end_date = models.DateField(help_text="the first day after the period")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    currency = models.CharField(max_length=3)
    tax_inclusive = models.BooleanField(default=False)
    net_total = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=0)
    gross_total = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=0)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="the invoice a credit note corrects",
    )
    reason = models.CharField(max_length=300, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_address = models.TextField(blank=True)
    customer_tax_id = models.CharField(max_length=32, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start_date", "billing_account"]
        indexes = [
            models.Index(fields=["bill_run", "status"]),
            models.Index(fields=["brand", "status", "issue_date"]),
        ]
        constraints = [
            # R26: one invoice (or statement) per account and period, whatever reruns happen.
            models.UniqueConstraint(
                fields=["billing_account", "kind", "period_start_date"],
                condition=Q(kind__in=["invoice", "statement"]),
                name="invoice_once_per_account_period",
            ),
            # R27: a number is unique in its series; drafts have none.
            models.UniqueConstraint(
                fields=["series", "number"],
                condition=~Q(number=""),
                name="invoice_number_unique_in_series",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "excluded"]) | ~Q(number=""),
                name="issued_invoice_has_number",
            ),
            models.CheckConstraint(
                condition=~Q(kind="credit_note") | Q(corrects__isnull=False),
                name="credit_note_names_its_invoice",
            ),
            models.CheckConstraint(
                condition=Q(period_end_date__gt=models.F("period_start_date")),
                name="invoice_period_ok",
            ),
        ]

    def __str__(self) -> str:
        label = self.number or f"draft {self.pk}"
        return f"{self.get_kind_display().capitalize()} {label}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:invoice-detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def period_last_date(self):
        """The last day of the period (``period_end_date`` is the first day after it)."""
        return self.period_end_date - dt.timedelta(days=1)


class LineKind(models.TextChoices):
    RECURRING = "recurring", "recurring fee"
    ONE_TIME = "one_time", "one-time fee"
    DISCOUNT = "discount", "discount"
    USAGE = "usage", "usage"
    ADJUSTMENT = "adjustment", "adjustment"


class InvoiceLine(models.Model):
    """One line of an invoice (TMF678 appliedCustomerBillingRate), naming the period it covers.

    ``amount`` is in the invoice's currency at its minor unit: net for net-priced accounts,
    gross for tax-inclusive ones (R4). A usage line keeps the exact sum of its events
    (``rated_amount``, R3) and their count; ``billing_account`` is the section of a parent's
    invoice the line belongs to (a child account rolled up), or the invoice's own account.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    billing_account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="+")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=300)
    service = models.CharField(max_length=10, blank=True)
    destination_zone = models.CharField(max_length=32, blank=True)
    roaming_zone = models.CharField(max_length=32, blank=True)
    period_start_date = models.DateField(null=True, blank=True)
    period_end_date = models.DateField(
        null=True, blank=True, help_text="the first day after what the line covers"
    )
    days = models.PositiveSmallIntegerField(null=True, blank=True)
    days_in_period = models.PositiveSmallIntegerField(null=True, blank=True)
    quantity = models.BigIntegerField(default=1, help_text="events of a usage line")
    unit_price = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, null=True, blank=True
    )
    rated_amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=RATED_PLACES,
        null=True,
        blank=True,
        help_text="the exact sum of a usage line's event charges (R3)",
    )
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    tax_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    plan_version = models.ForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subscription_add_on = models.ForeignKey(
        SubscriptionAddOn, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    promotion = models.ForeignKey(
        Promotion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the invoice line a credit note line corrects",
    )

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position")
        ]
        indexes = [models.Index(fields=["subscription", "kind", "period_start_date"])]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"

    @property
    def period_last_date(self):
        """The last day the line covers (``period_end_date`` is the first day after it)."""
        if self.period_end_date is None:
            return None
        return self.period_end_date - dt.timedelta(days=1)

    @property
    def tax_percent(self):
        """The tax rate in percent, without trailing zeros: 19 for 0.19000."""
        return (self.tax_rate * 100).normalize()


class InvoiceTax(models.Model):
    """The taxable amount, tax and gross of one tax rate on one invoice (R4)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    net = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    tax = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    gross = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)

    class Meta:
        ordering = ["invoice", "rate"]
        verbose_name_plural = "invoice taxes"
        constraints = [
            models.UniqueConstraint(fields=["invoice", "rate"], name="invoice_tax_once_per_rate"),
            models.CheckConstraint(
                # Rounded to the column's places: the same on PostgreSQL's numeric, and exact
                # on SQLite, which adds the two amounts as binary floats (R1).
                condition=Q(gross=Round(models.F("net") + models.F("tax"), AMOUNT_PLACES)),
                name="invoice_tax_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate}: {self.net} + {self.tax} = {self.gross}"


class RerateSettlement(models.Model):
    """A rerating change (R15) taken into an adjustment line; a change is taken in once."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="rerates")
    rerate_change = models.OneToOneField(
        "charging.RerateChange", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["line", "rerate_change"]

    def __str__(self) -> str:
        return f"rerate change {self.rerate_change_id} on line {self.line_id}"


class DocumentFormat(models.TextChoices):
    PDF = "pdf", "PDF (Factur-X PDF/A-3 for a business customer's e-invoice)"
    CII = "cii", "EN 16931 CII XML (the e-invoice embedded in the PDF)"


class InvoiceDocument(models.Model):
    """A rendered document of an issued invoice, stored and rendered again only on demand."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="documents")
    format = models.CharField(max_length=8, choices=DocumentFormat.choices)
    file = models.FileField(upload_to="invoices/%Y/%m/")
    size = models.PositiveBigIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    rendered_at = models.DateTimeField()

    class Meta:
        ordering = ["invoice", "format"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "format"], name="invoice_document_once")
        ]

    def __str__(self) -> str:
        return f"{self.invoice} ({self.format})"

    @property
    def label(self) -> str:
        """What the document is, in finance's words: a PDF, or a Factur-X e-invoice PDF."""
        if self.format == DocumentFormat.CII:
            return "EN 16931 CII XML (the e-invoice inside the PDF)"
        if self.invoice.documents.filter(format=DocumentFormat.CII).exists():
            return "PDF (Factur-X e-invoice, PDF/A-3)"
        return "PDF"


class InvoiceProfile(models.Model):
    """What a brand's invoices say of the supplier: legal name, address, VAT id, bank account
    and payment terms (VAT Directive Art. 226; EPC069-12 for the payment QR code)."""

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="invoice_profile")
    legal_name = models.CharField(max_length=200)
    address = models.TextField(help_text="street, postal code and city, country")
    vat_id = models.CharField(max_length=32, blank=True)
    tax_number = models.CharField(max_length=32, blank=True)
    iban = models.CharField(max_length=34, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    email = models.EmailField(blank=True)
    logo_svg = models.TextField(blank=True, help_text="the brand's logo as SVG markup")
    payment_note = models.CharField(
        max_length=300, blank=True, help_text="printed under the totals, e.g. how to pay"
    )
    sepa_creditor_id = models.CharField(
        max_length=35,
        blank=True,
        help_text="the SEPA creditor identifier direct debits are collected under "
        "(else the SEPA_CREDITOR_ID setting)",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["brand"]

    def __str__(self) -> str:
        return self.legal_name


# --- dunning (R30) ----------------------------------------------------------------------------


class DunningAction(models.TextChoices):
    REMINDER = "reminder", "reminder"
    FINAL_NOTICE = "final_notice", "final notice"
    BAR_OUTGOING = "bar_outgoing", "bar outgoing services"
    TERMINATE = "terminate", "terminate"


class DunningPolicy(models.Model):
    """A brand's ordered dunning steps (R30). An account follows the policy its
    ``dunning_policy`` code names, else its brand's default policy."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32, help_text="what a billing account's policy names")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(
        "brand's default", default=False, help_text="followed by accounts that name no policy"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("steps",)

    class Meta:
        ordering = ["brand", "code"]
        verbose_name_plural = "dunning policies"
        constraints = [
            models.UniqueConstraint(fields=["brand", "code"], name="dunning_policy_code_once"),
            models.UniqueConstraint(
                fields=["brand"], condition=Q(is_default=True), name="dunning_policy_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:dunningpolicy-detail", args=[self.pk])


class DunningStep(models.Model):
    """One step of a policy: an action taken so many days after an invoice's due date."""

    policy = models.ForeignKey(DunningPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=16, choices=DunningAction.choices)
    days_after_due = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="dunning_step_position"),
            models.CheckConstraint(
                condition=Q(days_after_due__gte=1), name="dunning_step_after_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} after {self.days_after_due} days"


class DunningCaseStatus(models.TextChoices):
    OPEN = "open", "in dunning"
    CLOSED = "closed", "closed"


class DunningCase(models.Model):
    """An overdue invoice followed through its account's dunning policy (R30).

    Opened by the daily run the first day after the due date; closed when the invoice is paid
    or void. ``next_step_date`` is the day the next step is due (empty when none is left).
    """

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="dunning")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="dunning_cases"
    )
    policy = models.ForeignKey(
        DunningPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    status = models.CharField(
        max_length=8, choices=DunningCaseStatus.choices, default=DunningCaseStatus.OPEN
    )
    last_step = models.ForeignKey(
        DunningStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    next_step = models.ForeignKey(
        DunningStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    next_step_date = models.DateField(null=True, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "pk"]
        indexes = [models.Index(fields=["status", "next_step_date"])]

    def __str__(self) -> str:
        return f"Dunning of {self.invoice}"

    def get_absolute_url(self) -> str:
        return self.invoice.get_absolute_url()


class DunningRecordKind(models.TextChoices):
    STEP = "step", "step taken"
    BAR_LIFTED = "bar_lifted", "barring lifted"


class DunningRecord(models.Model):
    """What the dunning did to one invoice and when: a step taken, or the barring it imposed
    lifted. Append-only; a step is taken once per invoice (the database refuses a second)."""

    case = models.ForeignKey(DunningCase, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(max_length=12, choices=DunningRecordKind.choices)
    step = models.ForeignKey(
        DunningStep, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=16, blank=True, choices=DunningAction.choices)
    due_on = models.DateField(help_text="the day the step was due")
    taken_at = models.DateTimeField()
    subscriptions = models.JSONField(
        default=list, help_text="the numbers barred, lifted or terminated"
    )
    detail = models.CharField(max_length=300, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["case", "taken_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "step"], condition=Q(kind="step"), name="dunning_step_once"
            ),
            models.UniqueConstraint(
                fields=["case"], condition=Q(kind="bar_lifted"), name="dunning_lift_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.action} on {self.due_on}"


class DunningHold(models.Model):
    """A pause of an account's dunning, with why; no step is taken while it is open."""

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="dunning_holds"
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    paused_at = models.DateTimeField()
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resumed_at = models.DateTimeField(null=True, blank=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resume_reason = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-paused_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["billing_account"],
                condition=Q(resumed_at__isnull=True),
                name="dunning_hold_one_open",
            )
        ]

    def __str__(self) -> str:
        state = "paused" if self.resumed_at is None else "resumed"
        return f"Dunning of {self.billing_account.number} {state}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:dunninghold-detail", args=[self.pk])


# --- finance downloads ------------------------------------------------------------------------


class ArchiveStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    BUILDING = "building", "building"
    READY = "ready", "ready"
    FAILED = "failed", "failed"


class InvoiceArchive(models.Model):
    """A ZIP of the PDFs of a brand's invoices of one period month, built by a Celery task and
    stored; a download, never edited after it is built."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    period_year = models.PositiveSmallIntegerField()
    period_month = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    status = models.CharField(
        max_length=10, choices=ArchiveStatus.choices, default=ArchiveStatus.QUEUED
    )
    status_detail = models.TextField(blank=True)
    file = models.FileField(upload_to="archives/%Y/%m/", blank=True)
    documents = models.PositiveIntegerField(default=0)
    rendered = models.PositiveIntegerField(default=0, help_text="PDFs rendered for the archive")
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_month__gte=1) & Q(period_month__lte=12),
                name="invoice_archive_month_ok",
            )
        ]

    def __str__(self) -> str:
        return f"Invoices {self.brand.code} {self.period_year}-{self.period_month:02d}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:invoicearchive-detail", args=[self.pk])


class TopUpReceipt(models.Model):
    """The receipt issued for one top-up (R29): a RECEIPT document of the receipt series.

    The UNIQUE top-up makes it once, whatever reruns of the receipting task happen. At
    ``tax_point`` "top_up" the receipt carries the tax of the money paid; at "use" it carries
    none and the period's statement does.
    """

    top_up = models.OneToOneField(
        "subscribers.TopUp", on_delete=models.PROTECT, related_name="receipt"
    )
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="top_up_receipt")
    tax_point = models.CharField(max_length=8, choices=PrepaidTaxPoint.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"receipt of top-up {self.top_up_id}"


class BalanceSummary(models.Model):
    """What a prepaid statement or a hybrid invoice says of the account's balance in its period.

    Sums of the booked ledger (holds of live sessions left out): opening + top-ups +
    adjustments − renewals − usage − expiry (money does not expire: zero) = closing. A hybrid
    invoice takes over the credit used (a closing balance below zero) as a line; issuing it
    brings the balance back by that amount (``settlement``), once.
    """

    invoice = models.OneToOneField(
        Invoice, on_delete=models.CASCADE, related_name="balance_summary"
    )
    tax_point = models.CharField(max_length=8, choices=PrepaidTaxPoint.choices)
    opening = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    top_ups = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    renewals = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    usage = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    adjustments = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    closing = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    credit_invoiced = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        default=0,
        help_text="a hybrid account's credit used, taken over by the invoice",
    )
    settlement = models.OneToOneField(
        "subscribers.BalanceMovement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the movement that gave the invoiced credit back to the balance",
    )

    class Meta:
        ordering = ["invoice"]
        verbose_name_plural = "balance summaries"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    closing=Round(
                        models.F("opening")
                        + models.F("top_ups")
                        + models.F("adjustments")
                        - models.F("renewals")
                        - models.F("usage"),
                        RATED_PLACES,
                    )
                ),
                name="balance_summary_adds_up",
            )
        ]

    def __str__(self) -> str:
        return f"balance {self.opening} → {self.closing}"


# Payments live with their services (invoicing.payments); Django finds their models here.
from invoicing.payments.models import (  # noqa: E402, F401
    BankStatement,
    BankStatementLine,
    Payment,
    PaymentAllocation,
    PaymentReturn,
    Refund,
    SepaCollection,
    SepaMandate,
)
