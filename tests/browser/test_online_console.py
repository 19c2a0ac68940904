"""Online charging on the console in a real browser: find a live session, force-release it."""

import datetime as dt
import os

import pytest
import time_machine

from charging.online import services as online
from charging.online.models import ChargingSession
from tests.charging.online_builders import build_online_catalogue, online_subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)


def shot(page, name: str) -> None:
    """Keep a screenshot when SCREENSHOT_DIR is set (to look at the pages)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_operator_finds_a_live_session_and_releases_it(login, live_server, role_users):
    with time_machine.travel(NOON, tick=True):
        catalogue = build_online_catalogue()
        online_subscriber(catalogue, plan_code="PRE-10", msisdn="4915100000001",
                          imsi="262030000000001")  # fmt: skip
        online.charging_initiate(
            host_network=catalogue.golden.host_network, session_id="call-1",
            msisdn="4915100000001", service="VOICE_OUT", requested_units=120,
            other_party="4915199999999",
        )  # fmt: skip
    page = login("operator-user")
    page.click("nav >> text=Live sessions")
    assert page.locator("h1").inner_text() == "Live sessions"
    row = page.locator("table tbody tr")
    assert row.count() == 1
    assert "4915100000001" in row.inner_text() and "0.180000" in row.inner_text()
    shot(page, "live-sessions")
    row.locator("a").first.click()
    assert page.locator("h1").inner_text().startswith("Charging session VOICE_OUT")
    shot(page, "session")
    page.click(".page-head .actions >> text=Force release")
    page.fill("#id_reason", "the network lost the session")
    shot(page, "release")
    page.click("button[type=submit]:has-text('Release the session')")
    page.wait_for_load_state()
    assert "Released" in page.locator(".messages").inner_text()
    assert ChargingSession.objects.get().status == "released"
    shot(page, "released")
