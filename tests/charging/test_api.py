"""The charging REST API: files, TMF635 usage, JSON usage batches, rejects, errors, rerating.

Most tests share the golden October usage, built once for the module (``golden_api``): FILE_1
arrives through the API (and again, refused), FILE_2 and FILE_4 through the service. Each test
runs in a savepoint of the module's transaction, so what one test posts the next never sees.
"""

import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import services as catalog_services
from charging.models import (
    RejectedRecord,
    RejectStatus,
    RerateJob,
    UsageEvent,
    UsageFile,
)
from charging.services import usage_file_ingest
from subscribers.models import BrandScope

pytestmark = pytest.mark.django_db

API = "/api/v1/charging"
SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
FILE_2 = "CDR_HOSTNET_20261101001000_000002.csv"
FILE_4 = "CDR_HOSTNET_20261101003000_000004.csv"
ANNA = "4915112340001"
OCTOBER = {"startDateTime": "2026-09-30T22:00:00Z", "endDateTime": "2026-10-31T23:00:00Z"}
# A3's fields as a JSON record: 30 s to WORLD at 21:30 Berlin summer time (OFFPEAK).
A3_RECORD = {
    "recordId": "J3",
    "usageType": "MOC",
    "msisdn": ANNA,
    "imsi": "262031234500001",
    "usageDate": "2026-10-07T21:30:00+02:00",
    "duration": 30,
    "otherParty": "12125550100",
    "visitedPlmn": "26203",
    "cause": "NORMAL",
}


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or (SAMPLES / name).read_bytes(), "text/csv")


def post_file(client, name: str, content: bytes | None = None, **headers):
    return client.post(
        f"{API}/usageFile", {"file": upload(name, content)}, format="multipart", **headers
    )


def characteristics(usage: dict) -> dict:
    return {item["name"]: item["value"] for item in usage["usageCharacteristic"]}


def rating(usage: dict, kind: str) -> dict:
    return next(r for r in usage["ratedProductUsage"] if r["ratingAmountType"] == kind)


def batch(*records, source: str = "HOSTNET") -> dict:
    return {"source": source, "usage": list(records)}


# --- the golden October usage, shared by the rest of the module --------------------------------


@pytest.fixture(scope="module")
def golden_api(django_db_setup, django_db_blocker):
    """Catalogue, subscribers and the four file arrivals, FILE_1 twice through the API.

    Built inside a transaction that is rolled back after the module, so other tests never see
    it; each test runs in its own savepoint within it.
    """
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from django.test import TestCase

    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    def ingest(name):
        return usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")

    with django_db_blocker.unblock(), transaction.atomic():
        catalog = build_golden_catalog()
        subscribers = build_golden_subscribers(catalog)
        uploader = User.objects.create_user("api-uploader")
        uploader.groups.set(Group.objects.filter(name="operator"))
        client = APIClient()
        client.force_authenticate(uploader)
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            first = post_file(client, FILE_1)
        ingest(FILE_2)
        again = post_file(client, FILE_1)
        ingest(FILE_4)
        yield SimpleNamespace(
            catalog=catalog,
            subscribers=subscribers,
            first=(first.status_code, first.json()),
            again=(again.status_code, again.json()),
            queued=len(callbacks),
        )
        transaction.set_rollback(True)


@pytest.fixture
def other_brand_operator(golden_api, make_user):
    """An operator limited to another brand than Lorem Mobile's."""
    brand = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    user = make_user("ipsum-operator", "operator")
    BrandScope.objects.create(user=user, brand=brand)
    return user


def event(record_id: str) -> UsageEvent:
    return UsageEvent.objects.get(record_id=record_id)


def get(client, path: str, **params) -> dict:
    response = client.get(f"{API}/{path}", params)
    assert response.status_code == 200, response.content
    return response.json()


# --- usage files ----------------------------------------------------------------------------


def test_a_file_sent_through_the_api_is_accepted_then_processed_after_commit(
    golden_api, auditor, api_client_for
):
    status, body = golden_api.first
    assert status == 202 and golden_api.queued == 1
    assert (body["@type"], body["name"], body["status"]) == ("UsageFile", FILE_1, "processing")
    assert body["origin"] == "api" and body["receivedBy"] == "api-uploader"
    client = api_client_for(auditor)
    processed = client.get(body["href"]).json()
    assert processed["status"] == "processed"
    assert processed["recordCount"] == {"read": 16, "accepted": 14, "rejected": 2, "duplicates": 0}
    assert processed["balanced"] is True and processed["sequence"] == 1
    assert processed["hostNetwork"]["code"] == "HOSTNET"
    download = client.get(processed["content"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == (SAMPLES / FILE_1).read_bytes()


def test_the_same_file_again_is_a_409_naming_the_file_it_repeats(golden_api):
    first_id = golden_api.first[1]["id"]
    status, body = golden_api.again
    assert status == 409
    assert (body["@type"], body["code"]) == ("Error", "DUPLICATE_FILE")
    assert "refused before reading (R17)" in body["message"]
    refused = body["usageFile"]
    assert refused["status"] == "duplicate" and refused["id"] != first_id
    assert refused["duplicateOf"]["id"] == first_id
    assert refused["recordCount"]["read"] == 0


def test_a_file_whose_trailer_does_not_count_its_records_is_kept_held_with_201(
    golden_api, operator, api_client_for
):
    lines = (SAMPLES / FILE_1).read_text().splitlines()
    content = "\n".join([*lines[:2], "TRAILER,3"]).encode() + b"\n"
    response = post_file(api_client_for(operator), "CDR_HOSTNET_20261101004000_000005.csv", content)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "quarantined"
    assert "the trailer counts 3 records, the file holds 1" in body["statusDetail"]


def test_a_file_whose_trailer_count_no_file_could_hold_is_quarantined_not_a_500(
    golden_api, operator, api_client_for
):
    lines = (SAMPLES / FILE_1).read_text().splitlines()
    content = "\n".join([*lines[:2], "TRAILER,99999999999"]).encode() + b"\n"
    response = post_file(api_client_for(operator), "CDR_HOSTNET_20261101004500_000005.csv", content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "quarantined"
    assert "larger than any file holds" in body["statusDetail"]


def test_a_gzip_file_is_received_and_downloaded_as_it_came(golden_api, operator, api_client_for):
    packed = gzip.compress(b"".join((SAMPLES / FILE_1).read_bytes().splitlines(True)[:1]))
    client = api_client_for(operator)
    response = post_file(client, "CDR_HOSTNET_20261101005000_000005.csv.gz", packed)
    body = response.json()
    assert (response.status_code, body["status"]) == (201, "quarantined")  # no trailer
    download = client.get(body["content"], HTTP_ACCEPT="application/gzip")
    assert download["Content-Type"] == "application/gzip"
    assert b"".join(download.streaming_content) == packed


def test_files_filter_by_status_and_source_and_the_missing_file_is_a_sequence_gap(
    golden_api, auditor, api_client_for
):
    client = api_client_for(auditor)
    assert get(client, "usageFile", source="hostnet")["count"] == 4
    quarantined = get(client, "usageFile", status="quarantined")
    assert [f["name"] for f in quarantined["results"]] == [FILE_4]
    assert quarantined["results"][0]["trailerCount"] == 3
    gaps = get(client, "sequenceGap", status="open")["results"]
    assert [(g["source"], g["missingFrom"], g["missingTo"]) for g in gaps] == [("HOSTNET", 3, 3)]
    assert gaps[0]["detectedIn"]["name"] == FILE_4


# --- TMF635 usage ---------------------------------------------------------------------------


def test_the_usage_of_a_number_lists_its_events_with_exact_amounts_as_strings(
    golden_api, auditor, api_client_for
):
    body = get(api_client_for(auditor), "usage", msisdn=f"+{ANNA}", limit=100)
    assert body["count"] == 16  # A1-A16, A15 in the error queue included
    usages = {characteristics(u)["recordId"]: u for u in body["results"]}
    a3 = usages["A3"]
    assert (a3["@type"], a3["usageType"], a3["status"]) == ("Usage", "VOICE_OUT", "rated")
    assert a3["usageDate"] == "2026-10-07T19:30:00Z"
    assert a3["product"]["id"] == str(golden_api.subscribers.subscriptions["A"].pk)
    assert a3["relatedParty"][0]["role"] == "customer"
    fields = characteristics(a3)
    assert (fields["duration"], fields["otherParty"], fields["visitedPlmn"]) == (
        30, "12125550100", "26203")  # fmt: skip
    assert [fields[name] for name in ("recordType", "source", "utcOffset")] == [
        "MOC", "HOSTNET", "+0200"]  # fmt: skip
    retail, wholesale = rating(a3, "retail"), rating(a3, "wholesale")
    assert retail["taxExcludedRatingAmount"] == {"unit": "EUR", "value": "1.140000"}
    assert retail["taxIncludedRatingAmount"] is None and retail["isTaxIncluded"] is False
    assert (retail["destinationZone"], retail["roamingZone"], retail["timeBand"]) == (
        "WORLD", "HOME", "OFFPEAK")  # fmt: skip
    assert retail["chargedUnits"] == {"amount": 60, "units": "SECOND"}
    assert retail["coveredUnits"]["amount"] == 0 and retail["usageRatingTag"] == "usage"
    assert retail["productOffering"]["@referredType"] == "ProductOffering"
    assert retail["productOfferingPrice"]["@referredType"] == "ProductOfferingPrice"
    assert wholesale["taxExcludedRatingAmount"] == {"unit": "EUR", "value": "0.002000"}
    assert wholesale["chargedUnits"] == {"amount": 30, "units": "SECOND"}


def test_a_call_drawn_from_the_allowance_is_tagged_included_and_valued(
    golden_api, auditor, api_client_for
):
    client = api_client_for(auditor)
    a1 = rating(get(client, f"usage/{event('A1').pk}"), "retail")
    assert a1["usageRatingTag"] == "included"
    assert a1["taxExcludedRatingAmount"]["value"] == "0.000000"
    assert a1["bucketValueConvertedInAmount"] == {"unit": "EUR", "value": "0.180000"}
    a13 = rating(get(client, f"usage/{event('A13').pk}"), "retail")
    assert a13["usageRatingTag"] == "partlyIncluded"
    assert (a13["chargedUnits"]["amount"], a13["coveredUnits"]["amount"]) == (5820, 5755)
    assert a13["taxExcludedRatingAmount"]["value"] == "0.054167"


def test_listing_usage_takes_the_same_queries_for_one_event_or_twenty(
    golden_api, auditor, api_client_for
):
    client = api_client_for(auditor)
    counts = []
    for limit in (1, 100):
        with CaptureQueriesContext(connection) as queries:
            assert len(get(client, "usage", limit=limit)["results"]) == min(limit, 20)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_usage_filters_by_status_type_window_and_file(golden_api, auditor, api_client_for):
    client = api_client_for(auditor)
    assert get(client, "usage", status="rated")["count"] == 19
    assert get(client, "usage", status="ratingError")["count"] == 1
    data = get(client, "usage", usageType="DATA", endDateTime="2026-10-11T00:00:00+02:00")
    assert sorted(characteristics(u)["recordId"] for u in data["results"]) == ["A8", "C1"]
    file_2 = UsageFile.objects.get(name=FILE_2)
    assert get(client, "usage", usageFile=file_2.pk)["count"] == 6
    assert get(client, "usage", product=golden_api.subscribers.subscriptions["B"].pk)["count"] == 2


# --- the rating error queue -----------------------------------------------------------------


def test_the_error_queue_shows_a15_waiting_with_no_rate(golden_api, auditor, api_client_for):
    client = api_client_for(auditor)
    queue = get(client, "ratingError")
    assert queue["count"] == 1
    a15 = queue["results"][0]
    assert characteristics(a15)["recordId"] == "A15"
    assert (a15["status"], a15["ratingError"]) == ("ratingError", "NO_RATE")
    assert "WORLD2" in a15["ratingErrorDetail"]
    assert a15["ratedProductUsage"] == []  # R14: no wholesale rating either
    assert get(client, "ratingError", code="NO_ZONE")["count"] == 0
    assert get(client, "ratingError", endDateTime="2026-10-20T00:00:00Z")["count"] == 0


def test_an_operator_rerates_the_error_queue_as_a_job(
    golden_api, operator, api_client_for, django_capture_on_commit_callbacks
):
    client = api_client_for(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{API}/ratingError/rerate", {**OCTOBER, "reason": "WORLD2 rate checked"}
        )
    assert response.status_code == 202
    body = response.json()
    assert (body["@type"], body["scope"], body["errorsOnly"]) == ("RerateJob", "period", True)
    assert body["status"] == "queued" and body["createdBy"] == "operator-user"
    job = get(client, f"rerateJob/{body['id']}")
    assert job["status"] == "done" and job["progress"] == 100
    assert job["eventCount"] == {"total": 1, "done": 1, "changed": 0}
    assert event("A15").rating_error == "NO_RATE"


def test_a_rerate_window_that_ends_before_it_starts_is_a_400(golden_api, operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/ratingError/rerate",
        {"startDateTime": OCTOBER["endDateTime"], "endDateTime": OCTOBER["startDateTime"],
         "reason": "x"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "endDateTime" in response.json()["fieldErrors"]


# --- a batch of usage records as JSON -------------------------------------------------------


def test_a_batch_answers_each_records_outcome_and_balances(golden_api, operator, api_client_for):
    bad_time = {**A3_RECORD, "recordId": "J4", "usageDate": "2026-13-40T10:00:00+02:00"}
    duplicate = {**A3_RECORD, "recordId": "A1"}
    response = api_client_for(operator).post(f"{API}/usage", batch(A3_RECORD, bad_time, duplicate))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recordCount"] == {
        "read": 3, "accepted": 1, "rejected": 1, "duplicates": 1, "rated": 1, "ratingError": 0
    }  # fmt: skip
    rated, rejected, repeated = body["usage"]
    assert (rated["recordId"], rated["outcome"]) == ("J3", "rated")
    assert rated["retailAmount"] == {"unit": "EUR", "value": "1.140000"}
    assert rated["wholesaleAmount"] == {"unit": "EUR", "value": "0.002000"}
    assert rated["usage"]["href"].endswith(f"/usage/{event('J3').pk}")
    assert (rejected["outcome"], rejected["reason"]) == ("rejected", "BAD_TIME")
    assert "is not an ISO 8601 instant" in rejected["detail"]
    assert repeated["outcome"] == "duplicate"
    assert repeated["duplicateOf"]["id"] == str(event("A1").pk)
    usage_file = UsageFile.objects.get(pk=body["usageFile"]["id"])
    assert usage_file.name.startswith("API_HOSTNET_") and usage_file.sequence is None
    assert (usage_file.origin, usage_file.status, usage_file.balanced) == ("api", "processed", True)
    reject = RejectedRecord.objects.get(pk=rejected["rejectedRecord"]["id"])
    assert (reject.usage_file, reject.line_number, reject.reason) == (usage_file, 3, "BAD_TIME")
    assert reject.raw == (
        "J4,MOC,4915112340001,262031234500001,2026-13-40T10:00:00+02:00,,30,12125550100,,,,26203,"
        "NORMAL,"
    )


def test_a_record_whose_field_is_an_object_or_a_list_is_rejected_not_stored_as_json(
    golden_api, operator, api_client_for
):
    listed = {**A3_RECORD, "recordId": ["J5"]}
    nested = {**A3_RECORD, "recordId": "J6", "apn": {"name": "internet"}}
    early = {**A3_RECORD, "recordId": "J7", "usageDate": "0999-10-01T10:00:00+02:00"}
    response = api_client_for(operator).post(f"{API}/usage", batch(listed, nested, early))
    assert response.status_code == 201, response.content
    outcomes = [(r["outcome"], r.get("reason"), r.get("detail")) for r in response.json()["usage"]]
    assert outcomes[:2] == [
        ("rejected", "BAD_FIELD", "recordId: a text or a number, not an object or a list"),
        ("rejected", "BAD_FIELD", "apn: a text or a number, not an object or a list"),
    ]
    assert outcomes[2][1] != "BAD_TIME", outcomes[2]  # year 999 keeps its four digits
    assert not UsageEvent.objects.filter(record_id__startswith="[").exists()


def test_a_record_sent_as_json_costs_what_the_same_record_costs_from_a_file(
    golden_api, operator, api_client_for
):
    # R23: the same fields, the start written in UTC, the service named instead of MOC.
    record = {**A3_RECORD, "usageType": "VOICE_OUT", "usageDate": "2026-10-07T19:30:00Z"}
    response = api_client_for(operator).post(f"{API}/usage", batch(record))
    assert response.status_code == 201
    from_file, from_json = event("A3"), event("J3")
    fields = ("service", "started_at", "destination_zone", "roaming_zone", "time_band",
              "plan_version_id", "rate_row_id", "charged_units", "covered_units",
              "retail_amount", "wholesale_rate_row_id", "wholesale_units",
              "wholesale_amount")  # fmt: skip
    assert [getattr(from_json, f) for f in fields] == [getattr(from_file, f) for f in fields]
    assert from_json.retail_amount == Decimal("1.140000")
    assert from_json.utc_offset == "+0000"


def test_a_retry_with_the_same_idempotency_key_does_not_rate_twice(
    golden_api, operator, api_client_for
):
    client = api_client_for(operator)
    first = client.post(f"{API}/usage", batch(A3_RECORD), HTTP_IDEMPOTENCY_KEY="batch-1")
    events, files = UsageEvent.objects.count(), UsageFile.objects.count()
    again = client.post(f"{API}/usage", batch(A3_RECORD), HTTP_IDEMPOTENCY_KEY="batch-1")
    assert again.status_code == first.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (UsageEvent.objects.count(), UsageFile.objects.count()) == (events, files)
    other = client.post(
        f"{API}/usage", batch({**A3_RECORD, "recordId": "J5"}), HTTP_IDEMPOTENCY_KEY="batch-1"
    )
    assert other.status_code == 409


def test_a_batch_sent_again_without_a_key_accepts_nothing_twice(
    golden_api, operator, api_client_for
):
    client = api_client_for(operator)
    client.post(f"{API}/usage", batch(A3_RECORD))
    again = client.post(f"{API}/usage", batch(A3_RECORD)).json()
    assert again["recordCount"]["duplicates"] == 1 and again["recordCount"]["accepted"] == 0
    assert UsageEvent.objects.filter(record_id="J3").count() == 1


def test_records_of_one_batch_are_rated_in_event_time_order(golden_api, operator, api_client_for):
    # R11b: the later call is listed first, the earlier one draws the allowance first.
    later = {**A3_RECORD, "recordId": "J7", "otherParty": "4930111222",
             "usageDate": "2026-10-30T21:00:00+01:00", "duration": 60}  # fmt: skip
    earlier = {**later, "recordId": "J6", "usageDate": "2026-10-29T21:00:00+01:00"}
    body = api_client_for(operator).post(f"{API}/usage", batch(later, earlier)).json()
    assert [r["recordId"] for r in body["usage"]] == ["J7", "J6"]
    assert event("J6").pk < event("J7").pk


def test_a_bad_envelope_is_a_400_with_field_errors(golden_api, operator, api_client_for):
    client = api_client_for(operator)
    cases = [
        ({"usage": [A3_RECORD]}, "source"),
        ({"source": "HOSTNET", "usage": A3_RECORD}, "usage"),
        ({"source": "HOSTNET", "usage": []}, "usage"),
        ({"source": "HOSTNET", "usage": [{}] * 10_001}, "usage"),
        (batch(A3_RECORD, source="NOSUCH"), "source"),
    ]
    files = UsageFile.objects.count()
    for body, field in cases:
        response = client.post(f"{API}/usage", body)
        assert response.status_code == 400, field
        assert field in response.json()["fieldErrors"], response.json()
    assert UsageFile.objects.count() == files


def test_records_that_cannot_be_read_are_rejected_not_lost(golden_api, operator, api_client_for):
    nul = {**A3_RECORD, "recordId": "J\x00"}
    response = api_client_for(operator).post(f"{API}/usage", batch(A3_RECORD, "J9", nul))
    body = response.json()
    assert body["recordCount"]["read"] == 3 and body["recordCount"]["rejected"] == 2
    outcomes = [(r["outcome"], r["reason"]) for r in body["usage"][1:]]
    assert outcomes == [("rejected", "BAD_FIELD"), ("rejected", "BAD_FIELD")]
    kept = RejectedRecord.objects.get(pk=body["usage"][2]["rejectedRecord"]["id"])
    assert (kept.record_id, kept.raw[:18]) == ("J\\u0000", '{"recordId": "J\\u0')


def test_a_rejected_batch_record_is_reprocessed_once_corrected(
    golden_api, operator, api_client_for
):
    client = api_client_for(operator)
    naive = {**A3_RECORD, "usageDate": "2026-10-07T21:30:00"}
    body = client.post(f"{API}/usage", batch(naive)).json()
    outcome = body["usage"][0]
    assert (outcome["reason"], outcome["detail"]) == (
        "BAD_TIME", "usageDate '2026-10-07T21:30:00' has no UTC offset (R6)")  # fmt: skip
    reject = RejectedRecord.objects.get(pk=outcome["rejectedRecord"]["id"])
    corrected = reject.raw.replace("2026-10-07T21:30:00,", "20261007213000,+0200")
    response = client.post(
        f"{API}/rejectedRecord/{reject.pk}/reprocess", {"correctedRecord": corrected}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "reprocessed"
    assert event("J3").retail_amount == Decimal("1.140000")


# --- rejected records -----------------------------------------------------------------------


def test_rejected_records_are_listed_with_reason_line_and_raw_text(
    golden_api, auditor, api_client_for
):
    client = api_client_for(auditor)
    inactive = get(client, "rejectedRecord", reason="INACTIVE_SUBSCRIPTION")
    assert sorted(r["recordId"] for r in inactive["results"]) == ["B2", "C2"]
    x2 = get(client, "rejectedRecord", recordId="X2")["results"][0]
    assert (x2["@type"], x2["reason"], x2["lineNumber"], x2["status"]) == (
        "RejectedRecord", "BAD_FIELD_COUNT", 11, "open")  # fmt: skip
    assert x2["raw"].startswith("X2,MOC,4915112340001") and x2["usageFile"]["name"] == FILE_2


def test_a_corrected_record_is_reprocessed_into_usage_and_only_once(
    golden_api, operator, api_client_for
):
    client = api_client_for(operator)
    x4 = RejectedRecord.objects.get(record_id="X4")
    corrected = x4.raw.replace("20261340100000", "20261013100000")
    url = f"{API}/rejectedRecord/{x4.pk}/reprocess"
    response = client.post(url, {"correctedRecord": corrected})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reprocessed" and body["correctedRecord"] == corrected
    usage = client.get(body["usage"]["href"]).json()
    assert usage["status"] == "rated" and characteristics(usage)["recordId"] == "X4"
    again = client.post(url, {"correctedRecord": corrected})
    assert again.status_code == 400
    assert "reprocessed already" in again.json()["message"]


def test_a_record_reprocessed_as_it_was_stays_open_with_its_reason(
    golden_api, operator, api_client_for
):
    u1 = RejectedRecord.objects.get(record_id="U1")
    response = api_client_for(operator).post(f"{API}/rejectedRecord/{u1.pk}/reprocess", {})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == ("open", "UNKNOWN_SUBSCRIBER")


def test_a_discarded_record_is_closed_for_good(golden_api, operator, api_client_for):
    client = api_client_for(operator)
    x1 = RejectedRecord.objects.get(record_id="X1")
    url = f"{API}/rejectedRecord/{x1.pk}/discard"
    assert client.post(url, {}).status_code == 400
    response = client.post(url, {"reason": "test traffic"})
    assert response.status_code == 200
    assert response.json()["status"] == "discarded"
    x1.refresh_from_db()
    assert x1.status == RejectStatus.DISCARDED
    assert client.post(f"{API}/rejectedRecord/{x1.pk}/reprocess", {}).status_code == 400


def test_auditors_cannot_reprocess_or_discard(golden_api, auditor, api_client_for):
    client = api_client_for(auditor)
    x4 = RejectedRecord.objects.get(record_id="X4")
    assert client.post(f"{API}/rejectedRecord/{x4.pk}/reprocess", {}).status_code == 403
    assert client.post(f"{API}/rejectedRecord/{x4.pk}/discard", {"reason": "x"}).status_code == 403
    x4.refresh_from_db()
    assert x4.status == RejectStatus.OPEN


# --- rerating jobs --------------------------------------------------------------------------


def test_a_rerating_job_records_what_a_correction_changed(
    golden_api, operator, api_client_for, django_capture_on_commit_callbacks
):
    from tests.charging.test_rerating import _correct_world1_voice

    _correct_world1_voice(
        golden_api.catalog, effective_from=dt.datetime(2026, 10, 14, 22, tzinfo=dt.UTC)
    )
    client = api_client_for(operator)
    account = golden_api.subscribers.accounts["A"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{API}/rerateJob",
            {**OCTOBER, "scope": "account", "billingAccount": {"id": str(account.pk)},
             "reason": "WORLD1 voice price corrected"},
        )  # fmt: skip
    assert response.status_code == 202, response.content
    job = client.get(response.json()["href"]).json()
    assert (job["status"], job["billingAccount"]["id"]) == ("done", str(account.pk))
    assert job["eventCount"] == {"total": 16, "done": 16, "changed": 1}
    assert job["retailAmount"] == {
        "before": "5.960000", "after": "3.960000", "difference": "-2.000000"
    }  # fmt: skip
    changes = client.get(job["changes"]).json()
    assert changes["count"] == 1
    change = changes["results"][0]
    assert change["usage"]["id"] == str(event("A10").pk)
    assert (change["retailBefore"], change["retailAfter"]) == ("5.960000", "3.960000")
    assert change["wholesaleBefore"] == change["wholesaleAfter"] == "1.166667"
    assert get(client, "rerateJob", status="done", billingAccount=account.pk)["count"] == 1


def test_a_rerating_job_must_name_its_target(golden_api, operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/rerateJob", {**OCTOBER, "scope": "subscription", "reason": "x"}
    )
    assert response.status_code == 400
    assert "product" in response.json()["fieldErrors"]
    assert not RerateJob.objects.exists()


# --- reading for every role; brand scoping --------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "finance", "auditor", "admin"])
def test_every_role_reads_the_charging_api(role, golden_api, role_users, api_client_for):
    client = api_client_for(role_users[role])
    for path in ("usageFile", "sequenceGap", "usage", "ratingError", "rejectedRecord", "rerateJob"):
        assert client.get(f"{API}/{path}").status_code == 200, path
    assert client.get(f"{API}/usage/{event('A3').pk}").status_code == 200


def test_a_brand_limited_user_sees_only_their_brands_usage(
    golden_api, other_brand_operator, api_client_for
):
    client = api_client_for(other_brand_operator)
    assert get(client, "usage")["count"] == 0
    assert get(client, "ratingError")["count"] == 0
    assert client.get(f"{API}/usage/{event('A3').pk}").status_code == 404
    assert client.post(f"{API}/usage", batch(A3_RECORD)).status_code == 403
    rerate = {**OCTOBER, "reason": "x"}
    assert client.post(f"{API}/ratingError/rerate", rerate).status_code == 403
    everyone = client.post(f"{API}/rerateJob", {**rerate, "scope": "period"})
    assert everyone.status_code == 400 and "scope" in everyone.json()["fieldErrors"]
    account = golden_api.subscribers.accounts["A"]
    foreign = client.post(
        f"{API}/rerateJob",
        {**rerate, "scope": "account", "billingAccount": {"id": str(account.pk)}},
    )
    assert foreign.status_code == 400 and "billingAccount" in foreign.json()["fieldErrors"]
    assert not RerateJob.objects.exists()
    assert not UsageEvent.objects.filter(record_id="J3").exists()
