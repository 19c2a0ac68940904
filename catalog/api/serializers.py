"""Serializers of the catalogue API, shaped after TM Forum TMF620 (camelCase JSON).

Conventions (README, REST API conventions): every resource has ``id`` (a string), ``href`` and
``@type``; a related object is a reference ``{"id", "href", "name", "@referredType"}`` (plus its
``code`` when it has one); money is ``{"unit": "EUR", "value": "19.99"}`` with the value as a
string; instants are ISO 8601 in UTC; periods are ``validFor: {startDateTime, endDateTime}``;
statuses are ``lifecycleStatus``.

Output serializers describe resources. Input serializers check the SHAPE of a request only
(types, required fields, references that exist) and hand snake_case data to the view, which
calls a ``catalog.services`` function: every business rule lives there.
"""

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.models import (
    FEE_PLACES,
    PRICE_DIGITS,
    PRICE_PLACES,
    AddOn,
    AddOnKind,
    Allowance,
    Brand,
    DiscountType,
    FairUseAction,
    FairUsePolicy,
    FeePeriod,
    FeeTiming,
    HostNetwork,
    PaymentModel,
    Plan,
    PlanVersion,
    PrepaidTaxPoint,
    Promotion,
    RateCard,
    RateCardKind,
    RateRow,
    Service,
    Status,
    TaxCategory,
    TaxRate,
    TaxRegion,
    TimeBand,
    TimeBandSet,
    Unit,
    Zone,
    ZoneKind,
    ZoneTable,
    ZoneType,
)
from catalog.selectors import brands_of, catalog_visible_to
from core.api import fields
from core.api.fields import (
    ConstantField,
    InstantField,
    MoneyField,
    MoneySchema,
    ReferenceSchema,
    ValidForField,
    format_amount,
)

# Resource of each model: (router basename, @type). PlanVersion is the "planVersion" resource
# when edited and the "productOffering" resource when sold; references to it say which.
RESOURCES = {
    AddOn: ("addon", "AddOn"),
    Allowance: ("allowance", "Allowance"),
    Brand: ("brand", "Brand"),
    FairUsePolicy: ("fairusepolicy", "FairUsePolicy"),
    HostNetwork: ("hostnetwork", "HostNetwork"),
    Plan: ("plan", "Plan"),
    PlanVersion: ("planversion", "PlanVersion"),
    Promotion: ("promotion", "Promotion"),
    RateCard: ("ratecard", "RateCard"),
    RateRow: ("productofferingprice", "ProductOfferingPrice"),
    TaxCategory: ("taxcategory", "TaxCategory"),
    TaxRate: ("taxrate", "TaxRate"),
    TaxRegion: ("taxregion", "TaxRegion"),
    TimeBand: ("timeband", "TimeBand"),
    TimeBandSet: ("timebandset", "TimeBandSet"),
    Zone: ("zone", "Zone"),
    ZoneTable: ("zonetable", "ZoneTable"),
}
OFFERING = ("productoffering", "ProductOffering")


def href(obj, request, resource: tuple[str, str] | None = None) -> str:
    """Return the absolute URL of a catalogue object's API resource."""
    basename = (resource or RESOURCES[type(obj)])[0]
    return reverse(f"api:catalog-{basename}-detail", kwargs={"pk": obj.pk}, request=request)


# --- fields ---------------------------------------------------------------------------------


def enum_field(choices, **kwargs) -> serializers.ChoiceField:
    """A choice field; its enum is named once in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]."""
    return serializers.ChoiceField(choices=choices, **kwargs)


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"})
class TimeOfDayField(serializers.Field):
    """A time of day as "HH:MM"; "24:00" and "00:00" as an end both mean midnight."""

    default_error_messages = {"invalid": 'a time of day "HH:MM" (00:00 to 24:00)'}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        if text == "24:00":
            return dt.time(0)
        try:
            value = dt.time.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is not None:
            self.fail("invalid")
        return value

    def to_representation(self, value):
        return value.strftime("%H:%M")


def reference(obj, request, resource: tuple[str, str] | None = None) -> dict:
    """Return the reference to a catalogue object: id, href, name, code if any, type."""
    body = {
        "id": str(obj.pk),
        "href": href(obj, request, resource),
        "name": getattr(obj, "name", "") or str(obj),
    }
    if hasattr(obj, "code"):
        body["code"] = obj.code
    if isinstance(obj, PlanVersion):
        # A productOffering is a plan version as sold: its code is its plan's, with a version.
        body["code"], body["version"] = obj.plan.code, obj.version
    body["@referredType"] = (resource or RESOURCES[type(obj)])[1]
    return body


@extend_schema_field(ReferenceSchema)
class RefField(serializers.Field):
    """A reference ``{"id", "href", "name", "@referredType"}``; written as ``{"id": "7"}``."""

    default_error_messages = {
        "invalid": 'a reference is an object with an id, e.g. {{"id": "7"}}',
        "does_not_exist": "no {what} with id {pk}",
    }

    def __init__(self, model=None, *, resource: tuple[str, str] | None = None, **kwargs):
        self.model = model
        self.resource = resource
        if model is None:
            kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return reference(value, self.context.get("request"), self.resource)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        pk = data.get("id")
        if isinstance(pk, bool) or not (
            isinstance(pk, int) or (isinstance(pk, str) and pk.strip().isdigit())
        ):
            self.fail("invalid")
        try:
            return self.model._default_manager.get(pk=int(pk))
        except self.model.DoesNotExist:
            self.fail("does_not_exist", what=self.model._meta.verbose_name, pk=pk)


class VisibleRefsField(serializers.ListField):
    """References to catalogue objects, shown only when the reader's brands may see them.

    A shared add-on or promotion names the plans of several brands; each reader sees theirs.
    """

    def to_representation(self, data):
        request = self.context.get("request")
        if request is not None and isinstance(data, QuerySet):
            # Looked up once per answer, not once per item of a list.
            if "brand_ids" not in self.context:
                self.context["brand_ids"] = brands_of(request.user)
            brands = self.context["brand_ids"]
            if brands is not None and data.model is Plan:
                data = [plan for plan in data if plan.brand_id in brands]
            elif brands is not None:
                data = catalog_visible_to(data, request.user)
        return super().to_representation(data)


def refs(model=None, **kwargs) -> serializers.ListField:
    """A list of references."""
    child = RefField(model) if model is not None else RefField()
    return VisibleRefsField(child=child, **kwargs)


class MoneyInputField(fields.MoneyInputField):
    """Money in a catalogue request: a price or fee, FEE_PLACES places unless told (R2)."""

    def __init__(self, *, decimal_places: int = FEE_PLACES, **kwargs):
        super().__init__(max_digits=PRICE_DIGITS, decimal_places=decimal_places, **kwargs)


# --- output: resources ----------------------------------------------------------------------


class ResourceSerializer(fields.ResourceSerializer):
    """A resource: ``id``, ``href`` and ``@type`` first, then the declared fields."""

    resources = RESOURCES
    href = staticmethod(href)


class BrandSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = RefField(allow_null=True, help_text="the brand that hosts this one")
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = Brand


class TaxCategorySerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = TaxCategory


class TaxRateSerializer(ResourceSerializer):
    taxRegion = RefField(source="region")
    taxCategory = RefField(source="category")
    rate = serializers.DecimalField(
        max_digits=7, decimal_places=5, read_only=True, help_text='"0.19000" for 19 %'
    )
    validFrom = serializers.DateField(source="valid_from", read_only=True)

    class Meta:
        model = TaxRate


class TaxRegionSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    taxRates = TaxRateSerializer(source="rates", many=True, read_only=True)
    prepaidTaxPoint = enum_field(
        PrepaidTaxPoint.choices, source="prepaid_tax_point", read_only=True
    )
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = TaxRegion


class ZoneSerializer(ResourceSerializer):
    zoneTable = RefField(source="table")
    zoneType = enum_field(ZoneType.choices, source="zone_type", read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = enum_field(ZoneKind.choices, read_only=True)
    members = serializers.SerializerMethodField(
        help_text="number prefixes (destination) or MCC / MCC+MNC codes (roaming)"
    )

    class Meta:
        model = Zone

    def get_members(self, zone) -> list[str]:
        return [member.value for member in zone.members.all()]


class ZoneTableSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    zones = ZoneSerializer(many=True, read_only=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = ZoneTable


class TimeBandWindowSerializer(serializers.Serializer):
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        help_text="ISO weekdays, 1 = Monday … 7 = Sunday",
    )
    startTime = TimeOfDayField(source="start_time")
    endTime = TimeOfDayField(source="end_time", help_text='"00:00" or "24:00" is midnight')


class TimeBandSerializer(ResourceSerializer):
    timeBandSet = RefField(source="band_set")
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    isRest = serializers.BooleanField(source="is_rest", read_only=True)
    windows = TimeBandWindowSerializer(many=True, read_only=True)

    class Meta:
        model = TimeBand


class TimeBandSetSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    timezone = serializers.CharField(read_only=True)
    bands = TimeBandSerializer(many=True, read_only=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = TimeBandSet


class ProductOfferingPriceSerializer(ResourceSerializer):
    """A usage price: one row of a rate card (R7-R9)."""

    name = serializers.SerializerMethodField()
    priceType = ConstantField("usage")
    rateCard = RefField(source="rate_card")
    lifecycleStatus = enum_field(Status.choices, source="rate_card.status", read_only=True)
    service = enum_field(Service.choices, read_only=True)
    destinationZones = refs(source="destination_zones.all", read_only=True)
    roamingZones = refs(source="roaming_zones.all", read_only=True)
    timeBand = RefField(source="time_band", allow_null=True)
    price = MoneyField(amount="price", currency="rate_card.currency")
    unitOfMeasure = enum_field(Unit.choices, source="unit", read_only=True)
    incrementFirst = serializers.IntegerField(source="increment_first", read_only=True)
    incrementNext = serializers.IntegerField(source="increment_next", read_only=True)
    connectionFee = MoneyField(amount="connection_fee", currency="rate_card.currency")
    minimumCharge = MoneyField(amount="minimum_charge", currency="rate_card.currency")
    taxCategory = RefField(source="tax_category", allow_null=True)
    description = serializers.CharField(read_only=True)

    class Meta:
        model = RateRow

    def get_name(self, row) -> str:
        return row.description or f"{row.service} {format_amount(row.price)}/{row.unit}"


class RateCardSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = enum_field(RateCardKind.choices, read_only=True)
    currency = serializers.CharField(read_only=True)
    lifecycleStatus = enum_field(Status.choices, source="status", read_only=True)
    zoneTable = RefField(source="zone_table")
    timeBandSet = RefField(source="time_band_set", allow_null=True)
    publishedAt = InstantField(source="published_at", read_only=True, allow_null=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)
    rowCount = serializers.IntegerField(source="row_count", read_only=True)

    class Meta:
        model = RateCard


class RateCardDetailSerializer(RateCardSerializer):
    """A rate card with its rows (the detail view; the list gives ``rowCount`` only)."""

    rows = ProductOfferingPriceSerializer(many=True, read_only=True)

    class Meta:
        model = RateCard


class HostNetworkTariffSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk", read_only=True)
    rateCard = RefField(source="rate_card")
    validFor = ValidForField(start="effective_from", end="valid_until")
    simFee = serializers.DecimalField(
        source="sim_fee", max_digits=18, decimal_places=6, read_only=True
    )
    platformFee = serializers.DecimalField(
        source="platform_fee", max_digits=18, decimal_places=6, read_only=True
    )
    minimumCommitment = serializers.DecimalField(
        source="minimum_commitment", max_digits=18, decimal_places=6, read_only=True
    )


class HostNetworkSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    plmnCodes = serializers.ListField(
        source="plmn_codes", child=serializers.CharField(), read_only=True
    )
    countryCode = serializers.CharField(source="country_code", read_only=True)
    tariffs = serializers.SerializerMethodField(
        help_text="wholesale rate cards, each in force until the next one (R14)"
    )
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = HostNetwork

    @extend_schema_field(HostNetworkTariffSerializer(many=True))
    def get_tariffs(self, network):
        tariffs = list(network.tariffs.all())
        for index, tariff in enumerate(tariffs):
            following = tariffs[index + 1] if index + 1 < len(tariffs) else None
            tariff.valid_until = following.effective_from if following else None
        return HostNetworkTariffSerializer(tariffs, many=True, context=self.context).data


class BundledAllowanceSerializer(ResourceSerializer):
    """Included units per period, for the services and zones it names (R11, R12)."""

    name = serializers.CharField(read_only=True)
    services = serializers.ListField(child=enum_field(Service.choices), read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    unitOfMeasure = enum_field(Unit.choices, source="unit", read_only=True)
    destinationZones = refs(source="destination_zones.all", read_only=True)
    roamingZones = refs(source="roaming_zones.all", read_only=True)
    shared = serializers.BooleanField(
        read_only=True, help_text="one pool for every subscription of the account on the plan"
    )

    class Meta:
        model = Allowance


class AllowanceSerializer(BundledAllowanceSerializer):
    planVersion = RefField(source="plan_version", allow_null=True)
    addOn = RefField(source="add_on", allow_null=True)

    class Meta:
        model = Allowance


class FairUseSerializer(ResourceSerializer):
    """A cap per period, then an overage price or throttling (R13)."""

    name = serializers.CharField(read_only=True)
    services = serializers.ListField(child=enum_field(Service.choices), read_only=True)
    destinationZones = refs(source="destination_zones.all", read_only=True)
    roamingZones = refs(source="roaming_zones.all", read_only=True)
    capQuantity = serializers.IntegerField(source="cap_quantity", read_only=True)
    capUnit = enum_field(Unit.choices, source="cap_unit", read_only=True)
    action = enum_field(FairUseAction.choices, read_only=True)
    overagePrice = MoneyField(
        amount="overage_price", currency="plan_version.plan.currency", allow_null=True
    )
    overageUnit = serializers.SerializerMethodField()

    class Meta:
        model = FairUsePolicy

    @extend_schema_field(serializers.ChoiceField(choices=Unit.choices, allow_null=True))
    def get_overageUnit(self, policy):
        return policy.overage_unit or None


class FairUsePolicySerializer(FairUseSerializer):
    planVersion = RefField(source="plan_version")

    class Meta:
        model = FairUsePolicy


class PlanVersionEntrySerializer(ResourceSerializer):
    """A version as listed on its plan."""

    version = serializers.IntegerField(read_only=True)
    lifecycleStatus = enum_field(Status.choices, source="status", read_only=True)
    validFor = ValidForField(start="effective_from", end="valid_until")
    productOffering = RefField(resource=OFFERING, source="*")

    class Meta:
        model = PlanVersion


class PlanSerializer(ResourceSerializer):
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    brand = RefField()
    paymentModel = enum_field(PaymentModel.choices, source="payment_model", read_only=True)
    currency = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    versions = serializers.SerializerMethodField()
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = Plan

    @extend_schema_field(PlanVersionEntrySerializer(many=True))
    def get_versions(self, plan):
        versions = list(plan.versions.all())
        in_force = sorted(
            (v for v in versions if v.status != Status.DRAFT), key=lambda v: v.effective_from
        )
        for version in versions:
            version.plan = plan
            version.valid_until = next(
                (v.effective_from for v in in_force if v.effective_from > version.effective_from),
                None,
            )
        return PlanVersionEntrySerializer(versions, many=True, context=self.context).data


class PlanVersionSerializer(ResourceSerializer):
    """A plan version as edited: the same names a request writes."""

    plan = RefField()
    version = serializers.IntegerField(read_only=True)
    lifecycleStatus = enum_field(Status.choices, source="status", read_only=True)
    effectiveFrom = InstantField(source="effective_from", read_only=True)
    validFor = ValidForField(start="effective_from", end="valid_until")
    rateCard = RefField(source="rate_card")
    recurringFee = MoneyField(amount="recurring_fee", currency="plan.currency")
    feePeriod = enum_field(FeePeriod.choices, source="fee_period", read_only=True)
    feeTiming = enum_field(FeeTiming.choices, source="fee_timing", read_only=True)
    activationFee = MoneyField(amount="activation_fee", currency="plan.currency")
    taxIncluded = serializers.BooleanField(source="tax_inclusive", read_only=True)
    taxCategory = RefField(source="tax_category", allow_null=True)
    notes = serializers.CharField(read_only=True)
    bundledAllowance = BundledAllowanceSerializer(source="allowances", many=True, read_only=True)
    fairUse = FairUseSerializer(source="fair_use_policies", many=True, read_only=True)
    productOffering = RefField(resource=OFFERING, source="*")
    publishedAt = InstantField(source="published_at", read_only=True, allow_null=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = PlanVersion


class OfferingPriceSerializer(serializers.Serializer):
    """One price of an offering: the recurring fee, the activation fee or the usage prices."""

    name = serializers.CharField()
    priceType = serializers.ChoiceField(choices=["recurring", "oneTime", "usage"])
    price = MoneySchema(allow_null=True, help_text="null for usage: see the rate card")
    recurringChargePeriodType = serializers.CharField(allow_null=True)
    recurringChargePeriodLength = serializers.IntegerField(allow_null=True)
    chargeTiming = serializers.CharField(
        allow_null=True, help_text="in_advance or in_arrears, for the recurring fee"
    )
    rateCard = ReferenceSchema(allow_null=True, help_text="the usage prices' rate card")
    href = serializers.URLField(
        allow_null=True, help_text="the usage prices: productOfferingPrice of the rate card"
    )


@extend_schema_serializer(component_name="ProductOffering")
class ProductOfferingSerializer(ResourceSerializer):
    """A plan version as sold (TMF620 productOffering)."""

    resource = OFFERING

    code = serializers.CharField(source="plan.code", read_only=True)
    name = serializers.CharField(source="plan.name", read_only=True)
    description = serializers.CharField(source="plan.description", read_only=True)
    version = serializers.IntegerField(read_only=True)
    lifecycleStatus = enum_field(Status.choices, source="status", read_only=True)
    brand = RefField(source="plan.brand")
    plan = RefField()
    planVersion = RefField(source="*")
    paymentModel = enum_field(PaymentModel.choices, source="plan.payment_model", read_only=True)
    validFor = ValidForField(start="effective_from", end="valid_until")
    taxIncluded = serializers.BooleanField(
        source="tax_inclusive", read_only=True, help_text="every price of this offering is gross"
    )
    taxCategory = RefField(source="tax_category", allow_null=True)
    productOfferingPrice = serializers.SerializerMethodField()
    bundledAllowance = BundledAllowanceSerializer(source="allowances", many=True, read_only=True)
    fairUse = FairUseSerializer(source="fair_use_policies", many=True, read_only=True)
    addOn = serializers.SerializerMethodField(help_text="published add-ons sold with this plan")
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = PlanVersion

    @extend_schema_field(OfferingPriceSerializer(many=True))
    def get_productOfferingPrice(self, version):
        currency = version.plan.currency
        request = self.context.get("request")
        usage = reverse("api:catalog-productofferingprice-list", request=request)
        none = {
            "recurringChargePeriodType": None,
            "recurringChargePeriodLength": None,
            "chargeTiming": None,
            "rateCard": None,
            "href": None,
        }
        return [
            {
                **none,
                "name": "recurring fee",
                "priceType": "recurring",
                "price": {"unit": currency, "value": format_amount(version.recurring_fee)},
                "recurringChargePeriodType": version.fee_period,
                "recurringChargePeriodLength": 1,
                "chargeTiming": version.fee_timing,
            },
            {
                **none,
                "name": "activation fee",
                "priceType": "oneTime",
                "price": {"unit": currency, "value": format_amount(version.activation_fee)},
            },
            {
                **none,
                "name": f"usage prices of {version.rate_card.code}",
                "priceType": "usage",
                "price": None,
                "rateCard": reference(version.rate_card, request),
                "href": f"{usage}?rateCard={version.rate_card_id}",
            },
        ]

    @extend_schema_field(ReferenceSchema(many=True))
    def get_addOn(self, version):
        add_ons = getattr(version.plan, "published_add_ons", None)
        if add_ons is None:
            add_ons = version.plan.add_ons.filter(status=Status.PUBLISHED)
        request = self.context.get("request")
        return [reference(add_on, request) for add_on in add_ons]


class AddOnSerializer(ResourceSerializer):
    """A bolt-on sold on top of a plan (one-off or recurring), with its allowances."""

    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    kind = enum_field(AddOnKind.choices, read_only=True)
    lifecycleStatus = enum_field(Status.choices, source="status", read_only=True)
    price = MoneyField(amount="price", currency="currency")
    validityDays = serializers.IntegerField(
        source="validity_days",
        read_only=True,
        allow_null=True,
        help_text="null: until the end of the billing period",
    )
    taxIncluded = serializers.BooleanField(source="tax_inclusive", read_only=True)
    taxCategory = RefField(source="tax_category", allow_null=True)
    zoneTable = RefField(source="zone_table", allow_null=True)
    eligiblePlans = refs(source="eligible_plans.all", read_only=True)
    bundledAllowance = BundledAllowanceSerializer(source="allowances", many=True, read_only=True)
    description = serializers.CharField(read_only=True)
    publishedAt = InstantField(source="published_at", read_only=True, allow_null=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = AddOn


class PromotionSerializer(ResourceSerializer):
    """A discount on the recurring fee for a number of periods (R35)."""

    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    lifecycleStatus = enum_field(Status.choices, source="status", read_only=True)
    discountType = enum_field(DiscountType.choices, source="discount_type", read_only=True)
    value = serializers.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=FEE_PLACES,
        read_only=True,
        help_text="percent (10 = 10 %) or an amount in the currency",
    )
    currency = serializers.CharField(read_only=True)
    periods = serializers.IntegerField(read_only=True)
    eligiblePlans = refs(source="eligible_plans.all", read_only=True)
    validFor = ValidForField(start="available_from", end="available_until")
    description = serializers.CharField(read_only=True)
    publishedAt = InstantField(source="published_at", read_only=True, allow_null=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = Promotion


class ZoneLookupSerializer(serializers.Serializer):
    """The zones of a number and of a visited network in one zone table (R7a)."""

    zoneTable = RefField()
    number = serializers.CharField(allow_null=True)
    destinationZone = RefField(
        allow_null=True, help_text="null: no zone and no rest zone (a rating error, R7)"
    )
    visitedPlmn = serializers.CharField(allow_null=True)
    homePlmn = serializers.ListField(child=serializers.CharField())
    roamingZone = RefField(allow_null=True, help_text="null: no zone (a rating error, R7)")

    def get_fields(self):
        fields = {"@type": ConstantField("ZoneLookup")}
        fields.update(super().get_fields())
        return fields


# --- input ----------------------------------------------------------------------------------


class CodeNameInput(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200)


class BrandInput(CodeNameInput):
    parent = RefField(Brand, required=False, allow_null=True)


class TaxCategoryInput(CodeNameInput):
    pass


class TaxRegionInput(CodeNameInput):
    pass


class TaxRateInput(serializers.Serializer):
    taxRegion = RefField(TaxRegion, source="region")
    taxCategory = RefField(TaxCategory, source="category")
    rate = serializers.DecimalField(max_digits=7, decimal_places=5, help_text="0.19 for 19 %")
    validFrom = serializers.DateField(source="valid_from")


class ZoneTableInput(CodeNameInput):
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ZoneInput(serializers.Serializer):
    zoneTable = RefField(ZoneTable, source="table")
    zoneType = enum_field(ZoneType.choices, source="zone_type")
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    kind = enum_field(ZoneKind.choices, required=False, default=ZoneKind.LISTED)
    members = serializers.ListField(
        child=serializers.CharField(max_length=15), required=False, default=list
    )


class WholeInput(serializers.Serializer):
    """A nested input that replaces what it names: its required fields stay required in a
    PATCH (DRF makes a partial update partial all the way down, and a band without its code
    reached the service as a KeyError)."""

    def validate(self, attrs):
        missing = {
            name: [field.error_messages["required"]]
            for name, field in self.fields.items()
            if field.required and not field.read_only and field.source not in attrs
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class TimeBandWindowInput(WholeInput):
    days = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    startTime = TimeOfDayField(source="start_time")
    endTime = TimeOfDayField(source="end_time")


class TimeBandInput(WholeInput):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    isRest = serializers.BooleanField(source="is_rest", required=False, default=False)
    windows = TimeBandWindowInput(many=True, required=False, default=list)


class TimeBandSetInput(CodeNameInput):
    timezone = serializers.CharField(max_length=64)
    bands = TimeBandInput(many=True)


class RateCardInput(CodeNameInput):
    kind = enum_field(RateCardKind.choices)
    currency = serializers.CharField(max_length=3, min_length=3)
    zoneTable = RefField(ZoneTable, source="zone_table")
    timeBandSet = RefField(TimeBandSet, source="time_band_set", required=False, allow_null=True)


class CloneInput(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="the code of the new draft")


class RateCardCloneInput(CloneInput):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ProductOfferingPriceInput(serializers.Serializer):
    rateCard = RefField(
        RateCard, source="rate_card", required=False, help_text="required on creation"
    )
    service = enum_field(Service.choices)
    destinationZones = refs(Zone, source="destination_zones", required=False, default=list)
    roamingZones = refs(Zone, source="roaming_zones", required=False, default=list)
    timeBand = RefField(TimeBand, source="time_band", required=False, allow_null=True)
    price = MoneyInputField(decimal_places=PRICE_PLACES)
    unitOfMeasure = enum_field(Unit.choices, source="unit")
    incrementFirst = serializers.IntegerField(source="increment_first", required=False, default=1)
    incrementNext = serializers.IntegerField(source="increment_next", required=False, default=1)
    connectionFee = MoneyInputField(source="connection_fee", required=False)
    minimumCharge = MoneyInputField(source="minimum_charge", required=False)
    taxCategory = RefField(TaxCategory, source="tax_category", required=False, allow_null=True)
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class HostNetworkInput(CodeNameInput):
    plmnCodes = serializers.ListField(
        source="plmn_codes", child=serializers.CharField(max_length=6), allow_empty=False
    )
    countryCode = serializers.CharField(source="country_code", max_length=4)


class HostNetworkTariffInput(serializers.Serializer):
    rateCard = RefField(RateCard, source="rate_card")
    effectiveFrom = InstantField(source="effective_from")
    simFee = serializers.DecimalField(
        source="sim_fee", max_digits=18, decimal_places=6, min_value=0, required=False,
        default=Decimal("0"),
    )  # fmt: skip
    platformFee = serializers.DecimalField(
        source="platform_fee", max_digits=18, decimal_places=6, min_value=0, required=False,
        default=Decimal("0"),
    )  # fmt: skip
    minimumCommitment = serializers.DecimalField(
        source="minimum_commitment", max_digits=18, decimal_places=6, min_value=0,
        required=False, default=Decimal("0"),
    )  # fmt: skip


class PlanInput(CodeNameInput):
    brand = RefField(Brand)
    paymentModel = enum_field(PaymentModel.choices, source="payment_model")
    currency = serializers.CharField(max_length=3, min_length=3)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class PlanVersionInput(serializers.Serializer):
    plan = RefField(Plan, required=False, help_text="required on creation")
    effectiveFrom = InstantField(source="effective_from")
    rateCard = RefField(RateCard, source="rate_card")
    recurringFee = MoneyInputField(source="recurring_fee", required=False)
    feePeriod = enum_field(FeePeriod.choices, source="fee_period", required=False)
    feeTiming = enum_field(FeeTiming.choices, source="fee_timing", required=False)
    activationFee = MoneyInputField(source="activation_fee", required=False)
    taxIncluded = serializers.BooleanField(source="tax_inclusive", required=False)
    taxCategory = RefField(TaxCategory, source="tax_category", required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class PlanVersionCloneInput(serializers.Serializer):
    effectiveFrom = InstantField(
        source="effective_from",
        required=False,
        help_text="when the new draft takes effect; the copied version's date if left out",
    )


class AllowanceInput(serializers.Serializer):
    planVersion = RefField(PlanVersion, source="plan_version", required=False, allow_null=True)
    addOn = RefField(AddOn, source="add_on", required=False, allow_null=True)
    name = serializers.CharField(max_length=100)
    services = serializers.ListField(child=enum_field(Service.choices), allow_empty=False)
    quantity = serializers.IntegerField(min_value=0)
    unitOfMeasure = enum_field(Unit.choices, source="unit")
    destinationZones = refs(Zone, source="destination_zones", required=False, default=list)
    roamingZones = refs(Zone, source="roaming_zones", required=False, default=list)
    shared = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        owners = [name for name in ("plan_version", "add_on") if attrs.get(name) is not None]
        if self.instance is None and len(owners) != 1:
            raise serializers.ValidationError(
                {"planVersion": "name exactly one owner: a planVersion or an addOn"}
            )
        return attrs


class FairUsePolicyInput(serializers.Serializer):
    planVersion = RefField(
        PlanVersion, source="plan_version", required=False, help_text="required on creation"
    )
    name = serializers.CharField(max_length=100)
    services = serializers.ListField(child=enum_field(Service.choices), allow_empty=False)
    destinationZones = refs(Zone, source="destination_zones", required=False, default=list)
    roamingZones = refs(Zone, source="roaming_zones", required=False, default=list)
    capQuantity = serializers.IntegerField(source="cap_quantity", min_value=0)
    capUnit = enum_field(Unit.choices, source="cap_unit")
    action = enum_field(FairUseAction.choices)
    overagePrice = MoneyInputField(
        source="overage_price", decimal_places=PRICE_PLACES, required=False, allow_null=True
    )
    overageUnit = enum_field(Unit.choices, source="overage_unit", required=False, allow_null=True)


class AddOnInput(CodeNameInput):
    kind = enum_field(AddOnKind.choices)
    price = MoneyInputField(help_text="its unit is the add-on's currency")
    validityDays = serializers.IntegerField(
        source="validity_days", required=False, allow_null=True, min_value=1
    )
    taxIncluded = serializers.BooleanField(source="tax_inclusive", required=False, default=False)
    taxCategory = RefField(TaxCategory, source="tax_category", required=False, allow_null=True)
    zoneTable = RefField(ZoneTable, source="zone_table", required=False, allow_null=True)
    eligiblePlans = refs(Plan, source="eligible_plans", required=False, default=list)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ValidForInput(serializers.Serializer):
    startDateTime = InstantField(source="available_from", required=False, allow_null=True)
    endDateTime = InstantField(source="available_until", required=False, allow_null=True)


class PromotionInput(CodeNameInput):
    discountType = enum_field(DiscountType.choices, source="discount_type")
    value = serializers.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=FEE_PLACES, min_value=Decimal("0")
    )
    currency = serializers.CharField(max_length=3, min_length=3, required=False, default="EUR")
    periods = serializers.IntegerField()
    eligiblePlans = refs(Plan, source="eligible_plans", required=False, default=list)
    validFor = ValidForInput(source="*", required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ZoneLookupQuery(serializers.Serializer):
    """Query parameters of the zone lookup: a number, a visited network, or both."""

    number = serializers.RegexField(
        r"^\+?[0-9]{1,20}$", required=False, help_text="the other party's number, digits"
    )
    visitedPlmn = serializers.RegexField(
        r"^[0-9]{5,6}$", required=False, help_text="MCC+MNC of the visited network"
    )
    homePlmn = serializers.CharField(
        required=False, help_text="MCC+MNC codes of the sending host network, comma-separated"
    )
    hostNetwork = serializers.IntegerField(
        required=False, help_text="id of a host network: its PLMN codes instead of homePlmn"
    )
