"""The console shell in a real browser: login, navigation by role, a list with filter and CSV."""

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_logs_in_filters_people_and_exports_csv(login, live_server, role_users):
    page = login("admin-user")
    assert page.locator("h1").inner_text().startswith("Welcome")
    page.click("nav >> text=People")
    assert page.locator("h1").inner_text() == "People"
    page.select_option("#id_role", "finance")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("table.table tbody tr")
    assert rows.count() == 1
    assert "finance-user" in rows.first.inner_text()
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    path = download_info.value.path()
    content = Path(path).read_text(encoding="utf-8").splitlines()
    assert len(content) == 2 and content[1].startswith("finance-user,")


def test_auditor_does_not_see_people_and_gets_403_page(login, live_server, role_users):
    page = login("auditor-user")
    assert page.locator("nav >> text=People").count() == 0
    response = page.goto(f"{live_server.url}/people/")
    assert response.status == 403
    assert "Not allowed" in page.content()


def test_wrong_password_stays_on_login_with_an_error(login, role_users):
    page = login("auditor-user", password="wrong")
    assert "/login/" in page.url
    assert page.locator(".errors").count() == 1
