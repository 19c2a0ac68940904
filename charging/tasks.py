"""Celery tasks of charging: thin wrappers around the mediation services."""

import logging
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.utils import timezone

from charging.leases import FILE, HeldElsewhere, worker_lease
from charging.models import FileOrigin, FileStatus, PartStatus, UsageFile, UsageFilePart
from charging.partitions import usage_file_part_process, usage_file_split
from charging.services import usage_file_process, usage_file_receive

logger = logging.getLogger(__name__)


@shared_task(
    name="charging.usage_file_process",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def usage_file_process_task(usage_file_id: int) -> dict:
    """Process a received usage file (read, check, rate).

    A file of CHARGING_SPLIT_MIN_BYTES or more is split into CHARGING_FILE_PARTS parts by
    subscriber group (charging.partitions), each rated by a task of its own, in parallel. A file
    another live worker holds (charging.leases) is left to it; a database outage (or a deadlock
    that outlasted its retries) runs the task again later.
    """
    usage_file = UsageFile.objects.get(pk=usage_file_id)
    if usage_file.status != FileStatus.PROCESSING:
        return {"file": usage_file.name, "status": usage_file.status}
    parts = settings.CHARGING_FILE_PARTS
    if parts > 1 and usage_file.size >= settings.CHARGING_SPLIT_MIN_BYTES:
        if not usage_file.part_count:
            try:
                with worker_lease(FILE, usage_file.pk):
                    UsageFile.objects.filter(pk=usage_file.pk).update(
                        worker_started_at=timezone.now()
                    )
                    usage_file_split(usage_file=usage_file, parts=parts)
            except HeldElsewhere:
                return {"file": usage_file.name, "status": "held by another worker"}
        pending = usage_file.parts.exclude(status=PartStatus.DONE).values_list("pk", flat=True)
        for part_id in pending:
            usage_file_part_process_task.delay(part_id)
        return {"file": usage_file.name, "status": usage_file.status, "parts": len(pending)}
    try:
        usage_file = usage_file_process(usage_file=usage_file)
    except ValidationError as refused:  # processed meanwhile, or held by a live worker
        usage_file.refresh_from_db()
        return {"file": usage_file.name, "status": usage_file.status, "detail": refused.messages}
    return {
        "file": usage_file.name,
        "status": usage_file.status,
        "read": usage_file.records_read,
        "accepted": usage_file.records_accepted,
        "rejected": usage_file.records_rejected,
        "duplicates": usage_file.records_duplicate,
    }


@shared_task(
    bind=True,
    name="charging.usage_file_part_process",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def usage_file_part_process_task(self, part_id: int) -> dict:
    """Rate one part of a split usage file; a part that failed rolled back alone and runs again."""
    part = usage_file_part_process(part=UsageFilePart.objects.get(pk=part_id))
    return {"part": part.pk, "number": part.number, "status": part.status,
            "read": part.records_read, "accepted": part.records_accepted,
            "worker": self.request.hostname}  # fmt: skip


@shared_task(name="charging.inbox_scan")
def inbox_scan_task() -> list[dict]:
    """Take every usage file waiting in the inbox directory, oldest name first.

    A taken file is moved to ``done/`` (or ``failed/`` when it could not be read as a usage
    file); its bytes are kept with the UsageFile record in every case.
    """
    inbox = Path(settings.USAGE_INBOX_DIR)
    if not inbox.is_dir():
        return []
    done, failed = inbox / "done", inbox / "failed"
    done.mkdir(exist_ok=True)
    failed.mkdir(exist_ok=True)
    results = []
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.name.startswith("CDR_")):
        with path.open("rb") as content:
            usage_file = usage_file_receive(
                name=path.name, content=content, origin=FileOrigin.INBOX
            )
        target = failed if usage_file.status == FileStatus.FAILED else done
        path.replace(target / path.name)
        if usage_file.status == FileStatus.PROCESSING:
            usage_file_process_task.delay(usage_file.pk)
        results.append({"file": usage_file.name, "status": usage_file.status})
        logger.info("inbox: %s -> %s", path.name, usage_file.status)
    return results


@shared_task(name="charging.rerate_job_run", acks_late=True)
def rerate_job_run_task(job_id: int) -> dict:
    """Run a queued rerating job (R15)."""
    from charging.models import RerateJob
    from charging.rerating import rerate_job_run

    job = rerate_job_run(job=RerateJob.objects.get(pk=job_id))
    return {"job": job.pk, "status": job.status, "changed": job.events_changed}


@shared_task(name="charging.usage_months_ahead")
def usage_months_ahead_task() -> list[str]:
    """Create the usage store's partitions of this month and the next ones (usage_store)."""
    from charging.usage_store import usage_months_ahead

    return [f"{month:%Y-%m}" for month in usage_months_ahead()]


@shared_task(name="charging.reservations_expire", ignore_result=True)
def reservations_expire_task() -> int:
    """Release the online charging grants past their validity (R22); return how many."""
    from charging.online.services import reservations_expire

    closed = reservations_expire()
    if closed:
        logger.info("online charging: %s sessions expired (R22)", closed)
    return closed
