"""Prepaid life on the console in a real browser: a renewed line's page with its renewals and
held reservation, its ledger with linked causes, a bucket adjusted with a reason."""

import datetime as dt
import os
from decimal import Decimal

import pytest
import time_machine

from catalog.models import PlanVersion
from charging.online import services as online
from subscribers.models import BucketMovement, BucketMovementKind
from subscribers.prepaid import prepaid_renewals_run
from tests.charging.online_builders import build_online_catalogue, online_subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NOV_5 = dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.UTC)


def shot(page, name: str) -> None:
    """Keep a screenshot when SCREENSHOT_DIR is set (to look at the pages)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_operator_reads_a_prepaid_lines_ledger_and_adjusts_a_bucket(login, role_users):
    with time_machine.travel(NOV_5, tick=True):
        catalogue = build_online_catalogue()
        PlanVersion.objects.filter(plan__code="PRE-10").update(recurring_fee=Decimal("9.99"))
        subscription = online_subscriber(
            catalogue, plan_code="PRE-10", msisdn="4915100000001", imsi="262030000000001",
            balance="20.00",
        )  # fmt: skip
        prepaid_renewals_run()
        online.charging_initiate(
            host_network=catalogue.golden.host_network, session_id="data-1",
            msisdn="4915100000001", service="DATA", requested_units=5_000_000,
        )  # fmt: skip
        page = login("operator-user")
        page.goto(page.url.split("/login")[0] + subscription.get_absolute_url())
        renewals = page.locator("#renewals")
        assert "renewed" in renewals.inner_text() and "9.99 EUR" in renewals.inner_text()
        assert "Reservations held" in page.content()
        shot(page, "prepaid-subscription")
        page.click("#ledger-link")
        assert page.locator("h1").inner_text().startswith("Ledger")
        balance = page.locator("#balance-ledger").inner_text()
        assert "plan renewal" in balance and "-9.990000 EUR" in balance
        assert "DATA session" in page.locator("#bucket-ledger").inner_text()
        shot(page, "prepaid-ledger")
        page.click(".page-head >> text=Adjust bucket")
        page.select_option("#id_bucket", index=1)
        page.fill("#id_quantity", "1000000")
        page.fill("#id_reason", "goodwill: slow network")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "goodwill: slow network" in page.locator("#bucket-ledger").inner_text()
        shot(page, "prepaid-ledger-adjusted")
    adjustment = BucketMovement.objects.get(kind=BucketMovementKind.ADJUSTMENT)
    assert adjustment.created_by.username == "operator-user"
