"""Wide lists fit the screen: chosen columns, a page size, totals under money columns; and
the usage of a subscription or account is one click from its page."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from charging.services import usage_file_ingest

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILES = ("CDR_HOSTNET_20261101000500_000001.csv", "CDR_HOSTNET_20261101001000_000002.csv")


@pytest.fixture
def usage(golden_subscribers):
    for name in FILES:
        usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    return golden_subscribers


def test_the_usage_list_totals_its_money_columns_over_every_page(
    usage, auditor, console_client_for
):
    response = console_client_for(auditor).get(reverse("charging:usageevent-list"))
    table = response.context["table"]
    assert table.paginator.count == 20
    body = response.content.decode()
    assert "Total of the list" in body
    assert "<div>12.218343 EUR</div>" in body  # the scenario's rated retail total
    assert "<div>5.314176 EUR</div>" in body  # and wholesale total
    filtered = console_client_for(auditor).get(
        reverse("charging:usageevent-list"), {"destination_zone": "WORLD"}
    )
    assert "<div>1.430000 EUR</div>" in filtered.content.decode()  # A3 1.14 + A7 0.29


def test_a_list_shows_the_columns_chosen_and_exports_the_same(usage, auditor, console_client_for):
    client = console_client_for(auditor)
    url = reverse("charging:usageevent-list")
    default = client.get(url).context["table"]
    assert "other_party" not in default.columns.names()  # optional: off until chosen
    assert "retail_amount" in default.columns.names()
    chosen = client.get(url, {"cols": ["other_party", "retail_amount"]}).context["table"]
    assert chosen.columns.names() == ["started_at", "other_party", "retail_amount"]
    export = client.get(url, {"cols": ["retail_amount"], "_export": "csv"})
    header = b"".join(export.streaming_content).decode().splitlines()[0]
    assert header == "Start,Retail (6 dp)"


def test_a_list_pages_by_the_size_chosen(usage, auditor, console_client_for):
    client = console_client_for(auditor)
    url = reverse("charging:usageevent-list")
    assert client.get(url).context["table"].paginator.per_page == 50
    assert client.get(url, {"per_page": "100"}).context["table"].paginator.per_page == 100
    assert client.get(url, {"per_page": "7"}).context["table"].paginator.per_page == 50


@time_machine.travel(dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC), tick=False)
def test_a_subscription_page_shows_its_usage_by_period_linked_to_the_events(
    usage, auditor, console_client_for
):
    anna = usage.subscriptions["A"]
    client = console_client_for(auditor)
    page = client.get(anna.get_absolute_url())
    panel = next(p for p in page.context["related_panels"] if p.title == "Usage")
    figures = {figure.label: figure for figure in panel.figures}
    assert figures["Events, 01 Nov – 30 Nov 2026"].value == 0
    assert figures["Events, 01 Oct – 31 Oct 2026"].value == 16  # A1-A16, A15 in error
    assert figures["Usage charges, 01 Oct – 31 Oct 2026"].value == "12.22 EUR"
    assert figures["Rating errors, 01 Oct – 31 Oct 2026"].value == 1
    listed = client.get(figures["Events, 01 Oct – 31 Oct 2026"].url)
    assert listed.context["table"].paginator.count == 16


def test_a_billing_account_page_shows_the_usage_of_its_subscriptions(
    usage, auditor, console_client_for
):
    account = usage.accounts["B"]
    page = console_client_for(auditor).get(account.get_absolute_url())
    panel = next(p for p in page.context["related_panels"] if p.title == "Usage of the account")
    october = next(f for f in panel.figures if f.label.startswith("Events, 01 Oct"))
    assert october.value == 2  # B1, B3 (B2 was rejected: inactive)


def test_a_detail_page_has_breadcrumbs_to_its_section_and_list(usage, auditor, console_client_for):
    anna = usage.subscriptions["A"]
    response = console_client_for(auditor).get(anna.get_absolute_url())
    assert [crumb["label"] for crumb in response.context["breadcrumbs"]] == [
        "Home",
        "Subscribers",
        "Subscriptions",
    ]
    assert response.context["breadcrumbs"][2]["url"] == reverse("subscribers:subscription-list")
    assert 'aria-label="You are here"' in response.content.decode()
