"""The usage store (issue 14): events partitioned by month on PostgreSQL, a plain table on SQLite,
the R17 key in a table of its own, partitions created ahead and before a file's months are
written, an old month detached for archiving, and the migration moving existing events.
"""

import datetime as dt
import io
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from benchmarks.rating import load_world, write_file
from charging.models import FileOrigin, UsageEvent, UsageRecordKey
from charging.services import usage_file_process, usage_file_receive
from charging.tasks import usage_months_ahead_task
from charging.usage_store import (
    DEFAULT_PARTITION,
    months_of_event_times,
    partition_name,
    partitioned,
    usage_month_detach,
    usage_months,
    usage_months_ahead,
    usage_months_ensure,
)

on_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"
)


def _ingest(tmp_path, *, records=200, subscriptions=10, name="CDR_HOSTNET_20261101000500_000001"):
    path = tmp_path / f"{name}.csv"
    write_file(path, records=records, subscriptions=subscriptions)
    with path.open("rb") as content:
        usage_file = usage_file_receive(name=path.name, content=content, origin=FileOrigin.API)
    return usage_file_process(usage_file=usage_file)


def _rows_in(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def test_months_of_event_times_include_the_utc_neighbours_of_a_month_edge():
    months = months_of_event_times(["20261015120000", "20261101000500", "20261231230000", "x"])
    assert months == {
        dt.date(2026, 10, 1),  # the 15th, and 1 November may be 31 October in UTC
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
        dt.date(2027, 1, 1),  # 31 December may be January in UTC
    }


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite degrade")
def test_on_sqlite_the_usage_store_is_a_plain_table_and_months_are_nothing_to_do():
    assert not partitioned()
    assert usage_months_ensure(months=[dt.date(2026, 10, 1)]) == []
    assert usage_months() == []


@on_postgresql
@pytest.mark.django_db
def test_the_usage_store_is_partitioned_with_only_the_indexes_reads_need():
    assert partitioned()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'charging_usageevent'"
        )
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {
        "charging_usageevent_pkey",
        "usage_sub_time",
        "usage_error_queue",
        "usage_file",
    }
    assert "(id, started_at)" in indexes["charging_usageevent_pkey"]
    assert "USING brin (usage_file_id)" in indexes["usage_file"]
    assert "WHERE ((rating_status)::text = 'error'::text)" in indexes["usage_error_queue"]


@on_postgresql
@pytest.mark.django_db
def test_a_files_months_get_their_partitions_before_its_events_are_written(tmp_path):
    load_world(10)
    usage_file = _ingest(tmp_path)  # events from 1 to 31 October 2026, local time (+0200)
    assert usage_file.records_accepted == 200
    assert {dt.date(2026, 9, 1), dt.date(2026, 10, 1)} <= set(usage_months())
    assert _rows_in(partition_name(dt.date(2026, 9, 1))) == 1  # 1 October 00:00 +0200
    assert _rows_in(partition_name(dt.date(2026, 10, 1))) == 199
    assert _rows_in(DEFAULT_PARTITION) == 0
    # Every event has its R17 key, naming it.
    keys = dict(UsageRecordKey.objects.values_list("usage_event_id", "record_id"))
    assert keys == dict(UsageEvent.objects.values_list("pk", "record_id"))


@on_postgresql
@pytest.mark.django_db
def test_the_periodic_task_creates_the_months_ahead(time_machine):
    time_machine.move_to(dt.datetime(2031, 5, 20, 12, tzinfo=dt.UTC))
    assert usage_months_ahead_task() == ["2031-05", "2031-06", "2031-07"]
    assert usage_months_ahead() == []  # once
    assert {dt.date(2031, 5, 1), dt.date(2031, 7, 1)} <= set(usage_months())


@on_postgresql
@pytest.mark.django_db
def test_an_old_month_is_detached_and_its_record_ids_stay_refused(tmp_path):
    load_world(10)
    _ingest(tmp_path)
    october = dt.date(2026, 10, 1)
    with pytest.raises(Exception, match="still invoiced"):
        usage_month_detach(month=october, today=dt.date(2026, 11, 20))
    detached = usage_month_detach(month=october, today=dt.date(2027, 1, 5))
    assert detached["events"] == 199 and detached["table"] == partition_name(october)
    assert october not in usage_months()
    assert UsageEvent.objects.count() == 1  # the one event of 30 September, in UTC
    assert _rows_in(partition_name(october)) == 199  # kept as a table of its own to archive
    # The same record ids sent again are duplicates (R17): their keys stayed.
    again = _ingest(tmp_path, records=199, name="CDR_HOSTNET_20261102000500_000002")
    assert (again.records_accepted, again.records_duplicate) == (0, 199)


@on_postgresql
@pytest.mark.django_db
def test_the_detach_command_lists_months_and_refuses_a_bad_month(time_machine):
    time_machine.move_to(dt.datetime(2031, 5, 20, 12, tzinfo=dt.UTC))
    usage_months_ahead()
    out = io.StringIO()
    call_command("usage_month_detach", "--list", stdout=out)
    assert "2031-06" in out.getvalue().split()
    with pytest.raises(CommandError, match="not a month"):
        call_command("usage_month_detach", "2031-13")
    with pytest.raises(CommandError, match="still invoiced"):
        call_command("usage_month_detach", "2031-05")


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_events_into_the_partitioned_store():
    executor = MigrationExecutor(connection)
    executor.migrate([("charging", "0004_usage_file_part_failed")])
    try:
        assert not partitioned()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO charging_usageevent (line_number, source, record_id, record_type, "
                "service, subscription_id, billing_account_id, msisdn, imsi, started_at, "
                "utc_offset, duration, volume_uplink, volume_downlink, units, other_party, "
                "visited_plmn, apn, cause, charging_id, rating_status, rating_error, "
                "rating_detail, destination_zone, roaming_zone, time_band, charged_units, "
                "covered_units, currency, tax_inclusive, throttled, fair_use_units, "
                "wholesale_units) VALUES (2, 'HOSTNET', 'OLD-1', 'SMSO', 'SMS_OUT', 1, 1, "
                "'4915500000000', '', '2025-03-10 10:00+00', '+0100', 0, 0, 0, 1, '49170', "
                "'26203', '', 'NORMAL', '', 'error', 'NO_PLAN', '', '', '', '', 0, 0, '', "
                "false, false, 0, 0) RETURNING id"
            )
            old_id = cursor.fetchone()[0]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert partitioned()
    assert dt.date(2025, 3, 1) in usage_months()
    event = UsageEvent.objects.get(pk=old_id)
    assert (event.record_id, event.rating_error) == ("OLD-1", "NO_PLAN")
    assert _rows_in(partition_name(dt.date(2025, 3, 1))) == 1
    assert UsageRecordKey.objects.get(source="HOSTNET", record_id="OLD-1").usage_event_id == old_id
    # New events take ids after the moved ones.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('charging_usageevent', 'id'))")
        assert cursor.fetchone()[0] > old_id
