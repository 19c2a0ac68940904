"""The subscribers' services: lifecycle and terms, numbers and SIMs, balances, vouchers, buckets
(billing-rules R4, R6, R11, R12, R20-R25, R29)."""

import datetime as dt
import hashlib
import hmac
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections
from stdnum import luhn

from catalog.models import Unit
from core.periods import billing_period, local_midnight
from subscribers import services
from subscribers.models import (
    BalanceMovement,
    Bucket,
    BucketMovementKind,
    BucketSource,
    Customer,
    MovementKind,
    SimBatch,
    SimStatus,
    Subscription,
    SubscriptionAddOn,
    SubscriptionStatus,
    SubscriptionTerm,
    TopUp,
    Voucher,
    VoucherStatus,
)
from tests.catalog.factories import (
    AddOnFactory,
    AllowanceFactory,
    BrandFactory,
    HostNetworkFactory,
    PlanVersionFactory,
)
from tests.subscribers.factories import BillingAccountFactory, BucketFactory, SimFactory

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"
OCTOBER = billing_period(year=2026, month=10, tz=BERLIN)
NOVEMBER = billing_period(year=2026, month=11, tz=BERLIN)


def day(month: int, number: int) -> dt.datetime:
    """00:00 of a day of 2026 in Berlin, as an aware UTC instant."""
    return local_midnight(dt.date(2026, month, number), BERLIN)


def make_plan(brand, *, payment_model="postpaid", tax_inclusive=False, code=None, **version):
    fields = {"plan__brand": brand, "plan__payment_model": payment_model}
    if code:
        fields["plan__code"] = code
    return PlanVersionFactory(tax_inclusive=tax_inclusive, **fields, **version).plan


def order(account, plan, *, msisdn="4915112349001", sim=None, at=None):
    """Order a subscription through the service, with a fresh SIM unless one is given."""
    return services.subscription_create(
        billing_account=account,
        plan=plan,
        msisdn=msisdn,
        sim=sim or SimFactory(),
        created_at=at or day(9, 20),
    )


def terms_of(subscription) -> list[SubscriptionTerm]:
    return list(SubscriptionTerm.objects.filter(subscription=subscription).order_by("valid_from"))


def balance(account) -> Decimal:
    return services.balance_of(account)


@pytest.fixture
def brand(db):
    return BrandFactory(code="LOREM")


@pytest.fixture
def plan(brand):
    return make_plan(brand, code="NET-10")


@pytest.fixture
def account(plan):
    return BillingAccountFactory(customer__brand=plan.brand)


@pytest.fixture
def prepaid(brand):
    return BillingAccountFactory(customer__brand=brand, payment_model="prepaid")


@pytest.fixture
def hybrid(brand):
    return BillingAccountFactory(
        customer__brand=brand, payment_model="hybrid", credit_limit=Decimal("5.00")
    )


# --- the lifecycle ----------------------------------------------------------------------------

STEPS_TO = {
    SubscriptionStatus.PENDING: [],
    SubscriptionStatus.ACTIVE: [("activate", day(10, 1))],
    SubscriptionStatus.SUSPENDED: [("activate", day(10, 1)), ("suspend", day(10, 5))],
    SubscriptionStatus.BARRED: [("activate", day(10, 1)), ("bar", day(10, 5))],
    SubscriptionStatus.TERMINATED: [("activate", day(10, 1)), ("terminate", day(10, 5))],
}
# What each action does from each status (issue "Subscribers"); None: refused.
MOVES = {
    SubscriptionStatus.PENDING: {"activate": "active", "terminate": "terminated"},
    SubscriptionStatus.ACTIVE: {"suspend": "suspended", "bar": "barred", "terminate": "terminated"},
    SubscriptionStatus.SUSPENDED: {"reactivate": "active", "terminate": "terminated"},
    SubscriptionStatus.BARRED: {
        "suspend": "suspended",
        "reactivate": "active",
        "terminate": "terminated",
    },
    SubscriptionStatus.TERMINATED: {},
}
ACTIONS = ("activate", "suspend", "bar", "reactivate", "terminate")


def subscription_in(status, account, plan):
    subscription = order(account, plan)
    for action, at in STEPS_TO[status]:
        subscription = services.subscription_transition(
            subscription=subscription, action=action, effective_at=at
        )
    assert subscription.status == status
    return subscription


@pytest.mark.parametrize("status", list(MOVES))
@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_from_each_status_is_allowed_or_refused(account, plan, status, action):
    subscription = subscription_in(status, account, plan)
    before = terms_of(subscription)
    at = day(10, 10)
    target = MOVES[status].get(action)

    if target is None:
        with pytest.raises(ValidationError) as refused:
            services.subscription_transition(
                subscription=subscription, action=action, effective_at=at
            )
        assert refused.value.message_dict == {
            "status": [f"cannot {action} a subscription that is {status}"]
        }
        assert terms_of(subscription) == before
        assert Subscription.objects.get(pk=subscription.pk).status == status
        return
    moved = services.subscription_transition(
        subscription=subscription, action=action, effective_at=at
    )
    after = terms_of(subscription)
    assert moved.status == target
    assert len(after) == len(before) + 1
    assert (after[-2].valid_to, after[-1].valid_from, after[-1].valid_to) == (at, at, None)
    assert (after[-1].status, after[-1].change) == (target, action)


def test_unknown_action_is_refused(account, plan):
    subscription = order(account, plan)
    with pytest.raises(ValidationError) as refused:
        services.subscription_transition(subscription=subscription, action="resurrect")
    assert list(refused.value.message_dict) == ["action"]


def test_every_lifecycle_action_writes_a_term_that_follows_the_last_without_gap(account, plan):
    other_plan = make_plan(account.customer.brand, code="NET-20")
    new_sim = SimFactory()
    subscription = order(account, plan)
    subscription = services.subscription_activate(
        subscription=subscription, effective_at=day(10, 1)
    )
    subscription = services.subscription_suspend(subscription=subscription, effective_at=day(10, 5))
    subscription = services.subscription_reactivate(
        subscription=subscription, effective_at=day(10, 7)
    )
    subscription = services.subscription_bar(subscription=subscription, effective_at=day(10, 9))
    subscription = services.subscription_change_plan(
        subscription=subscription, plan=other_plan, change_date=dt.date(2026, 10, 12)
    )
    noon = day(10, 14) + dt.timedelta(hours=12)
    subscription = services.subscription_swap_sim(
        subscription=subscription, sim=new_sim, effective_at=noon
    )
    subscription = services.subscription_terminate(
        subscription=subscription, effective_at=day(10, 20), port_out=True
    )

    terms = terms_of(subscription)
    assert [(t.change, t.status, t.plan.code) for t in terms] == [
        ("create", "pending", "NET-10"),
        ("activate", "active", "NET-10"),
        ("suspend", "suspended", "NET-10"),
        ("reactivate", "active", "NET-10"),
        ("bar", "barred", "NET-10"),
        ("plan change NET-10 → NET-20", "barred", "NET-20"),
        ("SIM swap", "barred", "NET-20"),
        ("port out", "terminated", "NET-20"),
    ]
    starts = [day(9, 20), day(10, 1), day(10, 5), day(10, 7), day(10, 9), day(10, 12), noon]
    starts.append(day(10, 20))
    assert [t.valid_from for t in terms] == starts
    assert [t.valid_to for t in terms] == [*starts[1:], None]
    assert [t.imsi for t in terms][-2:] == [new_sim.imsi, new_sim.imsi]
    assert (subscription.activated_at, subscription.terminated_at) == (day(10, 1), day(10, 20))


def test_a_change_cannot_take_effect_before_the_last_one(account, plan):
    subscription = order(account, plan)
    subscription = services.subscription_activate(
        subscription=subscription, effective_at=day(10, 1)
    )
    before = terms_of(subscription)

    with pytest.raises(ValidationError) as refused:
        services.subscription_suspend(
            subscription=subscription, effective_at=day(10, 1) - dt.timedelta(microseconds=1)
        )
    with pytest.raises(ValidationError):
        services.subscription_change_plan(
            subscription=subscription,
            plan=make_plan(account.customer.brand),
            change_date=dt.date(2026, 9, 30),
        )
    assert list(refused.value.message_dict) == ["effective_at"]
    assert terms_of(subscription) == before


def test_two_changes_at_one_instant_leave_no_empty_term(account, plan):
    subscription = order(account, plan)
    subscription = services.subscription_activate(
        subscription=subscription, effective_at=day(10, 1)
    )
    subscription = services.subscription_suspend(subscription=subscription, effective_at=day(10, 5))
    subscription = services.subscription_reactivate(
        subscription=subscription, effective_at=day(10, 5)
    )

    terms = terms_of(subscription)
    assert [(t.status, t.change, t.valid_from) for t in terms] == [
        ("pending", "create", day(9, 20)),
        ("active", "activate", day(10, 1)),
        ("active", "suspend+reactivate", day(10, 5)),
    ]
    assert terms[1].valid_to == day(10, 5)


def test_activation_needs_a_plan_version_in_force(account, brand):
    later_plan = make_plan(brand, effective_from=day(11, 1))
    subscription = order(account, later_plan)
    with pytest.raises(ValidationError) as refused:
        services.subscription_activate(subscription=subscription, effective_at=day(10, 31))
    assert list(refused.value.message_dict) == ["plan"]


def test_naive_instants_are_refused(account, plan):
    with pytest.raises(ValueError, match="naive datetime"):
        order(account, plan, at=dt.datetime(2026, 10, 1))


def test_plan_change_takes_effect_at_local_midnight_across_the_october_dst_change(account, plan):
    other = make_plan(account.customer.brand, code="NET-20")
    subscription = services.subscription_activate(
        subscription=order(account, plan), effective_at=day(10, 1)
    )

    subscription = services.subscription_change_plan(
        subscription=subscription, plan=other, change_date=dt.date(2026, 10, 25)
    )
    subscription = services.subscription_change_plan(
        subscription=subscription, plan=plan, change_date=dt.date(2026, 10, 26)
    )

    terms = terms_of(subscription)
    assert terms[2].valid_from == dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)
    assert terms[3].valid_from == dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC)
    assert [t.plan.code for t in terms[1:]] == ["NET-10", "NET-20", "NET-10"]


def test_plan_change_to_another_payment_model_brand_or_the_same_plan_is_refused(account, plan):
    subscription = services.subscription_activate(
        subscription=order(account, plan), effective_at=day(10, 1)
    )
    for other in (
        plan,
        make_plan(account.customer.brand, payment_model="prepaid"),
        make_plan(BrandFactory()),
    ):
        with pytest.raises(ValidationError) as refused:
            services.subscription_change_plan(
                subscription=subscription, plan=other, change_date=dt.date(2026, 10, 10)
            )
        assert list(refused.value.message_dict) == ["plan"]
    assert len(terms_of(subscription)) == 2


# --- numbers and SIMs ---------------------------------------------------------------------------


def test_a_sim_cannot_be_on_two_subscriptions(account, plan):
    sim = SimFactory()
    order(account, plan, msisdn="4915112349001", sim=sim)

    with pytest.raises(ValidationError) as refused:
        order(account, plan, msisdn="4915112349002", sim=sim)
    assert list(refused.value.message_dict) == ["sim"]
    assert Subscription.objects.count() == 1
    sim.refresh_from_db()
    assert sim.status == SimStatus.ASSIGNED


def test_a_sim_swap_to_an_assigned_sim_is_refused(account, plan):
    first = order(account, plan, msisdn="4915112349001")
    second = order(account, plan, msisdn="4915112349002")

    with pytest.raises(ValidationError) as refused:
        services.subscription_swap_sim(subscription=first, sim=second.sim, effective_at=day(10, 2))
    assert list(refused.value.message_dict) == ["sim"]
    assert len(terms_of(first)) == 1
    assert Subscription.objects.get(pk=first.pk).sim == first.sim


def test_a_sim_swap_retires_the_old_sim_and_changes_the_imsi_of_the_new_term(account, plan):
    subscription = services.subscription_activate(
        subscription=order(account, plan), effective_at=day(10, 1)
    )
    old_sim, new_sim = subscription.sim, SimFactory()

    subscription = services.subscription_swap_sim(
        subscription=subscription, sim=new_sim, effective_at=day(10, 3)
    )

    old_sim.refresh_from_db()
    new_sim.refresh_from_db()
    assert (old_sim.status, new_sim.status) == (SimStatus.RETIRED, SimStatus.ASSIGNED)
    assert [t.imsi for t in terms_of(subscription)] == [old_sim.imsi, old_sim.imsi, new_sim.imsi]


def test_termination_retires_the_sim(account, plan):
    subscription = services.subscription_activate(
        subscription=order(account, plan), effective_at=day(10, 1)
    )
    services.subscription_terminate(subscription=subscription, effective_at=day(10, 20))
    subscription.sim.refresh_from_db()
    assert subscription.sim.status == SimStatus.RETIRED


def test_a_number_cannot_be_held_by_two_live_subscriptions(account, plan):
    order(account, plan, msisdn="4915112349001")
    other_account = BillingAccountFactory(customer__brand=account.customer.brand)

    with pytest.raises(ValidationError) as refused:
        order(other_account, plan, msisdn="+49 151 12349001", at=day(11, 1))
    assert refused.value.message_dict == {
        "msisdn": ["+4915112349001 belongs to another subscription"]
    }
    assert Subscription.objects.count() == 1


def test_a_terminated_number_may_be_given_again_from_its_termination_on(account, plan):
    first = services.subscription_activate(
        subscription=order(account, plan, msisdn="4915112349001"), effective_at=day(10, 1)
    )
    services.subscription_terminate(subscription=first, effective_at=day(10, 20))

    with pytest.raises(ValidationError):
        order(account, plan, msisdn="4915112349001", at=day(10, 19))
    second = order(account, plan, msisdn="4915112349001", at=day(10, 20))
    assert second.msisdn == "4915112349001"


@pytest.mark.parametrize(
    "msisdn", ["12345", "4915112", "49151123400019999", "4915112340001x", "+1 000 000 0000"]
)
def test_an_invalid_msisdn_is_refused(account, plan, msisdn):
    with pytest.raises(ValidationError) as refused:
        order(account, plan, msisdn=msisdn)
    assert list(refused.value.message_dict) == ["msisdn"]


@pytest.mark.parametrize("written", ["+49 151 12340001", "004915112340001", "4915112340001"])
def test_an_msisdn_is_stored_as_e164_digits(written):
    assert services.normalise_msisdn(written) == "4915112340001"


def test_a_sim_batch_with_a_wrong_iccid_or_imsi_is_refused_whole(db):
    host = HostNetworkFactory()
    good = "89490312345000010"
    good += luhn.calc_check_digit(good)
    bad_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    csv_text = (
        "iccid,imsi\n"
        f"{good},262031234500001\n"
        f"{bad_check},262031234500002\n"
        f"{good[:-3]},262031234500003\n"
        f"{good},99903123450000\n"
    )

    with pytest.raises(ValidationError) as refused:
        services.sim_batch_load(reference="B1", host_network=host, csv_text=csv_text)

    messages = refused.value.message_dict["file"]
    assert messages[0] == f"line 3: {bad_check}: wrong check digit"
    assert messages[1] == "line 4: an ICCID has 18 to 22 digits"
    assert messages[2].startswith("line 5: 99903123450000: an IMSI has 15 digits")
    assert SimBatch.objects.count() == 0


def test_a_sim_batch_loads_and_its_reference_is_used_once(db):
    host = HostNetworkFactory()
    sim = SimFactory.build()
    batch = services.sim_batch_load(
        reference="B1", host_network=host, csv_text=f"iccid,imsi\n{sim.iccid},{sim.imsi}\n"
    )
    assert (batch.count, batch.sims.get().status) == (1, SimStatus.AVAILABLE)

    other = SimFactory.build()
    with pytest.raises(ValidationError) as refused:
        services.sim_batch_load(
            reference="B1", host_network=host, csv_text=f"iccid,imsi\n{other.iccid},{other.imsi}\n"
        )
    assert list(refused.value.message_dict) == ["reference"]


def test_a_business_customer_needs_a_valid_vat_number(brand):
    data = {"brand": brand, "kind": "business", "company_name": "Ipsum GmbH"}
    with pytest.raises(ValidationError) as refused:
        services.customer_save(data={**data, "tax_id": "DE136695977"})
    assert list(refused.value.message_dict) == ["tax_id"]

    customer = services.customer_save(data={**data, "tax_id": "de 136 695 976"})
    assert customer.tax_id == "DE136695976"
    assert Customer.objects.count() == 1


def test_a_person_needs_a_last_name_and_a_business_a_company_name(brand):
    with pytest.raises(ValidationError) as refused:
        services.customer_save(data={"brand": brand, "kind": "person", "first_name": "Anna"})
    assert list(refused.value.message_dict) == ["last_name"]
    with pytest.raises(ValidationError) as refused:
        services.customer_save(data={"brand": brand, "kind": "business"})
    assert list(refused.value.message_dict) == ["company_name"]


# --- tax mode (R4) -------------------------------------------------------------------------------


def test_tax_inclusive_and_net_plans_cannot_be_mixed_on_one_account(account, plan):
    gross = make_plan(account.customer.brand, tax_inclusive=True, code="GROSS-10")
    subscription = services.subscription_activate(
        subscription=order(account, plan, msisdn="4915112349001"), effective_at=day(10, 1)
    )
    order(account, plan, msisdn="4915112349002")

    with pytest.raises(ValidationError) as ordered:
        order(account, gross, msisdn="4915112349003")
    with pytest.raises(ValidationError) as changed:
        services.subscription_change_plan(
            subscription=subscription, plan=gross, change_date=dt.date(2026, 10, 10)
        )
    message = {"plan": ["all plans of one account are tax-inclusive or none is (R4)"]}
    assert ordered.value.message_dict == changed.value.message_dict == message
    assert Subscription.objects.count() == 2
    assert Subscription.objects.get(pk=subscription.pk).plan == plan


def test_the_only_subscription_may_change_to_a_tax_inclusive_plan(account, plan):
    gross = make_plan(account.customer.brand, tax_inclusive=True)
    subscription = services.subscription_activate(
        subscription=order(account, plan), effective_at=day(10, 1)
    )
    subscription = services.subscription_change_plan(
        subscription=subscription, plan=gross, change_date=dt.date(2026, 10, 10)
    )
    assert subscription.plan == gross


def test_a_tax_inclusive_add_on_on_a_net_plan_is_refused(account, plan):
    subscription = services.subscription_activate(
        subscription=order(account, plan), effective_at=day(10, 1)
    )
    add_on = AddOnFactory(tax_inclusive=True, price=Decimal("5.00"))
    with pytest.raises(ValidationError) as refused:
        services.subscription_add_on_add(
            subscription=subscription, add_on=add_on, effective_at=day(10, 2)
        )
    assert list(refused.value.message_dict) == ["add_on"]
    assert SubscriptionAddOn.objects.count() == 0


# --- balances and top-ups (R21, R29) -------------------------------------------------------------


def test_a_top_up_adds_a_positive_amount_to_the_balance(prepaid):
    topped = services.top_up(
        billing_account=prepaid, amount=Decimal("15.00"), channel="card", reference="PSP-1"
    )
    assert (topped.amount, topped.currency, topped.movement.kind) == (
        Decimal("15.00"),
        "EUR",
        MovementKind.TOPUP,
    )
    assert balance(prepaid) == Decimal("15.00")


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "10.001", "0.005"])
def test_a_top_up_must_be_positive_in_the_minor_unit(prepaid, amount):
    with pytest.raises(ValidationError) as refused:
        services.top_up(
            billing_account=prepaid, amount=Decimal(amount), channel="card", reference="PSP-1"
        )
    assert list(refused.value.message_dict) == ["amount"]
    assert balance(prepaid) == Decimal("0")


def test_a_top_up_refuses_a_float(prepaid):
    with pytest.raises(TypeError, match="never a float"):
        services.top_up(billing_account=prepaid, amount=10.0, channel="card", reference="PSP-1")


def test_a_top_up_reference_is_used_once_per_channel_and_the_balance_moves_once(prepaid):
    services.top_up(
        billing_account=prepaid, amount=Decimal("10.00"), channel="card", reference="PSP-1"
    )
    with pytest.raises(ValidationError) as refused:
        services.top_up(
            billing_account=prepaid, amount=Decimal("10.00"), channel="card", reference="PSP-1"
        )
    services.top_up(
        billing_account=prepaid, amount=Decimal("5.00"), channel="partner", reference="PSP-1"
    )

    assert refused.value.message_dict == {
        "reference": ["a card top-up with reference PSP-1 exists already"]
    }
    assert TopUp.objects.count() == 2
    assert BalanceMovement.objects.count() == 2
    assert balance(prepaid) == Decimal("15.00")


def test_a_postpaid_account_has_no_balance_to_top_up_or_charge(account):
    with pytest.raises(ValidationError) as topped:
        services.top_up(
            billing_account=account, amount=Decimal("10.00"), channel="card", reference="PSP-1"
        )
    with pytest.raises(ValidationError) as charged:
        services.balance_charge(billing_account=account, amount=Decimal("1.00"), reason="test")
    assert (
        list(topped.value.message_dict) == list(charged.value.message_dict) == ["billing_account"]
    )
    assert BalanceMovement.objects.count() == 0


def test_a_prepaid_balance_never_goes_below_zero(prepaid):
    services.top_up(
        billing_account=prepaid, amount=Decimal("10.00"), channel="card", reference="PSP-1"
    )
    services.balance_charge(billing_account=prepaid, amount=Decimal("9.999999"), reason="usage")

    with pytest.raises(ValidationError) as refused:
        services.balance_charge(billing_account=prepaid, amount=Decimal("0.000002"), reason="usage")
    services.balance_charge(billing_account=prepaid, amount=Decimal("0.000001"), reason="usage")

    assert refused.value.message_dict == {"amount": ["not enough balance (R21)"]}
    assert balance(prepaid) == Decimal("0")


def test_a_hybrid_balance_never_goes_below_its_credit_limit(hybrid):
    services.balance_charge(billing_account=hybrid, amount=Decimal("5.00"), reason="usage")
    with pytest.raises(ValidationError):
        services.balance_charge(billing_account=hybrid, amount=Decimal("0.01"), reason="usage")
    assert balance(hybrid) == Decimal("-5.00")


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_a_charge_is_positive(prepaid, amount):
    with pytest.raises(ValidationError) as refused:
        services.balance_charge(billing_account=prepaid, amount=Decimal(amount), reason="usage")
    assert list(refused.value.message_dict) == ["amount"]


def test_a_balance_adjustment_says_why_and_is_not_zero(prepaid):
    with pytest.raises(ValidationError):
        services.balance_adjust(billing_account=prepaid, amount=Decimal("2.00"), reason="")
    with pytest.raises(ValidationError):
        services.balance_adjust(billing_account=prepaid, amount=Decimal("0"), reason="goodwill")
    services.balance_adjust(billing_account=prepaid, amount=Decimal("2.50"), reason="goodwill")
    assert balance(prepaid) == Decimal("2.50")


# --- vouchers ------------------------------------------------------------------------------------


def test_a_voucher_batch_stores_only_hashes_of_its_codes(brand):
    batch, codes = services.voucher_batch_create(
        reference="V-1", brand=brand, value=Decimal("15.00"), currency="EUR", count=3
    )

    assert [serial for serial, _ in codes] == ["V-1-000001", "V-1-000002", "V-1-000003"]
    for serial, code in codes:
        assert len(code) == 19 and code.count("-") == 3
        voucher = Voucher.objects.get(serial=serial)
        digits = code.replace("-", "")
        assert (
            voucher.code_hash
            == hmac.new(
                settings.VOUCHER_SECRET.encode(), digits.encode(), hashlib.sha256
            ).hexdigest()
        )
        row = Voucher.objects.filter(pk=voucher.pk).values()[0]
        stored = " ".join(str(value) for value in row.values())
        assert digits not in stored and code not in stored
    assert batch.vouchers.count() == 3


def test_a_voucher_redeems_exactly_once(brand, prepaid):
    _, [(serial, code)] = services.voucher_batch_create(
        reference="V-1", brand=brand, value=Decimal("15.00"), currency="EUR", count=1
    )

    topped = services.voucher_redeem(code=code, billing_account=prepaid)
    with pytest.raises(ValidationError) as refused:
        services.voucher_redeem(code=code.replace("-", " "), billing_account=prepaid)

    voucher = Voucher.objects.get(serial=serial)
    assert (voucher.status, voucher.top_up) == (VoucherStatus.REDEEMED, topped)
    assert (topped.channel, topped.reference, topped.amount) == (
        "voucher",
        serial,
        Decimal("15.00"),
    )
    assert refused.value.message_dict == {"code": ["this voucher is redeemed"]}
    assert balance(prepaid) == Decimal("15.00")


def test_a_voucher_of_another_brand_or_currency_is_refused(brand, prepaid):
    _, [(_, other_brand_code)] = services.voucher_batch_create(
        reference="V-1", brand=BrandFactory(), value=Decimal("15.00"), currency="EUR", count=1
    )
    _, [(_, pound_code)] = services.voucher_batch_create(
        reference="V-2", brand=brand, value=Decimal("15.00"), currency="GBP", count=1
    )

    for code, message in (
        (other_brand_code, "this voucher is of another brand"),
        (pound_code, "this voucher is in another currency"),
        ("0000-0000-0000-0000", "no such voucher"),
    ):
        with pytest.raises(ValidationError) as refused:
            services.voucher_redeem(code=code, billing_account=prepaid)
        assert refused.value.message_dict == {"code": [message]}
    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 2
    assert balance(prepaid) == Decimal("0")


def test_an_expired_voucher_is_refused(brand, prepaid):
    _, [(_, code)] = services.voucher_batch_create(
        reference="V-1",
        brand=brand,
        value=Decimal("15.00"),
        currency="EUR",
        count=1,
        valid_until=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    with pytest.raises(ValidationError) as refused:
        services.voucher_redeem(code=code, billing_account=prepaid)
    assert refused.value.message_dict == {"code": ["this voucher has expired"]}


# --- buckets (R11, R12, R25) ---------------------------------------------------------------------


def bucket_rows(buckets) -> list[tuple]:
    return sorted((b.name, b.unit, b.initial, b.valid_from, b.valid_to, b.source) for b in buckets)


def test_b_from_october_15_gets_the_full_allowances_for_the_rest_of_october(golden_subscribers):
    b = golden_subscribers.subscriptions["B"]

    buckets = services.buckets_grant_for_period(
        subscription=b, period_start=OCTOBER.start, period_end=OCTOBER.end
    )

    from_15th = dt.datetime(2026, 10, 14, 22, 0, tzinfo=dt.UTC)
    assert bucket_rows(buckets) == [
        ("Data 10 GB", "BYTE", 10_000_000_000, from_15th, OCTOBER.end, "plan"),
        ("SMS 100", "MESSAGE", 100, from_15th, OCTOBER.end, "plan"),
        ("Voice 100 min", "SECOND", 6_000, from_15th, OCTOBER.end, "plan"),
    ]


def test_granting_a_period_twice_changes_nothing(golden_subscribers):
    a = golden_subscribers.subscriptions["A"]
    first = services.buckets_grant_for_period(
        subscription=a, period_start=OCTOBER.start, period_end=OCTOBER.end
    )
    second = services.buckets_grant_for_period(
        subscription=a, period_start=OCTOBER.start, period_end=OCTOBER.end
    )
    assert sorted(b.pk for b in first) == sorted(b.pk for b in second)
    assert Bucket.objects.count() == 3


def test_a_terminated_subscriptions_buckets_end_at_its_termination(golden_subscribers):
    c = golden_subscribers.subscriptions["C"]
    buckets = services.buckets_grant_for_period(
        subscription=c, period_start=OCTOBER.start, period_end=OCTOBER.end
    )
    assert {(b.valid_from, b.valid_to) for b in buckets} == {(OCTOBER.start, day(10, 20))}
    assert (
        services.buckets_grant_for_period(
            subscription=c, period_start=NOVEMBER.start, period_end=NOVEMBER.end
        )
        == []
    )


@pytest.fixture
def two_plans(brand):
    """NET-10 with 10 GB and NET-20 with 20 GB of data a period."""
    plans = []
    for code, gigabytes in (("NET-10", 10), ("NET-20", 20)):
        version = PlanVersionFactory(plan__code=code, plan__brand=brand)
        AllowanceFactory(
            plan_version=version, name=f"Data {gigabytes} GB", quantity=gigabytes, unit=Unit.GB
        )
        plans.append(version.plan)
    return plans


def test_a_plan_change_ends_the_old_buckets_and_grants_the_new_plan_in_full(brand, two_plans):
    net10, net20 = two_plans
    account = BillingAccountFactory(customer__brand=brand)
    subscription = services.subscription_activate(
        subscription=order(account, net10), effective_at=day(10, 1)
    )
    services.buckets_grant_for_period(
        subscription=subscription, period_start=OCTOBER.start, period_end=OCTOBER.end
    )

    services.subscription_change_plan(
        subscription=subscription, plan=net20, change_date=dt.date(2026, 10, 25)
    )
    buckets = services.buckets_grant_for_period(
        subscription=subscription, period_start=OCTOBER.start, period_end=OCTOBER.end
    )

    change = dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)
    assert bucket_rows(buckets) == [
        ("Data 10 GB", "BYTE", 10_000_000_000, OCTOBER.start, change, "plan"),
        ("Data 20 GB", "BYTE", 20_000_000_000, change, OCTOBER.end, "plan"),
    ]


def test_buckets_granted_after_a_plan_change_are_the_same_as_before_it(brand, two_plans):
    net10, net20 = two_plans
    account = BillingAccountFactory(customer__brand=brand)
    subscription = services.subscription_activate(
        subscription=order(account, net10), effective_at=day(10, 1)
    )
    services.subscription_change_plan(
        subscription=subscription, plan=net20, change_date=dt.date(2026, 10, 25)
    )

    buckets = services.buckets_grant_for_period(
        subscription=subscription, period_start=OCTOBER.start, period_end=OCTOBER.end
    )

    change = dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)
    assert [(b.name, b.valid_from, b.valid_to) for b in buckets] == [
        ("Data 10 GB", OCTOBER.start, change),
        ("Data 20 GB", change, OCTOBER.end),
    ]


def test_a_plan_change_expires_old_plan_buckets_granted_for_after_the_change(brand, two_plans):
    net10, net20 = two_plans
    account = BillingAccountFactory(customer__brand=brand)
    subscription = services.subscription_activate(
        subscription=order(account, net10), effective_at=day(10, 1)
    )
    [november] = services.buckets_grant_for_period(
        subscription=subscription, period_start=NOVEMBER.start, period_end=NOVEMBER.end
    )

    services.subscription_change_plan(
        subscription=subscription, plan=net20, change_date=dt.date(2026, 11, 1)
    )

    assert services.bucket_remaining(november) == 0
    assert list(november.movements.values_list("kind", "quantity")) == [
        (BucketMovementKind.EXPIRY, -10_000_000_000)
    ]


def test_a_shared_allowance_makes_one_bucket_for_the_account(brand):
    version = PlanVersionFactory(plan__brand=brand)
    AllowanceFactory(plan_version=version, name="Pool 50 GB", quantity=50, shared=True)
    account = BillingAccountFactory(customer__brand=brand)
    first = services.subscription_activate(
        subscription=order(account, version.plan, msisdn="4915112349001"),
        effective_at=day(10, 1),
    )
    second = services.subscription_activate(
        subscription=order(account, version.plan, msisdn="4915112349002"),
        effective_at=day(10, 15),
    )

    for subscription in (first, second):
        services.buckets_grant_for_period(
            subscription=subscription, period_start=OCTOBER.start, period_end=OCTOBER.end
        )

    pool = Bucket.objects.get()
    assert (pool.subscription, pool.billing_account, pool.shared) == (None, account, True)
    assert (pool.initial, pool.valid_from, pool.valid_to) == (
        50_000_000_000,
        OCTOBER.start,
        OCTOBER.end,
    )


@pytest.fixture
def prepaid_subscription(brand, prepaid):
    plan = make_plan(brand, payment_model="prepaid")
    return services.subscription_activate(
        subscription=order(prepaid, plan), effective_at=day(10, 1)
    )


@pytest.fixture
def data_add_on():
    add_on = AddOnFactory(code="DATA-1GB", price=Decimal("5.00"), validity_days=30)
    AllowanceFactory(add_on=add_on, plan_version=None, name="Data 1 GB", quantity=1)
    return add_on


def test_an_add_on_on_a_prepaid_account_charges_the_balance_and_grants_its_buckets(
    prepaid, prepaid_subscription, data_add_on
):
    services.top_up(
        billing_account=prepaid, amount=Decimal("20.00"), channel="card", reference="PSP-1"
    )
    bought_at = day(10, 10) + dt.timedelta(hours=9)

    bought = services.subscription_add_on_add(
        subscription=prepaid_subscription, add_on=data_add_on, effective_at=bought_at
    )

    assert balance(prepaid) == Decimal("15.00")
    charge = BalanceMovement.objects.get(kind=MovementKind.CHARGE)
    assert (charge.amount, charge.reason) == (Decimal("-5.000000"), "add-on DATA-1GB")
    [bucket] = bought.buckets.all()
    assert (bucket.source, bucket.subscription, bucket.name) == (
        BucketSource.ADD_ON,
        prepaid_subscription,
        "DATA-1GB: Data 1 GB",
    )
    assert (bucket.unit, bucket.initial) == ("BYTE", 1_000_000_000)
    assert (bucket.valid_from, bucket.valid_to) == (bought_at, bought_at + dt.timedelta(days=30))


def test_an_add_on_without_enough_balance_is_refused_and_grants_nothing(
    prepaid, prepaid_subscription, data_add_on
):
    services.top_up(
        billing_account=prepaid, amount=Decimal("4.99"), channel="card", reference="PSP-1"
    )
    with pytest.raises(ValidationError) as refused:
        services.subscription_add_on_add(
            subscription=prepaid_subscription, add_on=data_add_on, effective_at=day(10, 10)
        )
    assert refused.value.message_dict == {"amount": ["not enough balance (R21)"]}
    assert (SubscriptionAddOn.objects.count(), Bucket.objects.count()) == (0, 0)
    assert balance(prepaid) == Decimal("4.99")


def test_a_bucket_adjustment_never_takes_a_bucket_below_zero(db):
    bucket = BucketFactory(initial=6_000)
    services.bucket_adjust(bucket=bucket, quantity=-5_000, reason="correction")

    with pytest.raises(ValidationError) as refused:
        services.bucket_adjust(bucket=bucket, quantity=-1_001, reason="correction")
    with pytest.raises(ValidationError):
        services.bucket_adjust(bucket=bucket, quantity=100, reason="")
    services.bucket_adjust(bucket=bucket, quantity=-1_000, reason="correction")

    assert refused.value.message_dict == {"quantity": ["a bucket cannot go below zero"]}
    assert services.bucket_remaining(bucket) == 0


# --- concurrency (PostgreSQL) --------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL; SQLite has none"
)


def run_together(calls) -> list:
    """Run callables in threads released at once; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # the test inspects what each thread met
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_and_top_ups_keep_the_ledger_consistent():
    account = BillingAccountFactory(payment_model="prepaid")
    services.top_up(
        billing_account=account, amount=Decimal("10.00"), channel="card", reference="SEED"
    )

    def charge():
        return services.balance_charge(
            billing_account=account, amount=Decimal("3.00"), reason="usage"
        )

    def top_up(number):
        return lambda: services.top_up(
            billing_account=account, amount=Decimal("1.00"), channel="card", reference=f"T{number}"
        )

    results = run_together([charge] * 8 + [top_up(n) for n in range(4)] + [top_up(0)])

    charged = sum(isinstance(r, BalanceMovement) for r in results[:8])
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert all(isinstance(r, BalanceMovement | TopUp | ValidationError) for r in results)
    assert len(refused) == 8 - charged + 1  # the refused charges and the repeated T0
    assert 3 <= charged <= 4
    assert TopUp.objects.count() == 5
    assert balance(account) == Decimal("14.00") - charged * Decimal("3.00")
    running = Decimal("0")
    for amount in BalanceMovement.objects.order_by("id").values_list("amount", flat=True):
        running += amount
        assert running >= 0


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_of_one_number_or_one_sim_give_it_to_one_subscription():
    brand = BrandFactory()
    plan = make_plan(brand)
    accounts = [BillingAccountFactory(customer__brand=brand) for _ in range(4)]
    sim = SimFactory()

    numbers = run_together(
        [lambda a=a: order(a, plan, msisdn="4915112349001") for a in accounts[:2]]
        + [lambda a=a, n=n: order(a, plan, msisdn=f"491511234910{n}", sim=sim)
           for n, a in enumerate(accounts[2:])]
    )  # fmt: skip

    assert sum(isinstance(r, Subscription) for r in numbers[:2]) == 1
    assert sum(isinstance(r, Subscription) for r in numbers[2:]) == 1
    assert all(isinstance(r, Subscription | ValidationError) for r in numbers)
    assert Subscription.objects.filter(msisdn="4915112349001").count() == 1
    assert Subscription.objects.filter(sim=sim).count() == 1


def test_payment_model_stays_while_the_account_has_live_subscriptions(golden_subscribers):
    account = golden_subscribers.accounts["A"]
    with pytest.raises(ValidationError) as refused:
        services.billing_account_save(
            customer=account.customer, billing_account=account, data={"payment_model": "prepaid"}
        )
    assert "payment_model" in refused.value.message_dict
