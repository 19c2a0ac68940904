"""Payments of invoices: money received, how it is allocated to invoices, refunded or returned,
bank statements imported, and SEPA direct debit mandates and collections.

Money rows are append-only: a payment, an allocation, a refund and a return are rows that are
never edited; a correction is a new row (a negative allocation reverses an earlier one and
says why). An invoice's amount due and an account's unallocated credit are sums of these rows
(``invoicing.payments.selectors``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from catalog.models import Brand
from subscribers.models import BillingAccount

AMOUNT_DIGITS = 20


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "bank transfer"
    DIRECT_DEBIT = "direct_debit", "SEPA direct debit"
    CARD = "card", "card (payment gateway)"
    GATEWAY = "gateway", "other payment gateway"
    CASH = "cash", "cash"


class Payment(models.Model):
    """Money received from a billing account (TMF676 payment); never edited.

    ``external_id`` is the gateway's or bank's own id of the payment: unique per brand, so a
    payment reported twice is refused by the database. A direct debit names its collection,
    mandate and end-to-end id (which a return quotes).
    """

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2)
    received_on = models.DateField(help_text="the value date: when the money arrived")
    reference = models.CharField(
        max_length=300, blank=True, help_text="what the payer wrote (remittance information)"
    )
    external_id = models.CharField(
        max_length=100, blank=True, help_text="the gateway's or bank's id of the payment"
    )
    payer_name = models.CharField(max_length=200, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True)
    statement_line = models.OneToOneField(
        "invoicing.BankStatementLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment",
    )
    collection = models.ForeignKey(
        "invoicing.SepaCollection",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    mandate = models.ForeignKey(
        "invoicing.SepaMandate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_to_end_id = models.CharField(max_length=35, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_on", "-pk"]
        indexes = [models.Index(fields=["billing_account", "received_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["brand", "external_id"],
                condition=~Q(external_id=""),
                name="payment_external_id_once",
            ),
            models.UniqueConstraint(
                fields=["brand", "end_to_end_id"],
                condition=~Q(end_to_end_id=""),
                name="payment_end_to_end_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk}: {self.amount} {self.currency}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:payment-detail", args=[self.pk])


class PaymentAllocation(models.Model):
    """A part of a payment applied to an invoice; a negative row takes a part back (a refund or
    a return reopens the invoice), naming the row it reverses and why."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["invoice", "payment"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to invoice {self.invoice_id}"


class Refund(models.Model):
    """Money paid back from a payment (TMF676 refund); never edited."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2)
    reason = models.CharField(max_length=300)
    refunded_on = models.DateField()
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.pk}: {self.amount} of payment {self.payment_id}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:payment-detail", args=[self.payment_id])


class ReturnReason(models.TextChoices):
    """ISO 20022 reason codes of SEPA direct debit returns (R-transactions) seen most."""

    AC01 = "AC01", "AC01 account identifier incorrect"
    AC04 = "AC04", "AC04 account closed"
    AC06 = "AC06", "AC06 account blocked"
    AM04 = "AM04", "AM04 insufficient funds"
    MD01 = "MD01", "MD01 no valid mandate"
    MD06 = "MD06", "MD06 refund requested by the payer"
    MS02 = "MS02", "MS02 refused by the payer"
    MS03 = "MS03", "MS03 reason not specified"
    SL01 = "SL01", "SL01 specific service of the debtor bank"


class PaymentReturn(models.Model):
    """A payment that came back (a SEPA R-transaction: return, reversal, refund by the payer's
    bank) with its reason code; it reverses the payment's allocations."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="returned")
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2)
    reason_code = models.CharField(max_length=4, choices=ReturnReason.choices)
    returned_on = models.DateField()
    statement_line = models.OneToOneField(
        "invoicing.BankStatementLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_return",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="return_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Return of payment {self.payment_id} ({self.reason_code})"


class StatementFormat(models.TextChoices):
    CAMT053 = "camt053", "ISO 20022 CAMT.053 (XML)"
    MT940 = "mt940", "SWIFT MT940"


class BankStatement(models.Model):
    """A bank statement file imported once: its SHA-256 (and the bank's statement id) refuse a
    second import."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=8, choices=StatementFormat.choices)
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    statement_id = models.CharField(max_length=100, blank=True)
    account_iban = models.CharField(max_length=34, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    lines_total = models.PositiveIntegerField(default=0)
    lines_matched = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-imported_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "sha256"], name="bank_statement_once"),
            models.UniqueConstraint(
                fields=["brand", "account_iban", "statement_id"],
                condition=~Q(statement_id=""),
                name="bank_statement_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Statement {self.statement_id or self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:bankstatement-detail", args=[self.pk])


class LineStatus(models.TextChoices):
    MATCHED = "matched", "matched"
    UNMATCHED = "unmatched", "waiting for finance"
    DISCARDED = "discarded", "discarded"
    RETURN = "return", "direct debit return"


class BankStatementLine(models.Model):
    """One booked entry of a statement: matched to a payment, a return, or waiting in the queue
    for finance to match by hand or discard with a reason."""

    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    booking_date = models.DateField()
    value_date = models.DateField()
    amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=2, help_text="positive: credit; negative: debit"
    )
    currency = models.CharField(max_length=3)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    remittance = models.CharField(max_length=500, blank=True)
    end_to_end_id = models.CharField(max_length=100, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    return_reason = models.CharField(max_length=4, blank=True)
    status = models.CharField(max_length=10, choices=LineStatus.choices)
    match_note = models.CharField(max_length=300, blank=True)
    discard_reason = models.CharField(max_length=300, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["statement", "position"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "position"], name="statement_line_once")
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.statement} line {self.position}: {self.amount} {self.currency}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:statementline-detail", args=[self.pk])


class SepaSequence(models.TextChoices):
    FIRST = "FRST", "first"
    RECURRING = "RCUR", "recurring"


class SepaMandate(models.Model):
    """A SEPA direct debit mandate of a billing account (TMF670 paymentMethod of type
    bankAccountDebit): the debtor's IBAN/BIC, the mandate reference and signature date.

    Its first collection is sent as FRST, later ones as RCUR. A revoked mandate is no longer
    collected; a new mandate replaces it.
    """

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="sepa_mandates"
    )
    reference = models.CharField(max_length=35, help_text="the unique mandate reference (UMR)")
    debtor_name = models.CharField(max_length=70)
    iban = models.CharField(max_length=34)
    bic = models.CharField(max_length=11, blank=True)
    signed_on = models.DateField()
    first_collected_on = models.DateField(null=True, blank=True)
    revoked_on = models.DateField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["billing_account", "-signed_on"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "reference"], name="sepa_mandate_once"),
            models.UniqueConstraint(
                fields=["billing_account"],
                condition=Q(revoked_on__isnull=True),
                name="sepa_mandate_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"Mandate {self.reference}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:sepamandate-detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.revoked_on is None

    @property
    def sequence(self) -> str:
        return SepaSequence.RECURRING if self.first_collected_on else SepaSequence.FIRST


class SepaCollection(models.Model):
    """A pain.008 direct debit file of a bill run's invoices; its payments are allocated when
    it is made, and a return reverses one of them."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    bill_run = models.OneToOneField(
        "invoicing.BillRun", on_delete=models.PROTECT, related_name="sepa_collection"
    )
    message_id = models.CharField(max_length=35, unique=True)
    collection_date = models.DateField()
    currency = models.CharField(max_length=3, default="EUR")
    payments_count = models.PositiveIntegerField(default=0)
    total = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=0)
    xml = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-collection_date", "-pk"]

    def __str__(self) -> str:
        return f"Direct debit {self.message_id}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:sepacollection-detail", args=[self.pk])
