"""The search box of every page and the operations dashboard of the home page."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from catalog.models import Brand
from charging.models import RejectedRecord, UsageEvent, UsageFile
from charging.services import usage_file_ingest
from core.console.dashboard import panels_for
from core.console.search import digits_of, search_all
from subscribers.models import BrandScope
from subscribers.search import msisdn_candidates

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILES = (
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",
)
RECEIVED = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def golden_usage(golden_subscribers):
    """The scenario's four file arrivals, received on 2026-11-01."""
    with time_machine.travel(RECEIVED, tick=False):
        for name in FILES:
            usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    return golden_subscribers


@pytest.mark.parametrize(
    "typed",
    ["+49 151 12340001", "4915112340001", "0049 151-1234-0001", "0151 1234 0001", "015112340001"],
)
def test_a_number_typed_any_way_an_operator_types_it_is_one_msisdn(typed):
    assert msisdn_candidates(typed) == ["4915112340001"]


def test_digits_of_takes_only_numbers():
    assert digits_of("+49 (151) 1234.0001") == "4915112340001"
    assert digits_of("Anna") == ""


def test_search_finds_a_subscription_by_msisdn_and_goes_straight_to_it(
    golden_subscribers, auditor, console_client_for
):
    anna = golden_subscribers.subscriptions["A"]
    response = console_client_for(auditor).get(reverse("search"), {"q": "0151 1234 0001"})
    assert response.status_code == 302
    assert response["Location"] == anna.get_absolute_url()


def test_search_by_imsi_iccid_customer_and_account_number(golden_subscribers, auditor):
    anna = golden_subscribers.subscriptions["A"]
    by_imsi = search_all(user=auditor, query="262031234500001")
    assert [(h.kind, h.url) for h in by_imsi] == [("SIM", anna.get_absolute_url())]
    by_iccid = search_all(user=auditor, query=anna.sim.iccid)
    assert [h.url for h in by_iccid] == [anna.get_absolute_url()]
    customer = golden_subscribers.customers["B"]
    assert [h.url for h in search_all(user=auditor, query=customer.number.lower())] == [
        customer.get_absolute_url()
    ]
    account = golden_subscribers.accounts["C"]
    hits = search_all(user=auditor, query=account.number)
    assert [(h.kind, h.url) for h in hits] == [("Billing account", account.get_absolute_url())]


def test_search_by_part_of_a_name_lists_every_match(
    golden_subscribers, auditor, console_client_for
):
    response = console_client_for(auditor).get(reverse("search"), {"q": "er"})
    assert response.status_code == 200  # Müller, Weber: two matches, listed
    labels = [hit.label for hit in response.context["hits"]]
    assert labels == ["Ben Müller", "Carla Weber"]
    assert "2 matches" in response.content.decode()


def test_search_finds_usage_files_records_and_rejects(golden_usage, auditor):
    kinds = {hit.kind for hit in search_all(user=auditor, query="000001")}
    assert kinds == {"Usage file"}
    a3 = UsageEvent.objects.get(record_id="A3")
    assert [h.url for h in search_all(user=auditor, query="A3")] == [a3.get_absolute_url()]
    reject = RejectedRecord.objects.get(record_id="U1")
    hits = search_all(user=auditor, query="U1")
    assert [(h.kind, h.url) for h in hits] == [
        ("Rejected record", reverse("charging:rejectedrecord-detail", args=[reject.pk]))
    ]


def test_search_finds_nothing_of_a_brand_the_user_may_not_see(golden_usage, make_user):
    other = Brand.objects.create(code="OTHER", name="Other brand")
    limited = make_user("limited", "operator")
    BrandScope.objects.create(user=limited, brand=other)
    for query in ("4915112340001", "262031234500001", "Anna Schmidt", "A3", "000001", "U1"):
        assert search_all(user=limited, query=query) == [], query


def test_search_says_so_when_nothing_matches(auditor, console_client_for):
    response = console_client_for(auditor).get(reverse("search"), {"q": "nobody at all"})
    assert response.status_code == 200
    assert "Nothing matches" in response.content.decode()


def _figures(panels) -> dict:
    return {f"{p.title}: {f.label}": f for p in panels for f in p.figures}


@time_machine.travel(dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC), tick=False)
def test_the_dashboard_counts_what_waits_and_what_came_today(golden_usage, operator):
    panels = panels_for(user=operator, now=dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC))
    figures = _figures(panels)
    assert figures["Waiting for action: Rejected records to correct"].value == 8
    assert figures["Waiting for action: Rating errors"].value == 1  # A15, roaming in WORLD2
    assert figures["Waiting for action: Missing files (sequence gaps)"].value == 1  # 000003
    assert figures["Waiting for action: Files quarantined or failed"].value == 1  # 000004
    today = "Usage files received today (2026-11-01)"
    assert figures[f"{today}: Files received"].value == 4
    assert figures[f"{today}: Records read"].value == 29
    assert figures[f"{today}: Accepted"].value == 20
    assert figures[f"{today}: Rejected"].value == 8
    assert figures[f"{today}: Duplicates"].value == 1


@time_machine.travel(dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC), tick=False)
def test_every_dashboard_figure_leads_to_as_many_records(
    golden_usage, operator, console_client_for
):
    client = console_client_for(operator)
    figures = _figures(panels_for(user=operator, now=dt.datetime.now(dt.UTC)))
    for name in (
        "Waiting for action: Rejected records to correct",
        "Waiting for action: Rating errors",
        "Waiting for action: Missing files (sequence gaps)",
        "Waiting for action: Files quarantined or failed",
        "Usage files received today (2026-11-01): Files received",
    ):
        page = client.get(figures[name].url)
        assert page.status_code == 200, name
        assert page.context["table"].paginator.count == figures[name].value, name


@time_machine.travel(dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC), tick=False)
def test_the_usage_chart_counts_events_per_day_and_service_and_links_to_them(
    golden_usage, auditor, console_client_for
):
    panels = panels_for(user=auditor, now=dt.datetime.now(dt.UTC))
    chart = next(c for p in panels for c in p.charts)
    assert chart.labels[0] == "03 Oct" and chart.labels[-1] == "01 Nov"
    assert sum(sum(series["values"]) for series in chart.series) == UsageEvent.objects.count()
    voice_out = next(s for s in chart.series if s["label"] == "voice out")
    day = voice_out["values"].index(max(voice_out["values"]))
    listed = console_client_for(auditor).get(voice_out["links"][day])
    assert listed.context["table"].paginator.count == voice_out["values"][day]


def test_the_home_page_shows_the_panels_and_no_menu_again(
    golden_usage, operator, console_client_for
):
    body = console_client_for(operator).get(reverse("home")).content.decode()
    assert "Waiting for action" in body
    assert "data-chart" in body and "chart.umd.min.js" in body
    assert "Everything you can open" not in body


def test_a_user_limited_to_a_brand_sees_only_their_own_figures(golden_usage, make_user):
    other = Brand.objects.create(code="OTHER", name="Other brand")
    limited = make_user("limited", "operator")
    BrandScope.objects.create(user=limited, brand=other)
    panels = panels_for(user=limited, now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    figures = _figures(panels)
    assert figures  # their own (empty) figures, scoped like the lists they lead to
    assert {f.value for f in figures.values()} == {0}
    assert all(not chart.series for panel in panels for chart in panel.charts)
    assert UsageFile.objects.count() == 4  # they exist; this user is not shown them
