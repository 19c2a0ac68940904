"""Console lists of the catalogue: one ConsoleTable per model, sortable and exported as CSV."""

import django_tables2 as tables
from django.utils.html import format_html

from catalog.models import (
    AddOn,
    Brand,
    HostNetwork,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    TaxCategory,
    TaxRegion,
    TimeBandSet,
    ZoneTable,
)
from core.console.tables import ConsoleTable


class StatusColumn(tables.Column):
    """A draft / published / retired badge (plain text in the CSV)."""

    def render(self, value, record):
        return format_html('<span class="badge {}">{}</span>', record.status, value)

    def value(self, value):
        return value


class CountColumn(tables.Column):
    """A number annotated on the queryset (rows of a card, versions of a plan…)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(**kwargs)


class BrandTable(ConsoleTable):
    code = tables.Column(linkify=True)
    parent = tables.Column(verbose_name="Hosted by", linkify=True)
    plan_count = CountColumn(verbose_name="Plans")

    class Meta(ConsoleTable.Meta):
        model = Brand
        fields = ("code", "name", "parent")
        sequence = ("code", "name", "parent", "plan_count")


class ZoneTableTable(ConsoleTable):
    code = tables.Column(linkify=True)
    destination_count = CountColumn(verbose_name="Destination zones")
    roaming_count = CountColumn(verbose_name="Roaming zones")

    class Meta(ConsoleTable.Meta):
        model = ZoneTable
        fields = ("code", "name")
        sequence = ("code", "name", "destination_count", "roaming_count")


class TimeBandSetTable(ConsoleTable):
    code = tables.Column(linkify=True)
    bands = tables.ManyToManyColumn(
        transform=lambda band: band.code, orderable=False, verbose_name="Bands"
    )

    class Meta(ConsoleTable.Meta):
        model = TimeBandSet
        fields = ("code", "name", "timezone")
        sequence = ("code", "name", "timezone", "bands")


class TaxCategoryTable(ConsoleTable):
    code = tables.Column(linkify=("catalog:taxcategory-detail", [tables.A("pk")]))

    class Meta(ConsoleTable.Meta):
        model = TaxCategory
        fields = ("code", "name")


class TaxRegionTable(ConsoleTable):
    code = tables.Column(linkify=True)
    rate_count = CountColumn(verbose_name="Rates")

    class Meta(ConsoleTable.Meta):
        model = TaxRegion
        fields = ("code", "name")
        sequence = ("code", "name", "rate_count")


class RateCardTable(ConsoleTable):
    code = tables.Column(linkify=True)
    zone_table = tables.Column(linkify=True)
    time_band_set = tables.Column(linkify=True, verbose_name="Band set")
    status = StatusColumn()
    row_count = CountColumn(verbose_name="Rows")
    published_at = tables.DateTimeColumn(format="Y-m-d H:i")

    class Meta(ConsoleTable.Meta):
        model = RateCard
        fields = ("code", "name", "kind", "currency", "zone_table", "time_band_set", "status")
        sequence = (
            "code",
            "name",
            "kind",
            "currency",
            "zone_table",
            "time_band_set",
            "status",
            "row_count",
            "published_at",
        )


class HostNetworkTable(ConsoleTable):
    code = tables.Column(linkify=True)
    plmn_codes = tables.Column(verbose_name="PLMN codes", orderable=False)

    class Meta(ConsoleTable.Meta):
        model = HostNetwork
        fields = ("code", "name", "plmn_codes", "country_code")

    def render_plmn_codes(self, value):
        return ", ".join(value)


class PlanTable(ConsoleTable):
    code = tables.Column(linkify=True)
    brand = tables.Column(
        accessor="brand__code",
        order_by="brand__code",
        verbose_name="Brand",
        linkify=lambda record: record.brand.get_absolute_url(),
    )
    version_count = CountColumn(verbose_name="Versions")

    class Meta(ConsoleTable.Meta):
        model = Plan
        fields = ("code", "name", "brand", "payment_model", "currency")
        sequence = ("code", "name", "brand", "payment_model", "currency", "version_count")


class PlanVersionTable(ConsoleTable):
    plan = tables.Column(
        accessor="plan__code",
        order_by="plan__code",
        verbose_name="Plan",
        linkify=lambda record: record.plan.get_absolute_url(),
    )
    version = tables.Column(linkify=True)
    status = StatusColumn()
    effective_from = tables.DateTimeColumn(format="Y-m-d H:i")
    rate_card = tables.Column(
        accessor="rate_card__code", order_by="rate_card__code", verbose_name="Rate card"
    )
    recurring_fee = tables.Column(attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    fee_timing = tables.Column(verbose_name="Timing")

    class Meta(ConsoleTable.Meta):
        model = PlanVersion
        fields = ("plan", "version", "status", "effective_from", "rate_card", "recurring_fee")
        sequence = (
            "plan",
            "version",
            "status",
            "effective_from",
            "rate_card",
            "recurring_fee",
            "fee_timing",
        )

    def render_version(self, value):
        return f"v{value}"


class AddOnTable(ConsoleTable):
    code = tables.Column(linkify=True)
    status = StatusColumn()
    price = tables.Column(attrs={"td": {"class": "num"}, "th": {"class": "num"}})

    class Meta(ConsoleTable.Meta):
        model = AddOn
        fields = ("code", "name", "kind", "status", "price", "currency", "validity_days")


class PromotionTable(ConsoleTable):
    code = tables.Column(linkify=True)
    status = StatusColumn()
    value = tables.Column(attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    available_from = tables.DateTimeColumn(format="Y-m-d H:i")
    available_until = tables.DateTimeColumn(format="Y-m-d H:i")

    class Meta(ConsoleTable.Meta):
        model = Promotion
        fields = (
            "code",
            "name",
            "status",
            "discount_type",
            "value",
            "currency",
            "periods",
            "available_from",
            "available_until",
        )
