"""The outbox through a real broker: a committed event is sent by a Celery worker process."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, transaction

from billing_site.celery import app as celery_app
from core.models import DeliveryState, WebhookDelivery
from core.outbox import publish
from core.outbox import services as outbox
from tests.core.webhook_server import start_receiver

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="CELERY_BROKER_URL not set"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker shares PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def test_a_worker_sends_a_committed_event_after_commit():
    receiver, server = start_receiver()
    queue = f"test-outbox-{os.getpid()}"
    database = connection.settings_dict
    login = quote(database["USER"]) + (
        f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
    )
    url = f"postgres://{login}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_site.settings.local",
        "DATABASE_URL": url,  # the test database, which this test commits to
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billing_site", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "--loglevel=WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    eager, default_queue = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        outbox.webhook_endpoint_save(data={"name": "CRM", "url": receiver.url})
        with transaction.atomic():
            publish(event_type="webhook.test", payload={"through": "broker"})
        deadline = time.monotonic() + 60
        while receiver.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        delivery = WebhookDelivery.objects.get()
        while delivery.state == DeliveryState.PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
            delivery.refresh_from_db()
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = default_queue
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.shutdown()
        server.server_close()

    assert receiver.count() == 1
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1
