"""Prepaid life: renewals from the balance, suspension when short, top-up renews, bucket expiry
(R12, R21, R24, R29)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from subscribers import services
from subscribers.models import (
    BalanceMovement,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    MovementKind,
    PlanRenewal,
    RenewalStatus,
    SubscriptionStatus,
)
from subscribers.prepaid import buckets_expire, prepaid_renewals_run
from tests.catalog.factories import AllowanceFactory
from tests.invoicing.builders import account_add, plan_add, subscription_add, world_build

pytestmark = pytest.mark.django_db
UTC = dt.UTC
# Europe/Berlin: 1 November 2026 00:00 local is 31 October 23:00 UTC.
NOV_START = dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


@pytest.fixture
def world():
    world = world_build()
    plan_add(world, "PRE", fee="9.99", payment_model="prepaid", tax_inclusive=True)
    AllowanceFactory(plan_version=world.versions["PRE"], name="Data 5 GB", quantity=5)
    return world


def prepaid_line(world, *, balance: str, active_from=dt.date(2026, 10, 1)):
    account = account_add(world, payment_model="prepaid")
    subscription = subscription_add(world, account, "PRE", active_from=active_from)
    if Decimal(balance):
        services.top_up(
            billing_account=account, amount=Decimal(balance), channel="card", reference="T0"
        )
    return account, subscription


def renewal_movements(account):
    return list(
        BalanceMovement.objects.filter(billing_account=account, kind=MovementKind.RENEWAL)
        .order_by("id")
        .values_list("amount", flat=True)
    )


def test_a_plan_renews_on_the_first_day_of_its_period_from_the_balance(world):
    account, subscription = prepaid_line(world, balance="30.00")
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        counts = prepaid_renewals_run()
    assert counts["renewed"] == 1
    assert renewal_movements(account) == [Decimal("-9.990000")]
    assert services.balance_of(account) == Decimal("20.010000")
    renewal = PlanRenewal.objects.get(subscription=subscription, period_start=NOV_START)
    assert (renewal.status, renewal.amount, renewal.days, renewal.days_in_period) == (
        RenewalStatus.RENEWED, Decimal("9.99"), 30, 30,
    )  # fmt: skip
    bucket = Bucket.objects.get(subscription=subscription, valid_from=NOV_START)
    assert (bucket.name, bucket.initial) == ("Data 5 GB", 5_000_000_000)
    assert bucket.valid_to == dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def test_the_renewal_run_twice_renews_once(world):
    account, _subscription = prepaid_line(world, balance="30.00")
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        prepaid_renewals_run()
    with time_machine.travel(NOV_START + dt.timedelta(hours=2), tick=False):
        counts = prepaid_renewals_run()
    assert counts["renewed"] == 0
    assert renewal_movements(account) == [Decimal("-9.990000")]


def test_the_first_period_of_a_line_activated_mid_month_is_prorated_by_days(world):
    account, subscription = prepaid_line(world, balance="30.00", active_from=dt.date(2026, 10, 11))
    with time_machine.travel(dt.datetime(2026, 10, 11, 8, 0, tzinfo=UTC), tick=False):
        prepaid_renewals_run()
    # 21 of October's 31 days: 9.99 × 21 / 31 = 6.767… → 6.77 (R24).
    assert renewal_movements(account) == [Decimal("-6.770000")]


def test_a_short_balance_suspends_and_a_top_up_renews_from_that_day(
    world, django_capture_on_commit_callbacks
):
    account, subscription = prepaid_line(world, balance="5.00")
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        counts = prepaid_renewals_run()
    subscription.refresh_from_db()
    assert counts["pending"] == 1
    assert subscription.status == SubscriptionStatus.SUSPENDED
    assert subscription.terms.order_by("-valid_from").first().change == (
        "prepaid renewal: balance short"
    )
    assert renewal_movements(account) == []
    # A second run while still short changes nothing.
    with time_machine.travel(NOV_START + dt.timedelta(hours=1), tick=False):
        assert prepaid_renewals_run()["pending"] == 1
    assert subscription.terms.count() == 3
    # Topped up on 11 November (local): the remaining 20 of 30 days are paid, 6.66.
    with (
        time_machine.travel(dt.datetime(2026, 11, 11, 9, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.top_up(
            billing_account=account, amount=Decimal("10.00"), channel="card", reference="T1"
        )
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert renewal_movements(account) == [Decimal("-6.660000")]
    assert services.balance_of(account) == Decimal("8.340000")
    renewal = PlanRenewal.objects.get(subscription=subscription)
    assert (renewal.status, renewal.days, renewal.suspended) == (RenewalStatus.RENEWED, 20, True)
    # The allowance is granted in full for the rest of the period (R12).
    assert Bucket.objects.get(subscription=subscription, valid_from=NOV_START).initial == (
        5_000_000_000
    )


def test_a_period_that_ends_unpaid_lapses_and_the_next_one_waits_again(world):
    account, subscription = prepaid_line(world, balance="1.00")
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        prepaid_renewals_run()
    december = dt.datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    with time_machine.travel(december + dt.timedelta(minutes=5), tick=False):
        counts = prepaid_renewals_run()
    assert counts["lapsed"] == 1
    statuses = dict(
        PlanRenewal.objects.filter(subscription=subscription).values_list("period_start", "status")
    )
    assert statuses == {NOV_START: RenewalStatus.LAPSED, december: RenewalStatus.PENDING}
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.SUSPENDED


def test_an_operator_suspension_is_not_lifted_by_a_top_up(
    world, django_capture_on_commit_callbacks
):
    account, subscription = prepaid_line(world, balance="30.00")
    services.subscription_suspend(
        subscription=subscription,
        effective_at=dt.datetime(2026, 10, 20, tzinfo=UTC),
        reason="lost phone",
    )
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        assert prepaid_renewals_run()["renewed"] == 0
    with (
        time_machine.travel(NOV_START + dt.timedelta(days=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.top_up(
            billing_account=account, amount=Decimal("5.00"), channel="card", reference="T9"
        )
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.SUSPENDED
    assert renewal_movements(account) == []


def test_an_expired_bucket_left_over_is_written_off_once_with_its_reason(world):
    _account, subscription = prepaid_line(world, balance="30.00")
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        prepaid_renewals_run()
    bucket = Bucket.objects.get(subscription=subscription, valid_from=NOV_START)
    BucketMovement.objects.create(
        bucket=bucket, kind=BucketMovementKind.USAGE, quantity=-1_250_000_000, reason="usage"
    )
    with time_machine.travel(dt.datetime(2026, 11, 30, 22, 59, tzinfo=UTC), tick=False):
        assert buckets_expire() == 0  # still valid
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 5, tzinfo=UTC), tick=False):
        assert buckets_expire() == 1
        assert buckets_expire() == 0
    expiry = BucketMovement.objects.get(bucket=bucket, kind=BucketMovementKind.EXPIRY)
    assert expiry.quantity == -3_750_000_000
    assert "R12" in expiry.reason and expiry.reference == f"expiry:{bucket.pk}"
    assert services.bucket_remaining(bucket) == 0


def test_postpaid_and_hybrid_lines_are_not_renewed_from_a_balance(world):
    plan_add(world, "HYB", fee="20.00", payment_model="hybrid", tax_inclusive=True)
    account = account_add(world, payment_model="hybrid", credit_limit=Decimal("50"))
    subscription_add(world, account, "HYB", active_from=dt.date(2026, 10, 1))
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        counts = prepaid_renewals_run()
    assert counts["renewed"] == counts["pending"] == 0
    assert not PlanRenewal.objects.exists()
