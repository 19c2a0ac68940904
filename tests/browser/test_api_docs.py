"""The API documentation pages render from the project's own static files, with no internet."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The schema of every path is generated, then read by the page's script: on a loaded two-core
# machine with SQLite that took longer than the console pages' 15 s.
DOCS_TIMEOUT_MS = 60_000


def _offline(page, live_server):
    """Refuse every request that leaves the live server, and record it."""
    own = urlsplit(live_server.url).netloc
    outside: list[tuple[str, str]] = []

    def route(request_route):
        url = request_route.request.url
        if urlsplit(url).netloc == own or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            outside.append((request_route.request.resource_type, url))
            request_route.abort()

    page.route("**/*", route)
    return outside


def test_swagger_ui_renders_offline(page, login, live_server, make_user):
    make_user("reader", "auditor")
    outside = _offline(page, live_server)
    login("reader")
    page.set_default_timeout(DOCS_TIMEOUT_MS)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "MVNO Billing API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")  # the operations were read from the schema
    assert outside == []


def test_redoc_renders_offline(page, login, live_server, make_user):
    make_user("reader", "auditor")
    outside = _offline(page, live_server)
    login("reader")
    page.set_default_timeout(DOCS_TIMEOUT_MS)
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("h1:has-text('MVNO Billing API')")
    page.wait_for_selector("[data-section-id]")
    # Redoc's bundle names an image of its vendor; an image lost offline changes nothing shown.
    assert [(kind, url) for kind, url in outside if kind != "image"] == []
