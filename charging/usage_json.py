"""A batch of normalised usage records sent as JSON (TMF635 names), rated like a file (R16-R23).

Each record is turned into the fields of the host network's CSV format and checked by the very
function that checks a file's lines (``charging.cdr.parse_fields``), so a record is accepted or
rejected for the same reasons whichever way it arrives; it is rated by the same RatingRun, so
it costs the same to the micro-unit (R23).

A batch becomes a UsageFile of origin ``api`` named ``API_<SOURCE>_<YYYYMMDDhhmmss>_<id>.json``
without a sequence number. Its content is the batch as received, one record per line: line 1
opens the document and line ``n + 1`` holds the ``n``-th record, so a record's line number
points at its JSON text as it does at a CSV line in a file. A rejected record keeps the CSV line
it was read as, so that it can be corrected and reprocessed like any other (R16).

A batch is never refused whole: its records are deduplicated one by one (R17), so a batch sent
again accepts nothing twice; a client that retries sends an Idempotency-Key to get the first
answer back.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import re
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import HostNetwork
from catalog.selectors import require_every_brand
from charging.cdr import RECORD_SERVICES, CdrError, UsageRecord, parse_fields
from charging.models import (
    FileOrigin,
    FileStatus,
    RatingStatus,
    RejectedRecord,
    UsageEvent,
    UsageFile,
    UsageRecordKey,
)
from charging.rating import RatingRun
from charging.services import FileCounts, _close_resent_rejects

logger = logging.getLogger(__name__)

MAX_BATCH_RECORDS = 10_000
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9]{1,32}$")
DEFAULT_CAUSE = "NORMAL"
# Record types by service name, so that usageType may be either (VOICE_OUT or MOC).
RECORD_TYPES = {service: record_type for record_type, service in RECORD_SERVICES.items()}
FIRST_RECORD_LINE = 2  # line 1 of the stored batch opens the JSON document


class Outcome:
    """What became of one record of a batch."""

    RATED = "rated"
    RATING_ERROR = "ratingError"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


@dataclass
class RecordOutcome:
    """One record's fate: a usage event (rated or in error), a rejection, or a duplicate."""

    index: int
    line_number: int
    record_id: str
    outcome: str
    usage_event: UsageEvent | None = None
    rejected_record: RejectedRecord | None = None
    duplicate_of: UsageEvent | None = None
    reason: str = ""
    detail: str = ""


@dataclass
class UsageBatchResult:
    """The batch's usage file, its counts (read = accepted + rejected + duplicates) and outcomes."""

    usage_file: UsageFile
    counts: FileCounts
    outcomes: list[RecordOutcome] = field(default_factory=list)

    @property
    def rated(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.outcome == Outcome.RATED)

    @property
    def rating_errors(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.outcome == Outcome.RATING_ERROR)


# --- one record as CSV fields ----------------------------------------------------------------


def _text(value) -> str:
    """A JSON value as the text of a CSV field; validation decides whether it is acceptable."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, default=str)


def _event_time(value) -> tuple[str, str, str]:
    """Split ``usageDate`` (ISO 8601 with its UTC offset) into the CSV's local time and offset.

    Returns ``(event_time, utc_offset, problem)``; with a problem, the fields are left so that
    the CSV rules refuse them as BAD_TIME and the problem becomes the rejection's detail.
    """
    text = _text(value).strip()
    if not text:
        return "", "", "usageDate is missing"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return text, "", f"usageDate {text!r} is not an ISO 8601 instant"
    offset = parsed.utcoffset()
    if offset is None:
        return text, "", f"usageDate {text!r} has no UTC offset (R6)"
    if parsed.microsecond:
        return text, "", f"usageDate {text!r}: time is in whole seconds (R5)"
    minutes, seconds = divmod(int(offset.total_seconds()), 60)
    if seconds:
        return text, "", f"usageDate {text!r}: the UTC offset has seconds"
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    local = f"{parsed.year:04d}{parsed:%m%d%H%M%S}"  # %Y does not pad years before 1000
    return local, f"{sign}{hours:02d}{minutes:02d}", ""


def usage_record_fields(record: dict) -> tuple[list[str], str]:
    """Return the 14 CSV fields of a JSON usage record, and a time problem if any (R6)."""
    usage_type = _text(record.get("usageType")).strip()
    event_time, utc_offset, problem = _event_time(record.get("usageDate"))
    cause = record.get("cause")
    fields = [
        _text(record.get("recordId")),
        RECORD_TYPES.get(usage_type, usage_type),
        _text(record.get("msisdn")),
        _text(record.get("imsi")),
        event_time,
        utc_offset,
        _text(record.get("duration")),
        _text(record.get("otherParty")),
        _text(record.get("volumeUplink")),
        _text(record.get("volumeDownlink")),
        _text(record.get("apn")),
        _text(record.get("visitedPlmn")),
        DEFAULT_CAUSE if cause is None else _text(cause),
        _text(record.get("chargingId")),
    ]
    return fields, problem


def csv_line(fields: list[str]) -> str:
    """Write fields as one line of the CSV format (RFC 4180 quoting where needed)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _unstorable(value: str) -> bool:
    """Tell whether a text cannot stand in a CSV line or a database text column."""
    if "\x00" in value or "\n" in value or "\r" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON lets through
        return True
    return False


def usage_record_parse(record, *, line_number: int) -> UsageRecord:
    """Check one JSON record by the rules of a CSV line; raise CdrError with the reason code.

    The record's ``raw`` is the CSV line it stands for, so a rejection can be corrected and
    reprocessed like a file's.
    """
    if not isinstance(record, dict):
        raise CdrError("BAD_FIELD", "a usage record is a JSON object")
    nested = sorted(name for name, value in record.items() if isinstance(value, dict | list))
    if nested:  # its JSON text would pass for an id, an APN or a charging id
        names = ", ".join(nested)
        raise CdrError("BAD_FIELD", f"{names}: a text or a number, not an object or a list")
    fields, time_problem = usage_record_fields(record)
    if any(_unstorable(value) for value in fields):
        raise CdrError("BAD_FIELD", "a field holds a line break, a NUL or an invalid character")
    raw = csv_line(fields)
    try:
        return parse_fields(fields, line_number=line_number, raw=raw)
    except CdrError as error:
        if error.reason == "BAD_TIME" and time_problem:
            raise CdrError("BAD_TIME", time_problem) from error
        raise


def _raw_of(record) -> str:
    """The text a rejected record keeps: its CSV line, else its JSON (escaped, ASCII)."""
    if isinstance(record, dict):
        fields = usage_record_fields(record)[0]
        if not any(_unstorable(value) for value in fields):
            return csv_line(fields)
    return json.dumps(record, default=str)


def _record_id_of(record) -> str:
    """The id a rejected record is listed under, made storable."""
    if not isinstance(record, dict):
        return ""
    text = _text(record.get("recordId"))
    if _unstorable(text):
        text = json.dumps(text)[1:-1]
    return text[:64]


# --- the batch -------------------------------------------------------------------------------


def _batch_content(name: str, source: str, received_at: dt.datetime, records: list) -> bytes:
    """The batch as stored: one record per line, from line 2 on (see the module docstring)."""
    head = json.dumps({"name": name, "source": source, "receivedAt": received_at.isoformat()})
    lines = [head[:-1] + ', "usage": [']
    for position, record in enumerate(records):
        comma = "," if position < len(records) - 1 else ""
        lines.append(json.dumps(record, default=str) + comma)
    lines.append("]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _host_network(source) -> HostNetwork:
    if not isinstance(source, str) or not SOURCE_PATTERN.match(source.strip()):
        raise ValidationError({"source": "the sending network's code: letters and digits"})
    network = HostNetwork.objects.filter(code__iexact=source.strip()).first()
    if network is None:
        raise ValidationError({"source": f"no host network has the code {source.strip()}"})
    return network


def usage_batch_ingest(*, source: str, records: list, acting_user=None) -> UsageBatchResult:
    """Accept, reject or count as duplicates a batch of JSON usage records, then rate them.

    Everything happens in one transaction (R16): a batch is kept whole or not at all. A record
    accepted at the same moment by another request is found as a duplicate on a second try.
    A user limited to some brands is refused (PermissionDenied): a batch names any subscriber.
    """
    require_every_brand(acting_user, "a batch of a host network's usage")
    network = _host_network(source)
    if not isinstance(records, list) or not records:
        raise ValidationError({"usage": "a list of at least one usage record"})
    if len(records) > MAX_BATCH_RECORDS:
        raise ValidationError(
            {"usage": f"at most {MAX_BATCH_RECORDS} records per batch; send a file instead"}
        )
    user = acting_user if getattr(acting_user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            result = _ingest(network, records, user)
    except IntegrityError:
        # A concurrent batch accepted one of these record ids first (R17): read them again.
        logger.info("usage batch of %s met a concurrent batch: read again", network.code)
        with transaction.atomic():
            result = _ingest(network, records, user)
    counts = result.counts
    logger.info(
        "usage batch %s: read %s, accepted %s, rejected %s, duplicates %s",
        result.usage_file.name, counts.read, counts.accepted, counts.rejected, counts.duplicate,
    )  # fmt: skip
    return result


def _ingest(network: HostNetwork, records: list, user) -> UsageBatchResult:
    source = network.code
    now = timezone.now()
    usage_file = UsageFile.objects.create(
        name="",
        source=source,
        host_network=network,
        file_time=now,
        checksum=uuid.uuid4().hex,  # replaced below, once the name is known
        origin=FileOrigin.API,
        status=FileStatus.PROCESSING,
        received_by=user,
    )
    usage_file.name = f"API_{source}_{now:%Y%m%d%H%M%S}_{usage_file.pk:06d}.json"
    content = _batch_content(usage_file.name, source, now, records)
    usage_file.checksum = hashlib.sha256(content).hexdigest()
    usage_file.size = len(content)
    usage_file.content.save(usage_file.name, ContentFile(content), save=False)

    counts = FileCounts(read=len(records))
    outcomes: list[RecordOutcome] = []
    rejects: list[RejectedRecord] = []
    accepted: list[tuple[UsageRecord, RecordOutcome]] = []
    # Pass 1, in the batch's order: rejections, then duplicates (R17).
    parsed = []
    for index, record in enumerate(records):
        line_number = index + FIRST_RECORD_LINE
        record_id = _record_id_of(record)
        outcome = RecordOutcome(index=index, line_number=line_number, record_id=record_id,
                                outcome=Outcome.REJECTED)  # fmt: skip
        outcomes.append(outcome)
        try:
            usage_record = usage_record_parse(record, line_number=line_number)
        except CdrError as error:
            outcome.reason, outcome.detail = error.reason, error.detail[:300]
            rejects.append(
                RejectedRecord(
                    usage_file=usage_file, line_number=line_number, record_id=record_id,
                    raw=_raw_of(record), reason=error.reason, detail=error.detail[:300],
                )
            )  # fmt: skip
            outcome.rejected_record = rejects[-1]
            continue
        usage_record.source = source
        parsed.append((usage_record, outcome))
    seen = set(
        UsageRecordKey.objects.filter(
            source=source, record_id__in=[r.record_id for r, _ in parsed]
        ).values_list("record_id", flat=True)
    )
    for usage_record, outcome in parsed:
        if usage_record.record_id in seen:
            outcome.outcome = Outcome.DUPLICATE
            counts.duplicate += 1
            continue
        seen.add(usage_record.record_id)
        accepted.append((usage_record, outcome))
    # Pass 2, in order of event time (ties: batch order, R11b): subscriber, then rating.
    accepted.sort(key=lambda pair: (pair[0].started_at, pair[0].line_number))
    run = RatingRun(source=source)
    events, lookup_rejects = run.rate([r for r, _ in accepted], usage_file=usage_file)
    by_record = {outcome.record_id: outcome for _, outcome in accepted}
    for reject in lookup_rejects:
        outcome = by_record[reject.record_id]
        outcome.reason, outcome.detail = reject.reason, reject.detail
        outcome.rejected_record = reject
    for event in events:
        outcome = by_record[event.record_id]
        rated = event.rating_status == RatingStatus.RATED
        outcome.outcome = Outcome.RATED if rated else Outcome.RATING_ERROR
        outcome.usage_event = event
        if not rated:
            outcome.reason, outcome.detail = event.rating_error, event.rating_detail
    rejects.extend(lookup_rejects)
    RejectedRecord.objects.bulk_create(rejects)
    run.save(events)
    _close_resent_rejects(source, events)
    counts.accepted = len(events)
    counts.rejected = len(rejects)

    duplicates = [o for o in outcomes if o.outcome == Outcome.DUPLICATE]
    if duplicates:
        earlier = {
            event.record_id: event
            for event in UsageEvent.objects.filter(
                pk__in=UsageRecordKey.objects.filter(
                    source=source, record_id__in={o.record_id for o in duplicates}
                ).values("usage_event_id")
            )
        }
        for outcome in duplicates:
            outcome.duplicate_of = earlier.get(outcome.record_id)

    usage_file.records_read = counts.read
    usage_file.records_accepted = counts.accepted
    usage_file.records_rejected = counts.rejected
    usage_file.records_duplicate = counts.duplicate
    usage_file.status = FileStatus.PROCESSED
    usage_file.processed_at = timezone.now()
    usage_file.save()
    return UsageBatchResult(usage_file=usage_file, counts=counts, outcomes=outcomes)
