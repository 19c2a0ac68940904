"""A bill run whose worker is killed with SIGKILL mid-run is finished by a rerun: no account
twice, none left out (R26). A real Celery worker process, through the real broker."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from invoicing.models import BillRun, BillRunStatus, Invoice
from invoicing.services import bill_run_accounts, bill_run_execute
from tests.invoicing.builders import account_add, plan_add, subscription_add, world_build

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 160


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
def test_a_run_killed_with_sigkill_is_finished_by_a_rerun():
    from billing_site.celery import app as celery_app
    from invoicing.tasks import bill_run_execute_task

    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    for number in range(ACCOUNTS):
        account = account_add(world, name=f"K{number}")
        subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 1))
    run = BillRun.objects.create(cycle=world.cycle, period_year=2026, period_month=10)
    assert bill_run_accounts(run).count() == ACCOUNTS
    queue = f"billrun-{os.getpid()}"
    worker = _worker(queue, connection.settings_dict["NAME"])
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        bill_run_execute_task.apply_async((run.pk, 1), queue=queue)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if Invoice.objects.filter(bill_run=run).count() >= 10:
                break
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)  # kill -9: no cleanup, no status update
        worker.wait(timeout=20)
    finally:
        celery_app.conf.task_always_eager = eager
        if worker.poll() is None:
            worker.kill()
    killed = BillRun.objects.get(pk=run.pk)
    billed = Invoice.objects.filter(bill_run=run).count()
    assert killed.status == BillRunStatus.RUNNING  # the worker died without a word
    assert 10 <= billed < ACCOUNTS

    finished = bill_run_execute(bill_run=killed)

    assert finished.status == BillRunStatus.DRAFTED
    assert (finished.accounts_total, finished.accounts_done) == (ACCOUNTS, ACCOUNTS)
    per_account = Invoice.objects.values("billing_account").annotate(n=Count("id"))
    assert len(per_account) == ACCOUNTS and {row["n"] for row in per_account} == {1}
