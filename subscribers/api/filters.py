"""Query filters of the subscribers API lists, named like the JSON fields they filter.

Related resources are named by id (``?billingAccount=3``), the brand by its code as operators
know it (``?brand=LOREM``); a number may be written as E.164 with or without '+' or '00'
(``?msisdn=+4915112340001``). Every list sorts with ``?ordering=`` on the names given in its
``ordering`` filter.
"""

import django_filters as filters
from django.db.models import Q

from catalog.models import PaymentModel
from core.api.filters import InstantFilter
from subscribers.models import (
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
    SubscriptionStatus,
    TopUp,
    TopUpChannel,
    VoucherBatch,
)


def id_filter(field_name: str, label: str):
    return filters.NumberFilter(field_name=field_name, label=label)


def code_filter(field_name: str, label: str):
    return filters.CharFilter(field_name=field_name, lookup_expr="iexact", label=label)


def digits(value: str) -> str:
    """A number as stored: E.164 digits without '+', '00', spaces or dashes."""
    text = value.strip().replace(" ", "").replace("-", "")
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    return text


class CustomerFilter(filters.FilterSet):
    number = filters.CharFilter(field_name="number", lookup_expr="iexact")
    name = filters.CharFilter(method="filter_name", label="part of the name or company name")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    brand = code_filter("brand__code", "code of the brand")
    partyType = filters.ChoiceFilter(
        choices=[("Individual", "Individual"), ("Organization", "Organization")],
        method="filter_party_type",
        label="Individual (a person) or Organization (a business)",
    )
    externalId = filters.CharFilter(field_name="external_id", label="the CRM's reference")
    ordering = filters.OrderingFilter(
        fields=(("number", "number"), ("last_name", "familyName"),
                ("company_name", "tradingName"), ("updated_at", "lastUpdate"))
    )  # fmt: skip

    class Meta:
        model = Customer
        fields: list = []

    def filter_name(self, queryset, name, value):
        words = value.split()
        for word in words:
            queryset = queryset.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company_name__icontains=word)
            )
        return queryset

    def filter_party_type(self, queryset, name, value):
        kind = CustomerKind.PERSON if value == "Individual" else CustomerKind.BUSINESS
        return queryset.filter(kind=kind)


class BillingAccountFilter(filters.FilterSet):
    accountNumber = filters.CharFilter(field_name="number", lookup_expr="iexact")
    customer = id_filter("customer_id", "id of the customer")
    status = filters.ChoiceFilter(choices=BillingAccountStatus.choices)
    paymentModel = filters.ChoiceFilter(field_name="payment_model", choices=PaymentModel.choices)
    currency = code_filter("currency", "currency code")
    parentAccount = id_filter("parent_id", "id of the parent account")
    brand = code_filter("customer__brand__code", "code of the brand")
    ordering = filters.OrderingFilter(
        fields=(("number", "accountNumber"), ("name", "name"), ("updated_at", "lastUpdate"))
    )

    class Meta:
        model = BillingAccount
        fields: list = []


class ProductFilter(filters.FilterSet):
    msisdn = filters.CharFilter(method="filter_msisdn", label="the number, E.164")
    iccid = filters.CharFilter(field_name="sim__iccid", label="ICCID of its SIM")
    imsi = filters.CharFilter(field_name="sim__imsi", label="IMSI of its SIM")
    status = filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    billingAccount = id_filter("billing_account_id", "id of the billing account")
    customer = id_filter("billing_account__customer_id", "id of the customer")
    plan = id_filter("plan_id", "id of the plan")
    productOffering = id_filter(
        "plan__versions__id", "id of a productOffering (plan version): the products on its plan"
    )
    planCode = code_filter("plan__code", "code of the plan")
    brand = code_filter("billing_account__customer__brand__code", "code of the brand")
    ordering = filters.OrderingFilter(
        fields=(("msisdn", "msisdn"), ("status", "status"), ("activated_at", "startDate"),
                ("terminated_at", "terminationDate"), ("updated_at", "lastUpdate"))
    )  # fmt: skip

    class Meta:
        model = Subscription
        fields: list = []

    def filter_msisdn(self, queryset, name, value):
        return queryset.filter(msisdn=digits(value))


class SimFilter(filters.FilterSet):
    iccid = filters.CharFilter(field_name="iccid")
    imsi = filters.CharFilter(field_name="imsi")
    status = filters.ChoiceFilter(choices=SimStatus.choices)
    batch = id_filter("batch_id", "id of the SIM batch")
    hostNetwork = code_filter("host_network__code", "code of the host network")
    ordering = filters.OrderingFilter(fields=(("iccid", "iccid"), ("updated_at", "lastUpdate")))

    class Meta:
        model = Sim
        fields: list = []


class SimBatchFilter(filters.FilterSet):
    reference = filters.CharFilter(field_name="reference", lookup_expr="iexact")
    hostNetwork = code_filter("host_network__code", "code of the host network")
    ordering = filters.OrderingFilter(
        fields=(("reference", "reference"), ("created_at", "createdAt"))
    )

    class Meta:
        model = SimBatch
        fields: list = []


class BucketFilter(filters.FilterSet):
    product = id_filter("subscription_id", "id of the product (shared buckets excluded)")
    billingAccount = id_filter("billing_account_id", "id of the billing account")
    source = filters.ChoiceFilter(choices=BucketSource.choices)
    shared = filters.BooleanFilter()
    validAt = InstantFilter(
        method="filter_valid_at", label="only buckets valid at this instant (ISO 8601)"
    )
    ordering = filters.OrderingFilter(
        fields=(("valid_to", "validFor.endDateTime"), ("valid_from", "validFor.startDateTime"),
                ("id", "id"))
    )  # fmt: skip

    class Meta:
        model = Bucket
        fields: list = []

    def filter_valid_at(self, queryset, name, value):
        return queryset.filter(valid_from__lte=value, valid_to__gt=value)


class AccumulatedBalanceFilter(filters.FilterSet):
    billingAccount = id_filter("pk", "id of the billing account")
    customer = id_filter("customer_id", "id of the customer")
    paymentModel = filters.ChoiceFilter(field_name="payment_model", choices=PaymentModel.choices)
    ordering = filters.OrderingFilter(fields=(("number", "accountNumber"),))

    class Meta:
        model = BillingAccount
        fields: list = []


class BalanceActionFilter(filters.FilterSet):
    billingAccount = id_filter("billing_account_id", "id of the billing account")
    actionType = filters.ChoiceFilter(field_name="kind", choices=MovementKind.choices)
    reference = filters.CharFilter(field_name="reference")
    createdFrom = InstantFilter(
        field_name="created_at", lookup_expr="gte", label="created at or after (ISO 8601)"
    )
    createdBefore = InstantFilter(
        field_name="created_at", lookup_expr="lt", label="created before (ISO 8601)"
    )
    ordering = filters.OrderingFilter(fields=(("id", "id"), ("created_at", "createdAt")))

    class Meta:
        model = BalanceMovement
        fields: list = []


class BucketActionFilter(filters.FilterSet):
    bucket = id_filter("bucket_id", "id of the bucket")
    product = id_filter("bucket__subscription_id", "id of the product (shared buckets excluded)")
    billingAccount = id_filter("bucket__billing_account_id", "id of the billing account")
    actionType = filters.ChoiceFilter(field_name="kind", choices=BucketMovementKind.choices)
    reference = filters.CharFilter(field_name="reference", help_text="e.g. usage:42")
    createdFrom = InstantFilter(
        field_name="created_at", lookup_expr="gte", label="created at or after (ISO 8601)"
    )
    createdBefore = InstantFilter(
        field_name="created_at", lookup_expr="lt", label="created before (ISO 8601)"
    )
    ordering = filters.OrderingFilter(fields=(("id", "id"), ("created_at", "createdAt")))

    class Meta:
        model = BucketMovement
        fields: list = []


class TopupBalanceFilter(filters.FilterSet):
    billingAccount = id_filter("billing_account_id", "id of the billing account")
    channel = filters.ChoiceFilter(choices=TopUpChannel.choices)
    reference = filters.CharFilter(field_name="reference")
    ordering = filters.OrderingFilter(fields=(("created_at", "requestedDate"), ("id", "id")))

    class Meta:
        model = TopUp
        fields: list = []


class VoucherBatchFilter(filters.FilterSet):
    reference = filters.CharFilter(field_name="reference", lookup_expr="iexact")
    brand = code_filter("brand__code", "code of the brand")
    ordering = filters.OrderingFilter(
        fields=(("reference", "reference"), ("created_at", "createdAt"))
    )

    class Meta:
        model = VoucherBatch
        fields: list = []
