"""Revenue assurance in a real browser: finance opens the dashboard, drills from a finding to
its records and from an invoice line to its file line, and downloads the KPIs as XLSX.

Screenshots are kept as test artefacts: in SCREENSHOT_DIR when set, else in the test's tmp_path.
"""

import datetime as dt

import pytest

from tests.browser.golden_world import golden_october_billed, screenshot_taker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_drills_from_dashboard_to_records_and_file_lines(
    login, live_server, role_users, settings, tmp_path
):
    from assurance.services import reconciliation_run
    from invoicing.models import Invoice

    settings.MEDIA_ROOT = tmp_path
    shot = screenshot_taker(tmp_path)
    _catalog, subscribers, _run = golden_october_billed()
    reconciliation_run(year=2026, month=10, now=dt.datetime(2026, 11, 10, 8, tzinfo=dt.UTC))

    page = login("finance-user")
    page.goto(f"{live_server.url}/assurance/?period=2026-10")
    assert "Revenue assurance · 2026-10" in page.locator("h1").inner_text()
    page.wait_for_selector("[data-chart][data-drawn=true]")
    assert page.locator("[data-chart][data-drawn=true]").count() >= 3
    assert "5.314176" in page.content()
    shot(page, "dashboard")

    # A finding to the records behind it.
    page.click("a.finding-link:has-text('Duplicate file refused')")
    page.wait_for_load_state()
    shot(page, "finding")
    page.click("a.record-link")
    page.wait_for_load_state()
    assert "CDR_HOSTNET_20261101000500_000001.csv" in page.content()
    shot(page, "finding-record")

    # An invoice line to its events, an event to its file line.
    anna = Invoice.objects.get(billing_account=subscribers.accounts["A"])
    page.goto(f"{live_server.url}{anna.get_absolute_url()}")
    page.click("a:has-text('voice out, NAT_MOBILE, HOME')")
    page.wait_for_load_state()
    shot(page, "invoice-line-lineage")
    page.click("a.event-link:has-text('HOSTNET/A14')")
    page.wait_for_load_state()
    assert page.locator("#file-line").inner_text().startswith("A14,")
    assert "voice out, NAT_MOBILE, HOME" in page.content()
    shot(page, "event-lineage")

    # The KPIs as XLSX.
    page.goto(f"{live_server.url}/assurance/?period=2026-10")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    saved = shot.folder / "assurance-kpis.xlsx"
    download.value.save_as(str(saved))
    assert download.value.suggested_filename == "assurance-kpis-2026-10.xlsx"
    from openpyxl import load_workbook

    sheet = load_workbook(saved).active
    figures = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert str(figures["Wholesale cost"]) == "5.314176"
