"""kill -9 of a real import mid-file: the file is seen stalled and every door retries it (issue 13).

A real ``manage.py import_cdr`` process is stopped after it wrote its first chunk (inside the
file's transaction) and killed with SIGKILL. PostgreSQL rolls its transaction back and drops its
session advisory lock (charging.leases): the file is left ``processing`` with nothing written,
and is seen stalled because no live worker holds it, not because of its age. It is then retried
by the console's button, the API's action, ``import_cdr --retry`` or a resend of the same bytes;
afterwards the ledger balances (read = accepted + rejected + duplicates, R16), no record is
charged twice (R17) and the result is the one of a file never interrupted.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from charging.models import FileStatus, RejectedRecord, UsageEvent, UsageFile, UsageRecordKey
from charging.selectors import usage_files_stalled
from charging.services import usage_file_retry
from tests.charging.factories import cdr_file, file_name
from tests.charging.test_scale import outcomes, processed, split_file_lines
from tests.reliability.conftest import lost_worker_world

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="advisory locks and a second process need PostgreSQL",
    ),
]

# A real import_cdr, stopped after its first chunk is written (uncommitted) until it is killed.
IMPORT_THEN_HANG = """
import os, pathlib, sys, time
import django
django.setup()
from charging import pipeline, services
services.usage_file_process.__kwdefaults__["chunk"] = 20
write = pipeline._rate_and_write
def write_then_hang(*args, **kwargs):
    write(*args, **kwargs)
    pathlib.Path(sys.argv[2]).touch()
    time.sleep(600)
pipeline._rate_and_write = write_then_hang
from django.core.management import CommandError, call_command
call_command("import_cdr", sys.argv[1])
"""


def child_env() -> dict:
    database = connection.settings_dict["NAME"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_site.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
    }


def wait_for(predicate, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def killed_mid_file(tmp_path, content: bytes) -> UsageFile:
    """Run import_cdr on the file in a process of its own; kill -9 it mid-file."""
    path = tmp_path / file_name(1)
    path.write_bytes(content)
    wrote = tmp_path / "first-chunk-written"
    child = subprocess.Popen(
        [sys.executable, "-c", IMPORT_THEN_HANG, str(path), str(wrote)],
        cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(lambda: wrote.exists() or child.poll() is not None, seconds=120,
                 what="the import's first chunk")  # fmt: skip
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        usage_file = UsageFile.objects.get(name=path.name)
        # Working, with its first chunk written: a live worker holds it, so it is not stalled.
        assert usage_file.status == FileStatus.PROCESSING
        assert usage_file.worker_started_at is not None
        assert not usage_files_stalled().filter(pk=usage_file.pk).exists()
        with pytest.raises(Exception, match="being processed by a worker now"):
            usage_file_retry(usage_file=usage_file)
        child.send_signal(signal.SIGKILL)  # kill -9: no cleanup, no status update
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()
    wait_for(lambda: usage_files_stalled().filter(pk=usage_file.pk).exists(), seconds=30,
             what="PostgreSQL to drop the killed session's lock")  # fmt: skip
    return usage_file


def assert_ledger(usage_file: UsageFile, whole: dict) -> None:
    usage_file.refresh_from_db()
    assert usage_file.status == FileStatus.PROCESSED
    assert usage_file.records_read == (
        usage_file.records_accepted + usage_file.records_rejected + usage_file.records_duplicate
    )  # R16
    events = UsageEvent.objects.filter(usage_file=usage_file)
    assert events.count() == usage_file.records_accepted
    record_ids = list(events.values_list("record_id", flat=True))
    assert len(record_ids) == len(set(record_ids))  # no event twice (R17)
    assert UsageRecordKey.objects.count() == UsageEvent.objects.count()
    assert UsageFile.objects.filter(checksum=usage_file.checksum).count() == 1
    assert outcomes(usage_file) == whole  # as if it had never been interrupted


@pytest.fixture
def world(tmp_path):
    lost_worker_world()
    lines = split_file_lines(120)
    lines.append(lines[5])  # a duplicate line (R17): read, counted, not charged
    content = cdr_file(lines)
    # What the file gives when nothing interrupts it, undone afterwards.
    with transaction.atomic():
        whole = processed(content, one_pass=True, chunk=20)
        transaction.set_rollback(True)
    assert whole["counts"][0] == 121 and whole["counts"][2] > 0 and whole["counts"][3] == 1
    return content, whole


def test_killed_import_is_retried_from_the_console(world, tmp_path, operator, console_client_for):
    content, whole = world
    usage_file = killed_mid_file(tmp_path, content)
    # Nothing of the killed attempt was written.
    assert not UsageEvent.objects.filter(usage_file=usage_file).exists()
    assert not RejectedRecord.objects.filter(usage_file=usage_file).exists()
    client = console_client_for(operator)
    page = client.get(usage_file.get_absolute_url()).content.decode()
    assert "stalled: no worker holds it" in page
    retry_url = reverse("charging:usagefile-retry", args=[usage_file.pk])
    assert retry_url in page
    listing = client.get(reverse("charging:usagefile-list")).content.decode()
    assert "stalled: no worker holds it" in listing

    answer = client.post(retry_url)  # the task runs eagerly once the retry is committed

    assert answer.status_code == 302
    assert_ledger(usage_file, whole)
    page = client.get(usage_file.get_absolute_url()).content.decode()
    assert "stalled" not in page and retry_url not in page


def test_killed_import_is_retried_through_the_api(world, tmp_path, finance, api_client_for):
    content, whole = world
    usage_file = killed_mid_file(tmp_path, content)
    api = api_client_for(finance)  # finance may retry: unrated usage is revenue never billed
    url = f"/api/v1/charging/usageFile/{usage_file.pk}"
    assert api.get(url).json()["stalled"] is True

    answer = api.post(f"{url}/retry", HTTP_IDEMPOTENCY_KEY="retry-killed-import")

    assert answer.status_code == 202, answer.content
    assert_ledger(usage_file, whole)
    body = api.get(url).json()
    assert (body["status"], body["stalled"]) == ("processed", False)
    again = api.post(f"{url}/retry", HTTP_IDEMPOTENCY_KEY="retry-again")
    assert again.status_code == 400
    assert "nothing to retry" in again.content.decode()


def test_killed_import_is_retried_by_the_command_line(world, tmp_path, capsys):
    content, whole = world
    usage_file = killed_mid_file(tmp_path, content)

    call_command("import_cdr", retry=[usage_file.pk])

    assert f"{usage_file.name}: processed; read 121" in capsys.readouterr().out
    assert_ledger(usage_file, whole)
    with pytest.raises(CommandError) as refused:  # processed now: nothing to retry, exit 6
        call_command("import_cdr", retry=[usage_file.pk])
    assert refused.value.returncode == 6


def test_a_resend_of_a_stalled_file_takes_it_over(world, tmp_path, capsys):
    content, whole = world
    usage_file = killed_mid_file(tmp_path, content)
    resent = tmp_path / "again" / usage_file.name
    resent.parent.mkdir()
    resent.write_bytes(content)

    call_command("import_cdr", str(resent))  # not refused as a duplicate (R17): exit 0

    assert f"{usage_file.name}: processed; read 121" in capsys.readouterr().out
    assert_ledger(usage_file, whole)
    assert not UsageFile.objects.filter(status=FileStatus.DUPLICATE).exists()
