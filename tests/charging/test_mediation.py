"""Mediation (R16-R19, R11b) and rating through files: duplicates, rejects, quarantine, gaps,
reprocessing, allowances of add-ons and shared pools, plan changes (R25)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from charging import pipeline
from charging.models import (
    FairUseCount,
    FileStatus,
    RatingStatus,
    RejectedRecord,
    RejectStatus,
    SequenceGap,
    UsageEvent,
    UsageFile,
)
from charging.services import (
    rejected_record_discard,
    rejected_record_reprocess,
    usage_file_ingest,
    usage_file_process,
    usage_file_receive,
)
from subscribers import services as subscriber_services
from subscribers.models import Bucket, BucketSource
from subscribers.services import bucket_remaining
from tests.charging.factories import (
    GB,
    build_rating_catalogue,
    cdr_file,
    cdr_line,
    file_name,
    gzipped,
    subscriber_add,
)
from tests.subscribers.builders import build_golden_subscribers

pytestmark = pytest.mark.django_db

B_MSISDN, C_MSISDN = "4915112340002", "4915112340003"
FAMILY_1, FAMILY_2 = "4915112340011", "4915112340012"
CHANGER, ADD_ONS = "4915112340021", "4915112340031"


@dataclass
class World:
    catalogue: object
    golden: object
    subscriptions: dict


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Catalogue, the scenario's A, B and C, and four more subscribers, built once."""
    with django_db_blocker.unblock(), transaction.atomic():
        catalogue = build_rating_catalogue()
        golden = build_golden_subscribers(catalogue.golden)
        family_1 = subscriber_add(catalogue, plan_code="FAMILY", msisdn=FAMILY_1,
                                  imsi="262031234500011")  # fmt: skip
        family_2 = subscriber_add(catalogue, plan_code="FAIR-O", msisdn=FAMILY_2,
                                  imsi="262031234500012",
                                  billing_account=family_1.billing_account)  # fmt: skip
        changer = subscriber_add(catalogue, plan_code="SMART-10", msisdn=CHANGER,
                                 imsi="262031234500021")  # fmt: skip
        add_ons = subscriber_add(catalogue, plan_code="SMART-10", msisdn=ADD_ONS,
                                 imsi="262031234500031")  # fmt: skip
        subscriptions = {**golden.subscriptions, "F1": family_1, "F2": family_2,
                         "G": changer, "H": add_ons}  # fmt: skip
        yield World(catalogue, golden, subscriptions)
        transaction.set_rollback(True)


def ingest(sequence: int, lines, *, source: str = "HOSTNET", **file_options) -> UsageFile:
    return usage_file_ingest(
        name=file_name(sequence, source=source),
        content=cdr_file(lines, **file_options),
        origin="command",
    )


def counts(usage_file: UsageFile):
    return (
        usage_file.status,
        usage_file.records_read,
        usage_file.records_accepted,
        usage_file.records_rejected,
        usage_file.records_duplicate,
    )


def event(record_id: str, source: str = "HOSTNET") -> UsageEvent:
    return UsageEvent.objects.get(source=source, record_id=record_id)


def open_gaps(source: str = "HOSTNET"):
    return list(
        SequenceGap.objects.filter(source=source, resolved_at__isnull=True)
        .order_by("missing_from")
        .values_list("missing_from", "missing_to")
    )


# --- R16, R17 duplicates -------------------------------------------------------------------


def test_the_first_line_wins_among_duplicates_within_a_file(world):
    usage_file = ingest(1, [cdr_line("A1", duration="61"), cdr_line("A1", duration="300"),
                            cdr_line("A2")])  # fmt: skip
    assert counts(usage_file) == (FileStatus.PROCESSED, 3, 2, 0, 1)
    assert (event("A1").units, event("A1").line_number) == (61, 2)


def test_duplicates_are_found_in_line_order_before_rating_in_time_order(world):
    lines = [cdr_line("A1", event_time="20261020100000"),
             cdr_line("A1", event_time="20261005100000")]  # fmt: skip
    assert counts(ingest(1, lines)) == (FileStatus.PROCESSED, 2, 1, 0, 1)
    assert event("A1").started_at == dt.datetime(2026, 10, 20, 8, tzinfo=dt.UTC)


def test_a_record_accepted_from_an_earlier_file_of_the_source_is_a_duplicate(world):
    ingest(1, [cdr_line("A1")])
    second = ingest(2, [cdr_line("A1", duration="999"), cdr_line("A2")])
    assert counts(second) == (FileStatus.PROCESSED, 2, 1, 0, 1)
    assert event("A1").units == 60
    assert UsageEvent.objects.filter(usage_file=second).get().record_id == "A2"


def test_the_same_record_id_from_another_source_is_not_a_duplicate(world):
    ingest(1, [cdr_line("A1")])
    at_home_there = {"visited_plmn": "20801", "event_time": "20261016100000"}
    other = ingest(1, [cdr_line("A1", **at_home_there)], source="OTHERNET")
    assert counts(other) == (FileStatus.PROCESSED, 1, 1, 0, 0)
    assert event("A1", "OTHERNET").roaming_zone == "HOME"
    assert UsageEvent.objects.filter(record_id="A1").count() == 2


def test_a_whole_file_sent_again_is_refused_by_its_checksum_before_reading(world):
    first = ingest(1, [cdr_line("A1")])
    again = usage_file_ingest(name=file_name(2), content=cdr_file([cdr_line("A1")]))
    assert (again.status, again.duplicate_of, again.records_read) == (
        FileStatus.DUPLICATE, first, 0)  # fmt: skip
    assert UsageEvent.objects.count() == 1


def test_a_rejected_record_sent_again_is_its_reprocessing_not_a_duplicate(world):
    first = ingest(1, [cdr_line("R1", event_time="20261340100000")])
    assert counts(first) == (FileStatus.PROCESSED, 1, 0, 1, 0)
    second = ingest(2, [cdr_line("R1")])
    assert counts(second) == (FileStatus.PROCESSED, 1, 1, 0, 0)
    reject = RejectedRecord.objects.get(usage_file=first)
    assert (reject.status, reject.usage_event) == (RejectStatus.REPROCESSED, event("R1"))


def test_a_record_rejected_in_two_files_is_accepted_once_and_closes_both(world):
    bad_time = cdr_line("R2", event_time="20261340100000")
    ingest(1, [bad_time])
    ingest(2, [bad_time.replace("+0200", "+0300")])
    third = ingest(3, [cdr_line("R2")])
    assert counts(third) == (FileStatus.PROCESSED, 1, 1, 0, 0)
    rejects = RejectedRecord.objects.order_by("pk")
    assert [r.status for r in rejects] == [RejectStatus.REPROCESSED] * 2
    assert [r.usage_event_id for r in rejects] == [event("R2").pk, None]


def test_a_rejected_line_with_a_quoted_id_keeps_the_id_and_is_closed_when_resent(world):
    first = ingest(1, ['"Q,1"' + cdr_line("Q", "XYZ")[1:]])
    reject = RejectedRecord.objects.get(usage_file=first)
    assert (reject.record_id, reject.reason) == ("Q,1", "BAD_RECORD_TYPE")
    ingest(2, ['"Q,1"' + cdr_line("Q")[1:]])
    reject.refresh_from_db()
    assert reject.status == RejectStatus.REPROCESSED


def test_every_record_is_an_event_a_reject_or_a_duplicate(world):
    lines = [
        cdr_line("A1"),
        "",
        cdr_line("A1"),
        cdr_line("X1", "XYZ"),
        cdr_line("U1", served_msisdn="4915199990000"),
        cdr_line("B1", served_msisdn=B_MSISDN, event_time="20261014120000"),
        cdr_line("E1", visited_plmn="44010", utc_offset="+0900"),
    ]
    usage_file = ingest(1, lines, newline="\r\n", bom=True)
    assert counts(usage_file) == (FileStatus.PROCESSED, 6, 2, 3, 1)
    assert usage_file.balanced
    reasons = dict(RejectedRecord.objects.values_list("line_number", "reason"))
    assert reasons == {5: "BAD_RECORD_TYPE", 6: "UNKNOWN_SUBSCRIBER",
                       7: "INACTIVE_SUBSCRIPTION"}  # fmt: skip
    assert RejectedRecord.objects.get(line_number=6).raw == lines[4]
    assert sorted(UsageEvent.objects.values_list("line_number", flat=True)) == [2, 8]
    assert event("E1").rating_status == RatingStatus.ERROR  # accepted, waiting in the queue


def test_values_too_large_for_the_event_are_rejected_lines_not_a_failed_file(world):
    lines = [
        cdr_line("A1"),
        cdr_line("L1", duration="99999999999"),
        cdr_line("L2", other_party="4" * 40),
        cdr_line("L3", "PGW", volume_downlink="9" * 30),
        cdr_line("L4", "PGW", volume_downlink="1", apn="a" * 100),
    ]
    assert counts(ingest(1, lines)) == (FileStatus.PROCESSED, 5, 1, 4, 0)
    reasons = list(RejectedRecord.objects.order_by("line_number").values_list("reason", flat=True))
    assert reasons == ["BAD_NUMBER", "BAD_NUMBER", "BAD_NUMBER", "BAD_FIELD"]


def test_a_gzip_file_is_mediated_like_the_plain_one(world):
    content = gzipped(cdr_file([cdr_line("A1"), cdr_line("A2")], newline="\r\n"))
    usage_file = usage_file_ingest(name=file_name(1, gz=True), content=content)
    assert counts(usage_file) == (FileStatus.PROCESSED, 2, 2, 0, 0)


# --- R19 subscribers -----------------------------------------------------------------------


def test_the_subscriber_is_found_by_imsi_when_the_msisdn_is_empty(world):
    ingest(1, [cdr_line("I1", served_msisdn="", served_imsi="262031234500001")])
    assert event("I1").subscription == world.subscriptions["A"]


def test_an_imsi_of_another_subscription_is_unknown_subscriber(world):
    ingest(1, [cdr_line("I2", served_imsi="262031234500002")])
    assert RejectedRecord.objects.get().reason == "UNKNOWN_SUBSCRIBER"


def test_usage_after_termination_is_inactive_subscription(world):
    ingest(1, [cdr_line("C9", served_msisdn=C_MSISDN, event_time="20261021100000")])
    assert RejectedRecord.objects.get().reason == "INACTIVE_SUBSCRIPTION"


# --- R18 quarantine, failed files, sequence gaps -------------------------------------------


BROKEN_FRAMES = {
    "trailer miscounts": (
        cdr_file([cdr_line("A1"), cdr_line("A2")], trailer=3),
        "the trailer counts 3 records, the file holds 2",
    ),
    "no trailer": (cdr_file([cdr_line("A1")], trailer=None), "the trailer line is missing"),
    "lines after the trailer": (
        cdr_file([cdr_line("A1")]) + cdr_line("A2").encode(),
        "lines follow the trailer",
    ),
}


@pytest.mark.parametrize(("content", "problem"), BROKEN_FRAMES.values(), ids=BROKEN_FRAMES)
def test_a_broken_frame_quarantines_the_file_whole_and_keeps_it(world, content, problem):
    usage_file = usage_file_ingest(name=file_name(1), content=content)
    assert usage_file.status == FileStatus.QUARANTINED
    assert usage_file.status_detail == f"quarantined whole (R18): {problem}"
    assert usage_file.records_read == 0
    assert not UsageEvent.objects.exists() and not RejectedRecord.objects.exists()
    with usage_file.content.open("rb") as stored:
        assert stored.read() == content
    with pytest.raises(ValidationError):
        usage_file_process(usage_file=usage_file)


def test_a_file_of_an_unknown_source_fails_with_the_reason(world):
    usage_file = usage_file_ingest(name=file_name(1, source="NOWHERE"),
                                   content=cdr_file([cdr_line("A1")]))  # fmt: skip
    assert usage_file.status == FileStatus.FAILED
    assert usage_file.status_detail == "no host network has the code NOWHERE"
    assert usage_file.host_network is None
    assert not SequenceGap.objects.exists() and not UsageEvent.objects.exists()


def test_a_file_name_off_the_pattern_fails_with_the_reason(world):
    usage_file = usage_file_ingest(name="usage.csv", content=cdr_file([cdr_line("A1")]))
    assert usage_file.status == FileStatus.FAILED
    assert "CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>" in usage_file.status_detail


@pytest.mark.parametrize(
    "content", [b"\x1f\x8b\x08broken", "é".encode("latin-1")], ids=["gzip", "not utf-8"]
)
def test_an_unreadable_file_fails(world, content):
    usage_file = usage_file_ingest(name=file_name(1), content=content)
    assert usage_file.status == FileStatus.FAILED
    assert usage_file.status_detail.startswith("unreadable: ")


def test_processing_a_file_twice_is_refused(world):
    usage_file = ingest(1, [cdr_line("A1")])
    with pytest.raises(ValidationError):
        usage_file_process(usage_file=usage_file)
    assert UsageEvent.objects.count() == 1


def test_a_skipped_sequence_number_is_a_gap_until_the_file_arrives(world):
    ingest(1, [cdr_line("A1")])
    ingest(3, [cdr_line("A3")])
    gap = SequenceGap.objects.get()
    assert (gap.missing_from, gap.missing_to, gap.detected_in.sequence) == (2, 2, 3)
    ingest(2, [cdr_line("A2")])
    gap.refresh_from_db()
    assert gap.resolved_at is not None and open_gaps() == []


def test_a_late_file_inside_a_longer_gap_leaves_the_other_numbers_missing(world):
    ingest(1, [cdr_line("A1")])
    ingest(5, [cdr_line("A5")])
    assert open_gaps() == [(2, 4)]
    ingest(3, [cdr_line("A3")])
    assert open_gaps() == [(2, 2), (4, 4)]
    ingest(4, [cdr_line("A4")])
    ingest(2, [cdr_line("A2")])
    assert open_gaps() == []


def test_a_source_never_seen_starts_at_sequence_1_and_gaps_are_per_source(world):
    ingest(1, [cdr_line("A1")])
    at_home_there = {"visited_plmn": "20801", "event_time": "20261016100000"}
    ingest(3, [cdr_line("O1", **at_home_there)], source="OTHERNET")
    assert open_gaps("OTHERNET") == [(1, 2)]
    assert open_gaps("HOSTNET") == []


def test_a_quarantined_file_counts_as_arrived_for_the_sequence(world):
    ingest(1, [cdr_line("A1")])
    usage_file_ingest(name=file_name(2), content=cdr_file([cdr_line("A2")], trailer=5))
    ingest(3, [cdr_line("A3")])
    assert open_gaps() == []


# --- corrections ---------------------------------------------------------------------------


def test_a_rejected_record_is_reprocessed_once(world):
    ingest(1, [cdr_line("R3", event_time="20261340100000")])
    reject = RejectedRecord.objects.get()
    done = rejected_record_reprocess(rejected_record=reject, corrected_raw=cdr_line("R3"))
    assert (done.status, done.corrected_raw, done.usage_event) == (
        RejectStatus.REPROCESSED, cdr_line("R3"), event("R3"))  # fmt: skip
    assert event("R3").retail_amount == Decimal("0.000000")  # covered by the voice bundle
    with pytest.raises(ValidationError):
        rejected_record_reprocess(rejected_record=reject, corrected_raw=cdr_line("R3"))
    assert UsageEvent.objects.count() == 1


def test_a_reprocessing_rejected_again_stays_open_with_the_new_reason(world):
    ingest(1, [cdr_line("R4", event_time="20261340100000")])
    reject = RejectedRecord.objects.get()
    again = rejected_record_reprocess(rejected_record=reject,
                                      corrected_raw=cdr_line("R4", duration="-1"))  # fmt: skip
    assert (again.status, again.reason) == (RejectStatus.OPEN, "BAD_NUMBER")
    inactive = cdr_line("R4", served_msisdn=B_MSISDN, event_time="20261010100000")
    again = rejected_record_reprocess(rejected_record=reject, corrected_raw=inactive)
    assert (again.status, again.reason) == (RejectStatus.OPEN, "INACTIVE_SUBSCRIPTION")
    assert not UsageEvent.objects.exists()


def test_a_correction_naming_an_accepted_record_is_never_charged_twice(world):
    ingest(1, [cdr_line("A1"), cdr_line("R5", "XYZ")])
    reject = RejectedRecord.objects.get()
    with pytest.raises(ValidationError):
        rejected_record_reprocess(rejected_record=reject, corrected_raw=cdr_line("A1"))
    assert UsageEvent.objects.count() == 1


def test_a_discarded_record_can_no_longer_be_reprocessed(world):
    ingest(1, [cdr_line("R6", "XYZ")])
    reject = RejectedRecord.objects.get()
    with pytest.raises(ValidationError):
        rejected_record_discard(rejected_record=reject, reason="")
    done = rejected_record_discard(rejected_record=reject, reason="test traffic")
    assert (done.status, done.detail) == (RejectStatus.DISCARDED, "discarded: test traffic")
    with pytest.raises(ValidationError):
        rejected_record_reprocess(rejected_record=reject, corrected_raw=cdr_line("R6"))
    with pytest.raises(ValidationError):
        rejected_record_discard(rejected_record=reject, reason="again")


# --- rating order, allowances, plans -------------------------------------------------------


def test_a_file_is_rated_in_event_time_order(world):
    # The 5,990 s call of 5 October uses the whole 100 min bundle before the call of the 20th.
    ingest(1, [cdr_line("L1", event_time="20261020100000"),
               cdr_line("L2", event_time="20261005100000", duration="5990")])  # fmt: skip
    assert (event("L2").covered_units, event("L2").retail_amount) == (6_000, Decimal("0"))
    assert (event("L1").covered_units, event("L1").retail_amount) == (0, Decimal("0.090000"))


def test_a_new_periods_allowance_is_used_by_a_later_chunk_of_the_same_run(world):
    usage_file = usage_file_receive(
        name=file_name(1),
        content=cdr_file([cdr_line("N1", event_time="20261030100000", utc_offset="+0100"),
                          cdr_line("N2", event_time="20261102100000", utc_offset="+0100")]),
    )  # fmt: skip
    usage_file_process(usage_file=usage_file, chunk=1)
    assert (event("N1").covered_units, event("N1").retail_amount) == (60, Decimal("0"))
    assert (event("N2").covered_units, event("N2").retail_amount) == (60, Decimal("0"))


def test_a_shared_pool_is_drawn_only_by_the_subscription_on_its_plan(world):
    ingest(1, [cdr_line("S1", "PGW", served_msisdn=FAMILY_1, volume_downlink=str(GB)),
               cdr_line("S2", "PGW", served_msisdn=FAMILY_2, volume_downlink=str(GB))])  # fmt: skip
    assert (event("S1").covered_units, event("S1").retail_amount) == (GB, Decimal("0"))
    assert (event("S2").covered_units, event("S2").retail_amount) == (0, Decimal("1.990000"))
    pool = Bucket.objects.get(shared=True)
    assert (pool.subscription, bucket_remaining(pool)) == (None, 4 * GB)


def test_add_on_buckets_are_drawn_in_expiry_order_after_a_plan_bundle_on_a_tie(world):
    subscription = world.subscriptions["H"]
    bought_at = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    for code in ("VOICE-EXTRA", "DATA-WEEK"):
        subscriber_services.subscription_add_on_add(
            subscription=subscription, add_on=world.catalogue.add_ons[code], effective_at=bought_at
        )
    ingest(1, [
        # 6 Oct: the plan's 100 min and VOICE-EXTRA both end with October: the plan's first.
        cdr_line("H1", served_msisdn=ADD_ONS, event_time="20261006100000", duration="61"),
        # 7 Oct: 101 min, 5,880 s left in the plan's bundle, the rest from VOICE-EXTRA.
        cdr_line("H2", served_msisdn=ADD_ONS, event_time="20261007100000", duration="6060"),
        # 6 Oct: DATA-WEEK ends on the 12th, before the plan's 10 GB: drawn first.
        cdr_line("H3", "PGW", served_msisdn=ADD_ONS, event_time="20261006110000",
                 volume_downlink="500000000"),
        # 13 Oct: DATA-WEEK has expired; the plan's bundle covers.
        cdr_line("H4", "PGW", served_msisdn=ADD_ONS, event_time="20261013110000",
                 volume_downlink="100000000"),
    ])  # fmt: skip
    buckets = {
        (b.source, b.services[0]): bucket_remaining(b)
        for b in Bucket.objects.filter(subscription=subscription)
    }
    assert buckets == {
        (BucketSource.PLAN, "VOICE_OUT"): 0,
        (BucketSource.ADD_ON, "VOICE_OUT"): 600 - 180,
        (BucketSource.PLAN, "DATA"): 10 * GB - 100_000_000,
        (BucketSource.ADD_ON, "DATA"): GB - 500_000_000,
        (BucketSource.PLAN, "SMS_OUT"): 100,
    }
    assert [event(f"H{n}").covered_units for n in (1, 2, 3, 4)] == [
        120, 6_060, 500_000_000, 100_000_000]  # fmt: skip


def test_each_event_is_rated_on_the_plan_in_force_at_its_start(world):
    subscription = world.subscriptions["G"]
    ingest(1, [cdr_line("G1", "PGW", served_msisdn=CHANGER, event_time="20261010100000",
                        volume_downlink=str(GB))])  # fmt: skip
    subscriber_services.subscription_change_plan(
        subscription=subscription, plan=world.catalogue.plans["FAIR-O"],
        change_date=dt.date(2026, 10, 15),
    )  # fmt: skip
    ingest(2, [
        cdr_line("G2", "PGW", served_msisdn=CHANGER, event_time="20261014235959",
                 volume_downlink=str(GB)),
        cdr_line("G3", "PGW", served_msisdn=CHANGER, event_time="20261015000000",
                 volume_downlink=str(GB)),
        cdr_line("G4", served_msisdn=CHANGER, event_time="20261020100000"),
    ])  # fmt: skip
    versions = world.catalogue.versions
    smart, fair = versions["SMART-10"].pk, versions["FAIR-O"].pk
    assert [(event(r).plan_version_id, event(r).covered_units, event(r).retail_amount)
            for r in ("G1", "G2", "G3", "G4")] == [
        (smart, GB, Decimal("0")),
        (smart, GB, Decimal("0")),
        (fair, 0, Decimal("1.990000")),  # FAIR-O: no bundle, its fair-use count starts at 0
        (fair, 0, Decimal("0.090000")),  # SMART-10's voice bundle ended at the change
    ]  # fmt: skip


def test_a_throttled_subscriber_is_notified_once_per_period_across_files(world):
    subscriber_add(world.catalogue, plan_code="FAIR-T", msisdn="4915112340051",
                   imsi="262031234500051")  # fmt: skip
    session = {"served_msisdn": "4915112340051", "volume_uplink": "0"}
    ingest(1, [cdr_line("T1", "PGW", volume_downlink="2500000000", **session)])
    ingest(2, [cdr_line("T2", "PGW", event_time="20261006100000", volume_downlink="100000000",
                        **session)])  # fmt: skip
    first, second = event("T1"), event("T2")
    # 1 GB included, 1 GB at 1.99/GB up to the 2 GB cap, 0.5 GB throttled.
    assert (first.covered_units, first.fair_use_units, first.throttled) == (GB, 500_000_000, True)
    assert first.retail_amount == Decimal("1.990000")
    assert (second.fair_use_units, second.throttled, second.retail_amount) == (
        100_000_000, True, Decimal("0"))  # fmt: skip
    notified = FairUseCount.objects.order_by("usage_event_id").values_list("notified", flat=True)
    assert list(notified) == [True, False]


def test_a_file_that_failed_on_our_side_may_be_sent_again(world):
    from charging.models import FileStatus
    from charging.services import usage_file_ingest

    content = b"not a usage file at all"
    first = usage_file_ingest(name="CDR_NOSUCH_20261101000500_000001.csv", content=content)
    again = usage_file_ingest(name="CDR_NOSUCH_20261101000500_000001.csv", content=content)
    assert first.status == again.status == FileStatus.FAILED
    assert again.duplicate_of is None


# --- lines the database cannot hold, errors nobody foresaw (R16) ----------------------------


@pytest.mark.parametrize("one_pass", [True, False])
def test_a_nul_character_in_a_line_is_a_bad_field_kept_escaped(world, one_pass):
    lines = [cdr_line("A1"), cdr_line("A\x002", apn="inter\x00net"), cdr_line("A3")]
    received = usage_file_receive(name=file_name(1), content=cdr_file(lines), origin="command")
    usage_file = usage_file_process(usage_file=received, one_pass=one_pass)
    assert counts(usage_file) == (FileStatus.PROCESSED, 3, 2, 1, 0)
    reject = RejectedRecord.objects.get(usage_file=usage_file)
    assert (reject.reason, reject.line_number, reject.record_id) == ("BAD_FIELD", 3, "A\\x002")
    assert "inter\\x00net" in reject.raw and "\x00" not in reject.raw


def test_an_error_nobody_foresaw_fails_the_file_with_its_reason_and_it_can_be_sent_again(
    world, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in rating")

    monkeypatch.setattr(pipeline, "process_in_order", broken)
    failed = ingest(1, [cdr_line("A1")])
    assert failed.status == FileStatus.FAILED
    assert "processing stopped, nothing written (RuntimeError: a bug in rating)" in (
        failed.status_detail
    )
    assert not UsageEvent.objects.filter(usage_file=failed).exists()
    monkeypatch.undo()
    again = ingest(1, [cdr_line("A1")])  # the same bytes: a failed file is no duplicate (R17)
    assert counts(again) == (FileStatus.PROCESSED, 1, 1, 0, 0)


def test_a_host_networks_code_is_frozen_once_its_files_arrived(world):
    from catalog.models import HostNetwork
    from catalog.services import host_network_save

    network = HostNetwork.objects.get(code="HOSTNET")
    same = {"plmn_codes": network.plmn_codes, "country_code": network.country_code,
            "host_network": network}  # fmt: skip
    host_network_save(code="HOSTNET2", name=network.name, **same)  # no file yet: a typo fixed
    host_network_save(code="HOSTNET", name=network.name, **same)
    ingest(1, [cdr_line("A1")])
    with pytest.raises(ValidationError) as refused:
        host_network_save(code="HOSTNET2", name=network.name, **same)
    assert "usage files came from HOSTNET" in str(refused.value.message_dict["code"])
    renamed = host_network_save(code="HOSTNET", name="Host network (renamed)", **same)
    assert renamed.name == "Host network (renamed)"
