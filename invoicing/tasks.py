"""Celery tasks of the invoicing: thin wrappers around its services."""

from celery import shared_task

from invoicing.models import BillRun, BillRunStatus, Invoice


@shared_task(name="invoicing.bill_run_execute", acks_late=True)
def bill_run_execute_task(bill_run_id: int, chunk_size: int | None = None) -> dict:
    """Draft the invoices of a bill run (resumable: a rerun bills only what is missing), in
    ``BILL_RUN_PARTS`` parts drafted by as many tasks when that setting is above one."""
    from django.conf import settings

    from invoicing.services import DEFAULT_CHUNK, bill_run_execute

    run = bill_run_execute(
        bill_run=BillRun.objects.get(pk=bill_run_id),
        chunk_size=chunk_size or DEFAULT_CHUNK,
        parts=getattr(settings, "BILL_RUN_PARTS", 1),
    )
    return {"run": run.pk, "status": run.status, "done": run.accounts_done}


@shared_task(name="invoicing.bill_run_part", acks_late=True)
def bill_run_part_task(bill_run_id: int, part: int, parts: int, chunk_size: int) -> dict:
    """Draft one part of a bill run (accounts whose id modulo ``parts`` is ``part``)."""
    from invoicing.services import bill_run_part

    run = bill_run_part(
        bill_run=BillRun.objects.get(pk=bill_run_id), part=part, parts=parts, chunk_size=chunk_size
    )
    return {"run": run.pk, "part": part, "status": run.status, "done": run.accounts_done}


@shared_task(name="invoicing.bill_run_issue", acks_late=True)
def bill_run_issue_task(bill_run_id: int, acting_user_id: int | None = None) -> dict:
    """Issue every draft of a bill run."""
    from django.contrib.auth import get_user_model

    from invoicing.services import bill_run_issue

    run = BillRun.objects.get(pk=bill_run_id)
    if run.status == BillRunStatus.ISSUED:
        return {"run": run.pk, "status": run.status}
    user = get_user_model().objects.filter(pk=acting_user_id).first() if acting_user_id else None
    run = bill_run_issue(bill_run=run, acting_user=user)
    return {"run": run.pk, "status": run.status, "issued": run.invoices_issued}


@shared_task(name="invoicing.invoice_document_render", acks_late=True)
def invoice_document_render_task(invoice_id: int, force: bool = False) -> dict:
    """Render an issued invoice's PDF once (again only when ``force``)."""
    from invoicing.documents import invoice_document_render

    document = invoice_document_render(invoice=Invoice.objects.get(pk=invoice_id), force=force)
    return {"invoice": invoice_id, "pages": document.pages if document else 0}


@shared_task(name="invoicing.dunning_run", acks_late=True, reject_on_worker_lost=True)
def dunning_run_task(today: str | None = None, acting_user_id: int | None = None) -> dict:
    """The daily dunning run (R30); safe to run again, and after a crash midway."""
    import datetime as dt

    from django.contrib.auth import get_user_model

    from invoicing.dunning import dunning_run

    user = get_user_model().objects.filter(pk=acting_user_id).first() if acting_user_id else None
    day = dt.date.fromisoformat(today) if today else None
    return dunning_run(today=day, acting_user=user)


@shared_task(name="invoicing.invoice_archive_build", acks_late=True, reject_on_worker_lost=True)
def invoice_archive_build_task(archive_id: int) -> dict:
    """Build the ZIP of a period's invoice PDFs."""
    from invoicing.downloads import invoice_archive_build
    from invoicing.models import InvoiceArchive

    archive = invoice_archive_build(archive=InvoiceArchive.objects.get(pk=archive_id))
    return {"archive": archive.pk, "status": archive.status, "documents": archive.documents}


@shared_task(name="invoicing.receipts_issue", acks_late=True, reject_on_worker_lost=True)
def receipts_issue_task() -> int:
    """Issue a receipt for every top-up without one (R29); their PDFs follow."""
    from invoicing.prepaid import receipts_issue

    return len(receipts_issue())
