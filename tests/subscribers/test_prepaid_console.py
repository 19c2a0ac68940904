"""A subscription's ledger in the console and the API: every movement with its cause, linked;
bucket adjustments with a reason (audited); renewals on the subscription page; brand scoping."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from catalog.models import Brand
from subscribers import services
from subscribers.models import (
    BalanceMovement,
    BrandScope,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    MovementKind,
)
from subscribers.prepaid import prepaid_renewals_run
from tests.catalog.factories import AllowanceFactory, BrandFactory
from tests.invoicing.builders import (
    account_add,
    event_add,
    plan_add,
    subscription_add,
    world_build,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOV_START = dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


@pytest.fixture
def line():
    """A prepaid line renewed for November, topped up, with a usage event that drew its bucket
    and was charged online."""
    world = world_build()
    plan_add(world, "PRE", fee="9.99", payment_model="prepaid", tax_inclusive=True)
    AllowanceFactory(plan_version=world.versions["PRE"], name="Data 5 GB", quantity=5)
    account = account_add(world, payment_model="prepaid")
    subscription = subscription_add(world, account, "PRE", active_from=dt.date(2026, 10, 1))
    with time_machine.travel(dt.datetime(2026, 10, 20, tzinfo=UTC), tick=False):
        services.top_up(
            billing_account=account, amount=Decimal("30.00"), channel="card", reference="TU-1"
        )
    with time_machine.travel(NOV_START + dt.timedelta(minutes=5), tick=False):
        prepaid_renewals_run()
    bucket = Bucket.objects.get(subscription=subscription, valid_from=NOV_START)
    event = event_add(subscription, at=dt.datetime(2026, 11, 5, 9, tzinfo=UTC), amount="0.40")
    BucketMovement.objects.create(
        bucket=bucket,
        kind=BucketMovementKind.USAGE,
        quantity=-2_000_000,
        reason="DATA TEST/R1",
        reference=f"usage:{event.pk}",
    )
    BalanceMovement.objects.create(
        billing_account=account,
        kind=MovementKind.CHARGE,
        amount=Decimal("-0.40"),
        currency="EUR",
        reason="DATA session",
        reference=f"usage:{event.pk}",
    )
    return world, account, subscription, bucket, event


def lorem_operator(make_user, brand):
    user = make_user("lorem-op", "operator")
    BrandScope.objects.create(user=user, brand=brand)
    return user


def test_the_ledger_names_and_links_what_caused_each_movement(line, console_client_for, operator):
    _world, _account, subscription, _bucket, event = line
    page = console_client_for(operator).get(
        reverse("subscribers:subscription-ledger", args=[subscription.pk])
    )
    assert page.status_code == 200
    html = page.content.decode()
    usage_url = reverse("charging:usageevent-detail", args=[event.pk])
    assert html.count(f'href="{usage_url}"') == 2  # the bucket draw and the money charge
    assert "top-up TU-1" in html and "?q=TU-1" in html
    renewal_url = reverse("subscribers:subscription-detail", args=[subscription.pk])
    assert f'href="{renewal_url}#renewals"' in html
    assert "19.61 EUR" in html  # the balance: 30.00 − 9.99 − 0.40
    assert "-2.00 MB" in html


def test_the_subscription_page_shows_its_renewals_and_links_the_ledger(
    line, console_client_for, operator
):
    _world, _account, subscription, _bucket, _event = line
    html = console_client_for(operator).get(subscription.get_absolute_url()).content.decode()
    assert 'id="renewals"' in html and "renewed" in html and "9.99 EUR" in html
    assert reverse("subscribers:subscription-ledger", args=[subscription.pk]) in html


def test_a_bucket_adjustment_needs_a_reason_and_is_kept_with_who_made_it(
    line, console_client_for, operator
):
    _world, _account, subscription, bucket, _event = line
    client = console_client_for(operator)
    url = reverse("subscribers:subscription-adjust-bucket", args=[subscription.pk])
    with time_machine.travel(dt.datetime(2026, 11, 10, tzinfo=UTC), tick=False):
        refused = client.post(url, {"bucket": bucket.pk, "quantity": "1000000000", "reason": " "})
        assert refused.status_code == 200 and "This field is required" in refused.content.decode()
        zero = client.post(url, {"bucket": bucket.pk, "quantity": "0", "reason": "nothing"})
        assert "an adjustment is not zero" in zero.content.decode()
        too_much = client.post(
            url, {"bucket": bucket.pk, "quantity": "-9000000000", "reason": "correction"}
        )
        assert "below zero" in too_much.content.decode()
        done = client.post(
            url, {"bucket": bucket.pk, "quantity": "1000000000", "reason": "goodwill: outage"}
        )
    assert done.status_code == 302
    movement = BucketMovement.objects.get(bucket=bucket, kind=BucketMovementKind.ADJUSTMENT)
    assert (movement.quantity, movement.reason, movement.created_by) == (
        1_000_000_000, "goodwill: outage", operator,
    )  # fmt: skip
    assert services.bucket_remaining(bucket) == 5_998_000_000  # 5 GB − 2 MB + 1 GB


def test_an_auditor_reads_the_ledger_but_cannot_adjust(line, console_client_for, auditor):
    _world, _account, subscription, bucket, _event = line
    client = console_client_for(auditor)
    assert (
        client.get(reverse("subscribers:subscription-ledger", args=[subscription.pk])).status_code
        == 200
    )
    url = reverse("subscribers:subscription-adjust-bucket", args=[subscription.pk])
    assert (
        client.post(url, {"bucket": bucket.pk, "quantity": "1", "reason": "x"}).status_code == 403
    )


def test_another_brands_operator_finds_no_ledger_and_no_bucket(line, console_client_for, make_user):
    _world, _account, subscription, bucket, _event = line
    other = lorem_operator(make_user, BrandFactory(code="LOREMX"))
    client = console_client_for(other)
    assert (
        client.get(reverse("subscribers:subscription-ledger", args=[subscription.pk])).status_code
        == 404
    )
    url = reverse("subscribers:subscription-adjust-bucket", args=[subscription.pk])
    assert (
        client.post(url, {"bucket": bucket.pk, "quantity": "1", "reason": "x"}).status_code == 404
    )
    assert not Brand.objects.filter(code="LOREMX", customers__isnull=False).exists()


def test_the_api_lists_bucket_draws_naming_their_usage_event(line, api_client_for, auditor):
    _world, _account, _subscription, bucket, event = line
    answer = api_client_for(auditor).get(
        "/api/v1/subscribers/bucketAction", {"bucket": bucket.pk, "actionType": "usage"}
    )
    assert answer.status_code == 200
    (draw,) = answer.json()["results"]
    assert draw["@type"] == "BucketAction"
    assert draw["quantity"] == {"amount": -2_000_000, "units": "BYTE"}
    assert draw["cause"]["@referredType"] == "Usage"
    assert draw["cause"]["id"] == str(event.pk)
    assert draw["cause"]["href"].endswith(f"/api/v1/charging/usage/{event.pk}")


def test_the_api_names_the_top_up_and_renewal_behind_balance_actions(line, api_client_for, auditor):
    _world, account, _subscription, _bucket, _event = line
    answer = api_client_for(auditor).get(
        "/api/v1/subscribers/balanceAction", {"billingAccount": account.pk, "ordering": "id"}
    )
    causes = [(a["actionType"], a["cause"]["@referredType"]) for a in answer.json()["results"]]
    assert causes == [("topup", "TopupBalance"), ("renewal", "PlanRenewal"), ("charge", "Usage")]


def test_another_brands_api_user_sees_no_bucket_action(line, api_client_for, make_user):
    _world, _account, _subscription, bucket, _event = line
    other = lorem_operator(make_user, BrandFactory(code="LOREMY"))
    movement = BucketMovement.objects.filter(bucket=bucket).first()
    client = api_client_for(other)
    assert client.get(f"/api/v1/subscribers/bucketAction/{movement.pk}").status_code == 404
    assert client.get("/api/v1/subscribers/bucketAction").json()["results"] == []
