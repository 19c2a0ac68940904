"""Small billing worlds for the invoicing tests, built through the catalogue and subscriber
services (terms, plan changes, terminations) with usage events written as rated rows."""

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from catalog import services as catalog_services
from catalog.models import Status
from charging.models import RatingStatus, UsageEvent
from core.periods import local_midnight
from invoicing.models import BillCycle, BillRun
from invoicing.services import bill_cycle_save, bill_run_execute
from subscribers import services as subscriber_services
from tests.catalog.factories import BrandFactory, PlanVersionFactory

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_numbers = itertools.count(1)


@dataclass
class World:
    brand: object
    tax_region: object
    tax_category: object
    tz: str
    currency: str
    plans: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def cycle(self) -> BillCycle:
        return bill_cycle_save(brand=self.brand, cycle_day=1)


def world_build(
    *, tz: str = "Europe/Berlin", currency: str = "EUR", rate: str = "0.19", code: str = ""
) -> World:
    """A brand with a tax region whose telecom services are taxed at ``rate``."""
    brand = BrandFactory(code=code or f"BR{next(_numbers)}")
    category = catalog_services.tax_category_save(code=f"TEL-{brand.code}", name="Telecom")
    region = catalog_services.tax_region_save(code=f"R-{brand.code}", name="Region")
    catalog_services.tax_rate_set(
        region=region, category=category, rate=Decimal(rate), valid_from=dt.date(2020, 1, 1)
    )
    return World(brand, region, category, tz, currency)


def plan_add(
    world: World,
    code: str,
    *,
    fee: str = "30.00",
    timing: str = "in_advance",
    tax_inclusive: bool = False,
    payment_model: str = "postpaid",
    activation_fee: str = "0",
):
    """A published plan of the world's brand, in force since 2020."""
    version = PlanVersionFactory(
        plan__code=f"{code}-{world.brand.code}",
        plan__brand=world.brand,
        plan__currency=world.currency,
        plan__payment_model=payment_model,
        recurring_fee=Decimal(fee),
        fee_timing=timing,
        tax_inclusive=tax_inclusive,
        tax_category=world.tax_category,
        activation_fee=Decimal(activation_fee),
        status=Status.PUBLISHED,
        rate_card__currency=world.currency,
    )
    world.plans[code], world.versions[code] = version.plan, version
    return version.plan


def account_add(
    world: World, *, name: str = "Test", payment_model: str = "postpaid", parent=None, **extra
):
    customer = subscriber_services.customer_save(
        data={"brand": world.brand, "kind": "person", "first_name": name, "last_name": "Tester",
              "street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin",
              "country": "DE"},
    )  # fmt: skip
    data = {"name": name, "currency": world.currency, "timezone": world.tz, "bill_cycle_day": 1,
            "payment_terms_days": 14, "tax_region": world.tax_region,
            "payment_model": payment_model, **extra}  # fmt: skip
    if parent is not None:
        data.update(parent=parent, invoice_to_parent=True)
    return subscriber_services.billing_account_save(customer=customer, data=data)


def subscription_add(world: World, account, plan_code: str, *, active_from: dt.date):
    msisdn = f"49151{next(_numbers):08d}"
    subscription = subscriber_services.subscription_create(
        billing_account=account,
        plan=world.plans[plan_code],
        msisdn=msisdn,
        created_at=local_midnight(active_from - dt.timedelta(days=1), world.tz),
    )
    return subscriber_services.subscription_activate(
        subscription=subscription, effective_at=local_midnight(active_from, world.tz)
    )


def terminate(world: World, subscription, on: dt.date):
    return subscriber_services.subscription_terminate(
        subscription=subscription, effective_at=local_midnight(on, world.tz)
    )


def change_plan(world: World, subscription, plan_code: str, on: dt.date):
    return subscriber_services.subscription_change_plan(
        subscription=subscription, plan=world.plans[plan_code], change_date=on
    )


def event_add(
    subscription,
    *,
    at: dt.datetime,
    amount: str,
    service: str = "VOICE_OUT",
    destination: str = "NAT_MOBILE",
    roaming: str = "HOME",
    status: str = RatingStatus.RATED,
    plan_version=None,
) -> UsageEvent:
    """A rated usage event of a subscription, as the rating engine stores it."""
    version = plan_version or subscription.plan.versions.order_by("-effective_from").first()
    return UsageEvent.objects.create(
        source="TEST",
        record_id=f"R{next(_numbers)}",
        record_type="MOC",
        service=service,
        subscription=subscription,
        billing_account_id=subscription.billing_account_id,
        msisdn=subscription.msisdn,
        started_at=at,
        utc_offset="+0100",
        units=60,
        charged_units=60,
        other_party="4917012345678",
        rating_status=status,
        destination_zone=destination,
        roaming_zone=roaming,
        time_band="PEAK",
        plan_version=version,
        currency=subscription.billing_account.currency,
        retail_amount=Decimal(amount),
        wholesale_amount=Decimal("0"),
        tax_inclusive=version.tax_inclusive,
    )


def run_bill(world: World, year: int, month: int, **kwargs) -> BillRun:
    """Create and execute the bill run of the world's cycle for a month (no broker)."""
    run, _ = BillRun.objects.get_or_create(cycle=world.cycle, period_year=year, period_month=month)
    return bill_run_execute(bill_run=run, **kwargs)


def lines(invoice) -> list[tuple[str, str]]:
    return [(line.description, str(line.amount)) for line in invoice.lines.order_by("position")]
