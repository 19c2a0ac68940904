"""The usage of shared/scenarios/golden-october.md through the real ingestion path (R7-R19)."""

from decimal import Decimal
from pathlib import Path

import pytest

from charging.models import FileStatus, RatingStatus, RejectedRecord, SequenceGap, UsageEvent
from charging.services import usage_file_ingest

pytestmark = [pytest.mark.django_db, pytest.mark.golden]

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
FILE_2 = "CDR_HOSTNET_20261101001000_000002.csv"
FILE_4 = "CDR_HOSTNET_20261101003000_000004.csv"

# record: (service, destination, roaming, band, units, charged, covered, retail, wholesale)
EXPECTED = {
    "A1": ("VOICE_OUT", "NAT_MOBILE", "HOME", "PEAK", 61, 120, 120, "0.000000", "0.004067"),
    "C1": ("DATA", "", "HOME", "PEAK", 0, 0, 0, "0.000000", "0.000000"),
    "A2": ("VOICE_OUT", "EU", "HOME", "PEAK", 125, 125, 125, "0.000000", "0.008333"),
    "A3": ("VOICE_OUT", "WORLD", "HOME", "OFFPEAK", 30, 60, 0, "1.140000", "0.002000"),
    "A4": ("VOICE_OUT", "PREMIUM", "HOME", "PEAK", 90, 120, 0, "3.980000", "0.006000"),
    "A5": ("VOICE_OUT", "FREE", "HOME", "PEAK", 300, 300, 0, "0.000000", "0.020000"),
    "A6": ("SMS_OUT", "NAT_MOBILE", "HOME", "PEAK", 1, 1, 1, "0.000000", "0.001000"),
    "A7": ("SMS_OUT", "WORLD", "HOME", "PEAK", 1, 1, 0, "0.290000", "0.001000"),
    "A16": ("SMS_IN", "INCOMING", "HOME", "PEAK", 1, 1, 0, "0.000000", "0.000000"),
    "A8": ("DATA", "", "HOME", "OFFPEAK", 10**9, 10**9, 10**9, "0.000000", "0.400000"),
    "A9": ("DATA", "", "EU", "PEAK", 2_000_000_500, 2_000_001_000, 2_000_001_000,
           "0.000000", "3.000002"),
    "B1": ("VOICE_OUT", "NAT_MOBILE", "HOME", "PEAK", 300, 300, 300, "0.000000", "0.020000"),
    "B3": ("SMS_OUT", "NAT_MOBILE", "HOME", "OFFPEAK", 1, 1, 1, "0.000000", "0.001000"),
    "C3": ("VOICE_OUT", "NAT_FIXED", "HOME", "OFFPEAK", 30, 60, 60, "0.000000", "0.002000"),
    "A10": ("VOICE_OUT", "NAT_FIXED", "WORLD1", "OFFPEAK", 200, 240, 0, "5.960000", "1.166667"),
    "A11": ("VOICE_IN", "INCOMING", "WORLD1", "OFFPEAK", 45, 60, 0, "0.490000", "0.262500"),
    "A12": ("DATA", "", "WORLD1", "PEAK", 6_234_568, 6_240_000, 0, "0.124176", "0.024940"),
    "A13": ("VOICE_OUT", "NAT_FIXED", "HOME", "OFFPEAK", 5800, 5820, 5755, "0.054167",
            "0.386667"),
    "A14": ("VOICE_OUT", "NAT_MOBILE", "HOME", "PEAK", 120, 120, 0, "0.180000", "0.008000"),
}  # fmt: skip
RATING_ORDER = ["A1", "C1", "A2", "A3", "A4", "A5", "A6", "A7", "A16", "A8", "A9", "B1", "B3",
                "C3", "A10", "A11", "A12", "A13", "A14"]  # fmt: skip


def ingest(name: str):
    return usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")


@pytest.fixture(scope="module")
def golden_usage(django_db_setup, django_db_blocker):
    """Catalogue, subscribers and the four file arrivals, built once for this module.

    Built inside a transaction that is rolled back after the module, so other tests never see
    it; each test runs in its own savepoint within it.
    """
    from django.db import transaction

    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    with django_db_blocker.unblock(), transaction.atomic():
        subscribers = build_golden_subscribers(build_golden_catalog())
        files = [ingest(FILE_1), ingest(FILE_2), ingest(FILE_1), ingest(FILE_4)]
        yield subscribers, files
        transaction.set_rollback(True)


def test_files_are_counted_refused_and_quarantined_as_the_scenario_says(golden_usage):
    _, (first, second, again, broken) = golden_usage
    assert (first.status, first.records_read, first.records_accepted, first.records_rejected,
            first.records_duplicate) == (FileStatus.PROCESSED, 16, 14, 2, 0)  # fmt: skip
    assert (second.status, second.records_read, second.records_accepted,
            second.records_rejected, second.records_duplicate) == (
        FileStatus.PROCESSED, 13, 6, 6, 1)  # fmt: skip
    assert again.status == FileStatus.DUPLICATE and again.duplicate_of == first
    assert again.records_read == 0
    assert broken.status == FileStatus.QUARANTINED
    assert broken.trailer_count == 3
    assert not UsageEvent.objects.filter(usage_file=broken).exists()
    gap = SequenceGap.objects.get()
    assert (gap.source, gap.missing_from, gap.missing_to) == ("HOSTNET", 3, 3)


def test_rejected_records_keep_line_raw_text_and_reason(golden_usage):
    rejects = {
        r.record_id: (r.reason, r.usage_file.sequence, r.line_number)
        for r in RejectedRecord.objects.select_related("usage_file")
    }
    assert rejects == {
        "B2": ("INACTIVE_SUBSCRIPTION", 1, 13),
        "U1": ("UNKNOWN_SUBSCRIBER", 1, 17),
        "C2": ("INACTIVE_SUBSCRIPTION", 2, 5),
        "X1": ("BAD_RECORD_TYPE", 2, 10),
        "X2": ("BAD_FIELD_COUNT", 2, 11),
        "X3": ("BAD_NUMBER", 2, 12),
        "X4": ("BAD_TIME", 2, 13),
        "X5": ("NO_SUBSCRIBER_ID", 2, 14),
    }
    x2 = RejectedRecord.objects.get(record_id="X2")
    assert x2.raw.startswith("X2,MOC,4915112340001")


def test_every_event_is_rated_exactly_as_the_scenario_says(golden_usage):
    events = {e.record_id: e for e in UsageEvent.objects.all()}
    rated = [e for e in events.values() if e.rating_status == RatingStatus.RATED]
    assert len(events) == 20 and len(rated) == 19
    for record_id, expected in EXPECTED.items():
        event = events[record_id]
        actual = (
            event.service, event.destination_zone, event.roaming_zone, event.time_band,
            event.units, event.charged_units, event.covered_units,
            str(event.retail_amount), str(event.wholesale_amount),
        )  # fmt: skip
        assert actual == expected, record_id


def test_rating_order_follows_event_time_within_each_file(golden_usage):
    order = list(
        UsageEvent.objects.filter(rating_status=RatingStatus.RATED)
        .order_by("id")
        .values_list("record_id", flat=True)
    )
    assert order == RATING_ORDER


def test_roaming_in_world2_is_a_rating_error_not_a_zero_charge(golden_usage):
    a15 = UsageEvent.objects.get(record_id="A15")
    assert a15.rating_status == RatingStatus.ERROR
    assert a15.rating_error == "NO_RATE"
    assert a15.roaming_zone == "WORLD2"
    assert a15.retail_amount is None and a15.wholesale_amount is None


def test_totals_match_the_scenario(golden_usage):
    rated = UsageEvent.objects.filter(rating_status=RatingStatus.RATED)
    assert sum(e.retail_amount for e in rated) == Decimal("12.218343")
    assert sum(e.wholesale_amount for e in rated) == Decimal("5.314176")
