"""Leakage checks on a small world: duplicate charges, usage after termination, unbilled usage
and fees never invoiced are findings with their amount at risk and their records (issue 18)."""

import datetime as dt
from decimal import Decimal

import pytest

from assurance.models import Finding, FindingKind
from assurance.services import reconciliation_run
from tests.invoicing.builders import (
    account_add,
    event_add,
    plan_add,
    run_bill,
    subscription_add,
    terminate,
    world_build,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)  # October closed (ASSURANCE_CLOSE_DAYS)
AT = dt.datetime(2026, 10, 15, 10, tzinfo=dt.UTC)


def by_kind(findings):
    result = {}
    for finding in findings:
        result.setdefault(finding.kind, []).append(finding)
    return result


def test_leaks_of_a_closed_period_are_found_with_their_records():
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    alice = subscription_add(world, account_add(world, name="Alice"), "ADV",
                             active_from=dt.date(2026, 10, 1))  # fmt: skip
    bob = subscription_add(world, account_add(world, name="Bob"), "ADV",
                           active_from=dt.date(2026, 10, 1))  # fmt: skip
    terminate(world, bob, dt.date(2026, 10, 10))
    first = event_add(alice, at=AT, amount="1.000000")
    twin = event_add(alice, at=AT, amount="1.000000")
    late = event_add(bob, at=AT, amount="0.500000")

    found = by_kind(reconciliation_run(year=2026, month=10, now=NOW).findings)

    (dup,) = found[FindingKind.DUPLICATE_CHARGE]
    assert dup.amount_at_risk == Decimal("1.000000") and dup.record_count == 2
    assert dup.records == {"model": "charging.usageevent", "ids": sorted([first.pk, twin.pk])}
    (inactive,) = found[FindingKind.INACTIVE_USAGE]
    assert inactive.records["ids"] == [late.pk] and inactive.brand_id == world.brand.pk
    unbilled = {f.records["ids"][0]: f.amount_at_risk for f in found[FindingKind.UNBILLED]}
    assert unbilled == {first.pk: Decimal("2.000000"), late.pk: Decimal("0.500000")}
    fees = sorted(f.records["ids"][0] for f in found[FindingKind.NO_RECURRING_FEE])
    assert fees == sorted([alice.pk, bob.pk])
    assert all(f.amount_at_risk == Decimal("30.00") for f in found[FindingKind.NO_RECURRING_FEE])


def test_billing_the_period_clears_the_unbilled_and_fee_findings():
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    alice = subscription_add(world, account_add(world, name="Alice"), "ADV",
                             active_from=dt.date(2026, 10, 1))  # fmt: skip
    event_add(alice, at=AT, amount="1.234567")
    run = run_bill(world, 2026, 10)
    from invoicing.services import bill_run_issue

    bill_run_issue(bill_run=run)
    outcome = reconciliation_run(year=2026, month=10, now=NOW)
    kinds = {f.kind for f in outcome.findings}
    assert FindingKind.UNBILLED not in kinds and FindingKind.NO_RECURRING_FEE not in kinds
    total = outcome.reconciliation.rows.get(source="")
    assert (total.rated_retail, total.invoiced_usage, total.rounding, total.difference) == (
        Decimal("1.234567"), Decimal("1.23"), Decimal("0.004567"), Decimal("0"))  # fmt: skip
    assert Finding.objects.filter(kind=FindingKind.UNBILLED).count() == 0


def test_a_rerun_refreshes_its_findings_and_their_history_in_bulk(django_user_model):
    from assurance.models import FindingState
    from assurance.services import finding_update

    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    alice = subscription_add(world, account_add(world, name="Alice"), "ADV",
                             active_from=dt.date(2026, 10, 1))  # fmt: skip
    first = event_add(alice, at=AT, amount="1.000000")
    (unbilled,) = by_kind(reconciliation_run(year=2026, month=10, now=NOW).findings)[
        FindingKind.UNBILLED
    ]
    (fee,) = by_kind(Finding.objects.all())[FindingKind.NO_RECURRING_FEE]
    finding_update(finding=fee, user=django_user_model.objects.create(username="fin"),
                   state=FindingState.FIXED, comment="invoiced by hand")  # fmt: skip
    second = event_add(alice, at=AT + dt.timedelta(hours=1), amount="0.250000")

    later = NOW + dt.timedelta(days=1)
    again = by_kind(reconciliation_run(year=2026, month=10, now=later).findings)

    (same,) = again[FindingKind.UNBILLED]
    same.refresh_from_db()
    assert same.pk == unbilled.pk and same.last_seen_at == later
    assert (same.amount_at_risk, same.record_count) == (Decimal("1.250000"), 2)
    assert same.records["ids"] == [first.pk, second.pk] and same.title.startswith("2 rated")
    kept = same.history.order_by("history_id")
    assert [h.history_change_reason for h in kept] == ["found", "seen again"]
    assert [h.history_type for h in kept] == ["+", "~"]
    assert (kept[0].amount_at_risk, kept[1].amount_at_risk) == (Decimal("1.000000"),
                                                                Decimal("1.250000"))  # fmt: skip
    (back,) = again[FindingKind.NO_RECURRING_FEE]
    back.refresh_from_db()
    assert (back.pk, back.state, back.recurrences, back.fixed_at) == (
        fee.pk, FindingState.OPEN, 1, None)  # fmt: skip
    assert back.history.latest("history_id").history_change_reason == (
        "came back after it was fixed")  # fmt: skip
