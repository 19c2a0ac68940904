"""Effective-dated look-ups of subscribers (R6, R19, R25) and brand scoping of reads."""

import datetime as dt

import pytest

from core.periods import local_midnight
from subscribers import services
from subscribers.selectors import (
    TermIndex,
    billing_accounts_visible_to,
    brands_of,
    customers_visible_to,
    subscription_term_at,
    subscriptions_visible_to,
    term_at,
)
from tests.catalog.factories import BrandFactory, PlanVersionFactory
from tests.subscribers.factories import (
    BillingAccountFactory,
    BrandScopeFactory,
    SimFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"
MSISDN = "4915112349001"
MICROSECOND = dt.timedelta(microseconds=1)


def day(month: int, number: int) -> dt.datetime:
    return local_midnight(dt.date(2026, month, number), BERLIN)


def berlin(text: str) -> dt.datetime:
    """Parse '2026-10-25 02:30 +0200' into an aware instant."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M %z")


@pytest.fixture
def plans(db):
    brand = BrandFactory(code="LOREM")
    return [PlanVersionFactory(plan__code=code, plan__brand=brand).plan for code in ("S", "M")]


@pytest.fixture
def account(plans):
    return BillingAccountFactory(customer__brand=plans[0].brand)


def active_subscription(account, plan, *, msisdn=MSISDN, since=None):
    subscription = services.subscription_create(
        billing_account=account,
        plan=plan,
        msisdn=msisdn,
        sim=SimFactory(),
        created_at=(since or day(10, 1)) - dt.timedelta(days=5),
    )
    return services.subscription_activate(
        subscription=subscription, effective_at=since or day(10, 1)
    )


def plan_at(instant, msisdn=MSISDN) -> int | str:
    """Return the plan id a record of the number at an instant is rated on, or the reason not."""
    term, reason = subscription_term_at(msisdn=msisdn, instant=instant)
    return reason if term is None else term.plan_id


# --- boundaries ----------------------------------------------------------------------------------


def test_a_term_begins_exactly_at_its_valid_from(account, plans):
    subscription = active_subscription(account, plans[0])
    subscription = services.subscription_suspend(subscription=subscription, effective_at=day(10, 5))

    assert term_at(subscription=subscription, instant=day(10, 5)).status == "suspended"
    assert term_at(subscription=subscription, instant=day(10, 5) - MICROSECOND).status == "active"
    assert term_at(subscription=subscription, instant=day(10, 1)).status == "active"
    assert term_at(subscription=subscription, instant=day(10, 1) - MICROSECOND).status == "pending"
    assert term_at(subscription=subscription, instant=day(9, 1)) is None


def test_a_record_at_the_activation_instant_is_rated_and_one_microsecond_before_is_not(
    account, plans
):
    subscription = active_subscription(account, plans[0])

    term, reason = subscription_term_at(msisdn=MSISDN, instant=day(10, 1))
    before, before_reason = subscription_term_at(msisdn=MSISDN, instant=day(10, 1) - MICROSECOND)

    assert (term.subscription_id, term.status, reason) == (subscription.pk, "active", None)
    assert (before, before_reason) == (None, "INACTIVE_SUBSCRIPTION")


def test_a_record_at_the_termination_instant_is_no_longer_rated(account, plans):
    subscription = active_subscription(account, plans[0])
    services.subscription_terminate(subscription=subscription, effective_at=day(10, 20))

    assert subscription_term_at(msisdn=MSISDN, instant=day(10, 20) - MICROSECOND)[1] is None
    assert subscription_term_at(msisdn=MSISDN, instant=day(10, 20)) == (
        None,
        "INACTIVE_SUBSCRIPTION",
    )


def test_a_naive_instant_is_refused(account, plans):
    with pytest.raises(ValueError, match="naive datetime"):
        subscription_term_at(msisdn=MSISDN, instant=dt.datetime(2026, 10, 5))


# --- the October DST change (R6, R25) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change_date", "effective"),
    [
        (dt.date(2026, 10, 25), dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)),
        (dt.date(2026, 10, 26), dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC)),
    ],
)
def test_a_plan_change_takes_effect_at_local_midnight_on_either_side_of_the_dst_change(
    account, plans, change_date, effective
):
    small, medium = plans
    subscription = active_subscription(account, small)

    services.subscription_change_plan(
        subscription=subscription, plan=medium, change_date=change_date
    )

    new_term = term_at(subscription=subscription, instant=effective)
    assert (new_term.valid_from, new_term.plan) == (effective, medium)
    assert term_at(subscription=subscription, instant=effective - MICROSECOND).valid_to == effective
    assert plan_at(effective - MICROSECOND) == small.pk
    assert plan_at(effective) == medium.pk


def test_events_around_the_dst_night_resolve_to_the_plan_in_force(account, plans):
    small, medium = plans
    subscription = active_subscription(account, small)
    services.subscription_change_plan(
        subscription=subscription, plan=medium, change_date=dt.date(2026, 10, 25)
    )

    # 23:59 on the 24th (summer time) is the old plan; 00:00 on the 25th the new one; both
    # 02:30s of the repeated hour (+0200 then +0100) lie after the change.
    assert plan_at(berlin("2026-10-24 23:59 +0200")) == small.pk
    assert plan_at(berlin("2026-10-25 00:00 +0200")) == medium.pk
    assert plan_at(berlin("2026-10-25 02:30 +0200")) == medium.pk
    assert plan_at(berlin("2026-10-25 02:30 +0100")) == medium.pk
    assert plan_at(dt.datetime(2026, 10, 24, 21, 59, 59, 999999, tzinfo=dt.UTC)) == small.pk


def test_events_around_a_change_on_the_day_after_the_dst_night(account, plans):
    small, medium = plans
    subscription = active_subscription(account, small)
    services.subscription_change_plan(
        subscription=subscription, plan=medium, change_date=dt.date(2026, 10, 26)
    )

    assert plan_at(berlin("2026-10-25 23:59 +0100")) == small.pk
    assert plan_at(berlin("2026-10-26 00:00 +0100")) == medium.pk
    assert plan_at(dt.datetime(2026, 10, 25, 22, 30, tzinfo=dt.UTC)) == small.pk


# --- who holds a number or an IMSI (R19) ----------------------------------------------------


def test_a_number_given_again_after_a_termination_resolves_to_its_new_holder(account, plans):
    first = active_subscription(account, plans[0])
    services.subscription_terminate(subscription=first, effective_at=day(10, 20))
    second = active_subscription(account, plans[1], since=day(11, 1))
    index = TermIndex.load(msisdns=[MSISDN])

    def holder(instant):
        term, reason = index.resolve(msisdn=MSISDN, instant=instant)
        return reason if term is None else term.subscription_id

    assert holder(day(10, 19)) == first.pk
    assert holder(day(10, 25)) == "INACTIVE_SUBSCRIPTION"
    assert holder(day(10, 30)) == "INACTIVE_SUBSCRIPTION"  # the new one is still pending
    assert holder(day(11, 1)) == second.pk
    assert holder(day(11, 20)) == second.pk


def test_a_record_with_a_number_and_another_subscriptions_imsi_is_unknown(account, plans):
    anna = active_subscription(account, plans[0], msisdn="4915112349001")
    ben = active_subscription(account, plans[0], msisdn="4915112349002")
    instant = day(10, 5)

    assert subscription_term_at(msisdn="", imsi=anna.sim.imsi, instant=instant)[1] is None
    assert (
        subscription_term_at(msisdn="4915112349001", imsi=anna.sim.imsi, instant=instant)[
            0
        ].subscription_id
        == anna.pk
    )
    assert subscription_term_at(msisdn="4915112349001", imsi=ben.sim.imsi, instant=instant) == (
        None,
        "UNKNOWN_SUBSCRIBER",
    )
    assert subscription_term_at(msisdn="4915199999999", instant=instant) == (
        None,
        "UNKNOWN_SUBSCRIBER",
    )


def test_a_swapped_sims_imsi_resolves_only_until_the_swap(account, plans):
    subscription = active_subscription(account, plans[0])
    old_imsi, new_sim = subscription.sim.imsi, SimFactory()
    services.subscription_swap_sim(subscription=subscription, sim=new_sim, effective_at=day(10, 10))

    assert subscription_term_at(imsi=old_imsi, instant=day(10, 10) - MICROSECOND)[1] is None
    assert subscription_term_at(imsi=old_imsi, instant=day(10, 10))[1] == "INACTIVE_SUBSCRIPTION"
    assert subscription_term_at(imsi=new_sim.imsi, instant=day(10, 10))[1] is None
    assert subscription_term_at(imsi=new_sim.imsi, instant=day(10, 9))[1] == "INACTIVE_SUBSCRIPTION"


def test_a_barred_subscription_is_still_rated_and_a_suspended_one_is_not(account, plans):
    subscription = active_subscription(account, plans[0])
    subscription = services.subscription_bar(subscription=subscription, effective_at=day(10, 5))
    services.subscription_suspend(subscription=subscription, effective_at=day(10, 10))

    barred, reason = subscription_term_at(msisdn=MSISDN, instant=day(10, 6))
    assert (barred.status, reason) == ("barred", None)
    assert subscription_term_at(msisdn=MSISDN, instant=day(10, 11)) == (
        None,
        "INACTIVE_SUBSCRIPTION",
    )


def test_the_term_index_loads_numbers_and_imsis_in_one_query(
    account, plans, django_assert_num_queries
):
    subscriptions = [
        active_subscription(account, plans[0], msisdn=f"491511234900{n}") for n in range(1, 6)
    ]
    numbers = [s.msisdn for s in subscriptions[:3]]
    imsis = [s.sim.imsi for s in subscriptions[3:]]

    with django_assert_num_queries(1):
        index = TermIndex.load(msisdns=numbers, imsis=imsis)
    with django_assert_num_queries(0):
        found = [index.resolve(msisdn=n, instant=day(10, 2))[0] for n in numbers]
        found += [index.resolve(imsi=i, instant=day(10, 2))[0] for i in imsis]

    assert [term.subscription_id for term in found] == [s.pk for s in subscriptions]
    assert TermIndex.load().resolve(msisdn=MSISDN, instant=day(10, 2)) == (
        None,
        "UNKNOWN_SUBSCRIBER",
    )


# --- brand scoping -------------------------------------------------------------------------------


@pytest.fixture
def two_brands(db):
    lorem, ipsum = BrandFactory(code="LOREM"), BrandFactory(code="IPSUM")
    for brand in (lorem, ipsum):
        SubscriptionFactory(billing_account__customer__brand=brand)
    return lorem, ipsum


def test_a_user_scoped_to_a_brand_sees_only_that_brands_subscribers(two_brands, make_user):
    lorem, _ = two_brands
    user = make_user("lorem-operator", "operator")
    BrandScopeFactory(user=user, brand=lorem)

    assert brands_of(user) == [lorem.pk]
    assert {c.brand for c in customers_visible_to(user)} == {lorem}
    assert {a.customer.brand for a in billing_accounts_visible_to(user)} == {lorem}
    assert {s.billing_account.customer.brand for s in subscriptions_visible_to(user)} == {lorem}


def test_a_user_without_scopes_and_a_superuser_see_every_brand(two_brands, make_user):
    lorem, ipsum = two_brands
    everyone = make_user("operator-all", "operator")
    superuser = make_user("root", "admin")
    superuser.is_superuser = True
    BrandScopeFactory(user=superuser, brand=lorem)

    for user in (everyone, superuser):
        assert brands_of(user) is None
        assert {c.brand for c in customers_visible_to(user)} == {lorem, ipsum}
        assert subscriptions_visible_to(user).count() == 2
