"""The audit trail (who, when, what changed) and the admin back door."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_console_edit_is_shown_on_the_detail_page_with_who_and_what(
    golden_catalog, console_client_for, operator
):
    brand = golden_catalog.brand
    client = console_client_for(operator)
    response = client.post(
        reverse("catalog:brand-edit", args=[brand.pk]), {"code": "LOREM", "name": "Lorem Mobil"}
    )
    assert response.status_code == 302
    page = client.get(brand.get_absolute_url())
    history = page.context["history"]
    latest = history[0]
    assert latest["who"] == operator
    assert latest["action"] == "changed"
    assert {"field": "name", "old": "Lorem Mobile", "new": "Lorem Mobil", "text": ""} in latest[
        "changes"
    ]
    assert b"Lorem Mobile" in page.content and b"operator-user" in page.content


@pytest.mark.parametrize("app_label", ["catalog", "subscribers", "charging"])
def test_every_model_is_reachable_in_the_admin_back_door(app_label):
    for model in apps.get_app_config(app_label).get_models():
        if not model._meta.model_name.startswith("historical"):
            assert admin.site.is_registered(model), model


def test_admin_back_door_is_for_admins_only(console_client_for, admin_user, operator, client):
    url = reverse("admin:catalog_plan_changelist")
    assert console_client_for(operator).get(url).status_code == 302
    client.force_login(admin_user)
    assert client.get(url).status_code == 200


def test_a_changed_instant_reads_in_the_consoles_zone_like_every_page(
    golden_subscribers, console_client_for, auditor
):
    anna = golden_subscribers.subscriptions["A"]
    page = console_client_for(auditor).get(anna.get_absolute_url())
    activation = next(entry for entry in page.context["history"] if entry["changes"])
    changes = {change["field"]: change for change in activation["changes"]}
    assert changes["activated at"]["old"] is None
    assert changes["activated at"]["new"] == "2026-10-01 00:00 CEST"
