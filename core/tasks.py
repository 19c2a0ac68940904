"""Celery tasks of the core app."""

import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="core.health")
def health_task() -> dict:
    """Answer from a worker: proves a task travelled through the broker and back."""
    return {"status": "ok", "worker": socket.gethostname(), "at": timezone.now().isoformat()}


@shared_task(name="core.outbox_deliver", ignore_result=True)
def outbox_deliver_task(delivery_id: int) -> None:
    """Send one webhook delivery if it is due and no other worker is sending it."""
    from core.outbox.services import webhook_delivery_attempt

    webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="core.outbox_sweep")
def outbox_sweep_task() -> dict:
    """Send every webhook delivery that is due (beat): a lost nudge loses nothing."""
    from core.outbox.services import webhook_deliveries_sweep

    return {"sent": webhook_deliveries_sweep()}
