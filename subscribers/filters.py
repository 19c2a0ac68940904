"""Filters of the subscribers lists; the same filters drive each list's CSV export.

Every choice of a brand, a plan or a parent account is limited to what the user may see
(brand scoping, subscribers.selectors).
"""

import django_filters
from django.db.models import Q

from catalog.models import Brand, PaymentModel, Plan
from core.console.filters import ConsoleFilter
from subscribers.models import (
    BillingAccount,
    BillingAccountStatus,
    Customer,
    CustomerKind,
    Sim,
    SimBatch,
    SimStatus,
    Subscription,
    SubscriptionStatus,
    TopUp,
    TopUpChannel,
    VoucherBatch,
)
from subscribers.selectors import (
    billing_accounts_visible_to,
    brands_of,
    brands_visible_to,
)


def msisdn_digits(text: str) -> str:
    """Reduce a typed number (+49 151 …, 0049…) to the digits an MSISDN is stored with."""
    digits = "".join(character for character in text if character.isdigit())
    return digits[2:] if text.strip().startswith("00") else digits


def visible_brands(request):
    """Brands to filter by: those the user may see (none without a request)."""
    return brands_visible_to(request.user) if request else Brand.objects.none()


def visible_plans(request):
    """Plans to filter by: those of the brands the user may see."""
    if request is None:
        return Plan.objects.none()
    brands = brands_of(request.user)
    return Plan.objects.all() if brands is None else Plan.objects.filter(brand_id__in=brands)


def visible_parent_accounts(request):
    """Accounts that have children, among those the user may see."""
    if request is None:
        return BillingAccount.objects.none()
    accounts = billing_accounts_visible_to(request.user)
    return accounts.filter(children__isnull=False).distinct().order_by("number")


class CustomerFilter(ConsoleFilter):
    q = django_filters.CharFilter(
        method="filter_search", label="Name, number, e-mail or MSISDN contains"
    )
    brand = django_filters.ModelChoiceFilter(queryset=visible_brands)
    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices)

    class Meta:
        model = Customer
        fields = ["q", "brand", "kind"]

    def filter_search(self, queryset, name, value):
        """Every word typed must match the name, customer number, e-mail, phone or MSISDN."""
        for word in value.split():
            match = (
                Q(number__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company_name__icontains=word)
                | Q(email__icontains=word)
                | Q(phone__icontains=word)
            )
            digits = msisdn_digits(word)
            if digits:
                holders = Subscription.objects.filter(msisdn__contains=digits).values(
                    "billing_account__customer_id"
                )
                match |= Q(pk__in=holders)
            queryset = queryset.filter(match)
        return queryset


class BillingAccountFilter(ConsoleFilter):
    q = django_filters.CharFilter(method="filter_search", label="Number or name contains")
    brand = django_filters.ModelChoiceFilter(
        field_name="customer__brand", queryset=visible_brands, label="Brand"
    )
    payment_model = django_filters.ChoiceFilter(choices=PaymentModel.choices)
    status = django_filters.ChoiceFilter(choices=BillingAccountStatus.choices)
    parent = django_filters.ModelChoiceFilter(queryset=visible_parent_accounts, label="Child of")

    class Meta:
        model = BillingAccount
        fields = ["q", "brand", "payment_model", "status", "parent"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(number__icontains=value)
            | Q(name__icontains=value)
            | Q(customer__number__icontains=value)
        )


class SubscriptionFilter(ConsoleFilter):
    msisdn = django_filters.CharFilter(method="filter_msisdn", label="MSISDN contains")
    brand = django_filters.ModelChoiceFilter(
        field_name="billing_account__customer__brand", queryset=visible_brands, label="Brand"
    )
    status = django_filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    plan = django_filters.ModelChoiceFilter(queryset=visible_plans)

    class Meta:
        model = Subscription
        fields = ["msisdn", "brand", "status", "plan"]

    def filter_msisdn(self, queryset, name, value):
        digits = msisdn_digits(value)
        return queryset.filter(msisdn__contains=digits) if digits else queryset.none()


class SimFilter(ConsoleFilter):
    q = django_filters.CharFilter(method="filter_search", label="ICCID or IMSI contains")
    status = django_filters.ChoiceFilter(choices=SimStatus.choices)
    batch = django_filters.ModelChoiceFilter(queryset=SimBatch.objects.all())

    class Meta:
        model = Sim
        fields = ["q", "status", "batch"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(iccid__contains=value) | Q(imsi__contains=value))


class VoucherBatchFilter(ConsoleFilter):
    reference = django_filters.CharFilter(lookup_expr="icontains", label="Reference contains")
    brand = django_filters.ModelChoiceFilter(queryset=visible_brands)

    class Meta:
        model = VoucherBatch
        fields = ["reference", "brand"]


class TopUpFilter(ConsoleFilter):
    q = django_filters.CharFilter(
        method="filter_search", label="Reference or account number contains"
    )
    brand = django_filters.ModelChoiceFilter(
        field_name="billing_account__customer__brand", queryset=visible_brands, label="Brand"
    )
    channel = django_filters.ChoiceFilter(choices=TopUpChannel.choices)
    since = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="On or after (date)"
    )
    until = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="On or before (date)"
    )

    class Meta:
        model = TopUp
        fields = ["q", "brand", "channel", "since", "until"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(reference__icontains=value) | Q(billing_account__number__icontains=value)
        )
