"""The charging console through the Django client: files, rejects, errors, usage, rerating.

Most tests share the golden October usage, built once for the module (see ``golden_usage``).
The upload tests need a database where FILE_1 has not arrived yet, so they come first and build
their own subscribers: the module's shared transaction is opened by the first test that asks for
``golden_usage`` and holds until the module ends.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services as catalog_services
from charging.models import (
    FileStatus,
    RatingStatus,
    RejectedRecord,
    RejectStatus,
    RerateChange,
    RerateJob,
    RerateStatus,
    UsageEvent,
    UsageFile,
)
from charging.services import usage_file_ingest
from subscribers.models import BrandScope

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
FILE_2 = "CDR_HOSTNET_20261101001000_000002.csv"
FILE_4 = "CDR_HOSTNET_20261101003000_000004.csv"
ANNA = "4915112340001"


def url(name: str, *args) -> str:
    return reverse(f"charging:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or (SAMPLES / name).read_bytes(), "text/csv")


def listed(response) -> list:
    return [row.record for row in response.context["table"].paginated_rows]


# --- the golden October usage, shared by the rest of the module --------------------------------


@pytest.fixture(scope="module")
def golden_usage(django_db_setup, django_db_blocker):
    """Catalogue, subscribers and the four file arrivals, built once for this module.

    Built inside a transaction that is rolled back after the module, so other tests never see
    it; each test runs in its own savepoint within it.
    """
    from django.db import transaction

    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    def ingest(name):
        return usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")

    with django_db_blocker.unblock(), transaction.atomic():
        catalog = build_golden_catalog()
        subscribers = build_golden_subscribers(catalog)
        files = [ingest(FILE_1), ingest(FILE_2), ingest(FILE_1), ingest(FILE_4)]
        yield catalog, subscribers, files
        transaction.set_rollback(True)


@pytest.fixture
def files(golden_usage):
    return golden_usage[2]


@pytest.fixture
def other_brand_operator(golden_usage, make_user):
    """An operator limited to another brand than Lorem Mobile's."""
    brand = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    user = make_user("ipsum-operator", "operator")
    BrandScope.objects.create(user=user, brand=brand)
    return user


def event(record_id: str) -> UsageEvent:
    return UsageEvent.objects.get(record_id=record_id)


def reject(record_id: str) -> RejectedRecord:
    return RejectedRecord.objects.get(record_id=record_id)


def test_files_list_shows_counts_balance_duplicate_quarantine_and_the_gap(
    files, auditor, console_client_for
):
    response = console_client_for(auditor).get(url("usagefile-list"))
    assert response.status_code == 200
    rows = {
        (f.name, f.status): (f.records_read, f.records_accepted, f.records_rejected,
                             f.records_duplicate, f.balanced)
        for f in listed(response)
    }  # fmt: skip
    assert rows == {
        (FILE_1, "processed"): (16, 14, 2, 0, True),
        (FILE_2, "processed"): (13, 6, 6, 1, True),
        (FILE_1, "duplicate"): (0, 0, 0, 0, True),
        (FILE_4, "quarantined"): (0, 0, 0, 0, True),
    }
    body = response.content.decode()
    assert 'id="sequence-gaps"' in body and "HOSTNET 000003 missing" in body
    assert "refused: duplicate file (R17)" in body
    assert "quarantined: trailer mismatch (R18)" in body


def test_files_list_filters_by_status_and_exports_csv(files, auditor, console_client_for):
    client = console_client_for(auditor)
    response = client.get(url("usagefile-list"), {"status": "quarantined"})
    assert [f.name for f in listed(response)] == [FILE_4]
    rows = csv_rows(client.get(url("usagefile-list"), {"status": "processed", "_export": "csv"}))
    assert rows[0][:4] == ["Name", "Status", "Source", "SEQ"]
    assert sorted(row[3] for row in rows[1:]) == ["000001", "000002"]


def test_duplicate_file_page_links_the_original(files, auditor, console_client_for):
    first, _, again, _ = files
    body = console_client_for(auditor).get(url("usagefile-detail", again.pk)).content.decode()
    assert f'href="{url("usagefile-detail", first.pk)}" id="duplicate-of"' in body
    assert "refused before reading" in body and 'href="/help/rules/#R17"' in body


def test_quarantined_file_page_says_why(files, auditor, console_client_for):
    broken = files[3]
    body = console_client_for(auditor).get(url("usagefile-detail", broken.pk)).content.decode()
    assert "the trailer counts 3 records, the file holds 2" in body
    assert "quarantined whole" in body and 'href="/help/rules/#R18"' in body
    assert "HOSTNET 000003 missing" in body


def test_file_page_lists_its_rejected_records(files, auditor, console_client_for):
    second = files[1]
    response = console_client_for(auditor).get(url("usagefile-detail", second.pk))
    rejects = [row.record.record_id for row in response.context["rejects"].paginated_rows]
    assert rejects == ["C2", "X1", "X2", "X3", "X4", "X5"]
    assert "1 in the rating error queue" in response.content.decode()


def test_download_gives_the_file_as_received(files, auditor, console_client_for):
    response = console_client_for(auditor).get(url("usagefile-download", files[0].pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (SAMPLES / FILE_1).read_bytes()
    assert f'filename="{FILE_1}"' in response["Content-Disposition"]


def test_uploading_file_1_again_is_refused_as_a_duplicate(files, operator, console_client_for):
    response = console_client_for(operator).post(url("usagefile-create"), {"file": upload(FILE_1)})
    copy = UsageFile.objects.filter(name=FILE_1, status=FileStatus.DUPLICATE).latest("id")
    assert response["Location"] == url("usagefile-detail", copy.pk)
    assert copy.duplicate_of == files[0]
    assert messages_of(response)[0].startswith(f"{FILE_1} was refused: refused before reading")


# --- rejected records ---------------------------------------------------------------------


def test_rejected_records_filter_by_reason_status_and_file(files, auditor, console_client_for):
    client = console_client_for(auditor)
    inactive = client.get(url("rejectedrecord-list"), {"reason": "INACTIVE_SUBSCRIPTION"})
    assert sorted(r.record_id for r in listed(inactive)) == ["B2", "C2"]
    first_file = client.get(url("rejectedrecord-list"), {"usage_file": files[0].pk})
    assert sorted(r.record_id for r in listed(first_file)) == ["B2", "U1"]
    opened = client.get(url("rejectedrecord-list"), {"status": "open", "source": "HOSTNET"})
    assert len(listed(opened)) == 8


def test_rejected_record_page_shows_raw_line_and_reason(golden_usage, auditor, console_client_for):
    x4 = reject("X4")
    body = console_client_for(auditor).get(url("rejectedrecord-detail", x4.pk)).content.decode()
    assert x4.raw in body
    assert 'id="reason">BAD_TIME</code>' in body
    assert "Line 13 of" in body
    assert 'id="reprocess"' not in body  # an auditor may not act on it


def test_corrected_x4_line_is_accepted_and_rated(golden_usage, operator, console_client_for):
    x4 = reject("X4")
    corrected = x4.raw.replace("20261340100000", "20261013100000")
    client = console_client_for(operator)
    assert 'id="reprocess"' in client.get(url("rejectedrecord-detail", x4.pk)).content.decode()
    response = client.post(url("rejectedrecord-reprocess", x4.pk), {"corrected_raw": corrected})
    assert response["Location"] == url("rejectedrecord-detail", x4.pk)
    x4.refresh_from_db()
    assert x4.status == RejectStatus.REPROCESSED and x4.corrected_raw == corrected
    rated = x4.usage_event
    assert rated.record_id == "X4" and rated.rating_status == RatingStatus.RATED
    # Tuesday 13 October 10:00 Berlin, NAT_FIXED at home, PEAK; Anna's voice bucket is used up.
    assert (rated.time_band, rated.charged_units, rated.covered_units) == ("PEAK", 60, 0)
    assert rated.retail_amount == Decimal("0.090000")
    assert messages_of(response) == ["Accepted as usage event HOSTNET/X4: rated 0.090000 EUR."]
    page = client.get(url("rejectedrecord-detail", x4.pk)).content.decode()
    assert f'href="{rated.get_absolute_url()}"' in page and 'id="reprocess"' not in page


def test_reprocessing_twice_is_refused_with_a_message(golden_usage, operator, console_client_for):
    x4 = reject("X4")
    corrected = x4.raw.replace("20261340100000", "20261013100000")
    client = console_client_for(operator)
    client.post(url("rejectedrecord-reprocess", x4.pk), {"corrected_raw": corrected}, follow=True)
    response = client.post(url("rejectedrecord-reprocess", x4.pk), {"corrected_raw": corrected})
    assert response.status_code == 302
    assert messages_of(response) == ["this record was reprocessed already"]
    assert UsageEvent.objects.filter(record_id="X4").count() == 1


def test_reprocessing_as_received_keeps_the_record_open(golden_usage, operator, console_client_for):
    x3 = reject("X3")
    response = console_client_for(operator).post(
        url("rejectedrecord-reprocess", x3.pk), {"corrected_raw": "ignored", "as_is": "1"}
    )
    x3.refresh_from_db()
    assert x3.status == RejectStatus.OPEN and x3.reason == "BAD_NUMBER"
    assert x3.corrected_raw == ""
    assert messages_of(response) == ["Rejected again: BAD_NUMBER — duration '-5'"]


def test_discarding_needs_a_reason_and_closes_the_record(
    golden_usage, operator, console_client_for
):
    x1 = reject("X1")
    client = console_client_for(operator)
    response = client.post(url("rejectedrecord-discard", x1.pk), {"reason": ""})
    assert messages_of(response) == ["Why is it discarded?: This field is required."]
    x1.refresh_from_db()
    assert x1.status == RejectStatus.OPEN
    client.post(url("rejectedrecord-discard", x1.pk), {"reason": "test traffic of the network"})
    x1.refresh_from_db()
    assert x1.status == RejectStatus.DISCARDED
    assert x1.detail == "discarded: test traffic of the network"


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_only_operators_reprocess_discard_and_rerate(
    golden_usage, role, role_users, console_client_for
):
    client = console_client_for(role_users[role])
    x4 = reject("X4")
    anna = golden_usage[1].subscriptions["A"]
    posts = [
        (url("rejectedrecord-reprocess", x4.pk), {"corrected_raw": ""}),
        (url("rejectedrecord-discard", x4.pk), {"reason": "no"}),
        (url("usageevent-errors-rerate"), {"first_day": "2026-10-01", "last_day": "2026-10-31",
                                           "reason": "x"}),
        (url("reratejob-create"), {"scope": "subscription", "msisdn": anna.msisdn,
                                   "first_day": "2026-10-01", "last_day": "2026-10-31",
                                   "reason": "x"}),
    ]  # fmt: skip
    for target, data in posts:
        assert client.post(target, data).status_code == 403, target
    x4.refresh_from_db()
    assert x4.status == RejectStatus.OPEN
    assert not RerateJob.objects.exists()


# --- the error queue ------------------------------------------------------------------------


def test_error_queue_shows_a15_no_rate(golden_usage, auditor, console_client_for):
    response = console_client_for(auditor).get(url("usageevent-errors"))
    assert [e.record_id for e in listed(response)] == ["A15"]
    body = response.content.decode()
    assert "NO_RATE" in body and "WORLD2" in body
    assert response.context["rerate_form"] is None  # an auditor may not rerate
    filtered = console_client_for(auditor).get(
        url("usageevent-errors"), {"rating_error": "NO_ZONE"}
    )
    assert listed(filtered) == []


def test_rerating_the_error_queue_creates_an_errors_only_job(
    golden_usage, operator, console_client_for, django_capture_on_commit_callbacks
):
    client = console_client_for(operator)
    assert client.get(url("usageevent-errors")).context["rerate_form"] is not None
    data = {"first_day": "2026-10-01", "last_day": "2026-10-31", "reason": "WORLD2 rates added"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("usageevent-errors-rerate"), data)
    job = RerateJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert (job.scope, job.errors_only, job.created_by) == ("period", True, operator)
    assert (job.status, job.events_total, job.events_done) == (RerateStatus.DONE, 1, 1)
    assert event("A15").rating_status == RatingStatus.ERROR  # nothing was corrected


def test_error_queue_rerate_window_must_be_in_order(golden_usage, operator, console_client_for):
    data = {"first_day": "2026-10-31", "last_day": "2026-10-01", "reason": "x"}
    response = console_client_for(operator).post(url("usageevent-errors-rerate"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["last_day"] == [
        "the last day is on or after the first day"
    ]
    assert not RerateJob.objects.exists()


# --- the usage browser ----------------------------------------------------------------------


def test_usage_of_one_subscription_by_msisdn(golden_usage, auditor, console_client_for):
    response = console_client_for(auditor).get(url("usageevent-list"), {"msisdn": f"+{ANNA}"})
    ids = {e.record_id for e in listed(response)}
    assert len(ids) == 16 and "A15" in ids and "B1" not in ids
    assert response.context["title"] == f"Usage of +{ANNA}"
    anna = golden_usage[1].subscriptions["A"]
    assert f'href="{anna.get_absolute_url()}"' in response.content.decode()


def test_usage_browser_filters_by_service_zone_status_and_date(
    golden_usage, auditor, console_client_for
):
    client = console_client_for(auditor)

    def ids(**params):
        return {e.record_id for e in listed(client.get(url("usageevent-list"), params))}

    assert ids(service="DATA") == {"A8", "A9", "A12", "C1"}
    assert ids(destination_zone="NAT_FIXED") == {"C3", "A10", "A13", "A15"}
    assert ids(roaming_zone="WORLD1", service="VOICE_OUT") == {"A10"}
    assert ids(rating_status="error") == {"A15"}
    assert ids(started_at_after="2026-10-26", started_at_before="2026-10-31") == {"A13", "A14"}
    assert ids(msisdn="4915112340002") == {"B1", "B3"}


def test_usage_list_exports_what_is_filtered(golden_usage, auditor, console_client_for):
    response = console_client_for(auditor).get(
        url("usageevent-list"), {"destination_zone": "WORLD", "_export": "csv"}
    )
    rows = csv_rows(response)
    assert len(rows) == 3  # header, A3, A7
    header = rows[0]
    retail = header.index("Retail (6 dp)")
    assert sorted(row[retail] for row in rows[1:]) == ["0.290000", "1.140000"]


def test_a_brand_limited_user_sees_only_their_brands_usage(
    golden_usage, other_brand_operator, console_client_for
):
    client = console_client_for(other_brand_operator)
    assert listed(client.get(url("usageevent-list"))) == []
    assert listed(client.get(url("usageevent-errors"))) == []
    assert client.get(url("usageevent-detail", event("A13").pk)).status_code == 404
    assert client.get(url("usageevent-errors")).context["rerate_form"] is None


# --- how was this priced --------------------------------------------------------------------


def test_a13_explanation_shows_the_bucket_draw_and_the_increments(
    golden_usage, auditor, console_client_for
):
    a13 = event("A13")
    response = console_client_for(auditor).get(url("usageevent-detail", a13.pk))
    assert response.status_code == 200
    x = response.context["explanation"]
    assert [(draw.name, draw.quantity) for draw in x.draws] == [("Voice 100 min", 5755)]
    assert x.left_units == 65
    assert [(term.label, term.amount_text) for term in x.retail_terms] == [
        ("at the rate", "0.054166666666…")
    ]
    body = response.content.decode()
    assert x.raw_line in body and x.raw_line.startswith("A13,MOC,4915112340001")
    assert 'id="increments">60/60<' in body
    assert '5,800 s used → <strong id="charged-units">5,820 s</strong> charged' in body
    assert "Voice 100 min" in body and "5,755 s" in body
    assert 'id="left-units">65 s<' in body
    assert 'id="retail-amount">0.054167 EUR<' in body
    assert 'id="wholesale-amount">0.386667 EUR<' in body
    # 2026-10-26 21:00 +0100 is 20:00 UTC, a Monday evening in Berlin: off-peak.
    assert "2026-10-26 20:00:00 UTC" in body and "Monday 2026-10-26 21:00:00" in body
    assert 'id="band">OFFPEAK<' in body
    assert "+4930987654 starts with 49, the longest listed prefix: NAT_FIXED" in body
    assert "26203 is one of HOSTNET&#x27;s own networks: home" in body
    assert 'href="/help/rules/#R7a"' in body
    assert f'href="{a13.plan_version.get_absolute_url()}" id="plan-version"' in body
    # R14: net plan, margin = retail − wholesale.
    assert x.margin == Decimal("0.054167") - Decimal("0.386667")
    assert "Never rerated." in body


def test_a3_explanation_adds_the_connection_fee(golden_usage, auditor, console_client_for):
    response = console_client_for(auditor).get(url("usageevent-detail", event("A3").pk))
    x = response.context["explanation"]
    assert [(t.label, t.amount) for t in x.retail_terms] == [
        ("at the rate", Decimal("0.99")),
        ("connection fee", Decimal("0.15")),
    ]
    assert x.retail_exact == Decimal("1.14")
    assert x.draws == []
    assert "no listed prefix" in x.destination_note


def test_a15_explanation_says_why_it_is_not_rated(golden_usage, auditor, console_client_for):
    response = console_client_for(auditor).get(url("usageevent-detail", event("A15").pk))
    body = response.content.decode()
    assert 'id="explain-error"' in body and "NO_RATE" in body
    assert "country (MCC) 440 of network 44010" not in body
    assert "network 44010 is not listed: the table&#x27;s zone for the rest" in body


def test_a_reprocessed_event_explains_from_its_corrected_line(
    golden_usage, operator, console_client_for
):
    x4 = reject("X4")
    corrected = x4.raw.replace("20261340100000", "20261013100000")
    client = console_client_for(operator)
    client.post(url("rejectedrecord-reprocess", x4.pk), {"corrected_raw": corrected})
    rated = event("X4")
    body = client.get(url("usageevent-detail", rated.pk)).content.decode()
    assert corrected in body
    assert f'href="{url("rejectedrecord-detail", x4.pk)}"' in body


# --- rerating -------------------------------------------------------------------------------


def test_rerating_a_subscription_shows_progress_totals_and_changes(
    golden_usage, operator, console_client_for, django_capture_on_commit_callbacks
):
    golden = golden_usage[0]
    # The catalogue is corrected: WORLD1 voice out costs 0.99, from v2 on (R15).
    card = catalog_services.rate_card_clone(rate_card=golden.retail_card, code="SMART-10-FIX")
    world1 = golden.roaming("WORLD1")
    row = card.rows.get(service="VOICE_OUT", roaming_zones__in=world1)
    catalog_services.rate_row_save(
        rate_card=card, row=row,
        data={"service": "VOICE_OUT", "price": Decimal("0.99"), "unit": "MINUTE",
              "increment_first": 60, "increment_next": 60, "roaming_zones": world1},
    )  # fmt: skip
    catalog_services.rate_card_publish(rate_card=card)
    version = catalog_services.plan_version_clone(
        version=golden.version, effective_from=dt.datetime(2026, 10, 14, 22, tzinfo=dt.UTC)
    )
    catalog_services.plan_version_update(version=version, data={"rate_card": card})
    catalog_services.plan_version_publish(version=version)

    client = console_client_for(operator)
    form = client.get(url("reratejob-create"), {"msisdn": ANNA})
    assert form.context["form"].initial == {"scope": "subscription", "msisdn": ANNA}
    data = {"scope": "subscription", "msisdn": f"+{ANNA}", "first_day": "2026-10-01",
            "last_day": "2026-10-31", "reason": "WORLD1 voice price corrected"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("reratejob-create"), data)
    job = RerateJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert (job.status, job.events_total, job.events_changed) == (RerateStatus.DONE, 16, 1)
    page = client.get(job.get_absolute_url())
    body = page.content.decode()
    assert 'id="job-progress">16 of 16 events rerated (100 %)' in body
    assert 'http-equiv="refresh"' not in body
    assert [c.usage_event.record_id for c in page.context["changes"].data] == ["A10"]
    assert page.context["retail_delta"] == Decimal("-2.000000")
    assert "5.960000" in body and "3.960000" in body
    a10 = client.get(url("usageevent-detail", event("A10").pk))
    assert [c.job for c in a10.context["explanation"].rerates] == [job]
    listed_jobs = client.get(url("reratejob-list"))
    assert listed(listed_jobs) == [job]
    assert RerateChange.objects.count() == 1


def test_a_queued_job_page_refreshes_itself(golden_usage, operator, console_client_for):
    client = console_client_for(operator)
    data = {"scope": "account", "account_number": golden_usage[1].accounts["B"].number,
            "first_day": "2026-10-01", "last_day": "2026-10-31", "reason": "check"}  # fmt: skip
    response = client.post(url("reratejob-create"), data)  # the task waits for the commit
    job = RerateJob.objects.get()
    assert (
        job.status == RerateStatus.QUEUED and job.billing_account.number == data["account_number"]
    )
    body = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in body
    assert 'id="job-progress">0 of 0 events rerated (0 %)' in body


def test_rerate_form_refuses_a_number_nobody_has(golden_usage, operator, console_client_for):
    data = {"scope": "subscription", "msisdn": "4900000", "first_day": "2026-10-01",
            "last_day": "2026-10-31", "reason": "x"}  # fmt: skip
    response = console_client_for(operator).post(url("reratejob-create"), data)
    assert response.context["form"].errors["msisdn"] == ["no subscription has the number +4900000"]
    assert not RerateJob.objects.exists()


def test_a_brand_limited_operator_cannot_rerate_everyone_or_another_brand(
    golden_usage, other_brand_operator, console_client_for
):
    client = console_client_for(other_brand_operator)
    window = {"first_day": "2026-10-01", "last_day": "2026-10-31", "reason": "x"}
    everyone = client.post(url("reratejob-create"), {"scope": "period", **window})
    assert "rerate one subscription or one account" in everyone.context["form"].errors["scope"][0]
    anna = client.post(url("reratejob-create"), {"scope": "subscription", "msisdn": ANNA, **window})
    assert anna.context["form"].errors["msisdn"] == [f"no subscription has the number +{ANNA}"]
    assert client.post(url("usageevent-errors-rerate"), window).status_code == 403
    assert not RerateJob.objects.exists()


# --- reading is open to every role ---------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "finance", "auditor", "admin"])
def test_every_role_reads_the_charging_pages(golden_usage, role, role_users, console_client_for):
    client = console_client_for(role_users[role])
    first = golden_usage[2][0]
    pages = [
        url("usagefile-list"),
        url("usagefile-detail", first.pk),
        url("rejectedrecord-list"),
        url("rejectedrecord-detail", reject("U1").pk),
        url("usageevent-errors"),
        url("usageevent-list"),
        url("usageevent-detail", event("A9").pk),
        url("simulator"),
        url("reratejob-list"),
    ]
    for target in pages:
        assert client.get(target).status_code == 200, target
    home = client.get(reverse("home")).content.decode()
    for label in ("Usage files", "Rejected records", "Rating errors", "Usage", "Simulator",
                  "Rerating"):  # fmt: skip
        assert f">{label}</a>" in home
