"""The bill run's rules: R4 tax, R15 rerating adjustments, R24 proration, R25 plan changes,
R26 idempotent and resumable runs, R34 lines, R35 promotions."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.test import override_settings

from charging.models import RerateChange, RerateJob
from invoicing import services
from invoicing.models import BillRun, BillRunError, BillRunStatus, Invoice, InvoiceKind
from subscribers.models import SubscriptionAddOn, SubscriptionPromotion
from tests.catalog.factories import AddOnFactory, PromotionFactory
from tests.invoicing.builders import (
    account_add,
    change_plan,
    event_add,
    lines,
    plan_add,
    run_bill,
    subscription_add,
    terminate,
    world_build,
)

pytestmark = pytest.mark.django_db

SEPT, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
UTC = dt.UTC


def invoice_of(account, month: int = 10) -> Invoice:
    return Invoice.objects.get(
        billing_account=account, period_start_date=dt.date(2026, month, 1), kind="invoice"
    )


@pytest.fixture
def world():
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    plan_add(world, "BIG", fee="60.00")
    plan_add(world, "ARR", fee="10.00", timing="in_arrears")
    return world


def test_a_plan_change_credits_the_old_plan_and_charges_the_new_from_the_change_day(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=SEPT)
    run_bill(world, 2026, 9)
    advance = (f"ADV-{world.brand.code}, October 2026, in advance", "30.00")
    assert lines(invoice_of(account, 9))[-1] == advance
    change_plan(world, subscription, "BIG", dt.date(2026, 10, 11))

    run_bill(world, 2026, 10)

    code = world.brand.code
    assert lines(invoice_of(account)) == [
        (f"ADV-{code}, credit 11–31 October 2026 (21/31 days)", "-20.32"),
        (f"BIG-{code}, 11–31 October 2026 (21/31 days)", "40.65"),
        (f"BIG-{code}, November 2026, in advance", "60.00"),
    ]


def test_a_change_from_advance_to_arrears_charges_no_advance_fee(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=SEPT)
    run_bill(world, 2026, 9)
    change_plan(world, subscription, "ARR", dt.date(2026, 10, 11))

    run_bill(world, 2026, 10)

    code = world.brand.code
    assert lines(invoice_of(account)) == [
        (f"ADV-{code}, credit 11–31 October 2026 (21/31 days)", "-20.32"),
        (f"ARR-{code}, 11–31 October 2026 (21/31 days), in arrears", "6.77"),
    ]


def test_an_arrears_plan_pays_the_period_itself(world):
    account = account_add(world)
    subscription_add(world, account, "ARR", active_from=SEPT)
    run_bill(world, 2026, 9)
    run_bill(world, 2026, 10)
    code = world.brand.code
    assert lines(invoice_of(account)) == [(f"ARR-{code}, October 2026, in arrears", "10.00")]


def test_a_termination_credits_the_days_paid_in_advance_but_not_used(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=SEPT)
    run_bill(world, 2026, 9)
    terminate(world, subscription, dt.date(2026, 10, 20))

    run_bill(world, 2026, 10)

    code = world.brand.code
    invoice = invoice_of(account)
    assert lines(invoice) == [(f"ADV-{code}, credit 20–31 October 2026 (12/31 days)", "-11.61")]
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("-11.61"), Decimal("-2.21"), Decimal("-13.82")
    )  # fmt: skip


def test_a_month_after_a_month_in_advance_charges_only_the_next_advance(world):
    account = account_add(world)
    subscription_add(world, account, "ADV", active_from=SEPT)
    run_bill(world, 2026, 9)
    run_bill(world, 2026, 10)
    code = world.brand.code
    assert lines(invoice_of(account, 9)) == [
        (f"ADV-{code}, September 2026", "30.00"),
        (f"ADV-{code}, October 2026, in advance", "30.00"),
    ]
    assert lines(invoice_of(account)) == [(f"ADV-{code}, November 2026, in advance", "30.00")]


def test_a_daylight_saving_month_in_another_timezone_keeps_its_calendar_days():
    world = world_build(tz="America/New_York", currency="USD", rate="0.10")
    plan_add(world, "ADV", fee="31.00")
    account = account_add(world)
    subscription_add(world, account, "ADV", active_from=dt.date(2026, 11, 2))

    run_bill(world, 2026, 11)  # DST ends on 2026-11-01 in New York: 30 days all the same

    invoice = invoice_of(account, 11)
    assert [(line.days, line.days_in_period, str(line.amount)) for line in invoice.lines.all()] == [
        (29, 30, "29.97"),
        (31, 31, "31.00"),
    ]
    assert invoice.period_start == dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert invoice.period_end == dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert (invoice.currency, invoice.tax_total) == ("USD", Decimal("6.10"))


def test_gbp_accounts_are_invoiced_in_pounds_at_their_rate():
    world = world_build(tz="Europe/London", currency="GBP", rate="0.20")
    plan_add(world, "ADV", fee="12.50")
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=OCT)
    event_add(subscription, at=dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC), amount="0.333333")

    run_bill(world, 2026, 10)

    invoice = invoice_of(account)
    assert invoice.currency == "GBP"
    assert [str(line.amount) for line in invoice.lines.all()] == ["12.50", "12.50", "0.33"]
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("25.33"), Decimal("5.07"), Decimal("30.40")
    )  # fmt: skip


def test_usage_lines_sum_exact_charges_and_round_once_leaving_zero_lines_out(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=OCT)
    at = dt.datetime(2026, 10, 5, 10, tzinfo=UTC)
    for _ in range(3):
        event_add(subscription, at=at, amount="0.004")  # 0.012 → 0.01, not 3 × 0.00
    event_add(subscription, at=at, amount="0.004", destination="EU")  # 0.00: left out
    event_add(subscription, at=at, amount="9.99", status="error")  # not rated: not billed
    # Events outside the period (Berlin): the last instant of September, the first of November.
    event_add(subscription, at=dt.datetime(2026, 9, 30, 21, 59, tzinfo=UTC), amount="5.00")
    event_add(subscription, at=dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC), amount="5.00")

    run_bill(world, 2026, 10)

    usage = invoice_of(account).lines.filter(kind="usage").get()
    assert (usage.description, usage.amount, usage.rated_amount, usage.quantity) == (
        "voice out, NAT_MOBILE, HOME", Decimal("0.01"), Decimal("0.012000"), 3
    )  # fmt: skip


def test_tax_inclusive_plans_split_the_gross_per_rate_and_keep_it():
    world = world_build()
    plan_add(world, "GROSS", fee="11.90", tax_inclusive=True)
    account = account_add(world)
    subscription = subscription_add(world, account, "GROSS", active_from=SEPT)
    run_bill(world, 2026, 9)
    event_add(subscription, at=dt.datetime(2026, 10, 5, tzinfo=UTC), amount="0.054167")

    run_bill(world, 2026, 10)

    invoice = invoice_of(account)
    assert invoice.tax_inclusive
    assert [str(line.amount) for line in invoice.lines.all()] == ["11.90", "0.05"]
    # R4: net = 11.95 / 1.19 = 10.0420… → 10.04, tax = 11.95 − 10.04.
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("10.04"), Decimal("1.91"), Decimal("11.95")
    )  # fmt: skip


def test_a_promotion_discounts_the_fee_as_charged_for_its_periods(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 15))
    promotion = PromotionFactory(value=Decimal("50"), periods=2, name="Half price")
    SubscriptionPromotion.objects.create(
        subscription=subscription, promotion=promotion,
        granted_from=dt.datetime(2026, 10, 14, 22, tzinfo=UTC),
    )  # fmt: skip

    run_bill(world, 2026, 10)
    run_bill(world, 2026, 11)

    code = world.brand.code
    assert lines(invoice_of(account)) == [
        (f"ADV-{code}, 15–31 October 2026 (17/31 days)", "16.45"),
        ("Half price, 15–31 October 2026 (17/31 days)", "-8.23"),
        (f"ADV-{code}, November 2026, in advance", "30.00"),
        ("Half price, November 2026, in advance", "-15.00"),
    ]
    # The third period (December, charged in advance on November's invoice) pays in full.
    assert lines(invoice_of(account, 11)) == [(f"ADV-{code}, December 2026, in advance", "30.00")]


def test_a_fixed_promotion_is_never_larger_than_the_fee(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 30))
    promotion = PromotionFactory(discount_type="fixed", value=Decimal("5"), periods=1)
    SubscriptionPromotion.objects.create(
        subscription=subscription, promotion=promotion,
        granted_from=dt.datetime(2026, 10, 29, 23, tzinfo=UTC),
    )  # fmt: skip
    run_bill(world, 2026, 10)
    amounts = [str(line.amount) for line in invoice_of(account).lines.all()]
    assert amounts == ["1.94", "-1.94", "30.00"]


def test_an_add_on_bought_in_the_period_is_a_one_time_line_naming_its_validity(world):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=SEPT)
    run_bill(world, 2026, 9)
    add_on = AddOnFactory(name="Data week", price=Decimal("4.99"), validity_days=7,
                          tax_category=world.tax_category)  # fmt: skip
    SubscriptionAddOn.objects.create(
        subscription=subscription, add_on=add_on,
        valid_from=dt.datetime(2026, 10, 4, 22, tzinfo=UTC),
        valid_to=dt.datetime(2026, 10, 11, 22, tzinfo=UTC),
    )  # fmt: skip

    run_bill(world, 2026, 10)

    line = invoice_of(account).lines.get(kind="one_time")
    assert (line.description, line.amount) == ("Data week, valid 5–11 October 2026",
                                               Decimal("4.99"))  # fmt: skip


def test_an_activation_fee_is_charged_once_in_the_period_of_activation():
    world = world_build()
    plan_add(world, "ACT", fee="10.00", activation_fee="25.00")
    account = account_add(world)
    subscription_add(world, account, "ACT", active_from=dt.date(2026, 10, 1))
    run_bill(world, 2026, 10)
    run_bill(world, 2026, 11)
    assert invoice_of(account).lines.filter(kind="one_time").get().amount == Decimal("25.00")
    assert not invoice_of(account, 11).lines.filter(kind="one_time").exists()


def test_rerating_an_invoiced_event_becomes_an_adjustment_once(
    world, django_capture_on_commit_callbacks
):
    account = account_add(world)
    subscription = subscription_add(world, account, "ADV", active_from=SEPT)
    event = event_add(subscription, at=dt.datetime(2026, 9, 10, tzinfo=UTC), amount="1.00")
    run_bill(world, 2026, 9)
    job = RerateJob.objects.create(
        scope="account", billing_account=account, reason="price fix",
        start=dt.datetime(2026, 9, 1, tzinfo=UTC), end=dt.datetime(2026, 10, 1, tzinfo=UTC),
    )  # fmt: skip
    change = RerateChange.objects.create(
        job=job, usage_event=event, retail_before=Decimal("1.000000"),
        retail_after=Decimal("0.400000"), status_before="rated", status_after="rated",
    )  # fmt: skip

    october = run_bill(world, 2026, 10)

    line = invoice_of(account).lines.get(kind="adjustment")
    assert (line.amount, line.rated_amount, line.quantity) == (
        Decimal("-0.60"), Decimal("-0.600000"), 1
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        services.bill_run_issue(bill_run=october)
    change.refresh_from_db()
    assert change.settled_at is not None
    run_bill(world, 2026, 11)
    assert not invoice_of(account, 11).lines.filter(kind="adjustment").exists()


def test_children_invoiced_to_their_parent_are_sections_of_one_invoice(world):
    parent = account_add(world, name="Head office")
    child = account_add(world, name="Branch", parent=parent)
    subscription_add(world, parent, "ADV", active_from=OCT)
    subscription_add(world, child, "BIG", active_from=OCT)

    run = run_bill(world, 2026, 10)

    invoice = invoice_of(parent)
    assert run.accounts_total == 1
    assert [line.billing_account_id for line in invoice.lines.all()] == [
        parent.pk, parent.pk, child.pk, child.pk
    ]  # fmt: skip
    assert invoice.net_total == Decimal("180.00")
    assert not Invoice.objects.filter(billing_account=child).exists()


def test_prepaid_accounts_get_a_statement_not_an_invoice():
    world = world_build()
    plan_add(world, "PRE", fee="0", payment_model="prepaid")
    account = account_add(world, payment_model="prepaid")
    subscription = subscription_add(world, account, "PRE", active_from=OCT)
    event_add(subscription, at=dt.datetime(2026, 10, 5, tzinfo=UTC), amount="1.50")
    run_bill(world, 2026, 10)
    statement = Invoice.objects.get(billing_account=account)
    assert statement.kind == InvoiceKind.STATEMENT
    assert statement.gross_total == Decimal("1.79")


def test_a_second_run_changes_nothing(world):
    account = account_add(world)
    subscription_add(world, account, "ADV", active_from=OCT)
    first = run_bill(world, 2026, 10)
    snapshot = list(Invoice.objects.values("pk", "gross_total", "updated_at"))
    second = run_bill(world, 2026, 10)
    assert list(Invoice.objects.values("pk", "gross_total", "updated_at")) == snapshot
    assert (second.pk, second.accounts_total, second.accounts_done) == (first.pk, 1, 1)


def test_a_run_that_stops_half_way_is_finished_by_a_rerun_without_doubles(world):
    accounts = [account_add(world, name=f"N{i}") for i in range(5)]
    for account in accounts:
        subscription_add(world, account, "ADV", active_from=OCT)
    real = services._bill_chunk
    calls = []

    def crash_on_third(run, ids, cache):
        calls.append(ids)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(run, ids, cache)

    with mock.patch.object(services, "_bill_chunk", crash_on_third), pytest.raises(RuntimeError):
        run_bill(world, 2026, 10, chunk_size=1)
    run = world.cycle.runs.get()
    assert run.status == BillRunStatus.FAILED and Invoice.objects.count() == 2

    run = run_bill(world, 2026, 10, chunk_size=1)

    assert run.status == BillRunStatus.DRAFTED
    assert (run.accounts_total, run.accounts_done) == (5, 5)
    assert sorted(Invoice.objects.values_list("billing_account_id", flat=True)) == sorted(
        a.pk for a in accounts
    )


def test_an_account_that_cannot_be_billed_is_recorded_and_the_others_are_billed(world):
    good = account_add(world, name="Good")
    subscription_add(world, good, "ADV", active_from=OCT)
    bad = account_add(world, name="Bad")
    subscription_add(world, bad, "ADV", active_from=OCT)
    world.versions["ADV"].tax_category = None
    world.versions["ADV"].save()
    bad_plan = plan_add(world, "NOTAX", fee="1.00")
    bad_plan.versions.update(tax_category=None)
    other = account_add(world, name="Other")
    subscription_add(world, other, "BIG", active_from=OCT)

    run = run_bill(world, 2026, 10)

    assert run.accounts_failed == 2
    assert set(BillRunError.objects.values_list("billing_account_id", flat=True)) == {
        good.pk, bad.pk
    }  # fmt: skip
    assert Invoice.objects.get().billing_account == other


def test_a_run_in_parts_bills_each_part_alone_and_the_last_part_marks_it_drafted(world):
    accounts = [account_add(world, name=f"P{i}") for i in range(7)]
    for account in accounts:
        subscription_add(world, account, "ADV", active_from=OCT)
    run = services.bill_run_start(
        bill_run=BillRun.objects.create(cycle=world.cycle, period_year=2026, period_month=10)
    )
    assert (run.status, run.accounts_total, run.accounts_done) == ("running", 7, 0)

    run = services.bill_run_part(bill_run=run, part=1, parts=2, chunk_size=2)

    odd = {a.pk for a in accounts if a.pk % 2 == 1}
    assert set(Invoice.objects.values_list("billing_account_id", flat=True)) == odd
    assert run.status == BillRunStatus.RUNNING and run.accounts_done == len(odd)

    run = services.bill_run_part(bill_run=run, part=0, parts=2, chunk_size=2)

    assert run.status == BillRunStatus.DRAFTED
    assert (run.accounts_total, run.accounts_done) == (7, 7)
    assert sorted(Invoice.objects.values_list("billing_account_id", flat=True)) == sorted(
        a.pk for a in accounts
    )


def test_a_large_run_is_drafted_by_one_task_per_part_with_the_invoices_of_one_process(world):
    from invoicing.tasks import bill_run_part_task

    accounts = [account_add(world, name=f"Q{i}") for i in range(5)]
    for account in accounts:
        subscription_add(world, account, "ADV", active_from=SEPT)
    run_bill(world, 2026, 9)
    one_process = {
        i.billing_account_id: (i.gross_total, lines(i))
        for i in Invoice.objects.filter(period_start_date=SEPT)
    }
    Invoice.objects.filter(period_start_date=SEPT).delete()
    tasks = []

    def run_now(*args):
        tasks.append(args)
        return bill_run_part_task(*args)

    with (
        override_settings(BILL_RUN_SPLIT_MIN_ACCOUNTS=5),
        mock.patch.object(bill_run_part_task, "delay", side_effect=run_now),
    ):
        run = run_bill(world, 2026, 9, parts=3, chunk_size=1)

    run.refresh_from_db()
    assert [args[1:3] for args in tasks] == [(0, 3), (1, 3), (2, 3)]
    assert run.status == BillRunStatus.DRAFTED and run.accounts_done == 5
    in_parts = {
        i.billing_account_id: (i.gross_total, lines(i))
        for i in Invoice.objects.filter(period_start_date=SEPT)
    }
    assert in_parts == one_process


def test_a_small_run_is_drafted_in_one_process_whatever_the_parts(world):
    account = account_add(world)
    subscription_add(world, account, "ADV", active_from=OCT)

    with override_settings(BILL_RUN_SPLIT_MIN_ACCOUNTS=2):
        run = run_bill(world, 2026, 10, parts=2)

    assert run.status == BillRunStatus.DRAFTED and Invoice.objects.count() == 1
