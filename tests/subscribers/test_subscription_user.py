"""A subscription names the person using the line when it is not the account holder."""

import pytest
from django.urls import reverse

from core.console.search import search_all
from subscribers import services

pytestmark = pytest.mark.django_db

API = "/api/v1/subscribers"


def test_an_operator_names_the_user_of_a_line_and_it_is_audited(
    golden_subscribers, operator, console_client_for
):
    ben = golden_subscribers.subscriptions["B"]
    client = console_client_for(operator)
    response = client.post(
        reverse("subscribers:subscription-user", args=[ben.pk]), {"user_name": " Lena   Müller "}
    )
    assert response.status_code == 302
    ben.refresh_from_db()
    assert ben.user_name == "Lena Müller"
    page = client.get(ben.get_absolute_url())
    assert ("Used by", "Lena Müller") in page.context["detail_fields"]
    latest = page.context["history"][0]
    assert latest["who"] == operator and latest["reason"] == "user named"
    assert {"field": "used by", "old": None, "new": "Lena Müller", "text": ""} in latest["changes"]


def test_the_set_user_button_is_offered_to_operators_only(
    golden_subscribers, operator, auditor, console_client_for
):
    anna = golden_subscribers.subscriptions["A"]
    labels = [a["label"] for a in console_client_for(operator).get(
        anna.get_absolute_url()).context["actions"]]  # fmt: skip
    assert "Set user" in labels
    assert (
        console_client_for(auditor)
        .post(reverse("subscribers:subscription-user", args=[anna.pk]), {"user_name": "X"})
        .status_code
        == 403
    )


def test_the_search_box_finds_a_line_by_its_users_name(golden_subscribers, auditor):
    anna = golden_subscribers.subscriptions["A"]
    services.subscription_user_set(subscription=anna, user_name="Jonas Schmidt")
    hits = search_all(user=auditor, query="jonas")
    assert [(h.kind, h.url) for h in hits] == [("Subscription", anna.get_absolute_url())]


def test_the_api_orders_a_product_for_a_user_and_renames_the_user(
    golden_subscribers, operator, api_client_for, golden_catalog
):
    client = api_client_for(operator)
    account = golden_subscribers.accounts["A"]
    created = client.post(
        f"{API}/product",
        {
            "billingAccount": {"id": str(account.pk)},
            "plan": {"id": str(golden_catalog.plan.pk)},
            "msisdn": "+4915112349999",
            "userName": "Max Schmidt",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["userName"] == "Max Schmidt"
    renamed = client.post(f"{API}/product/{created.json()['id']}/user", {"userName": ""},
                          format="json")  # fmt: skip
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["userName"] == ""
    too_long = client.post(f"{API}/product/{created.json()['id']}/user", {"userName": "x" * 201},
                           format="json")  # fmt: skip
    assert too_long.status_code == 400
    assert "userName" in too_long.json()["fieldErrors"]
