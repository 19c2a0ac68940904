"""Query filters of the catalogue API lists, named like the JSON fields they filter.

Codes match without regard to case (``?code=smart-10``); related resources are named by id
(``?rateCard=3``), except the brand, named by its code as operators know it (``?brand=LOREM``).
Every list sorts with ``?ordering=`` on the names given in its ``ordering`` filter.
"""

import django_filters as filters

from catalog.models import (
    AddOn,
    AddOnKind,
    Allowance,
    Brand,
    DiscountType,
    FairUsePolicy,
    HostNetwork,
    PaymentModel,
    Plan,
    PlanVersion,
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
    Zone,
    ZoneKind,
    ZoneTable,
    ZoneType,
)


def code_filter(field_name: str = "code", label: str = "code (any case)"):
    return filters.CharFilter(field_name=field_name, lookup_expr="iexact", label=label)


def status_filter(field_name: str = "status"):
    return filters.ChoiceFilter(field_name=field_name, choices=Status.choices, label="status")


def id_filter(field_name: str, label: str, *, many: bool = False):
    """Filter on the id of a related object; ``many`` for a many-to-many relation."""
    return filters.NumberFilter(field_name=field_name, label=label, distinct=many)


class BrandFilter(filters.FilterSet):
    code = code_filter()
    parent = id_filter("parent_id", "id of the hosting brand")
    ordering = filters.OrderingFilter(fields=(("code", "code"), ("name", "name")))

    class Meta:
        model = Brand
        fields: list = []


class TaxCategoryFilter(filters.FilterSet):
    code = code_filter()
    ordering = filters.OrderingFilter(fields=(("code", "code"), ("name", "name")))

    class Meta:
        model = TaxCategory
        fields: list = []


class TaxRegionFilter(filters.FilterSet):
    code = code_filter()
    ordering = filters.OrderingFilter(fields=(("code", "code"), ("name", "name")))

    class Meta:
        model = TaxRegion
        fields: list = []


class TaxRateFilter(filters.FilterSet):
    taxRegion = id_filter("region_id", "id of the tax region")
    taxCategory = id_filter("category_id", "id of the tax category")
    ordering = filters.OrderingFilter(
        fields=(("region__code", "taxRegion"), ("category__code", "taxCategory"),
                ("valid_from", "validFrom"))
    )  # fmt: skip

    class Meta:
        model = TaxRate
        fields: list = []


class ZoneTableFilter(filters.FilterSet):
    code = code_filter()
    ordering = filters.OrderingFilter(fields=(("code", "code"), ("name", "name")))

    class Meta:
        model = ZoneTable
        fields: list = []


class ZoneFilter(filters.FilterSet):
    zoneTable = id_filter("table_id", "id of the zone table")
    zoneType = filters.ChoiceFilter(field_name="zone_type", choices=ZoneType.choices)
    kind = filters.ChoiceFilter(choices=ZoneKind.choices)
    code = code_filter()
    member = filters.CharFilter(
        field_name="members__value", label="a prefix or network it lists", distinct=True
    )
    ordering = filters.OrderingFilter(
        fields=(("table__code", "zoneTable"), ("zone_type", "zoneType"), ("code", "code"))
    )

    class Meta:
        model = Zone
        fields: list = []


class TimeBandSetFilter(filters.FilterSet):
    code = code_filter()
    ordering = filters.OrderingFilter(fields=(("code", "code"), ("name", "name")))

    class Meta:
        model = TimeBandSet
        fields: list = []


class TimeBandFilter(filters.FilterSet):
    timeBandSet = id_filter("band_set_id", "id of the time band set")
    code = code_filter()
    ordering = filters.OrderingFilter(fields=(("band_set__code", "timeBandSet"), ("code", "code")))

    class Meta:
        model = TimeBand
        fields: list = []


class RateCardFilter(filters.FilterSet):
    code = code_filter()
    kind = filters.ChoiceFilter(choices=RateCardKind.choices)
    lifecycleStatus = status_filter()
    currency = code_filter("currency", "currency code")
    zoneTable = id_filter("zone_table_id", "id of the zone table")
    ordering = filters.OrderingFilter(
        fields=(("code", "code"), ("name", "name"), ("published_at", "publishedAt"),
                ("updated_at", "lastUpdate"))
    )  # fmt: skip

    class Meta:
        model = RateCard
        fields: list = []


class ProductOfferingPriceFilter(filters.FilterSet):
    rateCard = id_filter("rate_card_id", "id of the rate card")
    rateCardCode = code_filter("rate_card__code", "code of the rate card")
    lifecycleStatus = status_filter("rate_card__status")
    service = filters.ChoiceFilter(choices=Service.choices)
    timeBand = id_filter("time_band_id", "id of the time band")
    destinationZone = id_filter(
        "destination_zones", "id of a destination zone the row names", many=True
    )
    roamingZone = id_filter("roaming_zones", "id of a roaming zone the row names", many=True)
    ordering = filters.OrderingFilter(
        fields=(("rate_card__code", "rateCard"), ("service", "service"), ("price", "price"),
                ("id", "id"))
    )  # fmt: skip

    class Meta:
        model = RateRow
        fields: list = []


class HostNetworkFilter(filters.FilterSet):
    code = code_filter()
    ordering = filters.OrderingFilter(fields=(("code", "code"), ("name", "name")))

    class Meta:
        model = HostNetwork
        fields: list = []


class PlanFilter(filters.FilterSet):
    code = code_filter()
    brand = code_filter("brand__code", "code of the brand")
    paymentModel = filters.ChoiceFilter(field_name="payment_model", choices=PaymentModel.choices)
    currency = code_filter("currency", "currency code")
    ordering = filters.OrderingFilter(
        fields=(("code", "code"), ("name", "name"), ("updated_at", "lastUpdate"))
    )

    class Meta:
        model = Plan
        fields: list = []


class PlanVersionFilter(filters.FilterSet):
    """Filters of plan versions, for both ``planVersion`` and ``productOffering``."""

    lifecycleStatus = status_filter()
    code = code_filter("plan__code", "code of the plan")
    plan = id_filter("plan_id", "id of the plan")
    brand = code_filter("plan__brand__code", "code of the brand")
    paymentModel = filters.ChoiceFilter(
        field_name="plan__payment_model", choices=PaymentModel.choices
    )
    rateCard = id_filter("rate_card_id", "id of the rate card")
    ordering = filters.OrderingFilter(
        fields=(("plan__code", "code"), ("version", "version"),
                ("effective_from", "effectiveFrom"), ("updated_at", "lastUpdate"))
    )  # fmt: skip

    class Meta:
        model = PlanVersion
        fields: list = []


class AllowanceFilter(filters.FilterSet):
    planVersion = id_filter("plan_version_id", "id of the plan version")
    addOn = id_filter("add_on_id", "id of the add-on")
    ordering = filters.OrderingFilter(fields=(("id", "id"), ("name", "name")))

    class Meta:
        model = Allowance
        fields: list = []


class FairUsePolicyFilter(filters.FilterSet):
    planVersion = id_filter("plan_version_id", "id of the plan version")
    ordering = filters.OrderingFilter(fields=(("id", "id"), ("name", "name")))

    class Meta:
        model = FairUsePolicy
        fields: list = []


class AddOnFilter(filters.FilterSet):
    code = code_filter()
    kind = filters.ChoiceFilter(choices=AddOnKind.choices)
    lifecycleStatus = status_filter()
    plan = id_filter("eligible_plans", "id of a plan it is sold with", many=True)
    ordering = filters.OrderingFilter(
        fields=(("code", "code"), ("name", "name"), ("updated_at", "lastUpdate"))
    )

    class Meta:
        model = AddOn
        fields: list = []


class PromotionFilter(filters.FilterSet):
    code = code_filter()
    lifecycleStatus = status_filter()
    discountType = filters.ChoiceFilter(field_name="discount_type", choices=DiscountType.choices)
    plan = id_filter("eligible_plans", "id of a plan it applies to", many=True)
    ordering = filters.OrderingFilter(
        fields=(("code", "code"), ("name", "name"), ("available_from", "validFrom"))
    )

    class Meta:
        model = Promotion
        fields: list = []
