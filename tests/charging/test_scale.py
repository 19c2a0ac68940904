"""Mediation at volume: the one-pass path, files split into parts, parallel workers (R11, R17).

The one-pass path (charging.pipeline) and the two passes (charging.services) must give the same
result for every file the one-pass path takes; a file split into parts by subscriber group must
rate as the whole file does, so that parallel workers never draw a bucket twice.
"""

from pathlib import Path
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from charging import services
from charging.cdr import parse_time
from charging.models import (
    FairUseCount,
    FileStatus,
    PartStatus,
    RejectedRecord,
    UsageEvent,
    UsageFilePart,
)
from charging.partitions import usage_file_part_process, usage_file_split
from charging.services import usage_file_process, usage_file_receive
from subscribers.models import BucketMovement, Subscription
from tests.charging.factories import cdr_file, file_name, subscriber_add
from tests.charging.test_properties import (
    EXAMPLES,
    OTHERS,
    TARGETS,
    UNKNOWN,
    line_of,
    usage,
    world,  # noqa: F401 - the module's catalogue and subscribers
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
FAMILY_SECOND = "4915112340044"  # a second subscriber sharing the FAMILY account's pool
NUMBERS = [*TARGETS.values(), *OTHERS, UNKNOWN]


def in_time_order(lines_and_columns):
    """Order generated records by their UTC start, as a host network writes its files."""

    def start(item):
        columns = item[1]
        return parse_time(columns["event_time"], columns["utc_offset"])

    return sorted(lines_and_columns, key=start)


def outcomes(usage_file) -> dict:
    """What became of every line of a file, and what it drew, comparable across runs."""
    events = {
        line: values
        for line, *values in UsageEvent.objects.filter(usage_file=usage_file).values_list(
            "line_number", "record_id", "msisdn", "rating_status", "rating_error",
            "charged_units", "covered_units", "fair_use_units", "throttled", "retail_amount",
            "wholesale_amount",
        )
    }  # fmt: skip
    rejects = dict(
        RejectedRecord.objects.filter(usage_file=usage_file).values_list("line_number", "reason")
    )
    bucket = (
        "bucket__subscription__msisdn",
        "bucket__billing_account_id",
        "bucket__allowance_id",
        "bucket__valid_from",
    )  # ids change from run to run
    drawn = {
        tuple(row[:-1]): row[-1]
        for row in BucketMovement.objects.filter(usage_event_id__isnull=False)
        .values(*bucket)
        .annotate(total=Sum("quantity"))
        .values_list(*bucket, "total")
    }
    counted = {
        tuple(row[:-1]): row[-1]
        for row in FairUseCount.objects.values("subscription__msisdn", "policy_id", "period_start")
        .annotate(total=Sum("quantity"))
        .values_list("subscription__msisdn", "policy_id", "period_start", "total")
    }
    usage_file.refresh_from_db()
    counts = (usage_file.records_read, usage_file.records_accepted, usage_file.records_rejected,
              usage_file.records_duplicate, usage_file.status)  # fmt: skip
    return {"events": events, "rejects": rejects, "drawn": drawn, "fair_use": counted,
            "counts": counts}  # fmt: skip


def processed(content: bytes, *, one_pass: bool, chunk: int = 3):
    usage_file = usage_file_receive(name=file_name(1), content=content)
    usage_file_process(usage_file=usage_file, chunk=chunk, one_pass=one_pass)
    return outcomes(usage_file)


def both_ways(content: bytes, chunk: int = 3):
    """Process the same bytes one pass, then two passes, each in a rolled-back savepoint."""
    results = []
    for one_pass in (True, False):
        with transaction.atomic():
            results.append(processed(content, one_pass=one_pass, chunk=chunk))
            transaction.set_rollback(True)
    return results


@EXAMPLES
@given(
    records=st.lists(
        st.tuples(st.integers(min_value=0, max_value=30), usage(NUMBERS)), max_size=25
    ),
    bad=st.sets(st.integers(min_value=0, max_value=24), max_size=3),
    chunk=st.integers(min_value=1, max_value=7),
)
def test_one_pass_gives_what_two_passes_give(world, records, bad, chunk):  # noqa: F811
    lines = []
    for index, (id_number, columns) in enumerate(in_time_order(records)):
        line = line_of(f"R{id_number}", columns)
        lines.append(line.replace(",NORMAL,", ",BROKEN,") if index in bad else line)
    one, two = both_ways(cdr_file(lines), chunk=chunk)
    assert one == two
    read, accepted, rejected, duplicate, status = one["counts"]
    assert status == FileStatus.PROCESSED
    assert read == len(lines) == accepted + rejected + duplicate  # R16


def test_a_file_in_time_order_without_duplicates_takes_one_pass(world):  # noqa: F811
    lines = [
        line_of(f"R{n}", {"record_type": "MOC", "served_msisdn": TARGETS["A"],
                          "event_time": f"202610{5 + n:02d}090000", "utc_offset": "+0200",
                          "other_party": "4917012345678", "duration": "61",
                          "visited_plmn": "26203"})
        for n in range(4)
    ]  # fmt: skip
    with (
        mock.patch.object(services, "process_two_passes", wraps=services.process_two_passes) as two,
        transaction.atomic(),
    ):
        result = processed(cdr_file(lines), one_pass=True)
        transaction.set_rollback(True)
    assert two.call_count == 0
    assert result["counts"] == (4, 4, 0, 0, FileStatus.PROCESSED)


@pytest.mark.parametrize(
    "order, duplicate",
    [("backwards", False), ("forwards", True)],
    ids=["a record earlier than the one above", "a record id seen in an earlier chunk"],
)
def test_one_pass_hands_a_file_it_cannot_take_to_two_passes(world, order, duplicate):  # noqa: F811
    days = [9, 8, 7] if order == "backwards" else [5, 6, 7]
    ids = ["D1", "D2", "D1"] if duplicate else ["D1", "D2", "D3"]
    lines = [
        line_of(record_id, {"record_type": "SMSO", "served_msisdn": TARGETS["A"],
                            "event_time": f"202610{day:02d}090000", "utc_offset": "+0200",
                            "other_party": "4917012345678", "visited_plmn": "26203"})
        for record_id, day in zip(ids, days, strict=True)
    ]  # fmt: skip
    with (
        mock.patch.object(services, "process_two_passes", wraps=services.process_two_passes) as two,
        transaction.atomic(),
    ):
        result = processed(cdr_file(lines), one_pass=True, chunk=2)
        transaction.set_rollback(True)
    assert two.call_count == 1
    assert result["counts"] == (3, 2 if duplicate else 3, 0, 1 if duplicate else 0, "processed")
    assert UsageEvent.objects.filter(record_id__in=ids).count() == 0  # all rolled back


# --- parts ------------------------------------------------------------------------------------


def family_second(world):  # noqa: F811
    """A second FAMILY subscriber on the same account, so that two numbers share one pool."""
    first = Subscription.objects.get(msisdn=OTHERS[2])
    return subscriber_add(
        world, plan_code="FAMILY", msisdn=FAMILY_SECOND, imsi="262031234500044",
        billing_account=first.billing_account,
    )  # fmt: skip


def split_file_lines(count: int) -> list[str]:
    """Data sessions of every subscriber group, the two FAMILY numbers drawing one pool."""
    numbers = [*TARGETS.values(), OTHERS[0], OTHERS[1], OTHERS[2], FAMILY_SECOND, UNKNOWN]
    lines = []
    for n in range(count):
        day, hour = 1 + n // 24 % 30, n % 24
        lines.append(
            line_of(f"P{n}", {"record_type": "PGW", "served_msisdn": numbers[n % len(numbers)],
                              "event_time": f"202610{day:02d}{hour:02d}0000",
                              "utc_offset": "+0200", "volume_uplink": "1000000",
                              "volume_downlink": str(400_000_000 + n), "visited_plmn": "26203"})
        )  # fmt: skip
    return lines


def test_a_file_rated_in_parts_rates_as_the_whole_file(world):  # noqa: F811
    content = cdr_file(split_file_lines(90))
    with transaction.atomic():
        family_second(world)
        whole = processed(content, one_pass=True, chunk=7)
        transaction.set_rollback(True)
    with transaction.atomic():
        family_second(world)
        usage_file = usage_file_receive(name=file_name(1), content=content)
        parts = usage_file_split(usage_file=usage_file, parts=3)
        for part in reversed(parts):
            usage_file_part_process(part=part, chunk=7)
        in_parts = outcomes(usage_file)
        accounts_per_part = {
            part.number: set(
                UsageEvent.objects.filter(
                    usage_file=usage_file, line_number__in=_lines_of(part)
                ).values_list("billing_account_id", flat=True)
            )
            for part in parts
        }
        transaction.set_rollback(True)
    assert len(parts) == 3
    assert in_parts == whole
    read, accepted, rejected, duplicate, status = in_parts["counts"]
    assert (read, accepted + rejected, duplicate, status) == (90, 90, 0, FileStatus.PROCESSED)
    assert in_parts["drawn"]  # allowances, the shared pool among them, were drawn
    every = [account for accounts in accounts_per_part.values() for account in accounts]
    assert len(every) == len(set(every))  # no account in two parts: no pool drawn twice (R11)


def _lines_of(part: UsageFilePart) -> list[int]:
    part.content.open("rb")
    try:
        return [int(line.split(b"\t", 1)[0]) for line in part.content.file]
    finally:
        part.content.close()


def test_a_part_rated_twice_counts_once(world):  # noqa: F811
    with transaction.atomic():
        usage_file = usage_file_receive(name=file_name(1), content=cdr_file(split_file_lines(20)))
        first, second = usage_file_split(usage_file=usage_file, parts=2)
        usage_file_part_process(part=first)
        usage_file_part_process(part=first)  # a task delivered twice (acks late)
        usage_file.refresh_from_db()
        assert usage_file.status == FileStatus.PROCESSING
        usage_file_part_process(part=second)
        usage_file.refresh_from_db()
        transaction.set_rollback(True)
    assert usage_file.status == FileStatus.PROCESSED
    assert usage_file.records_read == 20
    assert usage_file.records_accepted + usage_file.records_rejected == 20  # counted once


def test_the_file_page_shows_its_parts_as_they_finish(world, auditor, console_client_for):  # noqa: F811
    from django.urls import reverse

    with transaction.atomic():
        usage_file = usage_file_receive(name=file_name(1), content=cdr_file(split_file_lines(20)))
        first, _second = usage_file_split(usage_file=usage_file, parts=2)
        usage_file_part_process(part=first)
        page = reverse("charging:usagefile-detail", args=[usage_file.pk])
        body = console_client_for(auditor).get(page).content.decode()
        transaction.set_rollback(True)
    assert 'id="parts"' in body and "Rated in 2 parallel parts" in body
    assert body.count('class="badge done"') == 1 and body.count('class="badge queued"') == 1


def test_the_processing_task_splits_a_large_file_into_parallel_part_tasks(world, settings):  # noqa: F811
    from charging.tasks import usage_file_process_task

    settings.CHARGING_FILE_PARTS = 2
    settings.CHARGING_SPLIT_MIN_BYTES = 1_000  # every file of this test is "large"
    content = cdr_file(split_file_lines(40))
    with transaction.atomic():
        family_second(world)
        whole = processed(content, one_pass=True)
        transaction.set_rollback(True)
    with transaction.atomic():
        family_second(world)
        usage_file = usage_file_receive(name=file_name(1), content=content)
        answer = usage_file_process_task.delay(usage_file.pk).get()  # eager: parts run inline
        in_parts = outcomes(usage_file)
        part_statuses = list(usage_file.parts.values_list("status", flat=True))
        transaction.set_rollback(True)
    assert answer["parts"] == 2
    assert part_statuses == [PartStatus.DONE, PartStatus.DONE]
    assert in_parts == whole


def test_a_part_that_fails_is_kept_apart_and_retried_from_the_file_page(
    world,  # noqa: F811
    operator,
    console_client_for,
):
    from django.urls import reverse

    from charging import pipeline

    client = console_client_for(operator)
    with transaction.atomic():
        usage_file = usage_file_receive(name=file_name(1), content=cdr_file(split_file_lines(20)))
        first, second = usage_file_split(usage_file=usage_file, parts=2)
        first = usage_file_part_process(part=first)
        with mock.patch.object(pipeline, "process_in_order", side_effect=RuntimeError("a bug")):
            failed = usage_file_part_process(part=second)
        usage_file.refresh_from_db()
        failed_state = (failed.status, failed.detail, usage_file.status, usage_file.status_detail)
        written = UsageEvent.objects.filter(usage_file=usage_file).count()
        page = reverse("charging:usagefile-detail", args=[usage_file.pk])
        body = client.get(page).content.decode()
        retry = reverse("charging:usagefile-retry-parts", args=[usage_file.pk])
        answer = client.post(retry)  # eager Celery: the part runs again inline
        usage_file.refresh_from_db()
        second.refresh_from_db()
        again = client.post(retry)  # nothing failed any more: refused with a message
        transaction.set_rollback(True)
    assert failed_state[:3] == (PartStatus.FAILED, "RuntimeError: a bug", FileStatus.PROCESSING)
    assert failed_state[3].startswith("part 2 failed, nothing of it written (RuntimeError: a bug)")
    assert written == first.records_accepted  # the other part is kept
    assert "Retry the failed or stopped parts" in body and "RuntimeError: a bug" in body
    assert answer.status_code == 302
    assert (second.status, usage_file.status, usage_file.status_detail) == (
        PartStatus.DONE, FileStatus.PROCESSED, "")  # fmt: skip
    assert usage_file.records_read == 20
    assert again.status_code == 302
