"""Celery tasks of the settlement: thin wrappers around its services."""

from celery import shared_task
from django.core.exceptions import ValidationError

from settlement.models import SettlementRun, Statement


@shared_task(name="settlement.settlement_run_execute", acks_late=True, reject_on_worker_lost=True)
def settlement_run_execute_task(run_id: int) -> dict:
    """Compute a partner's statement of a month (idempotent while it is a draft)."""
    from settlement.services import settlement_run_execute, settlement_run_fail

    run = SettlementRun.objects.get(pk=run_id)
    statement = Statement.objects.filter(run=run).first()
    if statement is not None and statement.status != "draft":
        # Issued since the job was queued: the statement stays, the run has nothing to do.
        return {"run": run.pk, "status": run.status, "events": run.events}
    try:
        run = settlement_run_execute(run=run)
    except ValidationError as error:
        messages = (
            "; ".join(f"{field}: {' '.join(text)}" for field, text in error.message_dict.items())
            if hasattr(error, "error_dict")
            else "; ".join(error.messages)
        )
        run = settlement_run_fail(run=run, detail=messages)
    return {"run": run.pk, "status": run.status, "events": run.events}


@shared_task(
    name="settlement.statement_document_render", acks_late=True, reject_on_worker_lost=True
)
def statement_document_render_task(statement_id: int, force: bool = False) -> dict:
    """Render an issued statement's PDF once (again only when ``force``)."""
    from settlement.documents import statement_document_render

    statement = statement_document_render(
        statement=Statement.objects.get(pk=statement_id), force=force
    )
    return {"statement": statement_id, "pdf": bool(statement.pdf)}
