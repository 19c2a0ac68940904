"""Reads of the catalogue: which version, tariff and tax rate is in force when (R6, R24, R25)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ObjectDoesNotExist

from catalog.models import Status
from catalog.selectors import (
    host_network_tariff_at,
    plan_version_at,
    plan_versions_in_force,
    tax_rate_at,
)
from tests.catalog.factories import (
    HostNetworkFactory,
    HostNetworkTariffFactory,
    PlanFactory,
    PlanVersionFactory,
    TaxCategoryFactory,
    TaxRateFactory,
    TaxRegionFactory,
)

pytestmark = pytest.mark.django_db

OCT_1 = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # 2026-10-01 00:00 Berlin
NOV_1 = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)  # 2026-11-01 00:00 Berlin
DEC_1 = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


@pytest.fixture
def versions():
    """SMART-10 v1 from 1 October, v2 from 1 November (Berlin), both published."""
    v1 = PlanVersionFactory(effective_from=OCT_1, recurring_fee=Decimal("19.99"))
    v2 = PlanVersionFactory(plan=v1.plan, version=2, effective_from=NOV_1, rate_card=v1.rate_card)
    return v1, v2


def test_version_in_force_changes_exactly_at_the_new_effective_date(versions):
    v1, v2 = versions

    assert plan_version_at(plan=v1.plan, instant=NOV_1) == v2
    assert plan_version_at(plan=v1.plan, instant=NOV_1 - MICROSECOND) == v1
    assert plan_version_at(plan=v1.plan, instant=OCT_1) == v1


def test_version_lookup_accepts_a_plan_id(versions):
    v1, v2 = versions

    assert plan_version_at(plan=v1.plan_id, instant=DEC_1) == v2


def test_no_version_is_in_force_before_the_first(versions):
    v1, _ = versions

    assert plan_version_at(plan=v1.plan, instant=OCT_1 - MICROSECOND) is None


def test_draft_version_never_applies(versions):
    v1, _ = versions
    PlanVersionFactory(
        plan=v1.plan, version=3, status=Status.DRAFT, effective_from=DEC_1, rate_card=v1.rate_card
    )

    assert plan_version_at(plan=v1.plan, instant=DEC_1 + dt.timedelta(days=30)).version == 2


def test_retired_version_still_applies_for_its_time(versions):
    v1, v2 = versions
    v1.status = Status.RETIRED
    v1.save()

    assert plan_version_at(plan=v1.plan, instant=NOV_1 - MICROSECOND) == v1
    assert plan_version_at(plan=v1.plan, instant=NOV_1) == v2


def test_version_lookup_refuses_a_naive_instant(versions):
    with pytest.raises(ValueError, match="naive datetime"):
        plan_version_at(plan=versions[0].plan, instant=dt.datetime(2026, 10, 15, 12, 0))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (OCT_1, NOV_1, [1]),  # October: v2 starts exactly at the window's (open) end
        (NOV_1, DEC_1, [2]),  # November: v1 ended exactly at the window's start
        (NOV_1 - MICROSECOND, NOV_1 + MICROSECOND, [1, 2]),
        (OCT_1 - dt.timedelta(days=30), OCT_1, []),  # before the first version
        (OCT_1 - dt.timedelta(days=30), OCT_1 + MICROSECOND, [1]),
        (DEC_1, DEC_1 + dt.timedelta(days=365), [2]),  # the last version runs on
    ],
    ids=["october", "november", "across-the-boundary", "before", "first-instant", "later"],
)
def test_versions_in_force_for_a_window(versions, start, end, expected):
    v1, _ = versions

    found = plan_versions_in_force(plan_ids=[v1.plan_id], start=start, end=end)

    assert [version.version for version in found.get(v1.plan_id, [])] == expected


def test_versions_in_force_for_several_plans_skip_drafts(versions):
    v1, v2 = versions
    other = PlanVersionFactory(effective_from=OCT_1)
    PlanVersionFactory(plan=other.plan, version=2, status=Status.DRAFT, effective_from=NOV_1)
    empty_plan = PlanFactory()

    found = plan_versions_in_force(
        plan_ids=[v1.plan_id, other.plan_id, empty_plan.pk], start=OCT_1, end=DEC_1
    )

    assert found == {v1.plan_id: [v1, v2], other.plan_id: [other]}


def test_versions_in_force_refuse_a_naive_window(versions):
    with pytest.raises(ValueError, match="naive datetime"):
        plan_versions_in_force(
            plan_ids=[versions[0].plan_id], start=dt.datetime(2026, 10, 1), end=NOV_1
        )


@pytest.fixture
def vat():
    """German VAT on telecom: 19 %, 16 % in the second half of 2020, 19 % again from 2021."""
    region, category = TaxRegionFactory(), TaxCategoryFactory()
    for valid_from, rate in (
        (dt.date(2007, 1, 1), "0.19"),
        (dt.date(2020, 7, 1), "0.16"),
        (dt.date(2021, 1, 1), "0.19"),
    ):
        TaxRateFactory(region=region, category=category, valid_from=valid_from, rate=Decimal(rate))
    return region, category


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (dt.date(2020, 6, 30), Decimal("0.19")),
        (dt.date(2020, 7, 1), Decimal("0.16")),
        (dt.date(2020, 12, 31), Decimal("0.16")),
        (dt.date(2021, 1, 1), Decimal("0.19")),
        (dt.date(2026, 10, 15), Decimal("0.19")),
    ],
    ids=str,
)
def test_tax_rate_in_force_on_a_day(vat, day, rate):
    region, category = vat

    assert tax_rate_at(region=region, category=category, day=day) == rate


def test_tax_rate_before_any_rate_is_missing(vat):
    region, category = vat

    with pytest.raises(ObjectDoesNotExist, match="no tax rate for TELECOM"):
        tax_rate_at(region=region, category=category, day=dt.date(2006, 12, 31))


def test_tax_rate_is_per_category(vat):
    region, _ = vat
    content = TaxCategoryFactory(code="CONTENT", name="Digital content")
    TaxRateFactory(
        region=region, category=content, valid_from=dt.date(2007, 1, 1), rate=Decimal("0.07")
    )

    assert tax_rate_at(region=region, category=content, day=dt.date(2020, 8, 1)) == Decimal("0.07")


def test_host_network_tariff_changes_at_its_effective_instant():
    network = HostNetworkFactory()
    first = HostNetworkTariffFactory(host_network=network, effective_from=OCT_1)
    second = HostNetworkTariffFactory(host_network=network, effective_from=NOV_1)

    assert host_network_tariff_at(host_network=network, instant=OCT_1 - MICROSECOND) is None
    assert host_network_tariff_at(host_network=network, instant=NOV_1 - MICROSECOND) == first
    assert host_network_tariff_at(host_network=network, instant=NOV_1) == second
