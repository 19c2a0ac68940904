"""A real Celery worker killed with SIGKILL while it rates a part of a split file (issue 13).

The worker rates its part through the real broker and is stopped once the part's records are
written (inside the part's transaction), then killed with SIGKILL. PostgreSQL rolls the part back
and drops the worker's advisory lock on it (charging.leases): the file's page shows the part
"stalled: no worker holds it" at once, without waiting for the broker's visibility timeout, and
finance (console button) or an operator (API action) retries it. The file then balances and
rates exactly as the whole file rated by one process.
"""

import os
import signal
import subprocess
import sys

import pytest
from django.db import transaction
from django.urls import reverse

from charging.models import FileStatus, PartStatus, UsageEvent, UsageFile
from charging.partitions import usage_file_part_process, usage_file_split
from charging.selectors import usage_file_parts_stalled
from charging.services import usage_file_receive
from tests.charging.factories import cdr_file, file_name
from tests.charging.test_scale import outcomes, processed, split_file_lines
from tests.reliability.conftest import lost_worker_world
from tests.reliability.test_stalled_import import ROOT, child_env, wait_for

# A real Celery worker (solo pool: the task runs in this very process), stopped after its part's
# records are written, until it is killed.
WORKER_THEN_HANG = """
import pathlib, sys, time
import django
django.setup()
from charging import pipeline
write = pipeline._rate_and_write
def write_then_hang(*args, **kwargs):
    write(*args, **kwargs)
    pathlib.Path(sys.argv[2]).touch()
    time.sleep(600)
pipeline._rate_and_write = write_then_hang
from billing_site.celery import app
app.worker_main(["worker", "--pool=solo", "--concurrency=1", "-Q", sys.argv[1],
                 "-n", sys.argv[1] + "@%h", "--loglevel=WARNING", "--without-gossip",
                 "--without-mingle", "--without-heartbeat"])
"""


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="CELERY_BROKER_URL not set")
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"
)
@pytest.mark.parametrize("door", ["console", "api"])
def test_a_part_whose_worker_is_killed_is_seen_and_retried(
    door, tmp_path, finance, operator, console_client_for, api_client_for
):
    from billing_site.celery import app as celery_app
    from charging.tasks import usage_file_part_process_task

    lost_worker_world()
    content = cdr_file(split_file_lines(200))
    with transaction.atomic():  # the file rated whole by one process, undone afterwards
        whole = processed(content, one_pass=True, chunk=50)
        transaction.set_rollback(True)
    usage_file = usage_file_receive(name=file_name(1), content=content)
    lost, other = usage_file_split(usage_file=usage_file, parts=2)
    usage_file_part_process(part=other)  # the other worker's part is done and kept

    queue = f"rel-lost-part-{os.getpid()}-{door}"
    wrote = tmp_path / "part-written"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_THEN_HANG, queue, str(wrote)],
        cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        usage_file_part_process_task.apply_async((lost.pk,), queue=queue)
        wait_for(lambda: wrote.exists() or worker.poll() is not None, seconds=120,
                 what="the worker to write its part")  # fmt: skip
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        # Held by a live worker: being rated, not stalled, not offered for retry.
        assert not usage_file_parts_stalled().filter(pk=lost.pk).exists()
        worker.send_signal(signal.SIGKILL)  # kill -9: no cleanup, no status update
        worker.wait(timeout=20)
    finally:
        celery_app.conf.task_always_eager = eager
        if worker.poll() is None:
            worker.kill()
        worker.stderr.close()
    wait_for(lambda: usage_file_parts_stalled().filter(pk=lost.pk).exists(), seconds=30,
             what="PostgreSQL to drop the killed worker's lock")  # fmt: skip
    usage_file.refresh_from_db()
    lost.refresh_from_db()
    assert usage_file.status == FileStatus.PROCESSING
    assert lost.status == PartStatus.QUEUED and lost.records_read == 0  # rolled back whole
    retry_url = reverse("charging:usagefile-retry-parts", args=[usage_file.pk])

    if door == "console":  # finance retries from the file's page
        client = console_client_for(finance)
        page = client.get(usage_file.get_absolute_url()).content.decode()
        assert "stalled: no worker holds it" in page
        assert retry_url in page
        listing = client.get(reverse("charging:usagefile-list")).content.decode()
        assert "stalled: no worker holds it" in listing
        assert client.post(retry_url).status_code == 302
    else:  # an operator retries through the API
        api = api_client_for(operator)
        url = f"/api/v1/charging/usageFile/{usage_file.pk}"
        body = api.get(url).json()
        assert body["stalled"] is True
        assert [(p["number"], p["stalled"]) for p in body["part"]] == [
            (lost.number, True),
            (other.number, False),
        ][:: 1 if lost.number < other.number else -1]
        answer = api.post(f"{url}/retryParts", HTTP_IDEMPOTENCY_KEY=f"retry-{lost.pk}")
        assert answer.status_code == 202, answer.content

    usage_file.refresh_from_db()
    assert usage_file.status == FileStatus.PROCESSED
    assert usage_file.records_read == (
        usage_file.records_accepted + usage_file.records_rejected + usage_file.records_duplicate
    )  # R16
    record_ids = list(
        UsageEvent.objects.filter(usage_file=usage_file).values_list("record_id", flat=True)
    )
    assert len(record_ids) == len(set(record_ids)) == usage_file.records_accepted  # R17
    assert outcomes(UsageFile.objects.get(pk=usage_file.pk)) == whole
    assert not usage_file_parts_stalled().exists()
