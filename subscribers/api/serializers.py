"""Serializers of the subscribers API, named after TM Forum TMF629, TMF666, TMF637 and TMF654.

Conventions (README, REST API conventions; the same shapes as the catalogue API): every
resource has ``id`` (a string), ``href`` and ``@type``; a related object is a reference
``{"id", "href", "name", "@referredType"}``; money is ``{"unit": "EUR", "value": "19.99"}`` with
the value as a string; instants are ISO 8601 in UTC; periods are
``validFor: {startDateTime, endDateTime}``; statuses are ``status``.

Output serializers describe resources. Input serializers check the SHAPE of a request only
(types, required fields, references the user may see) and hand snake_case data to the view,
which calls one ``subscribers.services`` function: every business rule lives there.
"""

import datetime as dt
from decimal import Decimal

from django.urls import NoReverseMatch
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.models import (
    AddOn,
    Brand,
    HostNetwork,
    PaymentModel,
    Plan,
    PlanVersion,
    Status,
    TaxRegion,
)
from catalog.selectors import plan_version_at
from core.api import fields
from core.api.fields import (
    ConstantField,
    InstantField,
    MoneyField,
    MoneySchema,
    QuantitySchema,
    ReferenceSchema,
    ValidForField,
    format_amount,
    money,
)
from subscribers.models import (
    AMOUNT_DIGITS,
    BalanceMovement,
    BillingAccount,
    BillingAccountStatus,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    BucketSource,
    Customer,
    CustomerKind,
    MovementKind,
    Sim,
    SimBatch,
    SimStatus,
    Subscription,
    SubscriptionAddOn,
    SubscriptionStatus,
    TopUp,
    TopUpChannel,
    VoucherBatch,
)
from subscribers.selectors import billing_accounts_visible_to, brands_of, customers_visible_to

# Resource of each model: (router basename, @type). The basename is the route name's middle:
# ``api:subscribers-<basename>-detail`` here, ``api:catalog-<basename>-detail`` in the catalogue.
RESOURCES = {
    Customer: ("customer", "Customer"),
    BillingAccount: ("billingaccount", "BillingAccount"),
    Subscription: ("product", "Product"),
    Sim: ("sim", "Sim"),
    SimBatch: ("simbatch", "SimBatch"),
    Bucket: ("bucket", "Bucket"),
    BalanceMovement: ("balanceaction", "BalanceAction"),
    BucketMovement: ("bucketaction", "BucketAction"),
    TopUp: ("topupbalance", "TopupBalance"),
    VoucherBatch: ("voucherbatch", "VoucherBatch"),
}
CATALOG_RESOURCES = {
    Brand: ("brand", "Brand"),
    Plan: ("plan", "Plan"),
    TaxRegion: ("taxregion", "TaxRegion"),
    HostNetwork: ("hostnetwork", "HostNetwork"),
    AddOn: ("addon", "AddOn"),
    PlanVersion: ("productoffering", "ProductOffering"),
}
ACCUMULATED_BALANCE = ("accumulatedbalance", "AccumulatedBalance")


def href(obj, request, resource: tuple[str, str] | None = None) -> str | None:
    """Return the absolute URL of an object's API resource (None if its API is not mounted)."""
    if resource is None and type(obj) in CATALOG_RESOURCES:
        name = f"api:catalog-{CATALOG_RESOURCES[type(obj)][0]}-detail"
    else:
        name = f"api:subscribers-{(resource or RESOURCES[type(obj)])[0]}-detail"
    try:
        return reverse(name, kwargs={"pk": obj.pk}, request=request)
    except NoReverseMatch:
        return None


def reference_name(obj) -> str:
    """The name a reference shows: what an operator calls the object."""
    if isinstance(obj, Customer):
        return obj.display_name
    if isinstance(obj, BillingAccount):
        return obj.name or obj.number
    if isinstance(obj, Subscription):
        return f"+{obj.msisdn}"
    if isinstance(obj, Sim):
        return obj.iccid
    if isinstance(obj, SimBatch | TopUp | VoucherBatch):
        return obj.reference
    if isinstance(obj, BalanceMovement):
        return f"{obj.kind} {format_amount(obj.amount)} {obj.currency}"
    return getattr(obj, "name", "") or str(obj)


def reference(obj, request, resource: tuple[str, str] | None = None) -> dict:
    """Return the reference to an object: id, href, name, code if any, type."""
    body = {"id": str(obj.pk), "href": href(obj, request, resource), "name": reference_name(obj)}
    if hasattr(obj, "code"):
        body["code"] = obj.code
    if isinstance(obj, PlanVersion):
        # A productOffering is a plan version as sold: its code is its plan's, with a version.
        body["code"], body["version"] = obj.plan.code, obj.version
    kind = resource or RESOURCES.get(type(obj)) or CATALOG_RESOURCES[type(obj)]
    body["@referredType"] = kind[1]
    return body


# --- fields ---------------------------------------------------------------------------------


def enum_field(choices, **kwargs) -> serializers.ChoiceField:
    """A choice field; a choice set several resources share is named once in
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]."""
    return serializers.ChoiceField(choices=choices, **kwargs)


@extend_schema_field(ReferenceSchema)
class RefField(serializers.Field):
    """A reference ``{"id", "href", "name", "@referredType"}``; written as ``{"id": "7"}``.

    ``queryset`` is a function of the requesting user that returns what they may refer to
    (brand scoping): an object outside it is refused as if it did not exist.
    """

    default_error_messages = {
        "invalid": 'a reference is an object with an id, e.g. {{"id": "7"}}',
        "does_not_exist": "no {what} with id {pk}",
    }

    def __init__(self, queryset=None, *, resource: tuple[str, str] | None = None, **kwargs):
        self.queryset = queryset
        self.resource = resource
        if queryset is None:
            kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return reference(value, self.context.get("request"), self.resource)

    def choices(self):
        request = self.context.get("request")
        return self.queryset(request.user if request else None)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        pk = data.get("id")
        if isinstance(pk, bool) or not (
            isinstance(pk, int) or (isinstance(pk, str) and pk.strip().isdigit())
        ):
            self.fail("invalid")
        queryset = self.choices()
        try:
            return queryset.get(pk=int(pk))
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", what=queryset.model._meta.verbose_name, pk=pk)


def refs(**kwargs) -> serializers.ListField:
    """A read-only list of references."""
    return serializers.ListField(child=RefField(), read_only=True, **kwargs)


class MoneyInputField(fields.MoneyInputField):
    """Money in a subscribers request: cents (R1) unless told, up to AMOUNT_DIGITS digits."""

    def __init__(self, *, decimal_places: int = 2, **kwargs):
        super().__init__(max_digits=AMOUNT_DIGITS, decimal_places=decimal_places, **kwargs)


# --- output: resources ----------------------------------------------------------------------


class ResourceSerializer(fields.ResourceSerializer):
    """A resource: ``id``, ``href`` and ``@type`` first, then the declared fields."""

    resources = RESOURCES
    href = staticmethod(href)


# TMF629 customer --------------------------------------------------------------------------

PARTY_TYPES = {CustomerKind.PERSON: "Individual", CustomerKind.BUSINESS: "Organization"}
KINDS_OF_PARTY = {party: kind for kind, party in PARTY_TYPES.items()}


@extend_schema_serializer(component_name="EngagedParty")
class EngagedPartySchema(serializers.Serializer):
    """The person (Individual) or business (Organization) a customer is."""

    givenName = serializers.CharField(source="first_name", required=False, allow_blank=True)
    familyName = serializers.CharField(source="last_name", required=False, allow_blank=True)
    tradingName = serializers.CharField(source="company_name", required=False, allow_blank=True)
    taxId = serializers.CharField(
        source="tax_id", required=False, allow_blank=True, help_text="EU VAT number"
    )

    def get_fields(self):
        fields = {
            "@type": enum_field(
                [(party, party) for party in KINDS_OF_PARTY],
                source="kind",
                help_text="Individual (a person) or Organization (a business)",
            )
        }
        fields.update(super().get_fields())
        return fields


@extend_schema_field(EngagedPartySchema)
class EngagedPartyField(serializers.Field):
    """``engagedParty``: who the customer is; written with the same names."""

    NAMES = {
        "givenName": ("first_name", 100),
        "familyName": ("last_name", 100),
        "tradingName": ("company_name", 200),
        "taxId": ("tax_id", 32),
    }
    default_error_messages = {
        "invalid": ('an object such as {{"@type": "Individual", "givenName": …, "familyName": …}}'),
        "type": "@type is Individual or Organization",
    }

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, customer):
        return {
            "@type": PARTY_TYPES[customer.kind],
            "givenName": customer.first_name,
            "familyName": customer.last_name,
            "tradingName": customer.company_name,
            "taxId": customer.tax_id,
        }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        result = {}
        if "@type" in data or not self.parent.partial:
            kind = data.get("@type")
            if not isinstance(kind, str) or kind not in KINDS_OF_PARTY:
                self.fail("type")
            result["kind"] = KINDS_OF_PARTY[data["@type"]]
        errors = {}
        for name, (field, length) in self.NAMES.items():
            if name not in data:
                continue
            value = data[name]
            if value is None:
                value = ""
            if not isinstance(value, str) or len(value) > length:
                errors[name] = [f"a text of at most {length} characters"]
                continue
            result[field] = value.strip()
        if errors:
            raise serializers.ValidationError(errors)
        return result


@extend_schema_serializer(component_name="ContactMedium")
class ContactMediumSchema(serializers.Serializer):
    """One way to reach a customer; ``characteristic`` holds the fields of its medium type."""

    mediumType = serializers.ChoiceField(choices=["email", "phone", "postalAddress"])
    characteristic = serializers.DictField(
        help_text="email: emailAddress; phone: phoneNumber; postalAddress: street1, postCode, "
        "city, country (ISO 3166 alpha-2)"
    )


@extend_schema_field(ContactMediumSchema(many=True))
class ContactMediumField(serializers.Field):
    """``contactMedium``: e-mail, phone and postal address (TMF629).

    A request that writes it replaces every contact detail: a medium left out is cleared.
    """

    MEDIA = {
        "email": {"emailAddress": ("email", 254)},
        "phone": {"phoneNumber": ("phone", 32)},
        "postalAddress": {
            "street1": ("street", 200),
            "postCode": ("postal_code", 20),
            "city": ("city", 100),
            "country": ("country", 2),
        },
    }
    default_error_messages = {
        "invalid": 'a list of {{"mediumType": …, "characteristic": {{…}}}}',
    }

    def __init__(self, **kwargs):
        super().__init__(source="*", **kwargs)

    def to_representation(self, customer):
        media = []
        if customer.email:
            media.append(
                {"mediumType": "email", "characteristic": {"emailAddress": customer.email}}
            )
        if customer.phone:
            media.append({"mediumType": "phone", "characteristic": {"phoneNumber": customer.phone}})
        if customer.street or customer.postal_code or customer.city:
            media.append(
                {
                    "mediumType": "postalAddress",
                    "characteristic": {
                        "street1": customer.street,
                        "postCode": customer.postal_code,
                        "city": customer.city,
                        "country": customer.country,
                    },
                }
            )
        return media

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("invalid")
        result = {"email": "", "phone": "", "street": "", "postal_code": "", "city": ""}
        errors, seen = {}, set()
        for index, medium in enumerate(data):
            if not isinstance(medium, dict) or not isinstance(medium.get("characteristic"), dict):
                errors[f"[{index}]"] = [self.error_messages["invalid"]]
                continue
            kind = medium.get("mediumType")
            if not isinstance(kind, str) or kind not in self.MEDIA:
                errors[f"[{index}].mediumType"] = ["one of email, phone, postalAddress"]
                continue
            if kind in seen:
                errors[f"[{index}].mediumType"] = [f"{kind} is given twice"]
                continue
            seen.add(kind)
            for name, (field, length) in self.MEDIA[kind].items():
                value = medium["characteristic"].get(name, "")
                if value is None:
                    value = ""
                if not isinstance(value, str) or len(value.strip()) > length:
                    errors[f"[{index}].characteristic.{name}"] = [
                        f"a text of at most {length} characters"
                    ]
                    continue
                result[field] = value.strip()
            if kind == "email" and result["email"]:
                try:
                    serializers.EmailField().run_validation(result["email"])
                except serializers.ValidationError as error:
                    errors[f"[{index}].characteristic.emailAddress"] = error.detail
        if "country" in result:
            result["country"] = result["country"].upper()
        if errors:
            raise serializers.ValidationError(errors)
        return result


class CustomerSerializer(ResourceSerializer):
    """A person or business with its contact details (TMF629 customer)."""

    number = serializers.CharField(read_only=True, help_text="the customer number")
    name = serializers.CharField(source="display_name", read_only=True)
    brand = RefField()
    engagedParty = EngagedPartyField(read_only=True)
    contactMedium = ContactMediumField(read_only=True)
    language = serializers.CharField(read_only=True)
    externalId = serializers.CharField(
        source="external_id", read_only=True, help_text="the CRM's reference"
    )
    account = refs(source="accounts.all", help_text="its billing accounts")
    createdAt = InstantField(source="created_at", read_only=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = Customer


# TMF666 billing account ---------------------------------------------------------------------


@extend_schema_serializer(component_name="BillingCycleSpecification")
class BillingCycleSchema(serializers.Serializer):
    """The bill cycle: a monthly period starting on the bill cycle day."""

    billingDateShift = serializers.IntegerField(
        min_value=1, max_value=28, help_text="the bill cycle day, 1 to 28"
    )
    frequency = serializers.CharField(read_only=True, help_text="always monthly")


@extend_schema_field(BillingCycleSchema)
class BillingCycleField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, account):
        return {"billingDateShift": account.bill_cycle_day, "frequency": "monthly"}


class BillingAccountSerializer(ResourceSerializer):
    """The account invoices go to (TMF666 billingAccount)."""

    accountNumber = serializers.CharField(source="number", read_only=True)
    name = serializers.CharField(read_only=True)
    status = enum_field(BillingAccountStatus.choices, read_only=True)
    accountType = serializers.SerializerMethodField(
        help_text="B2B for a business customer, B2C for a person"
    )
    customer = RefField()
    paymentModel = enum_field(PaymentModel.choices, source="payment_model", read_only=True)
    currency = serializers.CharField(read_only=True)
    timezone = serializers.CharField(read_only=True, help_text="IANA name; periods follow it (R6)")
    billingCycleSpecification = BillingCycleField()
    paymentTermsDays = serializers.IntegerField(
        source="payment_terms_days", read_only=True, help_text="days from invoice to due date"
    )
    creditLimit = MoneyField(amount="credit_limit", currency="currency")
    taxRegion = RefField(source="tax_region")
    dunningPolicy = serializers.CharField(source="dunning_policy", read_only=True)
    parentAccount = RefField(source="parent", allow_null=True)
    invoiceToParent = serializers.BooleanField(source="invoice_to_parent", read_only=True)
    createdAt = InstantField(source="created_at", read_only=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = BillingAccount

    @extend_schema_field({"type": "string", "enum": ["B2B", "B2C"]})
    def get_accountType(self, account):
        return "B2B" if account.customer.kind == CustomerKind.BUSINESS else "B2C"


# TMF637 product (a subscription) ------------------------------------------------------------


class ProductAddOnSerializer(serializers.Serializer):
    """An add-on bought for a product, valid ``[start, end)``."""

    id = serializers.CharField(source="pk", read_only=True)
    addOn = RefField(source="add_on")
    validFor = ValidForField(start="valid_from", end="valid_to")
    removedAt = InstantField(
        source="removed_at",
        read_only=True,
        allow_null=True,
        help_text="when it was stopped from renewing",
    )

    def get_fields(self):
        fields = {"@type": ConstantField("ProductAddOn")}
        fields.update(super().get_fields())
        return fields


def offering_reference(context: dict, plan: Plan, instant: dt.datetime) -> dict | None:
    """Return the reference to the plan's version in force at an instant (one query a plan and
    instant in a response), or None before its first version."""
    found = context.setdefault("_offerings", {})
    key = (plan.pk, instant)
    if key not in found:
        found[key] = plan_version_at(plan=plan, instant=instant)
    version = found[key]
    return reference(version, context.get("request")) if version else None


class ProductSerializer(ResourceSerializer):
    """A plan instantiated for a customer on one number and SIM (TMF637 product)."""

    name = serializers.SerializerMethodField()
    status = enum_field(SubscriptionStatus.choices, read_only=True)
    plan = RefField(help_text="the plan the product is on")
    productOffering = serializers.SerializerMethodField(
        help_text="the offering as sold now: the plan's version in force (productOffering)"
    )
    billingAccount = RefField(source="billing_account")
    customer = RefField(source="billing_account.customer")
    msisdn = serializers.CharField(read_only=True, help_text="E.164 digits without '+'")
    userName = serializers.CharField(
        source="user_name",
        read_only=True,
        help_text="the person using the line; empty: the account holder",
    )
    iccid = serializers.CharField(source="sim.iccid", read_only=True, allow_null=True)
    imsi = serializers.CharField(source="sim.imsi", read_only=True, allow_null=True)
    realizingResource = serializers.SerializerMethodField(help_text="the SIM card")
    orderDate = InstantField(source="created_at", read_only=True)
    startDate = InstantField(source="activated_at", read_only=True, allow_null=True)
    terminationDate = InstantField(source="terminated_at", read_only=True, allow_null=True)
    addOns = ProductAddOnSerializer(source="add_ons.all", many=True, read_only=True)
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = Subscription

    def get_name(self, subscription) -> str:
        return f"{subscription.plan.name} +{subscription.msisdn}"

    @extend_schema_field(ReferenceSchema(allow_null=True))
    def get_productOffering(self, subscription):
        return offering_reference(self.context, subscription.plan, timezone.now())

    @extend_schema_field(ReferenceSchema(many=True))
    def get_realizingResource(self, subscription):
        if subscription.sim is None:
            return []
        return [reference(subscription.sim, self.context.get("request"))]


class ProductTermSerializer(serializers.Serializer):
    """What a product was in a stretch of time: plan, number, SIM and status (R19, R25)."""

    validFor = ValidForField(start="valid_from", end="valid_to")
    status = enum_field(SubscriptionStatus.choices, read_only=True)
    msisdn = serializers.CharField(read_only=True)
    imsi = serializers.CharField(read_only=True)
    sim = RefField(allow_null=True)
    plan = RefField()
    productOffering = serializers.SerializerMethodField(
        help_text="the plan's version in force when the stretch began (productOffering)"
    )
    change = serializers.CharField(read_only=True, help_text="the action that began it")

    @extend_schema_field(ReferenceSchema(allow_null=True))
    def get_productOffering(self, term):
        return offering_reference(self.context, term.plan, term.valid_from)

    def get_fields(self):
        fields = {"@type": ConstantField("ProductTerm")}
        fields.update(super().get_fields())
        return fields


# SIM inventory -----------------------------------------------------------------------------


class SimSerializer(ResourceSerializer):
    """A SIM card: ICCID and IMSI, on one product at a time at most."""

    iccid = serializers.CharField(read_only=True)
    imsi = serializers.CharField(read_only=True)
    status = enum_field(SimStatus.choices, read_only=True)
    hostNetwork = RefField(source="host_network")
    batch = RefField(allow_null=True, help_text="the SIM batch it was loaded with")
    lastUpdate = InstantField(source="updated_at", read_only=True)

    class Meta:
        model = Sim


class SimBatchSerializer(ResourceSerializer):
    """A delivery of SIM cards loaded at once from a CSV file."""

    reference = serializers.CharField(read_only=True)
    hostNetwork = RefField(source="host_network")
    count = serializers.IntegerField(read_only=True)
    loadedBy = serializers.CharField(source="loaded_by.username", read_only=True, allow_null=True)
    createdAt = InstantField(source="created_at", read_only=True)

    class Meta:
        model = SimBatch


# TMF654 prepay balance ---------------------------------------------------------------------


def bucket_status(bucket: Bucket, now: dt.datetime) -> str:
    """Whether a bucket is pending, active, exhausted or expired at ``now``."""
    if now < bucket.valid_from:
        return "pending"
    if now >= bucket.valid_to:
        return "expired"
    if bucket.remaining <= 0:
        return "exhausted"
    return "active"


class BucketSerializer(ResourceSerializer):
    """Units granted for a validity window (R11, R12); the remainder is the sum of movements.

    Read from a queryset annotated with ``remaining`` (views.BucketViewSet).
    """

    name = serializers.CharField(read_only=True)
    status = serializers.SerializerMethodField()
    product = RefField(source="subscription", allow_null=True, help_text="null: shared")
    billingAccount = RefField(source="billing_account")
    shared = serializers.BooleanField(
        read_only=True, help_text="one pool for the account's products on the plan granting it"
    )
    source = enum_field(BucketSource.choices, read_only=True)
    services = serializers.ListField(child=serializers.CharField(), read_only=True)
    initialValue = serializers.SerializerMethodField()
    remainingValue = serializers.SerializerMethodField()
    validFor = ValidForField(start="valid_from", end="valid_to")

    class Meta:
        model = Bucket

    @extend_schema_field({"type": "string", "enum": ["pending", "active", "exhausted", "expired"]})
    def get_status(self, bucket):
        return bucket_status(bucket, self.context.get("now") or timezone.now())

    @extend_schema_field(QuantitySchema)
    def get_initialValue(self, bucket):
        return {"amount": bucket.initial, "units": bucket.unit}

    @extend_schema_field(QuantitySchema)
    def get_remainingValue(self, bucket):
        return {"amount": bucket.remaining, "units": bucket.unit}


class AccumulatedBalanceSerializer(ResourceSerializer):
    """An account's money balance and its current buckets (TMF654 accumulatedBalance).

    Read from an account annotated with ``balance`` and with ``current_buckets`` prefetched.
    """

    resource = ACCUMULATED_BALANCE

    name = serializers.SerializerMethodField()
    billingAccount = RefField(source="*")
    paymentModel = enum_field(PaymentModel.choices, source="payment_model", read_only=True)
    totalBalance = MoneyField(
        amount="balance", currency="currency", help_text="the sum of the ledger (R21)"
    )
    creditLimit = MoneyField(amount="credit_limit", currency="currency")
    availableBalance = serializers.SerializerMethodField(
        help_text="what may still be spent: the balance, plus the credit limit of a hybrid (R21)"
    )
    bucket = BucketSerializer(source="current_buckets", many=True, read_only=True)

    class Meta:
        model = BillingAccount

    def get_name(self, account) -> str:
        return f"balance of {account.number}"

    @extend_schema_field(MoneySchema)
    def get_availableBalance(self, account):
        available = account.balance
        if account.payment_model == PaymentModel.HYBRID:
            available += account.credit_limit
        elif account.payment_model == PaymentModel.POSTPAID:
            available = Decimal("0")
        return money(available, account.currency)


# What a movement's ``reference`` names (``<kind>:<id>``), as the API refers to it; ``href`` is
# the resource's route where the API has one (resolved by name: no import of later apps).
CAUSES = {
    "usage": ("Usage", "api:charging-usage-detail"),
    "online": ("ChargingReservation", None),
    "renewal": ("PlanRenewal", None),
    "invoice": ("CustomerBill", "api:invoicing-customerbill-detail"),
    "expiry": ("Bucket", "api:subscribers-bucket-detail"),
    "subscription-add-on": ("ProductAddOn", None),
}


@extend_schema_serializer(component_name="MovementCause")
class CauseSchema(serializers.Serializer):
    """What caused a movement: a usage event, a session's hold, a top-up, a renewal, …"""

    id = serializers.CharField()
    href = serializers.CharField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["@referredType"] = serializers.CharField(
            help_text="Usage, ChargingReservation, TopupBalance, PlanRenewal, CustomerBill, Bucket"
        )
        return fields


def movement_cause(movement, request) -> dict | None:
    """Refer to what a movement names in its reference, or to its top-up."""
    top_up_id = getattr(movement, "top_up_id", None)
    if top_up_id:
        return {
            "id": str(top_up_id),
            "href": _href_by_name("api:subscribers-topupbalance-detail", top_up_id, request),
            "@referredType": "TopupBalance",
        }
    event_id = getattr(movement, "usage_event_id", None)
    reference = f"usage:{event_id}" if event_id else movement.reference
    kind, separator, ident = reference.replace(" ", ":", 1).partition(":")
    if not separator or kind not in CAUSES or not ident.isdigit():
        return None
    referred, route = CAUSES[kind]
    return {
        "id": ident,
        "href": _href_by_name(route, ident, request) if route else None,
        "@referredType": referred,
    }


def _href_by_name(name: str, pk, request) -> str | None:
    try:
        return reverse(name, kwargs={"pk": pk}, request=request)
    except NoReverseMatch:
        return None


class BalanceActionSerializer(ResourceSerializer):
    """One movement of an account's money: the ledger whose sum is the balance (R21)."""

    actionType = enum_field(MovementKind.choices, source="kind", read_only=True)
    billingAccount = RefField(source="billing_account")
    amount = MoneyField(amount="amount", currency="currency", help_text="signed")
    reason = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    createdAt = InstantField(source="created_at", read_only=True)
    cause = serializers.SerializerMethodField(help_text="what caused the movement")
    createdBy = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = BalanceMovement

    @extend_schema_field(CauseSchema(allow_null=True))
    def get_cause(self, movement):
        return movement_cause(movement, self.context.get("request"))


class BucketActionSerializer(ResourceSerializer):
    """One movement of a bucket's units (a usage draw, a hold, its release, an expiry, an
    adjustment); the bucket's remainder is its initial value plus their sum (R11, R12)."""

    bucket = RefField()
    product = RefField(source="bucket.subscription", allow_null=True, help_text="null: shared")
    actionType = enum_field(BucketMovementKind.choices, source="kind", read_only=True)
    quantity = serializers.SerializerMethodField()
    reason = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True)
    cause = serializers.SerializerMethodField(help_text="what caused the movement")
    createdAt = InstantField(source="created_at", read_only=True)
    createdBy = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = BucketMovement

    @extend_schema_field(QuantitySchema)
    def get_quantity(self, movement):
        return {"amount": movement.quantity, "units": movement.bucket.unit}

    @extend_schema_field(CauseSchema(allow_null=True))
    def get_cause(self, movement):
        return movement_cause(movement, self.context.get("request"))


class TopupBalanceSerializer(ResourceSerializer):
    """Money added to a prepaid or hybrid balance through a channel (TMF654 topupBalance)."""

    billingAccount = RefField(source="billing_account")
    amount = MoneyField(amount="amount", currency="currency")
    channel = enum_field(TopUpChannel.choices, read_only=True)
    reference = serializers.CharField(read_only=True, help_text="unique per channel")
    status = ConstantField("completed")
    balanceAction = RefField(source="movement")
    voucher = serializers.SerializerMethodField(help_text="serial of the voucher redeemed")
    requestedDate = InstantField(source="created_at", read_only=True)
    createdBy = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = TopUp

    def get_voucher(self, top_up) -> str | None:
        if top_up.channel != TopUpChannel.VOUCHER:
            return None
        return top_up.reference


class AdjustBalanceSerializer(serializers.Serializer):
    """The result of a balance adjustment: the money or the units moved, and why."""

    billingAccount = RefField(source="billing_account", allow_null=True)
    bucket = RefField(allow_null=True)
    amount = MoneySchema(allow_null=True, help_text="the money moved (signed)")
    quantity = QuantitySchema(allow_null=True, help_text="the units moved (signed)")
    reason = serializers.CharField()
    reference = serializers.CharField()
    balanceAction = RefField(source="balance_action", allow_null=True)
    requestedDate = InstantField(source="created_at")

    def get_fields(self):
        fields = {
            "id": serializers.CharField(source="pk"),
            "@type": ConstantField("AdjustBalance"),
        }
        fields.update(super().get_fields())
        return fields


class VoucherBatchSerializer(ResourceSerializer):
    """A batch of single-use top-up vouchers of one value; its codes are never shown again."""

    reference = serializers.CharField(read_only=True)
    brand = RefField()
    value = MoneyField(amount="value", currency="currency")
    count = serializers.IntegerField(read_only=True)
    redeemedCount = serializers.IntegerField(source="redeemed_count", read_only=True)
    validUntil = InstantField(source="valid_until", read_only=True, allow_null=True)
    createdBy = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    createdAt = InstantField(source="created_at", read_only=True)

    class Meta:
        model = VoucherBatch


class VoucherCodeSerializer(serializers.Serializer):
    serial = serializers.CharField()
    code = serializers.CharField(help_text="the secret to redeem; shown in this answer only")


class VoucherBatchCreatedSerializer(VoucherBatchSerializer):
    """A new batch with its codes: the only time they are shown."""

    vouchers = VoucherCodeSerializer(source="codes", many=True, read_only=True)

    class Meta:
        model = VoucherBatch


# --- input ----------------------------------------------------------------------------------


def visible_brands(user):
    """Brands a user may write for (brand scoping)."""
    brands = brands_of(user)
    return Brand.objects.all() if brands is None else Brand.objects.filter(pk__in=brands)


def visible_customers(user):
    return customers_visible_to(user)


def visible_accounts(user):
    return billing_accounts_visible_to(user)


def visible_buckets(user):
    return Bucket.objects.filter(billing_account__in=visible_accounts(user).values("pk"))


def all_of(model):
    return lambda user: model.objects.all()


class CustomerInput(serializers.Serializer):
    number = serializers.CharField(
        max_length=32, required=False, help_text="given by the system when left out"
    )
    brand = RefField(visible_brands, help_text="set on creation only")
    engagedParty = EngagedPartyField()
    contactMedium = ContactMediumField(required=False)
    language = serializers.CharField(max_length=8, required=False)
    externalId = serializers.CharField(
        source="external_id", max_length=64, required=False, allow_blank=True
    )


class BillingCycleInput(serializers.Serializer):
    billingDateShift = serializers.IntegerField(
        source="bill_cycle_day", min_value=1, max_value=28, help_text="the bill cycle day"
    )


class BillingAccountInput(serializers.Serializer):
    customer = RefField(visible_customers, help_text="set on creation only")
    accountNumber = serializers.CharField(
        source="number", max_length=32, required=False, help_text="given by the system if left out"
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    paymentModel = enum_field(PaymentModel.choices, source="payment_model")
    currency = serializers.CharField(max_length=3, min_length=3)
    timezone = serializers.CharField(max_length=64, required=False)
    billingCycleSpecification = BillingCycleInput(source="*", required=False)
    paymentTermsDays = serializers.IntegerField(
        source="payment_terms_days", min_value=0, max_value=365, required=False
    )
    creditLimit = MoneyInputField(source="credit_limit", required=False)
    taxRegion = RefField(all_of(TaxRegion), source="tax_region")
    dunningPolicy = serializers.CharField(
        source="dunning_policy", max_length=32, required=False, allow_blank=True
    )
    parentAccount = RefField(visible_accounts, source="parent", required=False, allow_null=True)
    invoiceToParent = serializers.BooleanField(source="invoice_to_parent", required=False)


@extend_schema_serializer(component_name="SubscribersSimReference")
class SimRefSchema(serializers.Serializer):
    id = serializers.CharField(required=False, help_text="the SIM's id")
    iccid = serializers.CharField(required=False, help_text="or its ICCID")


@extend_schema_field(SimRefSchema)
class SimRefField(serializers.Field):
    """A SIM named by ``{"id": "7"}`` or by ``{"iccid": "8949…"}``."""

    default_error_messages = {
        "invalid": 'a SIM is named {{"id": "7"}} or {{"iccid": "8949…"}}',
        "does_not_exist": "no SIM {value}",
    }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        pk, iccid = data.get("id"), data.get("iccid")
        if pk is not None and not isinstance(pk, bool) and str(pk).strip().isdigit():
            lookup, value = {"pk": int(pk)}, pk
        elif isinstance(iccid, str) and iccid.strip():
            lookup, value = {"iccid": iccid.strip()}, iccid
        else:
            self.fail("invalid")
        try:
            return Sim.objects.get(**lookup)
        except Sim.DoesNotExist:
            self.fail("does_not_exist", value=value)

    def to_representation(self, value):
        return reference(value, self.context.get("request"))


def sold_offerings(user):
    return PlanVersion.objects.filter(status=Status.PUBLISHED).select_related("plan")


class OfferingInput(serializers.Serializer):
    """The plan a product goes on: named as the offering sold (a plan version) or as the plan.

    A ``productOffering`` is a plan version, as in the catalogue's productOffering resource and
    in a usage event's rating: naming one must be the version in force when the product goes on
    it, so that the client sees the price it asked for. ``plan`` names the plan; the version in
    force then applies (R19). Name one of the two.
    """

    productOffering = RefField(
        sold_offerings,
        source="offering",
        required=False,
        help_text="the offering as sold: a published plan version (productOffering resource)",
    )
    plan = RefField(
        all_of(Plan), required=False, help_text="the plan; its version in force applies"
    )

    def validate(self, data):
        offering = data.get("offering")
        if offering is not None and "plan" in data:
            raise serializers.ValidationError(
                {"plan": "name the productOffering or the plan, not both"}
            )
        if offering is None and "plan" not in data:
            raise serializers.ValidationError(
                {"productOffering": "required: the offering (a plan version) or the plan"}
            )
        if offering is not None:
            data["plan"] = offering.plan
        return data


def offering_in_force(*, offering: PlanVersion | None, instant: dt.datetime) -> None:
    """Refuse an offering that is not the version of its plan in force at an instant (R19)."""
    if offering is None:
        return
    in_force = plan_version_at(plan=offering.plan, instant=instant)
    if in_force != offering:
        now = f"{in_force} (id {in_force.pk})" if in_force else "none"
        raise serializers.ValidationError(
            {"productOffering": f"{offering} is not in force then; the offering in force is {now}"}
        )


class ProductInput(OfferingInput):
    billingAccount = RefField(visible_accounts, source="billing_account")
    msisdn = serializers.CharField(max_length=20, help_text="E.164, with or without '+'")
    sim = SimRefField(required=False, allow_null=True)
    orderDate = InstantField(
        source="created_at", required=False, help_text="when it holds its number; now if left out"
    )
    userName = serializers.CharField(
        source="user_name",
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="the person using the line, when not the account holder",
    )

    def validate(self, data):
        data = super().validate(data)
        instant = data.get("created_at") or timezone.now()
        offering_in_force(offering=data.pop("offering", None), instant=instant)
        return data


class ProductUserInput(serializers.Serializer):
    userName = serializers.CharField(
        source="user_name",
        max_length=200,
        allow_blank=True,
        help_text="the person using the line; empty: the account holder",
    )


class EffectiveInput(serializers.Serializer):
    effectiveDate = InstantField(
        source="effective_at", required=False, help_text="when it takes effect; now if left out"
    )


class ReasonInput(EffectiveInput):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TerminateInput(EffectiveInput):
    portOut = serializers.BooleanField(
        source="port_out",
        required=False,
        default=False,
        help_text="the number leaves for another operator",
    )


class ChangePlanInput(OfferingInput):
    changeDate = serializers.DateField(
        source="change_date", help_text="from 00:00 of this day in the account's timezone (R25)"
    )


class AddAddOnInput(EffectiveInput):
    addOn = RefField(all_of(AddOn), source="add_on")


class RemoveAddOnInput(EffectiveInput):
    productAddOn = RefField(
        all_of(SubscriptionAddOn), source="subscription_add_on", help_text="an entry of addOns"
    )


class SwapSimInput(EffectiveInput):
    sim = SimRefField()


class SimBatchInput(serializers.Serializer):
    reference = serializers.CharField(max_length=64)
    hostNetwork = serializers.CharField(
        source="host_network", max_length=32, help_text="code (or id) of the host network"
    )
    file = serializers.FileField(help_text="CSV with the header iccid,imsi")

    def validate_hostNetwork(self, value):
        networks = HostNetwork.objects.all()
        found = (
            networks.filter(pk=int(value)).first()
            if value.isdigit()
            else networks.filter(code__iexact=value.strip()).first()
        )
        if found is None:
            raise serializers.ValidationError(f"no host network {value}")
        return found


class TopupBalanceInput(serializers.Serializer):
    billingAccount = RefField(visible_accounts, source="billing_account")
    amount = MoneyInputField(help_text="in the account's currency")
    channel = enum_field(TopUpChannel.choices)
    reference = serializers.CharField(max_length=100, help_text="unique per channel")


class AdjustBalanceInput(serializers.Serializer):
    billingAccount = RefField(
        visible_accounts, source="billing_account", required=False, help_text="money: an account"
    )
    amount = MoneyInputField(signed=True, required=False, help_text="signed, with billingAccount")
    bucket = RefField(visible_buckets, required=False, help_text="units: a bucket")
    quantity = serializers.IntegerField(
        required=False, help_text="signed units in the bucket's base unit, with bucket"
    )
    reason = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        money_given = "billing_account" in attrs or "amount" in attrs
        units_given = "bucket" in attrs or "quantity" in attrs
        if money_given == units_given:
            raise serializers.ValidationError(
                "adjust either money (billingAccount and amount) or units (bucket and quantity)"
            )
        if money_given:
            missing = [name for name in ("billing_account", "amount") if name not in attrs]
        else:
            missing = [name for name in ("bucket", "quantity") if name not in attrs]
        if missing:
            names = {"billing_account": "billingAccount"}
            raise serializers.ValidationError(
                {names.get(name, name): ["This field is required."] for name in missing}
            )
        return attrs


class VoucherBatchInput(serializers.Serializer):
    reference = serializers.CharField(max_length=64)
    brand = RefField(visible_brands)
    value = MoneyInputField(help_text="what each voucher is worth")
    count = serializers.IntegerField(min_value=1, max_value=100_000)
    validUntil = InstantField(source="valid_until", required=False, allow_null=True)


class VoucherRedeemInput(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text="the voucher's secret code")
    billingAccount = RefField(visible_accounts, source="billing_account")
