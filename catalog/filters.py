"""Filters of the catalogue lists; the same filters drive each list's CSV export."""

import django_filters
from django.db.models import Q

from catalog.models import (
    AddOn,
    AddOnKind,
    Brand,
    DiscountType,
    HostNetwork,
    PaymentModel,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    RateCardKind,
    Status,
    TaxCategory,
    TaxRegion,
    TimeBandSet,
    ZoneTable,
)
from core.console.filters import ConsoleFilter


class CodeOrNameFilter(ConsoleFilter):
    """A search box over the code and the name of a catalogue record."""

    q = django_filters.CharFilter(method="filter_code_or_name", label="Code or name contains")

    def filter_code_or_name(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class BrandFilter(CodeOrNameFilter):
    parent = django_filters.ModelChoiceFilter(queryset=Brand.objects.all(), label="Hosted by")

    class Meta:
        model = Brand
        fields = ["q", "parent"]


class ZoneTableFilter(CodeOrNameFilter):
    class Meta:
        model = ZoneTable
        fields = ["q"]


class TimeBandSetFilter(CodeOrNameFilter):
    timezone = django_filters.CharFilter(lookup_expr="icontains", label="Time zone contains")

    class Meta:
        model = TimeBandSet
        fields = ["q", "timezone"]


class TaxCategoryFilter(CodeOrNameFilter):
    class Meta:
        model = TaxCategory
        fields = ["q"]


class TaxRegionFilter(CodeOrNameFilter):
    class Meta:
        model = TaxRegion
        fields = ["q"]


class RateCardFilter(CodeOrNameFilter):
    kind = django_filters.ChoiceFilter(choices=RateCardKind.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    zone_table = django_filters.ModelChoiceFilter(queryset=ZoneTable.objects.all())
    currency = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = RateCard
        fields = ["q", "kind", "status", "zone_table", "currency"]


class HostNetworkFilter(CodeOrNameFilter):
    plmn = django_filters.CharFilter(method="filter_plmn", label="PLMN code")

    class Meta:
        model = HostNetwork
        fields = ["q", "plmn"]

    def filter_plmn(self, queryset, name, value):
        """Match a PLMN code inside the JSON list, on SQLite and PostgreSQL alike."""
        return queryset.filter(plmn_codes__icontains=f'"{value.strip()}"')


class PlanFilter(CodeOrNameFilter):
    brand = django_filters.ModelChoiceFilter(queryset=Brand.objects.all())
    payment_model = django_filters.ChoiceFilter(choices=PaymentModel.choices)
    currency = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Plan
        fields = ["q", "brand", "payment_model", "currency"]


class PlanVersionFilter(ConsoleFilter):
    plan = django_filters.ModelChoiceFilter(queryset=Plan.objects.all())
    status = django_filters.ChoiceFilter(choices=Status.choices)
    rate_card = django_filters.ModelChoiceFilter(queryset=RateCard.objects.all())

    class Meta:
        model = PlanVersion
        fields = ["plan", "status", "rate_card"]


class AddOnFilter(CodeOrNameFilter):
    kind = django_filters.ChoiceFilter(choices=AddOnKind.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    eligible_plans = django_filters.ModelChoiceFilter(queryset=Plan.objects.all(), label="For plan")

    class Meta:
        model = AddOn
        fields = ["q", "kind", "status", "eligible_plans"]


class PromotionFilter(CodeOrNameFilter):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    discount_type = django_filters.ChoiceFilter(choices=DiscountType.choices)
    eligible_plans = django_filters.ModelChoiceFilter(queryset=Plan.objects.all(), label="For plan")

    class Meta:
        model = Promotion
        fields = ["q", "status", "discount_type", "eligible_plans"]
