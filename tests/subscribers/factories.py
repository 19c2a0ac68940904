"""factory-boy factories for subscriber models.

They write straight to the database, so a test can make the customer, account or SIM it needs
in one line; the behaviour under test then goes through ``subscribers.services``. A
``SubscriptionFactory`` writes its subscription with one open term, as ``subscription_create``
and ``subscription_activate`` at one instant would. Every instant is aware UTC, every amount a
Decimal.
"""

import datetime as dt
from decimal import Decimal

import factory

from catalog.models import PaymentModel
from subscribers.demo import iccid_for
from subscribers.models import (
    BillingAccount,
    BrandScope,
    Bucket,
    BucketSource,
    Customer,
    CustomerKind,
    Sim,
    SimStatus,
    Subscription,
    SubscriptionStatus,
    SubscriptionTerm,
)
from tests.catalog.factories import (
    BrandFactory,
    HostNetworkFactory,
    PlanFactory,
    TaxRegionFactory,
)

OCTOBER_START = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # 2026-10-01 00:00 Berlin
NOVEMBER_START = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)  # 2026-11-01 00:00 Berlin


class CustomerFactory(factory.django.DjangoModelFactory):
    """A person of a new brand; ``kind=CustomerKind.BUSINESS`` with a ``company_name``."""

    class Meta:
        model = Customer

    brand = factory.SubFactory(BrandFactory)
    number = factory.Sequence(lambda n: f"CF{n:07d}")
    kind = CustomerKind.PERSON
    first_name = "Erika"
    last_name = factory.Sequence(lambda n: f"Mustermann{n}")
    country = "DE"


class BillingAccountFactory(factory.django.DjangoModelFactory):
    """A postpaid EUR account in Europe/Berlin, bill cycle day 1."""

    class Meta:
        model = BillingAccount

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"AF{n:07d}")
    name = factory.LazyAttribute(lambda o: o.customer.display_name)
    currency = "EUR"
    timezone = "Europe/Berlin"
    bill_cycle_day = 1
    tax_region = factory.SubFactory(TaxRegionFactory)
    payment_model = PaymentModel.POSTPAID
    credit_limit = Decimal("0")


class SimFactory(factory.django.DjangoModelFactory):
    """An available SIM with a valid IMSI (MCC 262) and ICCID (Luhn)."""

    class Meta:
        model = Sim

    imsi = factory.Sequence(lambda n: f"2620377{n:08d}")
    iccid = factory.LazyAttribute(lambda o: iccid_for(o.imsi))
    status = SimStatus.AVAILABLE
    host_network = factory.SubFactory(HostNetworkFactory)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An active subscription from ``valid_from`` on, with its one open term."""

    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    class Params:
        valid_from = OCTOBER_START

    billing_account = factory.SubFactory(BillingAccountFactory)
    plan = factory.SubFactory(
        PlanFactory,
        brand=factory.SelfAttribute("..billing_account.customer.brand"),
        payment_model=factory.SelfAttribute("..billing_account.payment_model"),
    )
    msisdn = factory.Sequence(lambda n: f"4917688{n:06d}")
    sim = factory.SubFactory(SimFactory, status=SimStatus.ASSIGNED)
    status = SubscriptionStatus.ACTIVE
    activated_at = factory.SelfAttribute("valid_from")

    @factory.post_generation
    def term(obj, create, extracted, **kwargs):
        if create:
            SubscriptionTerm.objects.create(
                subscription=obj,
                valid_from=obj.activated_at or OCTOBER_START,
                msisdn=obj.msisdn,
                imsi=obj.sim.imsi if obj.sim else "",
                sim=obj.sim,
                plan=obj.plan,
                status=obj.status,
                change="activate",
            )


class BucketFactory(factory.django.DjangoModelFactory):
    """100 minutes of voice out for October 2026, on a subscription."""

    class Meta:
        model = Bucket

    subscription = factory.SubFactory(SubscriptionFactory)
    billing_account = factory.SelfAttribute("subscription.billing_account")
    shared = False
    source = BucketSource.ADJUSTMENT
    name = "Voice 100 min"
    services = factory.LazyFunction(lambda: ["VOICE_OUT"])
    unit = "SECOND"
    initial = 6_000
    valid_from = OCTOBER_START
    valid_to = NOVEMBER_START


class BrandScopeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrandScope

    brand = factory.SubFactory(BrandFactory)
