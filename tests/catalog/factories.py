"""factory-boy factories for catalogue models.

They write straight to the database (no service, no validation beyond the model's own
constraints), so a test can make exactly the row it needs in one line. Tests of the catalogue's
rules go through ``catalog.services``; these factories serve tests of later apps that only need a
catalogue to exist. Every instant is aware UTC and every amount a Decimal.
"""

import datetime as dt
from decimal import Decimal

import factory

from catalog.models import (
    AddOn,
    AddOnKind,
    Allowance,
    Brand,
    DiscountType,
    FairUseAction,
    FairUsePolicy,
    HostNetwork,
    HostNetworkTariff,
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
    TimeBandWindow,
    Unit,
    Zone,
    ZoneKind,
    ZoneMember,
    ZoneTable,
    ZoneType,
)

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _set_many(field_name: str):
    """A post-generation hook that sets a many-to-many field from a list given at build."""

    def hook(obj, create, extracted, **kwargs):
        if create and extracted:
            getattr(obj, field_name).set(extracted)

    return factory.PostGeneration(hook)


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BRAND{n}")
    name = factory.LazyAttribute(lambda o: f"Brand {o.code}")


class TaxCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxCategory
        django_get_or_create = ("code",)

    code = "TELECOM"
    name = "Telecommunication services"


class TaxRegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRegion
        django_get_or_create = ("code",)

    code = "DE"
    name = "Germany"


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    region = factory.SubFactory(TaxRegionFactory)
    category = factory.SubFactory(TaxCategoryFactory)
    rate = Decimal("0.19")
    valid_from = dt.date(2020, 1, 1)


class ZoneTableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ZoneTable

    code = factory.Sequence(lambda n: f"ZT{n}")
    name = factory.LazyAttribute(lambda o: f"Numbering plan {o.code}")


class ZoneFactory(factory.django.DjangoModelFactory):
    """A listed destination zone; ``members=["49", "4915"]`` adds its prefixes or networks."""

    class Meta:
        model = Zone
        skip_postgeneration_save = True

    table = factory.SubFactory(ZoneTableFactory)
    zone_type = ZoneType.DESTINATION
    code = factory.Sequence(lambda n: f"Z{n}")
    kind = ZoneKind.LISTED

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            for value in extracted:
                ZoneMember.objects.create(
                    table=obj.table, zone=obj, zone_type=obj.zone_type, value=value
                )


class ZoneMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ZoneMember

    zone = factory.SubFactory(ZoneFactory)
    table = factory.SelfAttribute("zone.table")
    zone_type = factory.SelfAttribute("zone.zone_type")
    value = factory.Sequence(lambda n: f"{900 + n}")


class TimeBandSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeBandSet

    code = factory.Sequence(lambda n: f"BANDS{n}")
    name = factory.LazyAttribute(lambda o: f"Bands {o.code}")
    timezone = "Europe/Berlin"


class TimeBandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeBand

    band_set = factory.SubFactory(TimeBandSetFactory)
    code = factory.Sequence(lambda n: f"BAND{n}")
    is_rest = False


class TimeBandWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeBandWindow

    band = factory.SubFactory(TimeBandFactory)
    days = factory.LazyFunction(lambda: [1, 2, 3, 4, 5])
    start_time = dt.time(8)
    end_time = dt.time(20)


def peak_offpeak_band_set(**kwargs) -> TimeBandSet:
    """Make a band set with PEAK Mon-Fri 08:00-20:00 and OFFPEAK for the rest of the week."""
    band_set = TimeBandSetFactory(**kwargs)
    peak = TimeBandFactory(band_set=band_set, code="PEAK")
    TimeBandWindowFactory(band=peak)
    TimeBandFactory(band_set=band_set, code="OFFPEAK", is_rest=True)
    return band_set


class RateCardFactory(factory.django.DjangoModelFactory):
    """A draft retail card in EUR without a band set; ``status=Status.PUBLISHED`` publishes it."""

    class Meta:
        model = RateCard

    code = factory.Sequence(lambda n: f"CARD{n}")
    name = factory.LazyAttribute(lambda o: f"Rate card {o.code}")
    kind = RateCardKind.RETAIL
    currency = "EUR"
    zone_table = factory.SubFactory(ZoneTableFactory)
    time_band_set = None
    status = Status.DRAFT
    published_at = factory.LazyAttribute(lambda o: EPOCH if o.status != Status.DRAFT else None)


class RateRowFactory(factory.django.DjangoModelFactory):
    """A voice-out row at 0.10 per minute, 60/60; zones by ``destination_zones=[...]``."""

    class Meta:
        model = RateRow
        skip_postgeneration_save = True

    rate_card = factory.SubFactory(RateCardFactory)
    service = Service.VOICE_OUT
    price = Decimal("0.10")
    unit = Unit.MINUTE
    increment_first = 60
    increment_next = 60
    destination_zones = _set_many("destination_zones")
    roaming_zones = _set_many("roaming_zones")


class HostNetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostNetwork

    code = factory.Sequence(lambda n: f"HOSTNET{n}")
    name = factory.LazyAttribute(lambda o: f"Host network {o.code}")
    plmn_codes = factory.LazyFunction(lambda: ["26203"])
    country_code = "49"


class HostNetworkTariffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostNetworkTariff

    host_network = factory.SubFactory(HostNetworkFactory)
    rate_card = factory.SubFactory(
        RateCardFactory, kind=RateCardKind.WHOLESALE, status=Status.PUBLISHED
    )
    effective_from = EPOCH


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"PLAN{n}")
    name = factory.LazyAttribute(lambda o: f"Plan {o.code}")
    brand = factory.SubFactory(BrandFactory)
    payment_model = PaymentModel.POSTPAID
    currency = "EUR"


class PlanVersionFactory(factory.django.DjangoModelFactory):
    """Version 1 of a plan, published on a published card, 19.99 a month in advance."""

    class Meta:
        model = PlanVersion

    plan = factory.SubFactory(PlanFactory)
    version = 1
    status = Status.PUBLISHED
    effective_from = EPOCH
    rate_card = factory.SubFactory(
        RateCardFactory, currency=factory.SelfAttribute("..plan.currency"), status=Status.PUBLISHED
    )
    recurring_fee = Decimal("19.99")
    published_at = factory.LazyAttribute(
        lambda o: o.effective_from if o.status != Status.DRAFT else None
    )


class AddOnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddOn
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"ADDON{n}")
    name = factory.LazyAttribute(lambda o: f"Add-on {o.code}")
    kind = AddOnKind.ONE_OFF
    status = Status.PUBLISHED
    price = Decimal("5.00")
    validity_days = 30
    published_at = factory.LazyAttribute(lambda o: EPOCH if o.status != Status.DRAFT else None)
    eligible_plans = _set_many("eligible_plans")


class AllowanceFactory(factory.django.DjangoModelFactory):
    """1 GB of data in a plan version; pass ``add_on=…, plan_version=None`` for an add-on's."""

    class Meta:
        model = Allowance
        skip_postgeneration_save = True

    plan_version = factory.SubFactory(PlanVersionFactory)
    add_on = None
    name = "Data 1 GB"
    services = factory.LazyFunction(lambda: [Service.DATA.value])
    quantity = 1
    unit = Unit.GB
    destination_zones = _set_many("destination_zones")
    roaming_zones = _set_many("roaming_zones")


class FairUsePolicyFactory(factory.django.DjangoModelFactory):
    """30 GB of data a period, then throttled."""

    class Meta:
        model = FairUsePolicy
        skip_postgeneration_save = True

    plan_version = factory.SubFactory(PlanVersionFactory)
    name = "Fair use 30 GB"
    services = factory.LazyFunction(lambda: [Service.DATA.value])
    cap_quantity = 30
    cap_unit = Unit.GB
    action = FairUseAction.THROTTLE
    destination_zones = _set_many("destination_zones")
    roaming_zones = _set_many("roaming_zones")


class PromotionFactory(factory.django.DjangoModelFactory):
    """10 % off the recurring fee for 3 periods; ``eligible_plans=[plan]`` names its plans."""

    class Meta:
        model = Promotion
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"PROMO{n}")
    name = factory.LazyAttribute(lambda o: f"Promotion {o.code}")
    status = Status.PUBLISHED
    discount_type = DiscountType.PERCENT
    value = Decimal("10")
    periods = 3
    published_at = factory.LazyAttribute(lambda o: EPOCH if o.status != Status.DRAFT else None)
    eligible_plans = _set_many("eligible_plans")
