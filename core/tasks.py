"""Celery tasks of the core app."""

import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="core.health")
def health_task() -> dict:
    """Answer from a worker: proves a task travelled through the broker and back."""
    return {"status": "ok", "worker": socket.gethostname(), "at": timezone.now().isoformat()}
