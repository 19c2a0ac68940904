"""Two files reaching the same subscribers in opposite order, rated at the same time (issue 13).

Each of 20 runs receives two files whose records name the same six subscribers, one file in
ascending order of subscription, the other in descending order, and rates both at once in two
threads, each on its own PostgreSQL connection: whole (one chunk each), then in chunks of two
records. Grants are inserted and buckets locked in one global order per chunk, so files rated in one
chunk never deadlock; a file rated in several chunks holds the buckets of its earlier chunks
while it locks the next ones, and the transaction PostgreSQL picks as a deadlock's victim runs
again (charging.leases). Every file is
processed every time, and the buckets, fair-use counts and events at the end are those of
rating the same files one after the other.
"""

import datetime as dt
import logging
import os
import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from charging.models import FairUseCount, FileStatus, UsageEvent, UsageFile
from charging.services import usage_file_process, usage_file_receive
from charging.usage_store import usage_months_ensure
from subscribers.models import BucketMovement
from tests.charging.factories import build_rating_catalogue, cdr_file, file_name, subscriber_add
from tests.charging.test_properties import line_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="real concurrent transactions need PostgreSQL",
    ),
]

RUNS = 20
NUMBERS = [f"49151777000{n:02d}" for n in range(6)]


def pair(run: int) -> tuple[bytes, bytes]:
    """Two files of one day: the same subscribers, in opposite orders, in event-time order."""
    files = []
    for name, numbers in (("A", NUMBERS), ("B", NUMBERS[::-1])):
        lines = []
        for n in range(2 * len(numbers)):
            lines.append(
                line_of(f"{name}{run}-{n}", {
                    "record_type": "PGW", "served_msisdn": numbers[n % len(numbers)],
                    "event_time": f"202610{run + 1:02d}{n // len(numbers):02d}{n:02d}00",
                    "utc_offset": "+0200", "volume_uplink": "500000",
                    "volume_downlink": "1500000", "visited_plmn": "26203",
                })
            )  # fmt: skip
        files.append(cdr_file(lines))
    return files[0], files[1]


def state() -> dict:
    """Everything the files changed, without ids (they differ from one run to another)."""
    events = {
        record_id: rest
        for record_id, *rest in UsageEvent.objects.values_list(
            "record_id", "msisdn", "rating_status", "charged_units", "covered_units",
            "fair_use_units", "throttled", "retail_amount", "wholesale_amount",
        )
    }  # fmt: skip
    drawn = {
        tuple(row[:-1]): row[-1]
        for row in BucketMovement.objects.values(
            "bucket__subscription__msisdn", "bucket__allowance_id", "bucket__valid_from"
        )
        .annotate(total=Sum("quantity"))
        .values_list(
            "bucket__subscription__msisdn", "bucket__allowance_id", "bucket__valid_from", "total"
        )
    }
    fair_use = dict(
        FairUseCount.objects.values("subscription__msisdn")
        .annotate(total=Sum("quantity"))
        .values_list("subscription__msisdn", "total")
    )
    files = {
        name: rest
        for name, *rest in UsageFile.objects.values_list(
            "name", "status", "records_read", "records_accepted", "records_rejected",
            "records_duplicate",
        )
    }  # fmt: skip
    return {"events": events, "drawn": drawn, "fair_use": fair_use, "files": files}


def one_after_the_other(chunk: int) -> dict:
    with transaction.atomic():
        for run in range(RUNS):
            for sequence, content in enumerate(pair(run), start=2 * run + 1):
                usage_file = usage_file_receive(name=file_name(sequence), content=content)
                usage_file_process(usage_file=usage_file, chunk=chunk)
        result = state()
        transaction.set_rollback(True)
    return result


def together(usage_files: list[UsageFile], chunk: int) -> list:
    """Rate the files at the same instant, each in a thread with its own connection."""
    start = threading.Barrier(len(usage_files))
    outcomes: list = [None] * len(usage_files)

    def rate(index: int, usage_file: UsageFile) -> None:
        try:
            start.wait(timeout=30)
            outcomes[index] = usage_file_process(usage_file=usage_file, chunk=chunk).status
        except Exception as error:  # reported by the assertion below
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=rate, args=(index, usage_file))
        for index, usage_file in enumerate(usage_files)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


@pytest.mark.parametrize(
    ("chunk", "victims_allowed"),
    [
        # Each file one chunk: one global order (grants by subscription, buckets by id), no
        # deadlock at all.
        (5_000, False),
        # Chunks of two records: each file's transaction holds its earlier chunks' buckets while
        # it locks the next ones, so PostgreSQL breaks a deadlock in most runs: its victim runs
        # again, and the result is still the one of the files rated one after the other.
        (2, True),
    ],
)
def test_two_files_in_opposite_orders_rated_together_20_times(caplog, chunk, victims_allowed):
    catalogue = build_rating_catalogue()
    for n, msisdn in enumerate(NUMBERS):
        subscriber_add(catalogue, plan_code="FAIR-T", msisdn=msisdn, imsi=f"2620377700{n:05d}")
    expected = one_after_the_other(chunk)
    assert len(expected["events"]) == RUNS * 2 * 2 * len(NUMBERS)
    assert not UsageEvent.objects.exists()
    # The usage store's months exist (the reference run's were rolled back): the two files
    # contend for their subscribers' allowances only, not for creating a partition.
    usage_months_ensure(months=[dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)])

    with caplog.at_level(logging.WARNING, logger="charging.leases"):
        for run in range(RUNS):
            usage_files = [
                usage_file_receive(name=file_name(sequence), content=content)
                for sequence, content in enumerate(pair(run), start=2 * run + 1)
            ]
            outcomes = together(usage_files, chunk)
            assert outcomes == [FileStatus.PROCESSED, FileStatus.PROCESSED], (run, outcomes)

    assert state() == expected
    victims = sum("deadlock victim" in record.getMessage() for record in caplog.records)
    print(f"chunk {chunk}: deadlock victims run again: {victims} in {RUNS} runs")
    if not victims_allowed:
        assert victims == 0
