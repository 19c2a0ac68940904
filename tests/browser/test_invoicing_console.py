"""The invoicing console in a real browser: finance starts a bill run, opens a draft, issues
the run and downloads a PDF."""

import datetime as dt

import pytest

from tests.invoicing.builders import account_add, plan_add, subscription_add, world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_runs_reviews_and_issues_a_bill_run(login, live_server, role_users, settings,
                                                     tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    for name in ("Alice", "Bob"):
        subscription_add(world, account_add(world, name=name), "ADV",
                         active_from=dt.date(2026, 10, 1))  # fmt: skip
    world.cycle  # noqa: B018 - the bill cycle exists before the form lists it

    page = login("finance-user")
    page.click("nav >> text=Bill runs")
    page.click(".page-head .actions >> text=New")
    page.select_option("#id_cycle", label=world.cycle.code)
    page.fill("#id_year", "2026")
    page.fill("#id_month", "10")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "2 of 2 accounts done (100 %)" in page.locator("#run-progress").inner_text()

    page.click("#invoices table tbody tr >> nth=0 >> a")
    assert page.locator("#invoice-status").inner_text() == "draft"
    assert page.locator("#gross-total").inner_text() == "71.40 EUR"
    page.click(".page-head .actions >> text=Issue")
    page.click("button[type=submit]:has-text('Issue')")
    page.wait_for_load_state()
    number = page.locator("#invoice-number").inner_text()
    assert number.startswith("INV-") and number.endswith("-000001")

    page.goto(f"{live_server.url}/invoicing/runs/")
    page.click("table tbody tr >> nth=0 >> a")
    page.click(".page-head .actions >> text=Issue the run")
    page.click("button[type=submit]:has-text('Issue the run')")
    page.wait_for_load_state()
    assert page.locator("#run-status").inner_text() == "issued"
    page.click("#invoices table tbody tr >> nth=1 >> a")
    with page.expect_download() as download:
        page.click(".page-head .actions >> text=Download PDF")
    assert download.value.suggested_filename.endswith("-000002.pdf")
