"""The charging console in a real browser: upload the October files, ask how A13 was priced."""

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
FILE_2 = "CDR_HOSTNET_20261101001000_000002.csv"


def upload_through_the_console(page, name: str) -> None:
    page.click("nav >> text=Usage files")
    page.click(".page-head .actions >> text=Upload a file")
    page.set_input_files("#id_file", str(SAMPLES / name))
    page.click("button[type=submit]:has-text('Upload')")
    page.wait_for_load_state()


def counts(page) -> tuple[str, ...]:
    return tuple(
        page.locator(f"#count-{name}").inner_text()
        for name in ("read", "accepted", "rejected", "duplicates")
    )


def test_operator_uploads_the_october_files_and_reads_how_a13_was_priced(
    login, live_server, role_users, golden_subscribers
):
    page = login("operator-user")
    upload_through_the_console(page, FILE_1)
    assert page.locator("h1").inner_text() == f"Usage file {FILE_1}"
    assert page.locator("#file-status").inner_text() == "processed"
    assert counts(page) == ("16", "14", "2", "0")
    assert page.locator("#rejects tbody tr").count() == 2
    assert "received; its status and counts are below" in page.locator(".messages").inner_text()

    upload_through_the_console(page, FILE_2)
    assert counts(page) == ("13", "6", "6", "1")

    page.click('nav >> text="Usage"')
    page.fill("#id_msisdn", "+49 151 12340001")
    page.fill("#id_started_at_0", "2026-10-26")
    page.fill("#id_started_at_1", "2026-10-26")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Usage of +4915112340001"
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1 and "A13" in rows.first.inner_text()
    rows.first.locator("a").first.click()
    page.wait_for_load_state()

    assert page.locator("h1").inner_text() == "Usage event HOSTNET/A13"
    assert page.locator("#charged-units").inner_text() == "5,820 s"
    draws = page.locator("#draws tbody tr")
    assert draws.count() == 1
    assert draws.first.inner_text().split("\t") == ["Voice 100 min", "5,755 s"]
    assert page.locator("#left-units").inner_text() == "65 s"
    assert page.locator("#increments").inner_text() == "60/60"
    assert page.locator("#retail-amount").inner_text() == "0.054167 EUR"
    assert page.locator("#wholesale-amount").inner_text() == "0.386667 EUR"
    assert page.locator("#band").inner_text() == "OFFPEAK"
