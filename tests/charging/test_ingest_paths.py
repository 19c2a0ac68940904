"""The ways a usage file comes in: command line, inbox directory, gzip."""

import gzip
import hashlib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from charging.models import FileStatus, UsageEvent, UsageFile
from charging.tasks import inbox_scan_task

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
FILE_4 = "CDR_HOSTNET_20261101003000_000004.csv"


# SHA-256 of the scenario's files (shared/data/cdr) as published with golden-october.md: the
# bundled copies are the ones the scenario's figures were worked out from, byte for byte.
SCENARIO_FILES = {
    "CDR_HOSTNET_20261101000500_000001.csv":
        "4a852a3d04d684db00df48bdf2a2437935009c4e7109aef6fb0d29349888d480",
    "CDR_HOSTNET_20261101001000_000002.csv":
        "d71321713a08385ab7432d0eeb309d02c33781cf35e9f856fc569d2596951842",
    "CDR_HOSTNET_20261101003000_000004.csv":
        "1da5d40b2d44b5f4139e9984555b8f5055268d38100ce636928f2ecdd0eac737",
}  # fmt: skip


def test_bundled_samples_are_the_scenario_files():
    bundled = {path.name: path for path in SAMPLES.glob("*.csv")}
    assert set(bundled) == set(SCENARIO_FILES)
    for name, digest in SCENARIO_FILES.items():
        assert hashlib.sha256(bundled[name].read_bytes()).hexdigest() == digest, name


def test_import_cdr_prints_each_files_counts(golden_subscribers):
    out = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_cdr", str(SAMPLES / FILE_1), str(SAMPLES / FILE_4), stdout=out,
                     stderr=StringIO())  # fmt: skip
    lines = out.getvalue().splitlines()
    assert lines[0] == (f"{FILE_1}: processed; read 16, accepted 14, rejected 2, duplicates 0")
    assert lines[1].startswith(f"{FILE_4}: quarantined; quarantined whole (R18)")
    assert len(lines) == 2
    assert refused.value.returncode == 4  # a quarantined file: a cron job notices
    assert str(refused.value) == "1 of 2 file(s) not processed (see above)"


def test_import_cdr_exits_zero_only_when_every_file_is_processed(golden_subscribers):
    out = StringIO()
    call_command("import_cdr", str(SAMPLES / FILE_1), stdout=out)
    assert out.getvalue().startswith(f"{FILE_1}: processed;")
    with pytest.raises(CommandError) as refused:
        call_command("import_cdr", str(SAMPLES / FILE_1), stdout=(out := StringIO()))
    assert refused.value.returncode == 3  # R17: the same bytes again are refused
    assert out.getvalue().startswith(f"{FILE_1}: duplicate;")


def test_import_cdr_reports_a_failed_file_with_the_worst_status(golden_subscribers, tmp_path):
    unreadable = tmp_path / "CDR_NOSUCHNET_20261101000500_000001.csv"
    unreadable.write_bytes(b"HEADER,whatever\n")
    out = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_cdr", str(unreadable), str(SAMPLES / FILE_4), stdout=out)
    assert refused.value.returncode == 5  # failed outranks quarantined
    assert [line.split(";")[0] for line in out.getvalue().splitlines()] == [
        f"{unreadable.name}: failed",
        f"{FILE_4}: quarantined",
    ]


def test_import_cdr_refuses_a_missing_path_before_ingesting_anything(golden_subscribers):
    with pytest.raises(CommandError) as refused:
        call_command("import_cdr", str(SAMPLES / FILE_1), "/nonexistent/CDR.csv",
                     stdout=StringIO())  # fmt: skip
    assert refused.value.returncode == 2
    assert UsageFile.objects.count() == 0


def test_gzip_file_is_read_like_the_plain_one(golden_subscribers, tmp_path):
    target = tmp_path / f"{FILE_1}.gz"
    target.write_bytes(gzip.compress((SAMPLES / FILE_1).read_bytes()))
    call_command("import_cdr", str(target), stdout=StringIO())
    usage_file = UsageFile.objects.get()
    assert usage_file.name == f"{FILE_1}.gz"
    assert (usage_file.records_read, usage_file.records_accepted) == (16, 14)


def test_inbox_scan_takes_files_and_moves_them_to_done(golden_subscribers, tmp_path):
    (tmp_path / FILE_1).write_bytes((SAMPLES / FILE_1).read_bytes())
    (tmp_path / "CDR_bad-name.csv").write_text("nothing")
    with override_settings(USAGE_INBOX_DIR=tmp_path):
        results = inbox_scan_task.delay().get()
    assert {r["file"]: r["status"] for r in results} == {
        "CDR_bad-name.csv": FileStatus.FAILED,
        FILE_1: FileStatus.PROCESSING,
    }
    assert (tmp_path / "done" / FILE_1).exists()
    assert (tmp_path / "failed" / "CDR_bad-name.csv").exists()
    assert UsageFile.objects.get(name=FILE_1).status == FileStatus.PROCESSED
    assert UsageEvent.objects.count() == 14
