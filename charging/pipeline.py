"""The one-pass path of mediation: read, rate and write a file's records in streaming chunks.

Host networks write their files in event-time order, and a record id comes once. For such a
file the two passes of charging.services (line order to find rejects and duplicates, then a
staging table read back in event-time order) do nothing the file did not already give, so this
path does it all in one streaming pass, chunk by chunk:

- lines are read from the stored file (gunzipped on the fly) and parsed; a bad line is kept with
  its reason (R16);
- the chunk is rated in line order, which is event-time order (R11b): subscribers at the event's
  instant (R19), retail and wholesale prices, allowance draws (R11) and fair-use counts (R13);
- rated events, their bucket draws and fair-use counts are written with PostgreSQL ``COPY``,
  their ids drawn from the sequence in bulk (bulk inserts on other databases).

Duplicates (R17) are found in line order as the two passes find them: a record id met earlier in
the same chunk, or rejected at rating earlier in the file, is counted as a duplicate here; one
accepted earlier (in this file or an earlier one) is refused by the unique index on (source,
record id) when the chunk is written, or found by a query when the record is rejected at rating.

The path gives the file to the two passes, its own work undone (a savepoint), as soon as the file
is not one it can take: a record that starts before the record above it, or an event the unique
index refuses. The two passes then process it from the start, so the result is theirs in every
case; tests check that both give the same result for the files this path takes.
"""

import gc
import logging
from contextlib import contextmanager

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from charging.cdr import CdrError, parse_line, record_id_of, storable_text
from charging.models import (
    FairUseCount,
    RejectedRecord,
    RejectStatus,
    UsageEvent,
    UsageFile,
    UsageRecordKey,
)
from charging.rating import (
    EVENT_FIELDS,
    RatingRun,
    copy_text,
    usage_event_build,
    usage_event_line,
    usage_record_keys_write,
)
from subscribers.models import BucketMovement, BucketMovementKind

logger = logging.getLogger(__name__)

try:  # PostgreSQL's unique violation, raised by COPY (not wrapped by Django's cursor)
    from psycopg.errors import UniqueViolation
except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite runs without it
    UniqueViolation = IntegrityError


class Declined(Exception):
    """The file is not one the one-pass path takes; the two passes will process it."""


def process_in_order(usage_file: UsageFile, *, chunk: int, part=None):
    """Process a file in one pass; return its FileCounts, or None when the path declines it.

    Runs inside the caller's transaction, in a savepoint of its own that is rolled back when the
    path declines, so that nothing it wrote remains.
    """
    try:
        with cyclic_gc_paused(), transaction.atomic():
            return _one_pass(usage_file, chunk, part)
    except Declined as declined:
        logger.info("usage file %s: two passes (%s)", usage_file.name, declined)
        return None


@contextmanager
def cyclic_gc_paused():
    """Pause Python's cyclic garbage collector while a file's records are rated (issue 14).

    A chunk's records, ratings and rows live until the chunk is written, long enough for the
    collector to move them to its oldest generation, and each pass over that generation walks
    every object of the process: measured, more than half of the time spent parsing and rating
    went there. None of those objects is part of a reference cycle (records, ratings, tuples
    and strings are freed by reference counting the moment a chunk is written), so the
    collector has nothing to find in them. It runs again as soon as the file is done; the few
    cycles the queries make meanwhile wait for it.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _one_pass(usage_file: UsageFile, chunk: int, part):
    from charging.services import FileCounts, _online_sessions, records_of

    counts = FileCounts()
    run = RatingRun(source=usage_file.source)
    # R23: a record of a session charged online is the same usage, not to be charged again; the
    # two passes skip it. Asked once per run, then per chunk only when the network has any.
    run.online_sessions = _online_sessions(usage_file.source).exists()
    writer = (CopyWriter if connection.vendor == "postgresql" else OrmWriter)(usage_file)
    rejected_ids: set[str] = set()  # rejected at rating: a later line with the id is a duplicate
    batch, batch_ids, rejects = [], set(), []
    last = None
    with records_of(usage_file, part) as records:
        for number, raw in records:
            counts.read += 1
            try:
                record = parse_line(raw, line_number=number)
            except CdrError as error:
                rejects.append(
                    RejectedRecord(
                        usage_file=usage_file, line_number=number, record_id=record_id_of(raw),
                        raw=storable_text(raw), reason=error.reason, detail=error.detail[:300],
                    )
                )  # fmt: skip
                continue
            started_at = record.started_at
            if last is not None and started_at < last:
                raise Declined(f"line {number} starts before the record above it")
            last = started_at
            record_id = record.record_id
            if record_id in batch_ids or record_id in rejected_ids:
                counts.duplicate += 1
                continue
            batch_ids.add(record_id)
            batch.append(record)
            if len(batch) >= chunk:
                _rate_and_write(run, writer, usage_file, batch, rejects, rejected_ids, counts)
                batch, batch_ids, rejects = [], set(), []
    _rate_and_write(run, writer, usage_file, batch, rejects, rejected_ids, counts)
    if part is None:  # a file rated in parts closes them once, with its last part
        close_resent_rejects(usage_file)
    return counts


def _rate_and_write(run, writer, usage_file, batch, rejects, rejected_ids, counts) -> None:
    if run.online_sessions and batch:
        from charging.services import _charged_online

        if _charged_online(usage_file.source, batch):
            raise Declined("a record of a session charged online (R23)")
    rated, unknown = run.rate_each(batch, usage_file=usage_file) if batch else ([], [])
    if unknown:
        # A record rejected at rating never meets the unique index: if its id was accepted
        # before, it is a duplicate (R17), which the two passes count.
        ids = [reject.record_id for reject in unknown]
        if UsageRecordKey.objects.filter(source=usage_file.source, record_id__in=ids).exists():
            raise Declined("a record rejected at rating has an id accepted before (R17)")
        rejected_ids.update(ids)
    RejectedRecord.objects.bulk_create(rejects + unknown)
    counts.rejected += len(rejects) + len(unknown)
    if rated:
        writer.write(rated)
        counts.accepted += len(rated)


def close_resent_rejects(usage_file: UsageFile) -> int:
    """Close the open rejects of the source whose record this file accepted (R16, R17)."""
    from charging.services import rejects_close_reprocessed

    source = usage_file.source
    rejects = RejectedRecord.objects.filter(status=RejectStatus.OPEN, usage_file__source=source)
    # Through the R17 keys (one index), then the events of this file among them.
    keys = dict(
        UsageRecordKey.objects.filter(
            source=source, record_id__in=rejects.values("record_id")
        ).values_list("record_id", "usage_event_id")
    )
    if not keys:
        return 0
    here = set(
        UsageEvent.objects.filter(pk__in=list(keys.values()), usage_file=usage_file).values_list(
            "pk", flat=True
        )
    )
    event_ids = {record_id: pk for record_id, pk in keys.items() if pk in here}
    if not event_ids:
        return 0
    rejects = rejects.filter(record_id__in=list(event_ids))
    return rejects_close_reprocessed(rejects, event_ids)


_EVENT_COLUMNS = [
    {field.attname: field.column for field in UsageEvent._meta.concrete_fields}[name]
    for name in EVENT_FIELDS
]


def _draw_reason(record, source: str) -> str:
    return f"{record.service} {source}/{record.record_id}"


class CopyWriter:
    """Write rated events, bucket draws and fair-use counts with COPY (PostgreSQL).

    Event ids are drawn from the table's sequence in one query per chunk, so that the draws and
    counts can name their event before anything is written.
    """

    EVENT_COPY = f"COPY {UsageEvent._meta.db_table} (id, {', '.join(_EVENT_COLUMNS)}) FROM STDIN"
    MOVEMENT_COPY = (
        f"COPY {BucketMovement._meta.db_table} "
        "(bucket_id, kind, quantity, reason, usage_event_id, reference, created_at) FROM STDIN"
    )
    KEY_COPY = (
        f"COPY {UsageRecordKey._meta.db_table} (usage_event_id, source, record_id) FROM STDIN"
    )
    FAIR_USE_COPY = (
        f"COPY {FairUseCount._meta.db_table} "
        "(usage_event_id, subscription_id, policy_id, period_start, quantity, notified) FROM STDIN"
    )

    def __init__(self, usage_file: UsageFile) -> None:
        self.usage_file_id = usage_file.pk
        self.cursor = connection.cursor()
        self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [UsageEvent._meta.db_table])
        self.sequence = self.cursor.fetchone()[0]

    def _ids(self, count: int) -> list[int]:
        self.cursor.execute(
            "SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, count]
        )
        return [row[0] for row in self.cursor.fetchall()]

    def write(self, rated) -> None:
        now = timezone.now()
        file_id = self.usage_file_id
        movements, counts = [], []
        usage = BucketMovementKind.USAGE.value
        ids = self._ids(len(rated))  # before COPY: no other query runs while it is open
        line_of = usage_event_line
        now_text = str(now)  # formatted once per chunk
        lines, keys = [], []
        for pk, (record, term, rating, source) in zip(ids, rated, strict=True):
            keys.append(f"{pk}\t{copy_text(source)}\t{copy_text(record.record_id)}\n")
            lines.append(line_of(pk, record, rating, source=source, term=term, file_id=file_id,
                                 now=now_text))  # fmt: skip
            if rating.draws:
                reason = copy_text(_draw_reason(record, source))
                for bucket_id, quantity in rating.draws:
                    movements.append(f"{bucket_id}\t{usage}\t{-quantity}\t{reason}\t"
                                     f"{pk}\t\t{now_text}\n")  # fmt: skip
            notified = "t" if rating.notify_fair_use else "f"
            for policy_id, period_start, quantity in rating.fair_use:
                counts.append(f"{pk}\t{term.subscription_id}\t{policy_id}\t{period_start}\t"
                              f"{quantity}\t{notified}\n")  # fmt: skip
        try:  # the R17 keys first: a record id accepted before is refused there
            with self.cursor.copy(self.KEY_COPY) as copy:
                copy.write("".join(keys))
        except UniqueViolation as error:
            detail = error.diag.message_detail
            raise Declined(f"a record id accepted before (R17): {detail}") from error
        with self.cursor.copy(self.EVENT_COPY) as copy:
            copy.write("".join(lines))
        if movements:
            with self.cursor.copy(self.MOVEMENT_COPY) as copy:
                copy.write("".join(movements))
        if counts:
            with self.cursor.copy(self.FAIR_USE_COPY) as copy:
                copy.write("".join(counts))


class OrmWriter:
    """The same writes as CopyWriter, as bulk inserts (SQLite, the embedded default)."""

    def __init__(self, usage_file: UsageFile) -> None:
        self.usage_file = usage_file

    def write(self, rated) -> None:
        from charging.rating import write_side_effects

        now = timezone.now()
        events = [
            usage_event_build(record, rating, source=source, term=term,
                              usage_file=self.usage_file, now=now)
            for record, term, rating, source in rated
        ]  # fmt: skip
        try:
            with transaction.atomic():
                UsageEvent.objects.bulk_create(events)
                usage_record_keys_write(events)
        except IntegrityError as error:
            raise Declined(f"a record id accepted before (R17): {error}") from error
        write_side_effects(events)
