"""Reachability of the database and the Celery broker, for /healthz."""

from django.conf import settings
from django.db import connection


def check_database() -> dict:
    """Run one query against the database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"status": "down", "vendor": connection.vendor, "error": str(error)[:200]}
    return {"status": "up", "vendor": connection.vendor}


def check_broker(timeout: float = 2.0) -> dict:
    """Open a connection to the Celery broker (or say that tasks run eagerly)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "eager", "detail": "no broker configured: tasks run in-process"}
    from billing_site.celery import app

    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            transport = conn.transport_cls
    except Exception as error:
        return {"status": "down", "error": str(error)[:200]}
    return {"status": "up", "transport": str(transport)}


def health_report() -> tuple[bool, dict]:
    """Return whether everything needed is reachable, and the details."""
    database = check_database()
    broker = check_broker()
    healthy = database["status"] == "up" and broker["status"] in {"up", "eager"}
    return healthy, {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
    }
