"""The subscribers demo loads customers A, B, C and a generated crowd, once (load_demo)."""

import datetime as dt
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, Sum
from stdnum.eu import vat

from catalog.models import PaymentModel
from subscribers import demo
from subscribers.models import (
    BalanceMovement,
    BillingAccount,
    Customer,
    CustomerKind,
    Sim,
    SimStatus,
    Subscription,
    SubscriptionStatus,
    SubscriptionTerm,
    TopUp,
    Voucher,
    VoucherStatus,
)
from subscribers.selectors import TermIndex
from tests.catalog.builders import OCTOBER_START
from tests.catalog.factories import PlanVersionFactory

pytestmark = pytest.mark.django_db

MODELS = (
    Customer,
    BillingAccount,
    Subscription,
    SubscriptionTerm,
    Sim,
    TopUp,
    Voucher,
    BalanceMovement,
    Customer.history.model,
    Subscription.history.model,
)


@pytest.fixture
def demo_catalog(golden_catalog):
    """The golden catalogue plus a prepaid and a hybrid plan of brand LOREM."""
    for code, model in (("LOREM-PREPAID", "prepaid"), ("LOREM-HYBRID", "hybrid")):
        PlanVersionFactory(
            plan__code=code,
            plan__brand=golden_catalog.brand,
            plan__payment_model=model,
            rate_card=golden_catalog.retail_card,
            effective_from=OCTOBER_START,
            recurring_fee=Decimal("0"),
        )
    return golden_catalog


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_demo_without_a_catalogue_loads_nothing(db):
    assert demo.load() == "skipped: no catalogue (brand LOREM is missing)"
    assert Customer.objects.count() == 0


def test_demo_loads_once_and_a_second_run_creates_nothing(demo_catalog):
    started = time.monotonic()
    first = demo.load()
    elapsed = time.monotonic() - started
    after_first = counts()
    second = demo.load()

    assert first.startswith("loaded customers A, B, C; ")
    assert second.startswith("already loaded (")
    assert counts() == after_first
    assert elapsed < 20, f"the demo took {elapsed:.1f} s"
    people = 3 + demo.DEMO_PERSONS
    businesses = demo.DEMO_BUSINESSES + 1
    assert Customer.objects.filter(kind=CustomerKind.PERSON).count() == people
    assert Customer.objects.filter(kind=CustomerKind.BUSINESS).count() == businesses
    accounts = people + businesses + len(demo.DEMO_DEPARTMENTS)
    assert BillingAccount.objects.count() == accounts
    assert after_first["Voucher"] == demo.DEMO_VOUCHERS


def test_demo_holds_the_golden_customers_a_b_c(demo_catalog):
    demo.load()
    berlin = dt.timezone(dt.timedelta(hours=2))
    expected = {
        "4915112340001": ("Anna Schmidt", SubscriptionStatus.ACTIVE, dt.datetime(2026, 10, 1)),
        "4915112340002": ("Ben Müller", SubscriptionStatus.ACTIVE, dt.datetime(2026, 10, 15)),
        "4915112340003": ("Carla Weber", SubscriptionStatus.TERMINATED, dt.datetime(2026, 10, 1)),
    }
    for msisdn, (name, status, activated) in expected.items():
        subscription = Subscription.objects.select_related(
            "billing_account__customer", "plan", "sim"
        ).get(msisdn=msisdn)
        account = subscription.billing_account
        assert account.customer.display_name == name
        assert (account.payment_model, account.timezone) == ("postpaid", "Europe/Berlin")
        assert subscription.plan.code == "SMART-10"
        assert subscription.status == status
        assert subscription.activated_at == activated.replace(tzinfo=berlin)
        assert subscription.sim.imsi == f"26203123450000{msisdn[-1]}"
    carla = Subscription.objects.get(msisdn="4915112340003")
    assert carla.terminated_at == dt.datetime(2026, 10, 19, 22, tzinfo=dt.UTC)


def test_demo_generates_valid_varied_customers(demo_catalog):
    demo.load()
    generated = Subscription.objects.filter(msisdn__startswith=demo.DEMO_MSISDN_PREFIX)
    models = dict(
        generated.values_list("billing_account__payment_model")
        .annotate(n=Count("id"))
        .values_list("billing_account__payment_model", "n")
    )
    assert set(models) == {PaymentModel.POSTPAID, PaymentModel.PREPAID, PaymentModel.HYBRID}
    statuses = set(generated.values_list("status", flat=True))
    assert statuses == {"pending", "active", "suspended", "terminated"}
    for tax_id in Customer.objects.filter(kind=CustomerKind.BUSINESS).values_list(
        "tax_id", flat=True
    ):
        assert vat.is_valid(tax_id), tax_id
    departments = BillingAccount.objects.filter(parent__isnull=False)
    assert departments.count() == len(demo.DEMO_DEPARTMENTS)
    assert all(account.invoice_to_parent for account in departments)
    balance_accounts = BillingAccount.objects.exclude(payment_model=PaymentModel.POSTPAID)
    assert TopUp.objects.filter(channel__in=["card", "partner"]).count() == (
        balance_accounts.count()
    )
    assert Voucher.objects.filter(status=VoucherStatus.REDEEMED).count() == 10
    assert BalanceMovement.objects.aggregate(total=Sum("amount"))["total"] > 0


def test_demo_draws_the_same_crowd_on_every_machine(demo_catalog):
    demo.load()
    generated = Subscription.objects.filter(msisdn__startswith=demo.DEMO_MSISDN_PREFIX)

    by_status = dict(generated.values_list("status").annotate(n=Count("id")))
    by_plan = dict(generated.values_list("plan__code").annotate(n=Count("id")))
    first = list(generated.order_by("msisdn").values_list("msisdn", "plan__code", "status")[:3])

    assert by_status == {"active": 364, "pending": 17, "suspended": 19, "terminated": 19}
    assert by_plan == {"LOREM-HYBRID": 28, "LOREM-PREPAID": 115, "SMART-10": 276}
    assert first == [
        ("4915220000001", "SMART-10", "terminated"),
        ("4915220000002", "SMART-10", "active"),
        ("4915220000003", "SMART-10", "active"),
    ]
    assert Sim.objects.filter(status=SimStatus.AVAILABLE).count() == demo.DEMO_SPARE_SIMS


def test_demo_subscriptions_have_gapless_terms_that_resolve(demo_catalog):
    demo.load()
    terms: dict[int, list] = {}
    for term in SubscriptionTerm.objects.order_by("subscription_id", "valid_from"):
        terms.setdefault(term.subscription_id, []).append(term)
    subscriptions = Subscription.objects.in_bulk()
    assert set(terms) == set(subscriptions)
    berlin = ZoneInfo("Europe/Berlin")
    for subscription_id, chain in terms.items():
        assert chain[-1].valid_to is None
        assert all(t.valid_from.astimezone(berlin).time() == dt.time(0) for t in chain)
        assert all(a.valid_to == b.valid_from for a, b in zip(chain, chain[1:], strict=False))
        assert chain[-1].status == subscriptions[subscription_id].status
        assert chain[-1].imsi == subscriptions[subscription_id].sim.imsi
    index = TermIndex.load(msisdns=[s.msisdn for s in subscriptions.values()])
    for subscription in subscriptions.values():
        if subscription.status == SubscriptionStatus.ACTIVE:
            instant = terms[subscription.pk][-1].valid_from
            term, reason = index.resolve(msisdn=subscription.msisdn, instant=instant)
            assert (term.subscription_id, reason) == (subscription.pk, None)


def test_demo_customers_are_dated_by_their_first_order_not_by_the_load_day(demo_catalog):
    demo.load()
    for subscription in Subscription.objects.select_related("billing_account__customer"):
        first_term = subscription.terms.order_by("valid_from").first()
        assert subscription.created_at == first_term.valid_from
        assert subscription.billing_account.created_at <= subscription.created_at
        assert subscription.billing_account.customer.created_at <= subscription.created_at
    anna = Customer.objects.get(last_name="Schmidt", first_name="Anna")
    assert anna.created_at < OCTOBER_START  # ordered in September, before her October usage


def test_demo_shows_a_prepaid_line_renewed_and_one_suspended_for_a_short_balance(
    demo_catalog, django_capture_on_commit_callbacks
):
    import time_machine

    from subscribers.models import PlanRenewal, RenewalStatus

    PlanVersionFactory(
        plan__code="LOREM-FLEX-PLUS",
        plan__brand=demo_catalog.brand,
        plan__payment_model="prepaid",
        rate_card=demo_catalog.retail_card,
        effective_from=OCTOBER_START,
        recurring_fee=Decimal("9.99"),
        tax_inclusive=True,
    )
    with time_machine.travel(dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC), tick=False):
        summary = demo.load()
        assert demo.load().startswith("already loaded (")
    assert f"{demo.PREPAID_RENEWED}: renewed" in summary
    assert f"{demo.PREPAID_SHORT}: pending" in summary
    renewed = Subscription.objects.get(msisdn=demo.PREPAID_MSISDNS[demo.PREPAID_RENEWED])
    short = Subscription.objects.get(msisdn=demo.PREPAID_MSISDNS[demo.PREPAID_SHORT])
    assert (renewed.status, short.status) == (
        SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED,
    )  # fmt: skip
    assert PlanRenewal.objects.get(subscription=renewed).status == RenewalStatus.RENEWED
    assert PlanRenewal.objects.get(subscription=short).status == RenewalStatus.PENDING
    # 30.00 − 9.99 renewal + 15.00 topped up after it.
    from subscribers.services import balance_of

    assert balance_of(renewed.billing_account) == Decimal("35.010000")
