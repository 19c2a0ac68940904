"""Invariants of invoices over generated subscriptions, plan changes and usage (R3, R4, R24).

- the invoice total is the sum of its lines (net prices: net = Σ lines; gross prices:
  gross = Σ lines);
- the tax is R4 computed here independently, with plain Decimal arithmetic;
- a whole period prorated is the full fee; the days of a period's lines add up.

Each example touches the database and runs in a savepoint that is rolled back; the plans are
built once for the module.
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.money import prorate
from invoicing.models import Invoice, LineKind
from tests.invoicing.builders import (
    account_add,
    change_plan,
    event_add,
    plan_add,
    run_bill,
    subscription_add,
    terminate,
    world_build,
)

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CENT = Decimal("0.01")
PLANS = ("ADV", "BIG", "ARR")


@pytest.fixture(scope="module")
def worlds(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        net = world_build(rate="0.19")
        gross = world_build(rate="0.07")
        for world, inclusive in ((net, False), (gross, True)):
            plan_add(world, "ADV", fee="19.99", tax_inclusive=inclusive)
            plan_add(world, "BIG", fee="44.44", tax_inclusive=inclusive)
            plan_add(world, "ARR", fee="7.77", timing="in_arrears", tax_inclusive=inclusive)
        yield {"net": net, "gross": gross}
        transaction.set_rollback(True)


def r4(amount: Decimal, rate: Decimal, inclusive: bool) -> tuple[Decimal, Decimal]:
    """(net, tax) of one rate's lines, by R4, without core.money."""
    if inclusive:
        net = (amount / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        return net, amount - net
    return amount, (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


subscription_story = st.fixed_dictionaries(
    {
        "plan": st.sampled_from(PLANS),
        "start": st.integers(min_value=-40, max_value=30),  # days from 1 October
        "change": st.one_of(st.none(), st.tuples(st.integers(1, 30), st.sampled_from(PLANS))),
        "end": st.one_of(st.none(), st.integers(1, 30)),
        "usage": st.lists(
            st.tuples(
                st.integers(0, 30 * 24 - 1),
                st.decimals(min_value=0, max_value=5, places=6),
                st.sampled_from(["NAT_MOBILE", "EU", "WORLD"]),
            ),
            max_size=6,
        ),
    }
)


@EXAMPLES
@given(
    kind=st.sampled_from(["net", "gross"]),
    stories=st.lists(subscription_story, min_size=1, max_size=3),
)
def test_an_invoice_is_the_sum_of_its_lines_and_taxed_by_r4(worlds, kind, stories):
    world = worlds[kind]
    with transaction.atomic():
        account = account_add(world)
        october = dt.date(2026, 10, 1)
        for story in stories:
            start = october + dt.timedelta(days=story["start"])
            subscription = subscription_add(world, account, story["plan"], active_from=start)
            if story["start"] < 0:
                run_bill(world, 2026, 9)  # September billed first: an advance fee to credit
            change = story["change"]
            changes = (
                change
                and october + dt.timedelta(days=change[0]) > start
                and change[1] != subscription.plan.code.split("-")[0]
            )
            if changes:
                subscription = change_plan(
                    world, subscription, change[1], october + dt.timedelta(days=change[0])
                )
            if story["end"] and october + dt.timedelta(days=story["end"]) > max(
                start, october + dt.timedelta(days=change[0] if change else 0)
            ):
                terminate(world, subscription, october + dt.timedelta(days=story["end"]))
            for hour, amount, zone in story["usage"]:
                at = dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC) + dt.timedelta(hours=hour)
                if at >= subscription.activated_at:
                    event_add(subscription, at=at, amount=str(amount), destination=zone)
        run_bill(world, 2026, 10)

        invoice = Invoice.objects.filter(billing_account=account, period_start_date=october).first()
        if invoice is not None:
            lines = list(invoice.lines.all())
            by_rate = defaultdict(Decimal)
            for line in lines:
                by_rate[line.tax_rate] += line.amount
            total = sum((line.amount for line in lines), Decimal("0"))
            inclusive = kind == "gross"
            assert (invoice.gross_total if inclusive else invoice.net_total) == total
            expected_tax = sum((r4(a, r, inclusive)[1] for r, a in by_rate.items()), Decimal(0))
            assert invoice.tax_total == expected_tax
            assert invoice.net_total + invoice.tax_total == invoice.gross_total
            for row in invoice.taxes.all():
                assert (row.net, row.tax) == r4(by_rate[row.rate], row.rate, inclusive)
            for line in lines:
                if line.kind == LineKind.USAGE:  # R3: the exact sum rounded once
                    assert line.amount == line.rated_amount.quantize(CENT, ROUND_HALF_UP)
                if line.kind == LineKind.RECURRING:
                    assert 0 < line.days <= line.days_in_period
        transaction.set_rollback(True)


@given(
    fee=st.decimals(min_value=0, max_value=10_000, places=6),
    days=st.integers(min_value=1, max_value=31),
    cut=st.integers(min_value=0, max_value=31),
)
def test_a_whole_period_prorated_is_the_full_fee(fee, days, cut):
    assert prorate(fee, days_used=days, days_in_period=days, currency="EUR") == fee.quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    cut = min(cut, days)
    parts = prorate(fee, days_used=cut, days_in_period=days, currency="EUR") + prorate(
        fee, days_used=days - cut, days_in_period=days, currency="EUR"
    )
    assert abs(parts - fee) <= CENT  # two roundings: at most a cent apart


@EXAMPLES
@given(start_day=st.integers(1, 31), plan=st.sampled_from(["ADV", "ARR"]))
def test_the_days_of_a_period_are_paid_once(worlds, start_day, plan):
    """Billing September and October, every October day used is paid exactly once (R24)."""
    world = worlds["net"]
    with transaction.atomic():
        account = account_add(world)
        start = dt.date(2026, 9, 1) + dt.timedelta(days=start_day - 1)
        subscription_add(world, account, plan, active_from=start)
        run_bill(world, 2026, 9)
        run_bill(world, 2026, 10)
        october_days = 0
        for invoice in Invoice.objects.filter(billing_account=account):
            for line in invoice.lines.filter(kind=LineKind.RECURRING):
                if line.period_start_date.month == 10:
                    october_days += line.days if line.amount > 0 else -line.days
        assert october_days == 31
        transaction.set_rollback(True)
