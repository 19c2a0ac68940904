"""Serializers of the invoicing API, named after TM Forum TMF678 (customerBill,
appliedCustomerBillingRate, billCycle) with the README's conventions: ``id`` (a string),
``href``, ``@type``; references ``{"id", "href", "name", "@referredType"}``; money
``{"unit", "value"}`` with the value as a string.

Input serializers check a request's shape only; the views call one ``invoicing.services``
function each, where every business rule lives.
"""

from django.urls import NoReverseMatch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from core.api import fields
from core.api.fields import MoneyField, MoneyInputField, ReferenceSchema
from invoicing.models import (
    AMOUNT_DIGITS,
    ArchiveStatus,
    BillCycle,
    BillRun,
    BillRunStatus,
    DunningAction,
    DunningCase,
    DunningCaseStatus,
    DunningHold,
    DunningPolicy,
    DunningRecordKind,
    Invoice,
    InvoiceArchive,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    Payment,
    Refund,
    SepaCollection,
    SepaMandate,
)
from invoicing.selectors import bill_cycles_visible_to
from subscribers.api.serializers import reference as subscribers_reference
from subscribers.selectors import billing_accounts_visible_to, brands_visible_to

RESOURCES = {
    Invoice: ("customerbill", "CustomerBill"),
    InvoiceLine: ("appliedcustomerbillingrate", "AppliedCustomerBillingRate"),
    BillCycle: ("billcycle", "BillCycle"),
    BillRun: ("billrun", "BillRun"),
    DunningCase: ("dunningcase", "DunningCase"),
    DunningPolicy: ("dunningpolicy", "DunningPolicy"),
    DunningHold: ("dunningpause", "DunningPause"),
    InvoiceArchive: ("invoicearchive", "InvoiceArchive"),
    Payment: ("payment", "Payment"),
    Refund: ("refund", "Refund"),
    SepaMandate: ("paymentmethod", "PaymentMethod"),
    BankStatement: ("bankstatement", "BankStatement"),
    BankStatementLine: ("bankstatementline", "BankStatementLine"),
    SepaCollection: ("directdebitcollection", "DirectDebitCollection"),
}
BILL_CATEGORY = {
    InvoiceKind.INVOICE: "normal",
    InvoiceKind.CREDIT_NOTE: "creditNote",
    InvoiceKind.STATEMENT: "statement",
    InvoiceKind.RECEIPT: "receipt",
}
STATE = {
    InvoiceStatus.DRAFT: "new",
    InvoiceStatus.EXCLUDED: "onHold",
    InvoiceStatus.ISSUED: "sent",
    InvoiceStatus.PARTIALLY_PAID: "partiallyPaid",
    InvoiceStatus.PAID: "settled",
    InvoiceStatus.OVERDUE: "overdue",
    InvoiceStatus.VOID: "void",
}


def href(obj, request, resource: tuple[str, str] | None = None) -> str | None:
    """Return the absolute URL of an invoicing object's API resource."""
    name = f"api:invoicing-{(resource or RESOURCES[type(obj)])[0]}-detail"
    try:
        return reverse(name, kwargs={"pk": obj.pk}, request=request)
    except NoReverseMatch:
        return None


def reference(obj, request) -> dict | None:
    """A reference to an invoicing object or (through subscribers) an account or product."""
    if obj is None:
        return None
    if type(obj) not in RESOURCES:
        return subscribers_reference(obj, request)
    name = getattr(obj, "number", "") or str(obj)
    return {"id": str(obj.pk), "href": href(obj, request), "name": name,
            "@referredType": RESOURCES[type(obj)][1]}  # fmt: skip


@extend_schema_field(ReferenceSchema)
class RefField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return reference(value, self.context.get("request"))


class ResourceSerializer(fields.ResourceSerializer):
    resources = RESOURCES
    href = staticmethod(href)


@extend_schema_field(fields.ValidForSchema)
class PeriodField(serializers.Field):
    """A covered period of calendar days as ``{startDateTime, endDateTime}`` (dates, end
    exclusive)."""

    def __init__(self, *, start: str, end: str, **kwargs):
        self.start, self.end = start, end
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        start, end = getattr(value, self.start), getattr(value, self.end)
        if start is None:
            return None
        return {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()}


class TaxItemSerializer(serializers.Serializer):
    taxRate = serializers.DecimalField(source="rate", max_digits=7, decimal_places=5)
    taxableAmount = MoneyField(amount="net", currency="invoice.currency")
    taxAmount = MoneyField(amount="tax", currency="invoice.currency")
    taxIncludedAmount = MoneyField(amount="gross", currency="invoice.currency")


class CustomerBillSerializer(ResourceSerializer):
    """An invoice, credit note or prepaid statement (TMF678 customerBill)."""

    billNo = serializers.CharField(source="number", read_only=True)
    category = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=InvoiceStatus.choices, read_only=True)
    billingAccount = RefField(source="billing_account")
    billRun = RefField(source="bill_run")
    correctedBill = RefField(source="corrects")
    reason = serializers.CharField(read_only=True)
    billingPeriod = serializers.SerializerMethodField()
    billDate = serializers.DateField(source="issue_date", read_only=True)
    paymentDueDate = serializers.DateField(source="due_date", read_only=True)
    taxInclusive = serializers.BooleanField(source="tax_inclusive", read_only=True)
    taxExcludedAmount = MoneyField(amount="net_total", currency="currency")
    taxIncludedAmount = MoneyField(amount="gross_total", currency="currency")
    amountDue = serializers.SerializerMethodField()
    taxItem = TaxItemSerializer(source="taxes", many=True, read_only=True)
    appliedCustomerBillingRate = serializers.SerializerMethodField()
    billDocument = serializers.SerializerMethodField()

    class Meta:
        model = Invoice

    def get_category(self, obj) -> str:
        return BILL_CATEGORY[obj.kind]

    def get_state(self, obj) -> str:
        return STATE[obj.status]

    def get_billingPeriod(self, obj) -> dict:
        instant = fields.InstantField()
        return {
            "startDateTime": instant.to_representation(obj.period_start),
            "endDateTime": instant.to_representation(obj.period_end),
        }

    def get_amountDue(self, obj) -> dict | None:
        if obj.kind != InvoiceKind.INVOICE or not obj.is_final or obj.status == "void":
            return None
        from invoicing.payments.selectors import invoice_amount_due

        return fields.money(invoice_amount_due(invoice=obj), obj.currency)

    def get_appliedCustomerBillingRate(self, obj) -> str:
        request = self.context.get("request")
        url = reverse("api:invoicing-appliedcustomerbillingrate-list", request=request)
        return f"{url}?bill={obj.pk}"

    def get_billDocument(self, obj) -> list[dict]:
        request = self.context.get("request")
        url = reverse("api:invoicing-customerbill-document", kwargs={"pk": obj.pk}, request=request)
        instant = fields.InstantField()
        return [
            {
                "@type": "Attachment",
                "attachmentType": "invoicePdf" if d.format == "pdf" else "einvoiceCii",
                "mimeType": "application/pdf" if d.format == "pdf" else "application/xml",
                "size": {"amount": d.size, "units": "bytes"},
                "url": url if d.format == "pdf" else f"{url}?kind={d.format}",
                "validFor": {"startDateTime": instant.to_representation(d.rendered_at)},
            }
            for d in obj.documents.all()
        ]


class AppliedCustomerBillingRateSerializer(ResourceSerializer):
    """One charge on a bill (TMF678 appliedCustomerBillingRate): an invoice line."""

    name = serializers.CharField(source="description", read_only=True)
    type = serializers.ChoiceField(source="kind", choices=LineKind.choices, read_only=True)
    bill = RefField(source="invoice")
    billingAccount = RefField(source="billing_account")
    product = RefField(source="subscription")
    periodCoverage = PeriodField(start="period_start_date", end="period_end_date")
    quantity = serializers.IntegerField(read_only=True)
    service = serializers.CharField(read_only=True)
    destinationZone = serializers.CharField(source="destination_zone", read_only=True)
    roamingZone = serializers.CharField(source="roaming_zone", read_only=True)
    taxRate = serializers.DecimalField(source="tax_rate", max_digits=7, decimal_places=5)
    amount = MoneyField(amount="amount", currency="invoice.currency")
    ratedAmount = MoneyField(amount="rated_amount", currency="invoice.currency")
    taxIncluded = serializers.BooleanField(source="invoice.tax_inclusive", read_only=True)

    class Meta:
        model = InvoiceLine


class BillCycleSerializer(ResourceSerializer):
    """A bill cycle (TMF678 billCycle / TMF666 billingCycleSpecification)."""

    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    brand = serializers.SerializerMethodField()
    billingDateShift = serializers.IntegerField(source="cycle_day", read_only=True)

    class Meta:
        model = BillCycle

    def get_brand(self, obj) -> dict:
        return subscribers_reference(obj.brand, self.context.get("request"))


class BillRunSerializer(ResourceSerializer):
    """A bill run of a cycle and period with its progress."""

    billCycle = RefField(source="cycle")
    period = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=BillRunStatus.choices, read_only=True)
    statusDetail = serializers.CharField(source="status_detail", read_only=True)
    accountsTotal = serializers.IntegerField(source="accounts_total", read_only=True)
    accountsDone = serializers.IntegerField(source="accounts_done", read_only=True)
    accountsEmpty = serializers.IntegerField(source="accounts_empty", read_only=True)
    errors = serializers.IntegerField(source="accounts_failed", read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text="percent of accounts done")
    etaSeconds = serializers.IntegerField(source="eta_seconds", read_only=True, allow_null=True)
    invoicesIssued = serializers.IntegerField(source="invoices_issued", read_only=True)
    startedAt = fields.InstantField(source="started_at", read_only=True)
    finishedAt = fields.InstantField(source="finished_at", read_only=True)
    issuedAt = fields.InstantField(source="issued_at", read_only=True)

    class Meta:
        model = BillRun

    def get_period(self, obj) -> str:
        return f"{obj.period_year}-{obj.period_month:02d}"


# --- input ------------------------------------------------------------------------------------


@extend_schema_field(ReferenceSchema)
class RefInput(serializers.Field):
    """A reference written as ``{"id": "7"}`` to an object the user may see."""

    default_error_messages = {
        "invalid": 'a reference is an object with an id, e.g. {{"id": "7"}}',
        "does_not_exist": "no {what} with id {pk}",
    }

    def __init__(self, queryset, **kwargs):
        self.queryset = queryset
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        pk = data.get("id")
        if isinstance(pk, bool) or not (
            isinstance(pk, int) or (isinstance(pk, str) and pk.strip().isdigit())
        ):
            self.fail("invalid")
        request = self.context.get("request")
        queryset = self.queryset(request.user)
        try:
            return queryset.get(pk=int(pk))
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", what=queryset.model._meta.verbose_name, pk=pk)


class BillRunInput(serializers.Serializer):
    billCycle = RefInput(queryset=bill_cycles_visible_to)
    year = serializers.IntegerField(min_value=2000, max_value=2999)
    month = serializers.IntegerField(min_value=1, max_value=12)


class BillCycleInput(serializers.Serializer):
    brand = RefInput(queryset=brands_visible_to)
    billingDateShift = serializers.IntegerField(min_value=1, max_value=28)


class CreditNoteInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
    amount = MoneyInputField(
        required=False, max_digits=AMOUNT_DIGITS, decimal_places=2,
        help_text="absent: credit the whole bill; else net (gross for a tax-inclusive bill)",
    )  # fmt: skip
    taxRate = serializers.DecimalField(
        max_digits=7, decimal_places=5, required=False, help_text="one of the bill's tax rates"
    )


class VoidInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


# --- dunning (R30) and downloads -------------------------------------------------------------


class DunningStepSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True)
    action = serializers.ChoiceField(choices=DunningAction.choices, read_only=True)
    daysAfterDue = serializers.IntegerField(source="days_after_due", read_only=True)


class DunningPolicySerializer(ResourceSerializer):
    """A brand's dunning policy: its ordered steps, days after an invoice's due date."""

    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    brand = serializers.SerializerMethodField()
    isDefault = serializers.BooleanField(source="is_default", read_only=True)
    step = DunningStepSerializer(source="steps", many=True, read_only=True)

    class Meta:
        model = DunningPolicy

    def get_brand(self, obj) -> dict:
        return subscribers_reference(obj.brand, self.context.get("request"))


class DunningRecordSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DunningRecordKind.choices, read_only=True)
    action = serializers.CharField(read_only=True)
    stepPosition = serializers.IntegerField(
        source="step.position", read_only=True, allow_null=True, default=None
    )
    dueOn = serializers.DateField(source="due_on", read_only=True)
    takenAt = fields.InstantField(source="taken_at", read_only=True)
    subscriptions = serializers.ListField(child=serializers.CharField(), read_only=True)
    detail = serializers.CharField(read_only=True)


class DunningCaseSerializer(ResourceSerializer):
    """An overdue invoice in dunning: its policy, the steps taken, the next one and its day."""

    bill = RefField(source="invoice")
    billingAccount = RefField(source="billing_account")
    policy = RefField()
    status = serializers.ChoiceField(choices=DunningCaseStatus.choices, read_only=True)
    paymentDueDate = serializers.DateField(source="invoice.due_date", read_only=True)
    amountDue = MoneyField(amount="invoice.gross_total", currency="invoice.currency")
    currentStep = DunningStepSerializer(source="last_step", read_only=True, allow_null=True)
    nextStep = DunningStepSerializer(source="next_step", read_only=True, allow_null=True)
    nextStepDate = serializers.DateField(source="next_step_date", read_only=True)
    openedAt = fields.InstantField(source="opened_at", read_only=True)
    closedAt = fields.InstantField(source="closed_at", read_only=True)
    closedReason = serializers.CharField(source="closed_reason", read_only=True)
    record = DunningRecordSerializer(source="records", many=True, read_only=True)

    class Meta:
        model = DunningCase


class DunningPauseSerializer(ResourceSerializer):
    """A pause of an account's dunning and, once resumed, when and why."""

    billingAccount = RefField(source="billing_account")
    reason = serializers.CharField(read_only=True)
    pausedAt = fields.InstantField(source="paused_at", read_only=True)
    resumedAt = fields.InstantField(source="resumed_at", read_only=True)
    resumeReason = serializers.CharField(source="resume_reason", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = DunningHold

    def get_active(self, obj) -> bool:
        return obj.resumed_at is None


class DunningPauseInput(serializers.Serializer):
    billingAccount = RefInput(queryset=billing_accounts_visible_to)
    reason = serializers.CharField(max_length=300)


class DunningReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class InvoiceArchiveSerializer(ResourceSerializer):
    """A ZIP of a brand's invoice PDFs of a month, built in the background."""

    brand = serializers.SerializerMethodField()
    period = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=ArchiveStatus.choices, read_only=True)
    statusDetail = serializers.CharField(source="status_detail", read_only=True)
    documents = serializers.IntegerField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    createdAt = fields.InstantField(source="created_at", read_only=True)
    finishedAt = fields.InstantField(source="finished_at", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceArchive

    def get_brand(self, obj) -> dict:
        return subscribers_reference(obj.brand, self.context.get("request"))

    def get_period(self, obj) -> str:
        return f"{obj.period_year}-{obj.period_month:02d}"

    def get_url(self, obj) -> str | None:
        if obj.status != ArchiveStatus.READY:
            return None
        return reverse(
            "api:invoicing-invoicearchive-download",
            kwargs={"pk": obj.pk},
            request=self.context.get("request"),
        )


class InvoiceArchiveInput(serializers.Serializer):
    brand = RefInput(queryset=brands_visible_to)
    year = serializers.IntegerField(min_value=2000, max_value=2999)
    month = serializers.IntegerField(min_value=1, max_value=12)
