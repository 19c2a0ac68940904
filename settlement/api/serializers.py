"""Serializers of the settlement API: agreements after TM Forum TMF651 (agreement), statements
as TMF678-like bills (partnerBill with billItem lines), with the README's conventions: ``id``
(a string), ``href``, ``@type``; money ``{"unit", "value"}`` with the value as a string.

Input serializers check a request's shape only; the views call one settlement.services
function each, where every business rule lives.
"""

from django.urls import NoReverseMatch
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.models import Brand, HostNetwork, Service
from settlement.models import (
    Agreement,
    AgreementKind,
    DisputeItem,
    DisputeStatus,
    Partner,
    PartnerKind,
    Reconciliation,
    SettlementRun,
    ShareBasis,
    Statement,
)

RESOURCES = {
    Partner: "partner",
    Agreement: "agreement",
    SettlementRun: "settlementrun",
    Statement: "partnerbill",
    Reconciliation: "reconciliation",
    DisputeItem: "disputeitem",
}


def href(obj, request) -> str | None:
    try:
        return reverse(
            f"api:settlement-{RESOURCES[type(obj)]}-detail", kwargs={"pk": obj.pk}, request=request
        )
    except NoReverseMatch:
        return None


def money(value, currency) -> dict | None:
    return None if value is None else {"unit": currency, "value": str(value)}


class Base(serializers.Serializer):
    id = serializers.SerializerMethodField()
    href = serializers.SerializerMethodField()
    type_name = ""

    def get_id(self, obj) -> str:
        return str(obj.pk)

    def get_href(self, obj) -> str | None:
        return href(obj, self.context.get("request"))

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["@type"] = self.type_name
        return data


class PartnerSerializer(Base):
    type_name = "Partner"
    code = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(source="kind")
    brand = serializers.CharField(source="brand.code")
    currency = serializers.CharField()
    hostNetwork = serializers.CharField(source="host_network.code", default=None)
    partnerBrand = serializers.CharField(source="partner_brand.code", default=None)
    contactName = serializers.CharField(source="contact_name")
    contactEmail = serializers.CharField(source="contact_email")
    paymentTermsDays = serializers.IntegerField(source="payment_terms_days")


class AgreementSerializer(Base):
    """TMF651 agreement: its partner as engaged party, its period as agreementPeriod."""

    type_name = "Agreement"
    code = serializers.CharField()
    name = serializers.CharField()
    agreementType = serializers.CharField(source="kind")
    engagedParty = serializers.SerializerMethodField()
    agreementPeriod = serializers.SerializerMethodField()
    planCodes = serializers.ListField(source="plan_codes", child=serializers.CharField())
    services = serializers.ListField(child=serializers.CharField())
    brandCodes = serializers.ListField(source="brand_codes", child=serializers.CharField())
    basis = serializers.CharField()
    percent = serializers.DecimalField(max_digits=9, decimal_places=6)
    tiers = serializers.JSONField()
    cap = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    floor = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    toleranceAmount = serializers.DecimalField(
        source="tolerance_amount", max_digits=20, decimal_places=6
    )
    tolerancePercent = serializers.DecimalField(
        source="tolerance_percent", max_digits=9, decimal_places=6
    )

    def get_engagedParty(self, obj) -> dict:
        return {"id": str(obj.partner_id), "name": obj.partner.code, "@referredType": "Partner",
                "href": href(obj.partner, self.context.get("request"))}  # fmt: skip

    def get_agreementPeriod(self, obj) -> dict:
        end = obj.effective_to.isoformat() if obj.effective_to else None
        return {"startDateTime": obj.effective_from.isoformat(), "endDateTime": end}


class SettlementRunSerializer(Base):
    type_name = "SettlementRun"
    partner = serializers.CharField(source="partner.code")
    period = serializers.SerializerMethodField()
    state = serializers.CharField(source="status")
    detail = serializers.CharField(source="status_detail")
    events = serializers.IntegerField()
    seconds = serializers.DecimalField(max_digits=10, decimal_places=3, allow_null=True)
    statement = serializers.SerializerMethodField()

    def get_period(self, obj) -> str:
        return f"{obj.period_year}-{obj.period_month:02d}"

    def get_statement(self, obj) -> str | None:
        statement = Statement.objects.filter(run=obj).first()
        return href(statement, self.context.get("request")) if statement else None


class BillItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    type = serializers.CharField(source="kind")
    description = serializers.CharField()
    service = serializers.CharField()
    roamingZone = serializers.CharField(source="roaming_zone")
    events = serializers.IntegerField()
    units = serializers.IntegerField()
    amount = serializers.SerializerMethodField()
    inTotal = serializers.BooleanField(source="counts")

    def get_amount(self, obj) -> dict:
        return money(obj.amount, obj.statement.currency)


class PartnerBillSerializer(Base):
    """A settlement statement as a TMF678-like bill."""

    type_name = "PartnerBill"
    billNo = serializers.CharField(source="number")
    state = serializers.CharField(source="status")
    partner = serializers.CharField(source="partner.code")
    billingPeriod = serializers.SerializerMethodField()
    direction = serializers.CharField()
    amountDue = serializers.SerializerMethodField()
    exactAmount = serializers.SerializerMethodField()
    billDate = serializers.DateTimeField(source="issued_at", allow_null=True)
    paymentDueDate = serializers.DateField(source="due_date", allow_null=True)
    note = serializers.CharField()
    billItem = serializers.SerializerMethodField()
    billDocument = serializers.SerializerMethodField()

    def get_billingPeriod(self, obj) -> dict:
        return {"startDateTime": obj.period_start.isoformat(),
                "endDateTime": obj.period_end.isoformat()}  # fmt: skip

    def get_amountDue(self, obj) -> dict:
        return money(obj.total, obj.currency)

    def get_exactAmount(self, obj) -> dict:
        return money(obj.exact_total, obj.currency)

    def get_billItem(self, obj) -> list:
        return BillItemSerializer(obj.lines.order_by("position"), many=True).data

    def get_billDocument(self, obj) -> str | None:
        try:
            return reverse(
                "api:settlement-partnerbill-document", kwargs={"pk": obj.pk},
                request=self.context.get("request"),
            )  # fmt: skip
        except NoReverseMatch:
            return None


class ReconciliationSerializer(Base):
    type_name = "Reconciliation"
    partner = serializers.CharField(source="partner.code")
    period = serializers.SerializerMethodField()
    fileName = serializers.CharField(source="file_name")
    linesRead = serializers.IntegerField(source="lines_read")
    linesMatched = serializers.IntegerField(source="lines_matched")
    theirTotal = serializers.DecimalField(source="their_total", max_digits=20, decimal_places=6)
    ourTotal = serializers.DecimalField(source="our_total", max_digits=20, decimal_places=6)

    def get_period(self, obj) -> str:
        return f"{obj.period_year}-{obj.period_month:02d}"


class DisputeItemSerializer(Base):
    type_name = "DisputeItem"
    partner = serializers.CharField(source="partner.code")
    period = serializers.SerializerMethodField()
    service = serializers.CharField()
    roamingZone = serializers.CharField(source="roaming_zone")
    ourUnits = serializers.IntegerField(source="our_units")
    ourAmount = serializers.DecimalField(source="our_amount", max_digits=20, decimal_places=6)
    theirUnits = serializers.IntegerField(source="their_units")
    theirAmount = serializers.DecimalField(source="their_amount", max_digits=20, decimal_places=6)
    difference = serializers.DecimalField(max_digits=20, decimal_places=6)
    state = serializers.CharField(source="status")
    note = serializers.CharField()

    def get_period(self, obj) -> str:
        return f"{obj.period_start:%Y-%m}"


# --- input ------------------------------------------------------------------------------------


class PartnerInput(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)
    role = serializers.ChoiceField(choices=PartnerKind.choices, source="kind")
    brand = serializers.SlugRelatedField(slug_field="code", queryset=Brand.objects.all())
    currency = serializers.CharField(max_length=3, min_length=3, default="EUR")
    hostNetwork = serializers.SlugRelatedField(
        slug_field="code", queryset=HostNetwork.objects.all(), source="host_network",
        required=False, allow_null=True, default=None,
    )  # fmt: skip
    partnerBrand = serializers.SlugRelatedField(
        slug_field="code", queryset=Brand.objects.all(), source="partner_brand", required=False,
        allow_null=True, default=None,
    )  # fmt: skip
    contactName = serializers.CharField(source="contact_name", required=False, default="")
    contactEmail = serializers.EmailField(source="contact_email", required=False, default="")
    paymentTermsDays = serializers.IntegerField(
        source="payment_terms_days", min_value=0, max_value=365, default=30
    )


class AgreementInput(serializers.Serializer):
    partner = serializers.SlugRelatedField(slug_field="code", queryset=Partner.objects.all())
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    agreementType = serializers.ChoiceField(choices=AgreementKind.choices, source="kind")
    startDate = serializers.DateField(source="effective_from")
    endDate = serializers.DateField(source="effective_to", required=False, allow_null=True)
    planCodes = serializers.ListField(
        source="plan_codes", child=serializers.CharField(), required=False, default=list
    )
    services = serializers.ListField(
        child=serializers.ChoiceField(choices=Service.choices), required=False, default=list
    )
    brandCodes = serializers.ListField(
        source="brand_codes", child=serializers.CharField(), required=False, default=list
    )
    basis = serializers.ChoiceField(choices=ShareBasis.choices, default=ShareBasis.REVENUE)
    percent = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=0, max_value=100, default=0
    )
    tiers = serializers.JSONField(required=False, default=list)
    cap = serializers.DecimalField(max_digits=20, decimal_places=6, required=False, allow_null=True)
    floor = serializers.DecimalField(
        max_digits=20, decimal_places=6, required=False, allow_null=True
    )


class SettlementRunInput(serializers.Serializer):
    partner = serializers.SlugRelatedField(slug_field="code", queryset=Partner.objects.all())
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12)


class ReconciliationInput(serializers.Serializer):
    partner = serializers.SlugRelatedField(slug_field="code", queryset=Partner.objects.all())
    fileName = serializers.CharField(max_length=255, default="partner-invoice.csv")
    content = serializers.CharField(
        trim_whitespace=False, help_text="the CSV text (docs/settlement.md)"
    )


class DisputeDecisionInput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[s for s in DisputeStatus.values if s != DisputeStatus.OPEN]
    )
    note = serializers.CharField(max_length=300, required=False, default="")


class BillDecisionInput(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, default="")
