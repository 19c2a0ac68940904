"""No UTC leaks onto a page: days and times are the console's, and say which zone."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from charging.forms import plan_version_label
from charging.models import FileStatus
from charging.services import usage_file_ingest

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"


def test_a_plan_version_from_midnight_berlin_is_from_that_day(golden_catalog):
    version = golden_catalog.version  # in force from 2026-10-01 00:00 Berlin (22:00 UTC before)
    assert version.effective_from == dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)
    assert plan_version_label(version).endswith("from 2026-10-01)")


def test_a_duplicate_files_notice_names_the_first_arrival_in_local_time(golden_subscribers):
    content = (SAMPLES / FILE_1).read_bytes()
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 5, tzinfo=dt.UTC), tick=False):
        usage_file_ingest(name=FILE_1, content=content, origin="command")
    again = usage_file_ingest(name=FILE_1, content=content, origin="command")
    assert again.status == FileStatus.DUPLICATE
    assert again.status_detail.endswith(
        f"the same bytes arrived as {FILE_1} on 2026-11-01 10:05 CET"
    )
