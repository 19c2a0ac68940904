"""Celery tasks of the assurance: thin wrappers around its services."""

from celery import shared_task


@shared_task(name="assurance.reconciliation_scheduled")
def reconciliation_scheduled_task() -> dict:
    """Reconcile the last closed period and run the leakage checks (celery beat, daily)."""
    from assurance.services import reconciliation_scheduled

    outcome = reconciliation_scheduled()
    run = outcome.reconciliation
    return {"reconciliation": run.pk, "balanced": run.balanced, "findings": run.findings}
