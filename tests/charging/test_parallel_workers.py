"""Two real Celery workers rate the parts of one file in parallel, through Redis (R11, R17).

Kept apart from test_scale: it needs committed data (a transactional test), which the module-wide
catalogue of that module, held in an open transaction, would not allow.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from charging.models import PartStatus, UsageFile
from charging.partitions import usage_file_split
from charging.services import usage_file_receive
from subscribers.models import Bucket
from tests.charging.factories import build_rating_catalogue, cdr_file, file_name, subscriber_add
from tests.charging.test_properties import OTHERS, TARGETS
from tests.charging.test_scale import family_second, outcomes, processed, split_file_lines
from tests.subscribers.builders import build_golden_subscribers

ROOT = Path(__file__).resolve().parents[2]


def _worker(queue: str, database: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_site.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billing_site", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="CELERY_BROKER_URL not set")
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"
)
def test_two_workers_rate_the_parts_of_one_file_in_parallel():
    from billing_site.celery import app as celery_app
    from charging.tasks import usage_file_part_process_task

    catalogue = build_rating_catalogue()
    build_golden_subscribers(catalogue.golden)
    for plan, msisdn, imsi in (("FAIR-T", TARGETS["FAIR-T"], "262031234500041"),
                               ("FAIR-O", TARGETS["FAIR-O"], "262031234500042"),
                               ("FAMILY", OTHERS[2], "262031234500043")):  # fmt: skip
        subscriber_add(catalogue, plan_code=plan, msisdn=msisdn, imsi=imsi)
    family_second(catalogue)
    content = cdr_file(split_file_lines(200))
    # What the file gives rated whole, by one process, undone afterwards.
    with transaction.atomic():
        whole = processed(content, one_pass=True, chunk=50)
        transaction.set_rollback(True)
    usage_file = usage_file_receive(name=file_name(1), content=content)
    parts = usage_file_split(usage_file=usage_file, parts=2)
    queues = [f"parts-{os.getpid()}-{part.number}" for part in parts]
    workers = [_worker(queue, connection.settings_dict["NAME"]) for queue in queues]
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        results = [
            usage_file_part_process_task.apply_async((part.pk,), queue=queue)
            for part, queue in zip(parts, queues, strict=True)
        ]
        deadline = time.monotonic() + 120
        answers = [r.get(timeout=max(deadline - time.monotonic(), 1)) for r in results]
    finally:
        celery_app.conf.task_always_eager = eager
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    assert len({answer["worker"] for answer in answers}) == 2
    assert all(answer["status"] == PartStatus.DONE for answer in answers)
    assert outcomes(UsageFile.objects.get(pk=usage_file.pk)) == whole
    for bucket in Bucket.objects.all():  # never overdrawn (R11)
        moved = bucket.movements.aggregate(total=Sum("quantity"))["total"] or 0
        assert bucket.initial + moved >= 0
