"""/healthz and Celery: eager by default, a real worker through Redis when configured."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import override_settings

from billing_site.celery import app as celery_app
from core.tasks import health_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "up"
    assert body["broker"]["status"] in {"up", "eager"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client):
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0"
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["status"] == "down"


def test_health_task_runs_eagerly_without_a_broker():
    assert health_task.delay().get(timeout=5)["status"] == "ok"


@pytest.mark.broker
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="CELERY_BROKER_URL not set")
def test_a_real_worker_runs_a_task_sent_through_the_broker():
    queue = f"test-{os.getpid()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billing_site.settings.local"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "billing_site",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        result = health_task.apply_async(queue=queue)
        answer = result.get(timeout=max(deadline - time.monotonic(), 1))
        assert answer["status"] == "ok"
        assert answer["worker"]
        assert result.state == "SUCCESS"
    finally:
        celery_app.conf.task_always_eager = eager
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
