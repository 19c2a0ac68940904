"""The subscribers console in a real browser: find a customer, suspend her subscription."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_finds_anna_and_suspends_her_subscription(
    login, live_server, role_users, golden_subscribers
):
    anna = golden_subscribers.subscriptions["A"]
    terms_before = anna.terms.count()
    page = login("operator-user")
    page.click("nav >> text=Customers")
    page.fill("#id_q", "Anna Schmidt")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").first.click()
    page.wait_for_load_state()
    assert "Anna Schmidt" in page.locator("h1").inner_text()

    page.click("table.subscriptions >> text=+4915112340001")
    page.wait_for_load_state()
    assert page.locator("#status").inner_text() == "active"
    page.click(".page-head .actions >> text=Suspend")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Suspend +4915112340001"
    page.click("button[type=submit]:has-text('Suspend')")
    page.wait_for_load_state()

    assert page.locator("#status").inner_text() == "suspended"
    assert "Suspend: +4915112340001 is now suspended." in page.locator(".messages").inner_text()
    terms = page.locator("table.terms tbody tr")
    assert terms.count() == terms_before + 1
    current = terms.last.inner_text()
    assert "suspended" in current and "open" in current and "suspend" in current
