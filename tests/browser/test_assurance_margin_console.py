"""Revenue assurance in a real browser, the figures added late in issue 18: the period
picker, the margin with the host network's fees (drill to the settlement statement) and the
aged receivables (drill to the invoices).

Screenshots are kept as test artefacts: in SCREENSHOT_DIR when set, else in the test's tmp_path.
"""

import pytest
import time_machine

from tests.browser.golden_world import golden_october_billed, screenshot_taker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_drills_from_margin_to_statement_and_from_receivables_to_invoices(
    login, live_server, role_users, settings, tmp_path
):
    from settlement import services as settlement

    settings.MEDIA_ROOT = tmp_path
    shot = screenshot_taker(tmp_path)
    # Issued 2 November, due on the 16th.
    catalog, _subscribers, _run = golden_october_billed(at="2026-11-02 09:00:00+01:00")
    with time_machine.travel("2026-11-02 09:00:00+01:00", tick=False):
        partner = settlement.partner_save(
            brand=catalog.brand, code="HOSTNET", name="Host Network GmbH", kind="host_network",
            currency="EUR", host_network=catalog.host_network, payment_terms_days=30,
        )  # fmt: skip
        statement = settlement.settlement_run_create(
            partner=partner, year=2026, month=10, run_now=True
        ).statement

    page = login("finance-user")
    page.goto(f"{live_server.url}/assurance/?period=2026-10")
    picker = page.locator("#period-picker option:checked").inner_text()
    assert picker == "2026-10 · invoices and usage"
    assert "allocated to plans by the SIMs" in page.locator("#margin-note").inner_text()
    assert "89.175824" in page.content()  # 95.39 − 5.314176 − 0.90
    shot(page, "margin-with-host-fees")
    page.click("#plan-margins a.host-fees")
    page.wait_for_load_state()
    assert page.url.endswith(f"/settlement/statements/{statement.pk}/")
    assert "SIM fees, 3 × 0.3" in page.content()
    shot(page, "margin-statement")

    page.goto(f"{live_server.url}/assurance/?period=2026-11")
    page.click("a:has-text('113.52')")
    page.wait_for_load_state()
    assert "as_of=2026-11-30" in page.url and "bucket=d0_30" in page.url
    body = page.content()
    assert "62.11" in body and "36.83" in body and "14.58" in body
    shot(page, "receivables-drill")
