"""Online charging on the console and the API: live sessions, reservations, forced release."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from catalog import services as catalog_services
from charging.online import services as online
from charging.online.models import ChargingSession
from subscribers.models import BrandScope
from subscribers.services import balance_of
from tests.charging.online_builders import build_online_catalogue, online_subscriber

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def live():
    """Alice's call, live, holding 0.18 for 120 s."""
    with time_machine.travel(NOON, tick=False):
        catalogue = build_online_catalogue()
        subscription = online_subscriber(
            catalogue, plan_code="PRE-10", msisdn="4915100000001", imsi="262030000000001"
        )
        answer = online.charging_initiate(
            host_network=catalogue.golden.host_network, session_id="call-1",
            msisdn="4915100000001", service="VOICE_OUT", requested_units=120,
            other_party="4915199999999",
        )  # fmt: skip
        yield subscription, ChargingSession.objects.get(reference=answer["reference"])


@pytest.fixture
def other_brand_operator(live, make_user):
    brand = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    user = make_user("ipsum-operator", "operator")
    BrandScope.objects.create(user=user, brand=brand)
    return user


def test_live_sessions_show_who_what_since_when_and_what_is_held(
    live, operator, console_client_for
):
    subscription, session = live
    page = console_client_for(operator).get(reverse("charging:chargingsession-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Live sessions" in html
    assert f'href="{session.get_absolute_url()}"' in html
    for text in ("4915100000001", "voice out", "2026-10-15 14:00:00", "0.180000", "120"):
        assert text in html


def test_ended_sessions_are_not_live(live, operator, console_client_for):
    subscription, session = live
    online.charging_terminate(host_network=session.host_network, reference=session.reference,
                              request_number=1, used_units=30)  # fmt: skip
    client = console_client_for(operator)
    listed = client.get(reverse("charging:chargingsession-list")).content.decode()
    assert f'href="{session.get_absolute_url()}"' not in listed
    everything = client.get(reverse("charging:chargingsession-list") + "?status=")
    assert f'href="{session.get_absolute_url()}"' in everything.content.decode()


def test_a_session_page_lists_its_reservations_and_requests(live, operator, console_client_for):
    _, session = live
    page = console_client_for(operator).get(session.get_absolute_url())
    html = page.content.decode()
    assert "Reservations" in html and "Requests answered" in html
    assert "Force release" in html


def test_force_release_is_confirmed_with_a_reason(live, operator, console_client_for):
    subscription, session = live
    client = console_client_for(operator)
    url = reverse("charging:chargingsession-release", args=[session.pk])
    asked = client.get(url)
    assert asked.status_code == 200
    assert "0.180000" in asked.content.decode()
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200
    session.refresh_from_db()
    assert session.status == "active"
    done = client.post(url, {"reason": "the network lost the session"})
    assert done.status_code == 302
    session.refresh_from_db()
    assert session.status == "released"
    assert session.end_reason == "operator-user: the network lost the session"
    assert balance_of(subscription.billing_account) == Decimal("10.000000")


def test_an_auditor_cannot_force_release(live, auditor, console_client_for):
    _, session = live
    url = reverse("charging:chargingsession-release", args=[session.pk])
    assert console_client_for(auditor).post(url, {"reason": "x"}).status_code == 403


def test_the_subscription_page_shows_its_live_sessions(live, operator, console_client_for):
    subscription, _ = live
    html = console_client_for(operator).get(subscription.get_absolute_url()).content.decode()
    assert "Online charging" in html
    assert "Money held by reservations" in html
    assert "0.180000 EUR" in html


def test_another_brand_sees_no_session(live, other_brand_operator, console_client_for,
                                       api_client_for):  # fmt: skip
    _, session = live
    client = console_client_for(other_brand_operator)
    listed = client.get(reverse("charging:chargingsession-list")).content.decode()
    assert f'href="{session.get_absolute_url()}"' not in listed
    assert client.get(session.get_absolute_url()).status_code == 404
    api = api_client_for(other_brand_operator)
    assert api.get("/api/v1/charging/chargingSession").json()["count"] == 0


def test_the_api_reads_sessions_and_their_reservations(live, auditor, api_client_for):
    subscription, session = live
    api = api_client_for(auditor)
    listed = api.get("/api/v1/charging/chargingSession?status=active")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    body = api.get(f"/api/v1/charging/chargingSession/{session.pk}").json()
    assert body["@type"] == "ChargingSession"
    assert body["reservedAmount"] == {"unit": "EUR", "value": "0.180000"}
    assert body["reservedUnits"] == 120
    assert body["product"]["id"] == str(subscription.pk)
    assert body["reservations"][0]["status"] == "held"


def test_notifications_are_listed_on_the_subscription_page_and_in_the_api(
    live, operator, console_client_for, api_client_for
):
    subscription, session = live
    with time_machine.travel(NOON, tick=False):
        answer = online.charging_initiate(
            host_network=session.host_network, session_id="data-1", msisdn="4915100000001",
            service="DATA", requested_units=900_000_000,
        )  # fmt: skip
        online.charging_terminate(host_network=session.host_network,
                                  reference=answer["reference"], request_number=1,
                                  used_units=900_000_000)  # fmt: skip
    html = console_client_for(operator).get(subscription.get_absolute_url()).content.decode()
    assert "Charging notifications" in html
    assert "Data 1 GB: 90 % used" in html
    body = api_client_for(operator).get("/api/v1/charging/chargingNotification").json()
    assert body["count"] == 1
    assert body["results"][0]["kind"] == "allowance_80"
