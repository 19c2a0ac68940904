"""The catalogue console in a real browser: a new plan version from clone to side by side."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_publishes_a_new_fee_and_sees_it_highlighted(
    login, live_server, role_users, golden_catalog
):
    page = login("operator-user")
    page.click("nav >> text=Plans")
    page.click("table.table >> text=SMART-10")
    assert page.locator("h1").inner_text() == "SMART-10"
    assert page.locator("th.version-head").count() == 1

    page.click(".page-head .actions a:text-is('New version')")
    assert page.locator("h1").inner_text() == "Clone SMART-10 v1"
    page.fill("#id_effective_from", "2026-12-01T00:00")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "SMART-10 v2"
    assert "Cloned SMART-10 v1 as SMART-10 v2" in page.locator(".messages").inner_text()

    page.click(".page-head .actions a:text-is('Edit')")
    page.fill("#id_recurring_fee", "24.99")
    page.click("form.form button[type=submit]")
    page.wait_for_load_state()

    page.click(".page-head .actions a:text-is('Publish')")
    assert page.locator("h1").inner_text() == "Publish SMART-10 v2"
    assert "never changes again" in page.locator("main").inner_text()
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "SMART-10"
    assert page.locator("th.version-head").count() == 2
    fees = page.locator('tr[data-row="Recurring fee"] td')
    assert [fees.nth(0).inner_text(), fees.nth(1).inner_text()] == ["19.99 EUR", "24.99 EUR"]
    assert fees.nth(0).get_attribute("class") is None
    assert fees.nth(1).get_attribute("class") == "diff-changed"
    statuses = page.locator('tr[data-row="Status"] td')
    assert [statuses.nth(0).inner_text(), statuses.nth(1).inner_text()] == [
        "published",
        "published",
    ]
    timing = page.locator('tr[data-row="Fee timing"] td.diff-changed')
    assert timing.count() == 0
