"""Mediation and rating: files in, rated events out, nothing lost (R16-R19, R11b).

A usage file goes through two passes inside one transaction, so that a crash leaves nothing
half-loaded and the file can simply be processed again:

1. Read, in line order and in chunks: each line is parsed; a bad one becomes a rejected record
   with its reason, a record id seen before (earlier in the file, or accepted from an earlier
   file of the same source) is counted as a duplicate (R17), and the rest wait in a staging table.
2. Rate, in order of event time (ties: line order, R11b), in chunks: the subscriber is resolved
   at the event's instant (R19), then the rating engine prices it retail and wholesale, drawing
   allowances as it goes; events, bucket draws and fair-use counts are written in bulk.
"""

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from charging.cdr import (
    MAX_LINE_CHARS,
    READ_ERRORS,
    CdrError,
    UsageRecord,
    iter_records,
    open_lines,
    parse_file_name,
    parse_line,
    read_layout,
    record_id_of,
    storable_text,
)
from charging.models import (
    FileOrigin,
    FileStatus,
    RejectedRecord,
    RejectStatus,
    SequenceGap,
    UsageEvent,
    UsageFile,
    UsageRecordKey,
    UsageStaging,
)
from charging.rating import RatingRun
from charging.selectors import rejected_records_visible_to
from core.console.formats import local_text
from subscribers.selectors import brands_of, require_every_brand, subscriptions_visible_to

logger = logging.getLogger(__name__)

CHUNK = 5_000


@dataclass
class FileCounts:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0

    def record_on(self, target) -> None:
        """Set the ``records_*`` counts of a usage file (or of one of its parts)."""
        target.records_read = self.read
        target.records_accepted = self.accepted
        target.records_rejected = self.rejected
        target.records_duplicate = self.duplicate


def _user(acting_user):
    return acting_user if getattr(acting_user, "is_authenticated", False) else None


# --- receiving a file -----------------------------------------------------------------------


def usage_file_receive(
    *, name: str, content, origin: str = FileOrigin.UPLOAD, acting_user=None
) -> UsageFile:
    """Record a received file; refuse a duplicate (R17) or quarantine a broken frame (R18).

    ``content`` is the file's bytes or a binary file (an upload, an open file): it is streamed,
    never held whole in memory. The file is kept as received in every case. A file that may be
    processed is left in status ``processing`` for usage_file_process.

    A user limited to some brands is refused (PermissionDenied) before anything is kept: a host
    network's file charges the subscribers of every brand it names.
    """
    require_every_brand(acting_user, "a host network's usage file")
    content = ContentFile(content) if isinstance(content, bytes | bytearray) else File(content)
    checksum, size = _checksum(content)
    parsed = parse_file_name(name)
    usage_file = UsageFile(
        name=name.rsplit("/", 1)[-1],
        source=parsed.source if parsed else "",
        sequence=parsed.sequence if parsed else None,
        file_time=parsed.file_time if parsed else None,
        checksum=checksum,
        size=size,
        origin=origin,
        status=FileStatus.PROCESSING,
        received_by=_user(acting_user),
    )
    usage_file.content.save(usage_file.name, content, save=False)
    original = UsageFile.objects.filter(checksum=checksum).exclude(
        status__in=(FileStatus.DUPLICATE, FileStatus.FAILED)
    )
    original = original.first()
    if original is not None:
        if _stalled(original):
            return _take_over(usage_file, original)
        return _refuse_duplicate(usage_file, original)
    if parsed is None:
        usage_file.status = FileStatus.FAILED
        usage_file.status_detail = (
            "the name does not follow CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv[.gz]"
        )
    else:
        from catalog.models import HostNetwork

        usage_file.host_network = HostNetwork.objects.filter(code=parsed.source).first()
        if usage_file.host_network is None:
            usage_file.status = FileStatus.FAILED
            usage_file.status_detail = f"no host network has the code {parsed.source}"
    if usage_file.status == FileStatus.PROCESSING:
        try:
            with _stored_lines(usage_file) as lines:
                layout = read_layout(lines)
        except READ_ERRORS as error:
            usage_file.status = FileStatus.FAILED
            usage_file.status_detail = f"unreadable: {error}"[:500]
        else:
            usage_file.trailer_count = layout.trailer_count
            if not layout.intact:
                usage_file.status = FileStatus.QUARANTINED
                usage_file.status_detail = f"quarantined whole (R18): {layout.problem}"
    try:
        with transaction.atomic():
            usage_file.save()
            if parsed is not None and usage_file.host_network is not None:
                _detect_sequence_gap(usage_file)
    except IntegrityError:
        original = UsageFile.objects.exclude(
            status__in=(FileStatus.DUPLICATE, FileStatus.FAILED)
        ).get(checksum=checksum)
        return _refuse_duplicate(usage_file, original)
    logger.info("usage file %s received: %s", usage_file.name, usage_file.status)
    return usage_file


def _checksum(content: File) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    for chunk in content.chunks():
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    return digest.hexdigest(), size


@contextmanager
def records_of(usage_file: UsageFile, part=None):
    """``(line number, raw line)`` of each record of a file, or of one of its parts, streaming."""
    if part is None:
        with _stored_lines(usage_file) as lines:
            yield iter_records(lines)
        return
    part.content.open("rb")
    try:
        # A part's line is the record's line number, a tab and the line as bounded when the
        # file was split: room for the number, so a too-long record stays too long.
        yield _part_records(open_lines(_unwrapped(part.content), max_chars=MAX_LINE_CHARS + 16))
    finally:
        part.content.close()


def _part_records(lines):
    for line in lines:
        number, raw = line.rstrip("\n").split("\t", 1)
        yield int(number), raw


def _unwrapped(content):
    """The open file under a stored file's Django wrapper, to read lines from.

    Reading through the wrapper asks its ``closed`` property, in Python, once a line (a tenth
    of the time spent splitting a file, issue 14); the file it wraps answers in C.
    """
    wrapper = content.file
    inner = getattr(wrapper, "file", None)
    return inner if inner is not None and hasattr(inner, "readinto") else wrapper


@contextmanager
def _stored_lines(usage_file: UsageFile):
    """The stored file's lines, streaming (cdr.open_lines)."""
    usage_file.content.open("rb")
    try:
        yield open_lines(_unwrapped(usage_file.content))
    finally:
        usage_file.content.close()


def _stalled(usage_file: UsageFile) -> bool:
    from charging.selectors import usage_files_stalled

    return (
        usage_file.status == FileStatus.PROCESSING
        and usage_files_stalled(UsageFile.objects.filter(pk=usage_file.pk)).exists()
    )


def _take_over(usage_file: UsageFile, original: UsageFile) -> UsageFile:
    """The same bytes sent again while their file is stalled: the file is processed again.

    Its worker died with nothing written (charging.leases), so the resend is not a duplicate
    (R17): the stalled file takes it, and this copy of the bytes is not kept twice.
    """
    usage_file.content.delete(save=False)
    original.worker_started_at = None
    original.status_detail = (
        f"Sent again on {local_text(timezone.now())} while stalled: processed again from the "
        "start; nothing of the earlier attempt was written"
    )
    original.save(update_fields=["worker_started_at", "status_detail"])
    logger.info("usage file %s: sent again while stalled, taken over", original.name)
    return original


def _refuse_duplicate(usage_file: UsageFile, original: UsageFile) -> UsageFile:
    usage_file.pk = None
    usage_file.status = FileStatus.DUPLICATE
    usage_file.duplicate_of = original
    usage_file.status_detail = (
        f"refused before reading (R17): the same bytes arrived as {original.name} "
        f"on {local_text(original.received_at)}"
    )
    usage_file.save()
    return usage_file


def _detect_sequence_gap(usage_file: UsageFile) -> None:
    """Flag the sequence numbers of this source that were skipped (a missing file)."""
    previous = (
        UsageFile.objects.filter(source=usage_file.source, sequence__isnull=False)
        .exclude(status=FileStatus.DUPLICATE)
        .exclude(pk=usage_file.pk)
        .aggregate(last=Max("sequence"))["last"]
    )
    expected = 1 if previous is None else previous + 1
    if usage_file.sequence > expected:
        SequenceGap.objects.create(
            source=usage_file.source,
            missing_from=expected,
            missing_to=usage_file.sequence - 1,
            detected_in=usage_file,
        )
    # A late file closes the gap it falls in; the numbers still missing stay open as new gaps.
    sequence = usage_file.sequence
    for gap in SequenceGap.objects.select_for_update().filter(
        source=usage_file.source,
        missing_from__lte=sequence,
        missing_to__gte=sequence,
        resolved_at__isnull=True,
    ):
        gap.resolved_at = timezone.now()
        gap.save(update_fields=["resolved_at"])
        for first, last in ((gap.missing_from, sequence - 1), (sequence + 1, gap.missing_to)):
            if first <= last:
                SequenceGap.objects.create(
                    source=gap.source, missing_from=first, missing_to=last,
                    detected_in=gap.detected_in,
                )  # fmt: skip


def usage_file_ingest(
    *, name: str, content, origin: str = FileOrigin.UPLOAD, acting_user=None
) -> UsageFile:
    """Receive a file and, if it may be processed, process it at once."""
    usage_file = usage_file_receive(
        name=name, content=content, origin=origin, acting_user=acting_user
    )
    if usage_file.status == FileStatus.PROCESSING:
        usage_file = usage_file_process(usage_file=usage_file)
    return usage_file


# --- processing a file ----------------------------------------------------------------------


def usage_file_process(
    *, usage_file: UsageFile, chunk: int = CHUNK, one_pass: bool = True
) -> UsageFile:
    """Read, check and rate every record of a received file, in one transaction (R16).

    A file whose records stand in event-time order, with no duplicate, takes the one-pass path
    (charging.pipeline): read, rate and write in streaming chunks. Any other file, or any file
    when ``one_pass`` is false, takes the two passes of this module's docstring. Both give the
    same result for the files the one-pass path takes; it hands over to the two passes (its work
    undone) at the first record that tells it the file is not one of them. A file that brings
    records of sessions charged online takes the two passes, which skip them (R23).

    The worker holds the file's lease (charging.leases) while it works: a file whose worker
    dies is seen stalled at once and can be retried (usage_file_retry). A file another live
    worker holds is refused (ValidationError). A transaction chosen as a deadlock's victim runs
    again, a few times (issue 13).
    """
    from charging.leases import FILE, HeldElsewhere, retrying_conflicts, worker_lease

    try:
        with worker_lease(FILE, usage_file.pk):
            UsageFile.objects.filter(pk=usage_file.pk, status=FileStatus.PROCESSING).update(
                worker_started_at=timezone.now()
            )
            return retrying_conflicts(
                lambda: _process(usage_file, chunk, one_pass), what=f"usage file {usage_file}"
            )
    except HeldElsewhere:
        raise ValidationError(
            {"status": f"file {usage_file.name} is being processed by another worker now"}
        ) from None


def _process(usage_file: UsageFile, chunk: int, one_pass: bool) -> UsageFile:
    from charging.usage_store import usage_months_ensure_for_file

    try:
        # The months' partitions first, in transactions of their own (charging.usage_store).
        if usage_file.status == FileStatus.PROCESSING:
            usage_months_ensure_for_file(usage_file)
        with transaction.atomic():
            usage_file = UsageFile.objects.select_for_update().get(pk=usage_file.pk)
            if usage_file.status != FileStatus.PROCESSING:
                raise ValidationError({"status": f"file {usage_file.name} is {usage_file.status}"})
            counts = _one_pass_unless_charged_online(usage_file, chunk) if one_pass else None
            if counts is None:
                counts = process_two_passes(usage_file, chunk=chunk)
            counts.record_on(usage_file)
            usage_file.status = FileStatus.PROCESSED
            usage_file.processed_at = timezone.now()
            usage_file.save()
    except (ValidationError, OperationalError):
        raise  # a file not to process, or the database away for a while: the caller retries
    except Exception as error:
        from charging.leases import lock_conflict

        if lock_conflict(error):  # COPY raises psycopg's own errors: retried like the others
            raise
        return _processing_failed(usage_file, error)
    logger.info(
        "usage file %s: read %s, accepted %s, rejected %s, duplicates %s",
        usage_file.name, counts.read, counts.accepted, counts.rejected, counts.duplicate,
    )  # fmt: skip
    return usage_file


def usage_file_retry(*, usage_file: UsageFile, acting_user=None) -> UsageFile:
    """Hand a file that no worker holds back to the workers; the caller dispatches it.

    For a file left processing by a worker that died (kill -9, a lost host: its lease is gone,
    charging.leases) or one whose worker never came. Its transaction was rolled back whole, so
    nothing of the attempt was written and it is processed from the start; its records are
    never counted twice (R16, R17). A file split into parts is retried part by part
    (charging.partitions usage_file_parts_retry). A user limited to some brands is refused: a
    host network's file charges every brand it names.
    """
    from charging.leases import FILE, held_ids

    require_every_brand(acting_user, "a host network's usage file")
    busy = ValidationError({"status": f"file {usage_file.name} is being processed by a worker now"})
    if usage_file.pk in (held_ids(FILE) or ()):
        raise busy  # before waiting for the row a live worker's transaction may hold
    with transaction.atomic():
        try:
            usage_file = UsageFile.objects.select_for_update(nowait=True).get(pk=usage_file.pk)
        except OperationalError:
            raise busy from None
        if usage_file.status != FileStatus.PROCESSING:
            raise ValidationError(
                {"status": f"file {usage_file.name} is {usage_file.status}: nothing to retry"}
            )
        if usage_file.part_count:
            raise ValidationError(
                {"status": f"file {usage_file.name} is rated in parts: retry its parts"}
            )
        if usage_file.pk in (held_ids(FILE) or ()):
            raise busy
        by = f" by {acting_user}" if _user(acting_user) else ""
        usage_file.worker_started_at = None
        usage_file.status_detail = (
            f"Retried on {local_text(timezone.now())}{by}: no worker held it any more; "
            "nothing of the earlier attempt was written"
        )
        usage_file.save(update_fields=["worker_started_at", "status_detail"])
    logger.info("usage file %s: retried%s", usage_file.name, by)
    return usage_file


class _ChargedOnline(Exception):
    """The file brings records of sessions charged online: the two passes take it (R23)."""


def _one_pass_unless_charged_online(usage_file: UsageFile, chunk: int):
    """Run the one-pass path; undo it and return None when the file brings online records.

    The one-pass path has no step that skips a record charged online already, so a file that
    brings one is given to the two passes, which count it as a duplicate (R17, R23).
    """
    from charging.pipeline import process_in_order

    try:
        with transaction.atomic():
            counts = process_in_order(usage_file, chunk=chunk)
            if counts is not None and usage_file_brings_online_records(usage_file):
                raise _ChargedOnline
            return counts
    except _ChargedOnline:
        logger.info("usage file %s: records charged online, two passes (R23)", usage_file.name)
        return None


def usage_file_brings_online_records(usage_file: UsageFile) -> bool:
    """Tell whether events accepted from a file belong to sessions charged online (R23)."""
    sessions = _online_sessions(usage_file.source)
    if not sessions.exists():
        return False
    return (
        UsageEvent.objects.filter(usage_file=usage_file)
        .exclude(charging_id="")
        .filter(Exists(sessions.filter(charging_id=OuterRef("charging_id"))))
        .exists()
    )


def _online_sessions(source: str):
    """Sessions of a host network that were charged online: a record with their charging id
    in a usage file of that network is the same usage, not to be charged again (R23)."""
    from charging.online.models import ChargingSession, SessionStatus

    return (
        ChargingSession.objects.filter(host_network__code=source)
        .exclude(charging_id="")
        .exclude(status=SessionStatus.REFUSED)
    )


def _charged_online(source: str, records) -> set[str]:
    """The charging ids among records that sessions charged online already (R23)."""
    ids = {record.charging_id for record in records if record.charging_id}
    if not ids:
        return set()
    return set(
        _online_sessions(source).filter(charging_id__in=ids).values_list("charging_id", flat=True)
    )


def _processing_failed(usage_file: UsageFile, error: Exception) -> UsageFile:
    """Mark a file failed by an error nobody foresaw, instead of leaving it processing forever.

    Its transaction was rolled back: nothing of it was written, and a failed file is not a
    duplicate (R17), so it can be sent again once the cause is fixed.
    """
    logger.exception("usage file %s: processing failed", usage_file.name)
    UsageFile.objects.filter(pk=usage_file.pk, status=FileStatus.PROCESSING).update(
        status=FileStatus.FAILED,
        status_detail=(
            f"processing stopped, nothing written ({type(error).__name__}: {error}); "
            "send the file again once the cause is fixed"
        )[:500],
    )
    usage_file.refresh_from_db()
    return usage_file


def process_two_passes(usage_file: UsageFile, *, chunk: int, part=None) -> FileCounts:
    """The two passes of this module's docstring, over a file or one of its parts."""
    from charging.pipeline import cyclic_gc_paused

    with cyclic_gc_paused():
        return _two_passes(usage_file, chunk, part)


def _two_passes(usage_file: UsageFile, chunk: int, part) -> FileCounts:
    counts = FileCounts()
    number = part.number if part else 0
    with records_of(usage_file, part) as records:
        _read_pass(usage_file, records, counts, chunk, number)
    run = RatingRun(source=usage_file.source)
    staged = UsageStaging.objects.filter(usage_file=usage_file, part=number).order_by(
        "started_at", "line_number"
    )
    batch: list[UsageRecord] = []
    for row in staged.values_list("line_number", "raw").iterator(chunk_size=chunk):
        batch.append(parse_line(row[1], line_number=row[0]))
        if len(batch) >= chunk:
            _rate_chunk(run, usage_file, batch, counts)
            batch = []
    if batch:
        _rate_chunk(run, usage_file, batch, counts)
    UsageStaging.objects.filter(usage_file=usage_file, part=number).delete()
    return counts


def _read_pass(usage_file: UsageFile, records, counts: FileCounts, chunk: int, part: int) -> None:
    """Pass 1, line order: rejects with reasons, duplicates (R17), the rest to staging."""
    pending: list[tuple[int, str]] = []
    for number, raw in records:
        counts.read += 1
        pending.append((number, raw))
        if len(pending) >= chunk:
            _read_chunk(usage_file, pending, counts, part)
            pending = []
    if pending:
        _read_chunk(usage_file, pending, counts, part)


def _read_chunk(
    usage_file: UsageFile, lines: list[tuple[int, str]], counts: FileCounts, part: int
) -> None:
    rejects, accepted = [], []
    for number, raw in lines:
        try:
            record = parse_line(raw, line_number=number)
        except CdrError as error:
            record_id = record_id_of(raw)
            rejects.append(
                RejectedRecord(
                    usage_file=usage_file, line_number=number, record_id=record_id,
                    raw=storable_text(raw), reason=error.reason, detail=error.detail[:300],
                )
            )  # fmt: skip
            continue
        accepted.append(record)
    ids = [record.record_id for record in accepted]
    seen = set(
        UsageStaging.objects.filter(
            usage_file=usage_file, part=part, record_id__in=ids
        ).values_list("record_id", flat=True)
    )
    seen |= set(
        UsageRecordKey.objects.filter(source=usage_file.source, record_id__in=ids).values_list(
            "record_id", flat=True
        )
    )
    online = _charged_online(usage_file.source, accepted)
    staging = []
    for record in accepted:
        if record.record_id in seen or record.charging_id in online:
            counts.duplicate += 1
            continue
        seen.add(record.record_id)
        staging.append(
            UsageStaging(
                usage_file=usage_file, part=part, line_number=record.line_number,
                record_id=record.record_id, started_at=record.started_at, raw=record.raw,
            )
        )  # fmt: skip
    RejectedRecord.objects.bulk_create(rejects)
    UsageStaging.objects.bulk_create(staging)
    counts.rejected += len(rejects)


def _rate_chunk(run: "RatingRun", usage_file, records: list[UsageRecord], counts) -> None:
    events, rejects = run.rate(records, usage_file=usage_file)
    RejectedRecord.objects.bulk_create(rejects)
    counts.rejected += len(rejects)
    counts.accepted += len(events)
    run.save(events)
    _close_resent_rejects(usage_file.source, events)


def _close_resent_rejects(source: str, events: list[UsageEvent]) -> None:
    """Close the open rejects of the source that these accepted events reprocess (R17)."""
    event_ids = {event.record_id: event.pk for event in events}
    if event_ids:
        rejects_close_reprocessed(
            RejectedRecord.objects.filter(
                usage_file__source=source, record_id__in=list(event_ids), status=RejectStatus.OPEN
            ),
            event_ids,
        )


def rejects_close_reprocessed(rejects, event_ids: dict[str, int]) -> int:
    """Close open rejects whose record was sent again and accepted: a reprocessing (R16, R17).

    ``event_ids`` maps each record id to its event. A record rejected more than once (in several
    files, or on several lines) is accepted once: the event is linked to the first rejection (a
    one-to-one link), the others are closed with it.
    """
    rejects = list(rejects.order_by("pk"))
    now, linked = timezone.now(), set()
    for reject in rejects:
        reject.status = RejectStatus.REPROCESSED
        reject.reprocessed_at = now
        if reject.record_id not in linked:
            linked.add(reject.record_id)
            reject.usage_event_id = event_ids[reject.record_id]
    RejectedRecord.objects.bulk_update(rejects, ["status", "reprocessed_at", "usage_event"])
    return len(rejects)


# --- corrections ----------------------------------------------------------------------------


def _require_reject_of_user(rejected_record: RejectedRecord, acting_user) -> None:
    """Refuse a brand-limited user a rejected record that names no subscriber of their brands."""
    if acting_user is None or brands_of(acting_user) is None:
        return
    if not rejected_records_visible_to(acting_user).filter(pk=rejected_record.pk).exists():
        raise PermissionDenied("you are limited to some brands: this record is not theirs")


def _require_subscription_of_user(event: UsageEvent, acting_user) -> None:
    """Refuse charging a subscription of another brand on behalf of a brand-limited user."""
    if acting_user is None or brands_of(acting_user) is None:
        return
    if not subscriptions_visible_to(acting_user).filter(pk=event.subscription_id).exists():
        raise PermissionDenied(
            "you are limited to some brands: the record charges another brand's subscriber"
        )


def rejected_record_reprocess(
    *, rejected_record: RejectedRecord, corrected_raw: str | None = None, acting_user=None
) -> RejectedRecord:
    """Process a rejected record again, corrected or as it was; it is accepted once at most.

    Accepted, it becomes a usage event and the rejection is closed as reprocessed; rejected
    again, it stays open with the new reason (R16). A user limited to some brands reprocesses
    only a record of their brands, and only onto a subscription of their brands.
    """
    _require_reject_of_user(rejected_record, acting_user)
    with transaction.atomic():
        reject = (
            RejectedRecord.objects.select_for_update()
            .select_related("usage_file")
            .get(pk=rejected_record.pk)
        )
        if reject.status != RejectStatus.OPEN:
            raise ValidationError(f"this record was {reject.status} already")
        raw = (corrected_raw if corrected_raw is not None else reject.raw).strip()
        source = reject.usage_file.source
        try:
            record = parse_line(raw, line_number=reject.line_number)
        except CdrError as error:
            reject.reason, reject.detail = error.reason, error.detail[:300]
            reject.corrected_raw = raw if corrected_raw is not None else reject.corrected_raw
            reject.save(update_fields=["reason", "detail", "corrected_raw"])
            return reject
        if UsageRecordKey.objects.filter(source=source, record_id=record.record_id).exists():
            raise ValidationError(
                f"record {record.record_id} of {source} was accepted already: never charged twice"
            )
        run = RatingRun(source=source)
        events, rejects = run.rate([record], usage_file=reject.usage_file)
        if corrected_raw is not None:
            reject.corrected_raw = raw
        if rejects:
            reject.reason, reject.detail = rejects[0].reason, rejects[0].detail
            reject.save(update_fields=["reason", "detail", "corrected_raw"])
            return reject
        _require_subscription_of_user(events[0], acting_user)
        run.save(events)
        reject.status = RejectStatus.REPROCESSED
        reject.reprocessed_at = timezone.now()
        reject.reprocessed_by = _user(acting_user)
        reject.usage_event = events[0]
        reject.save()
    return reject


def rejected_record_discard(*, rejected_record: RejectedRecord, reason: str, acting_user=None):
    """Close a rejected record that will never be charged (test traffic, a network error)."""
    if not reason:
        raise ValidationError({"reason": "say why it is discarded"})
    _require_reject_of_user(rejected_record, acting_user)
    with transaction.atomic():
        reject = RejectedRecord.objects.select_for_update().get(pk=rejected_record.pk)
        if reject.status != RejectStatus.OPEN:
            raise ValidationError(f"this record was {reject.status} already")
        reject.status = RejectStatus.DISCARDED
        reject.detail = f"discarded: {reason}"[:300]
        reject.reprocessed_at = timezone.now()
        reject.reprocessed_by = _user(acting_user)
        reject.save()
    return reject
