"""The home dashboard, its drill-downs, the search box and an XLSX export in a real browser."""

import datetime as dt
import io
from pathlib import Path

import pytest
import time_machine
from openpyxl import load_workbook

from charging.services import usage_file_ingest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILES = (
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",
)


@pytest.fixture
def golden_usage(golden_subscribers):
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        for name in FILES:
            usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    return golden_subscribers


def test_operator_drills_from_the_dashboard_to_the_records(login, role_users, golden_usage):
    page = login("operator-user")
    waiting = page.locator("section.panel", has_text="Waiting for action")
    figure = waiting.locator(".figure", has_text="Rejected records to correct")
    assert figure.locator(".value").inner_text() == "8"
    figure.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Rejected records"
    assert page.locator("main p.muted").first.inner_text() == "8 results"

    page.go_back()
    page.wait_for_selector("[data-chart][data-drawn=true]")
    # Click the tallest bar of the usage chart: the list of exactly those events opens.
    bar = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.querySelector('[data-chart] canvas'));
            let best = null;
            chart.data.datasets.forEach((set, d) => set.data.forEach((value, i) => {
                if (!best || value > best.value) best = {d, i, value};
            }));
            const element = chart.getDatasetMeta(best.d).data[best.i];
            const box = chart.canvas.getBoundingClientRect();
            const y = (element.y + element.base) / 2;
            return {x: box.left + element.x, y: box.top + y, value: best.value};
        }"""
    )
    page.mouse.click(bar["x"], bar["y"])
    page.wait_for_url("**/charging/usage/?*")
    assert page.locator("main p.muted").first.inner_text().startswith(f"{bar['value']} result")


def test_the_search_box_goes_straight_to_a_number_typed_the_national_way(
    login, role_users, golden_usage
):
    page = login("auditor-user")
    page.fill("header input[name=q]", "0151 1234 0002")
    page.press("header input[name=q]", "Enter")
    page.wait_for_load_state()
    assert "/subscribers/subscriptions/" in page.url
    assert "4915112340002" in page.locator("h1").inner_text()

    page.fill("header input[name=q]", "er")
    page.press("header input[name=q]", "Enter")
    page.wait_for_load_state()
    found = page.locator("table.search-hits tbody tr")
    assert found.count() == 2
    found.filter(has_text="Carla Weber").locator("a").click()
    page.wait_for_load_state()
    assert "Carla Weber" in page.locator("main").inner_text()


def test_finance_downloads_the_usage_list_as_xlsx(login, role_users, golden_usage):
    page = login("finance-user")
    page.click('nav >> text="Usage"')
    page.fill("#id_record_id", "A13")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    with page.expect_download() as download_info:
        page.click("text=Export XLSX")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1
    a13 = dict(zip(header, rows[0], strict=True))
    assert a13["Record"] == "A13"
    assert a13["Retail (6 dp)"] == pytest.approx(0.054167)
    assert a13["Start (Europe/Berlin)"] == dt.datetime(2026, 10, 26, 21, 0)
