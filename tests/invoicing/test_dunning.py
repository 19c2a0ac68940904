"""Dunning (R30): the daily run over a moving clock takes each step on its day, once; barring
goes through the subscribers services and is lifted when the invoice is paid (only what the
dunning barred); termination, pauses, idempotent reruns, a crash midway, brand scoping."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.models import OutboxEvent
from invoicing import dunning, services
from invoicing.models import (
    DunningAction,
    DunningCase,
    DunningCaseStatus,
    DunningRecord,
    DunningRecordKind,
    Invoice,
    InvoiceStatus,
)
from invoicing.selectors import dunning_cases_visible_to
from invoicing.tasks import dunning_run_task
from subscribers import services as subscriber_services
from tests.invoicing.builders import account_add, plan_add, run_bill, subscription_add, world_build

OCT = dt.date(2026, 10, 1)
ISSUED = "2026-11-02 09:00:00+01:00"  # due 14 days later: 2026-11-16
STEPS = [
    {"action": DunningAction.REMINDER, "days_after_due": 3},  # 2026-11-19
    {"action": DunningAction.FINAL_NOTICE, "days_after_due": 10},  # 2026-11-26
    {"action": DunningAction.BAR_OUTGOING, "days_after_due": 14},  # 2026-11-30
    {"action": DunningAction.TERMINATE, "days_after_due": 30},  # 2026-12-16
]


@pytest.fixture(autouse=True)
def no_documents(monkeypatch):
    monkeypatch.setattr(services, "invoices_issued_publish", lambda **kwargs: None)


@pytest.fixture
def world(db):
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    world.policy = dunning.dunning_policy_save(
        brand=world.brand, code="STD", name="Standard", steps=STEPS, is_default=True
    )
    return world


def issued_invoices(world, count: int = 1, subscriptions_each: int = 2):
    """Accounts billed for October and their invoices issued on 2 November (due the 16th)."""
    accounts = [account_add(world, name=f"Customer {i}") for i in range(count)]
    for account in accounts:
        for _ in range(subscriptions_each):
            subscription_add(world, account, "ADV", active_from=OCT)
    with time_machine.travel(ISSUED, tick=False):
        services.bill_run_issue(bill_run=run_bill(world, 2026, 10))
    invoices = [Invoice.objects.get(billing_account=account) for account in accounts]
    assert all(invoice.due_date == dt.date(2026, 11, 16) for invoice in invoices)
    return accounts, invoices


def run_on(day: str) -> dict:
    with time_machine.travel(f"{day} 06:00:00+01:00", tick=False):
        return dunning_run_task(None)


def statuses(account) -> list[str]:
    return list(account.subscriptions.order_by("pk").values_list("status", flat=True))


def actions(invoice) -> list[str]:
    return list(
        DunningRecord.objects.filter(case__invoice=invoice)
        .order_by("taken_at", "pk")
        .values_list("action", flat=True)
    )


def test_each_step_is_taken_on_its_day_once(world):
    (account,), (invoice,) = issued_invoices(world)

    assert run_on("2026-11-16")["overdue"] == 0  # due today: not overdue yet
    result = run_on("2026-11-17")
    invoice.refresh_from_db()
    assert (result["overdue"], result["opened"], result["steps"]) == (1, 1, 0)
    assert invoice.status == InvoiceStatus.OVERDUE
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.policy, case.next_step.action, case.next_step_date) == (
        world.policy,
        DunningAction.REMINDER,
        dt.date(2026, 11, 19),
    )

    assert run_on("2026-11-18")["steps"] == 0
    assert run_on("2026-11-19")["steps"] == 1
    assert run_on("2026-11-19")["steps"] == 0  # a second run the same day changes nothing
    assert actions(invoice) == ["reminder"]
    assert run_on("2026-11-25")["steps"] == 0
    assert run_on("2026-11-26")["steps"] == 1
    assert statuses(account) == ["active", "active"]
    assert run_on("2026-11-30")["steps"] == 1
    assert statuses(account) == ["barred", "barred"]
    case.refresh_from_db()
    assert (case.last_step.action, case.next_step.action, case.next_step_date) == (
        DunningAction.BAR_OUTGOING,
        DunningAction.TERMINATE,
        dt.date(2026, 12, 16),
    )
    assert run_on("2026-12-16")["steps"] == 1
    assert statuses(account) == ["terminated", "terminated"]
    assert run_on("2026-12-31")["steps"] == 0

    assert actions(invoice) == ["reminder", "final_notice", "bar_outgoing", "terminate"]
    records = DunningRecord.objects.filter(case__invoice=invoice).order_by("pk")
    assert [r.due_on for r in records] == [
        dt.date(2026, 11, 19),
        dt.date(2026, 11, 26),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 16),
    ]
    numbers = sorted(account.subscriptions.values_list("msisdn", flat=True))
    assert sorted(records[2].subscriptions) == numbers == sorted(records[3].subscriptions)
    # Termination went through the subscribers' lifecycle: a term, the SIM retired, the reason.
    terminated = account.subscriptions.first()
    assert terminated.terms.get(valid_to__isnull=True).change.startswith("dunning termination")
    events = OutboxEvent.objects.filter(event_type="dunning.step_taken").order_by("pk")
    assert [e.payload["step"]["action"] for e in events] == [
        "reminder",
        "final_notice",
        "bar_outgoing",
        "terminate",
    ]
    assert events[0].payload["bill"]["number"] == invoice.number
    assert events[0].payload["amountDue"] == {"value": "142.80", "unit": "EUR"}


def test_a_missed_day_takes_the_steps_late_in_order_and_says_so(world):
    (account,), (invoice,) = issued_invoices(world)

    result = run_on("2026-11-27")  # the beat was down for ten days

    assert result["steps"] == 2
    assert actions(invoice) == ["reminder", "final_notice"]
    late = DunningRecord.objects.get(case__invoice=invoice, action="reminder")
    assert late.due_on == dt.date(2026, 11, 19) and "taken late" in late.detail


def test_payment_lifts_only_the_barring_the_dunning_imposed(world):
    (account,), (invoice,) = issued_invoices(world, subscriptions_each=3)
    first, second, third = account.subscriptions.order_by("pk")
    with time_machine.travel("2026-11-20 10:00:00+01:00", tick=False):
        # The operator's own barring and suspension, before the dunning bars the account.
        subscriber_services.subscription_bar(subscription=second, reason="fraud check")
        subscriber_services.subscription_suspend(subscription=third, reason="lost SIM")
    run_on("2026-11-30")
    assert statuses(account) == ["barred", "barred", "suspended"]
    barring = DunningRecord.objects.get(action=DunningAction.BAR_OUTGOING)
    assert barring.subscriptions == [first.msisdn]

    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID)  # payments' part
    with time_machine.travel("2026-12-01 11:00:00+01:00", tick=False):
        closed = dunning.dunning_invoices_settled(invoice_ids=[invoice.pk])

    assert closed == 1
    assert statuses(account) == ["active", "barred", "suspended"]
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.status, case.next_step, case.closed_reason) == (
        DunningCaseStatus.CLOSED,
        None,
        "invoice paid",
    )
    lifted = DunningRecord.objects.get(case=case, kind=DunningRecordKind.BAR_LIFTED)
    assert lifted.subscriptions == [first.msisdn]
    # Settled once: again, and the daily run, change nothing; no step is taken any more.
    assert dunning.dunning_invoices_settled(invoice_ids=[invoice.pk]) == 0
    assert run_on("2026-12-20")["steps"] == 0
    assert statuses(account) == ["active", "barred", "suspended"]


def test_the_daily_run_closes_paid_invoices_without_the_payments_hook(world):
    (account,), (invoice,) = issued_invoices(world)
    run_on("2026-11-30")
    assert statuses(account) == ["barred", "barred"]

    Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID)
    result = run_on("2026-12-01")

    assert result["closed"] == 1
    assert statuses(account) == ["active", "active"]
    assert run_on("2026-12-16")["steps"] == 0
    assert statuses(account) == ["active", "active"]


def test_paying_one_of_two_barring_invoices_keeps_the_barring(db):
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    dunning.dunning_policy_save(
        brand=world.brand,
        code="BAR",
        name="Bar only",
        is_default=True,
        steps=[{"action": DunningAction.BAR_OUTGOING, "days_after_due": 1}],
    )
    (account,), (october,) = issued_invoices(world)
    with time_machine.travel("2026-12-02 09:00:00+01:00", tick=False):
        services.bill_run_issue(bill_run=run_bill(world, 2026, 11))
    november = Invoice.objects.get(billing_account=account, period_start_date__month=11)
    run_on("2026-12-20")
    assert actions(october) == ["bar_outgoing"] and actions(november) == ["bar_outgoing"]

    Invoice.objects.filter(pk=october.pk).update(status=InvoiceStatus.PAID)
    with time_machine.travel("2026-12-21 10:00:00+01:00", tick=False):
        dunning.dunning_invoices_settled(invoice_ids=[october.pk])
    assert statuses(account) == ["barred", "barred"]  # November still holds them barred

    Invoice.objects.filter(pk=november.pk).update(status=InvoiceStatus.PAID)
    with time_machine.travel("2026-12-22 10:00:00+01:00", tick=False):
        dunning.dunning_invoices_settled(invoice_ids=[november.pk])
    assert statuses(account) == ["active", "active"]
    lifted = DunningRecord.objects.get(kind=DunningRecordKind.BAR_LIFTED)
    assert lifted.case.invoice == november


def test_a_paused_account_takes_no_step_until_resumed(world, finance):
    (account,), (invoice,) = issued_invoices(world)
    run_on("2026-11-17")
    with time_machine.travel("2026-11-18 10:00:00+01:00", tick=False):
        hold = dunning.dunning_pause(
            billing_account=account, reason="disputes the roaming charges", acting_user=finance
        )
    with pytest.raises(ValidationError):
        dunning.dunning_pause(billing_account=account, reason="again", acting_user=finance)

    assert run_on("2026-11-30")["steps"] == 0
    assert statuses(account) == ["active", "active"]
    case = DunningCase.objects.get(invoice=invoice)
    assert case.status == DunningCaseStatus.OPEN and case.next_step_date == dt.date(2026, 11, 19)

    with time_machine.travel("2026-12-01 10:00:00+01:00", tick=False):
        dunning.dunning_resume(hold=hold, reason="dispute rejected", acting_user=finance)
    assert run_on("2026-12-01")["steps"] == 3
    assert statuses(account) == ["barred", "barred"]
    hold.refresh_from_db()
    trail = [h.history_change_reason for h in hold.history.order_by("history_date")]
    assert trail == ["paused: disputes the roaming charges", "resumed: dispute rejected"]
    assert hold.history.first().history_user == finance


def test_a_crash_midway_leaves_each_case_whole_and_a_rerun_finishes(world, monkeypatch):
    accounts, invoices = issued_invoices(world, count=3)
    real_bar = subscriber_services.subscription_bar
    crashed_account = accounts[1]

    def bar_or_crash(*, subscription, **kwargs):
        if subscription.billing_account_id == crashed_account.pk:
            raise ValidationError({"status": "the network refused"})
        return real_bar(subscription=subscription, **kwargs)

    monkeypatch.setattr(subscriber_services, "subscription_bar", bar_or_crash)
    result = run_on("2026-11-30")
    assert (result["steps"], result["failed"]) == (6, 1)
    assert actions(invoices[1]) == []  # rolled back whole: no reminder without its barring
    assert statuses(crashed_account) == ["active", "active"]
    assert statuses(accounts[0]) == ["barred", "barred"] == statuses(accounts[2])

    monkeypatch.setattr(subscriber_services, "subscription_bar", real_bar)
    result = run_on("2026-11-30")
    assert (result["steps"], result["failed"]) == (3, 0)
    assert [len(actions(invoice)) for invoice in invoices] == [3, 3, 3]
    assert statuses(crashed_account) == ["barred", "barred"]
    assert OutboxEvent.objects.filter(event_type="dunning.step_taken").count() == 9


def test_an_account_follows_the_policy_it_names_else_the_brands_default(world):
    dunning.dunning_policy_save(
        brand=world.brand,
        code="GENTLE",
        name="Gentle",
        steps=[{"action": DunningAction.REMINDER, "days_after_due": 20}],
    )
    accounts, invoices = issued_invoices(world, count=2)
    accounts[1].dunning_policy = "gentle"  # the account's form writes the code as typed
    accounts[1].save(update_fields=["dunning_policy"])
    run_on("2026-11-30")
    cases = DunningCase.objects.order_by("invoice_id")
    assert [case.policy.code for case in cases] == ["STD", "GENTLE"]
    assert actions(invoices[1]) == []
    assert cases[1].next_step_date == dt.date(2026, 12, 6)


def test_no_policy_opens_a_case_that_waits_for_one(db):
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    (account,), (invoice,) = issued_invoices(world)
    run_on("2026-11-20")
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.policy, case.next_step_date) == (None, None)

    dunning.dunning_policy_save(
        brand=world.brand, code="LATE", name="Late", steps=STEPS, is_default=True
    )
    assert run_on("2026-11-20")["steps"] == 1
    case.refresh_from_db()
    assert case.policy.code == "LATE"


def test_a_policy_refuses_bad_steps_and_keeps_one_default(world):
    with pytest.raises(ValidationError, match="follow each other"):
        dunning.dunning_policy_save(
            brand=world.brand,
            code="X",
            name="X",
            steps=[
                {"action": "reminder", "days_after_due": 9},
                {"action": "final_notice", "days_after_due": 3},
            ],
        )
    with pytest.raises(ValidationError, match="termination is the last"):
        dunning.dunning_policy_save(
            brand=world.brand,
            code="X",
            name="X",
            steps=[
                {"action": "terminate", "days_after_due": 3},
                {"action": "reminder", "days_after_due": 9},
            ],
        )
    with pytest.raises(ValidationError, match="at least one"):
        dunning.dunning_policy_save(brand=world.brand, code="X", name="X", steps=[])
    other = dunning.dunning_policy_save(
        brand=world.brand, code="NEW", name="New", steps=STEPS[:1], is_default=True
    )
    world.policy.refresh_from_db()
    assert other.is_default and not world.policy.is_default


def test_a_step_taken_cannot_be_removed_from_its_policy(world):
    issued_invoices(world)
    run_on("2026-11-19")
    with pytest.raises(ValidationError, match="used by invoices in dunning"):
        dunning.dunning_policy_save(
            brand=world.brand, code="STD", name="Standard", steps=STEPS[1:2], policy=world.policy
        )
    policy = dunning.dunning_policy_save(
        brand=world.brand,
        code="STD",
        name="Standard",
        policy=world.policy,
        steps=[{**STEPS[0], "days_after_due": 4}, *STEPS[1:]],
    )
    assert [s.days_after_due for s in policy.steps.order_by("position")] == [4, 10, 14, 30]


def test_dunning_is_scoped_by_brand(world, make_user):
    (account,), _ = issued_invoices(world)
    run_on("2026-11-20")
    other = world_build()
    plan_add(other, "ADV", fee="10.00")
    mine = make_user("other-finance", "finance")
    from catalog.models import BrandScope

    BrandScope.objects.create(user=mine, brand=other.brand)
    assert dunning_cases_visible_to(mine).count() == 0
    assert DunningCase.objects.count() == 1
    with pytest.raises(Exception, match="limited to some brands"):
        dunning.dunning_pause(billing_account=account, reason="not mine", acting_user=mine)


def test_a_changed_policy_reschedules_the_open_cases(world):
    _, (invoice,) = issued_invoices(world)
    run_on("2026-11-17")
    steps = [{**STEPS[0], "days_after_due": 2}, *STEPS[1:]]
    dunning.dunning_policy_save(
        brand=world.brand, code="STD", name="Standard", steps=steps, policy=world.policy
    )
    case = DunningCase.objects.get(invoice=invoice)
    assert case.next_step_date == dt.date(2026, 11, 18)
    assert run_on("2026-11-18")["steps"] == 1


def test_a_payment_recorded_for_a_barred_invoice_lifts_the_dunnings_barring(
    world, django_capture_on_commit_callbacks
):
    from invoicing.payments.services import payment_record

    (account,), (invoice,) = issued_invoices(world, subscriptions_each=1)
    run_on("2026-11-30")
    assert statuses(account) == ["barred"]

    paid_at = time_machine.travel("2026-12-01 11:00:00+01:00", tick=False)
    with paid_at, django_capture_on_commit_callbacks(execute=True):
        payment_record(
            billing_account=account, amount=invoice.gross_total, currency=invoice.currency,
            method="bank_transfer", received_on=dt.date(2026, 12, 1),
            reference=invoice.number, invoice_ids=[invoice.pk],
        )  # fmt: skip

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert statuses(account) == ["active"]
    case = DunningCase.objects.get(invoice=invoice)
    assert (case.status, case.closed_reason) == (DunningCaseStatus.CLOSED, "invoice paid")
