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

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from charging.cdr import (
    CdrError,
    UsageRecord,
    decompress,
    iter_records,
    parse_file_name,
    parse_line,
    read_layout,
    record_id_of,
    split_lines,
)
from charging.engine import AccountInfo, BucketState, CatalogCache, FairUseCounter, RatingEngine
from charging.models import (
    FairUseCount,
    FileOrigin,
    FileStatus,
    RatingStatus,
    RejectedRecord,
    RejectStatus,
    SequenceGap,
    UsageEvent,
    UsageFile,
    UsageStaging,
)
from core.periods import billing_period_containing
from subscribers.models import (
    BillingAccount,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    BucketSource,
)
from subscribers.selectors import TermIndex
from subscribers.services import buckets_grant

logger = logging.getLogger(__name__)

CHUNK = 5_000


@dataclass
class FileCounts:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicate: int = 0


def _user(acting_user):
    return acting_user if getattr(acting_user, "is_authenticated", False) else None


# --- receiving a file -----------------------------------------------------------------------


def usage_file_receive(
    *, name: str, content: bytes, origin: str = FileOrigin.UPLOAD, acting_user=None
) -> UsageFile:
    """Record a received file; refuse a duplicate (R17) or quarantine a broken frame (R18).

    The file is kept as received in every case. A file that may be processed is left in status
    ``processing`` for usage_file_process.
    """
    checksum = hashlib.sha256(content).hexdigest()
    parsed = parse_file_name(name)
    usage_file = UsageFile(
        name=name.rsplit("/", 1)[-1],
        source=parsed.source if parsed else "",
        sequence=parsed.sequence if parsed else None,
        file_time=parsed.file_time if parsed else None,
        checksum=checksum,
        size=len(content),
        origin=origin,
        status=FileStatus.PROCESSING,
        received_by=_user(acting_user),
    )
    original = UsageFile.objects.filter(checksum=checksum).exclude(
        status__in=(FileStatus.DUPLICATE, FileStatus.FAILED)
    )
    original = original.first()
    if original is not None:
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
    text = None
    if usage_file.status == FileStatus.PROCESSING:
        try:
            text = decompress(content).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as error:
            usage_file.status = FileStatus.FAILED
            usage_file.status_detail = f"unreadable: {error}"[:500]
    if text is not None:
        layout = read_layout(split_lines(text))
        usage_file.trailer_count = layout.trailer_count
        if not layout.intact:
            usage_file.status = FileStatus.QUARANTINED
            usage_file.status_detail = f"quarantined whole (R18): {layout.problem}"
    usage_file.content.save(usage_file.name, ContentFile(content), save=False)
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


def _refuse_duplicate(usage_file: UsageFile, original: UsageFile) -> UsageFile:
    usage_file.pk = None
    usage_file.status = FileStatus.DUPLICATE
    usage_file.duplicate_of = original
    usage_file.status_detail = (
        f"refused before reading (R17): the same bytes arrived as {original.name} "
        f"on {original.received_at:%Y-%m-%d %H:%M}"
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
    *, name: str, content: bytes, origin: str = FileOrigin.UPLOAD, acting_user=None
) -> UsageFile:
    """Receive a file and, if it may be processed, process it at once."""
    usage_file = usage_file_receive(
        name=name, content=content, origin=origin, acting_user=acting_user
    )
    if usage_file.status == FileStatus.PROCESSING:
        usage_file = usage_file_process(usage_file=usage_file)
    return usage_file


# --- processing a file ----------------------------------------------------------------------


def usage_file_process(*, usage_file: UsageFile, chunk: int = CHUNK) -> UsageFile:
    """Read, check and rate every record of a received file, in one transaction (R16)."""
    with transaction.atomic():
        usage_file = UsageFile.objects.select_for_update().get(pk=usage_file.pk)
        if usage_file.status != FileStatus.PROCESSING:
            raise ValidationError({"status": f"file {usage_file.name} is {usage_file.status}"})
        usage_file.content.open("rb")
        try:
            text = decompress(usage_file.content.read()).decode("utf-8")
        finally:
            usage_file.content.close()
        counts = FileCounts()
        _read_pass(usage_file, split_lines(text), counts, chunk)
        run = RatingRun(source=usage_file.source)
        staged = UsageStaging.objects.filter(usage_file=usage_file).order_by(
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
        UsageStaging.objects.filter(usage_file=usage_file).delete()
        usage_file.records_read = counts.read
        usage_file.records_accepted = counts.accepted
        usage_file.records_rejected = counts.rejected
        usage_file.records_duplicate = counts.duplicate
        usage_file.status = FileStatus.PROCESSED
        usage_file.processed_at = timezone.now()
        usage_file.save()
    logger.info(
        "usage file %s: read %s, accepted %s, rejected %s, duplicates %s",
        usage_file.name, counts.read, counts.accepted, counts.rejected, counts.duplicate,
    )  # fmt: skip
    return usage_file


def _read_pass(usage_file: UsageFile, lines, counts: FileCounts, chunk: int) -> None:
    """Pass 1, line order: rejects with reasons, duplicates (R17), the rest to staging."""
    pending: list[tuple[int, str]] = []
    for number, raw in iter_records(lines):
        counts.read += 1
        pending.append((number, raw))
        if len(pending) >= chunk:
            _read_chunk(usage_file, pending, counts)
            pending = []
    if pending:
        _read_chunk(usage_file, pending, counts)


def _read_chunk(usage_file: UsageFile, lines: list[tuple[int, str]], counts: FileCounts) -> None:
    rejects, accepted = [], []
    for number, raw in lines:
        try:
            record = parse_line(raw, line_number=number)
        except CdrError as error:
            record_id = record_id_of(raw)
            rejects.append(
                RejectedRecord(
                    usage_file=usage_file, line_number=number, record_id=record_id, raw=raw,
                    reason=error.reason, detail=error.detail[:300],
                )
            )  # fmt: skip
            continue
        accepted.append(record)
    ids = [record.record_id for record in accepted]
    seen = set(
        UsageStaging.objects.filter(usage_file=usage_file, record_id__in=ids).values_list(
            "record_id", flat=True
        )
    )
    seen |= set(
        UsageEvent.objects.filter(source=usage_file.source, record_id__in=ids).values_list(
            "record_id", flat=True
        )
    )
    staging = []
    for record in accepted:
        if record.record_id in seen:
            counts.duplicate += 1
            continue
        seen.add(record.record_id)
        staging.append(
            UsageStaging(
                usage_file=usage_file, line_number=record.line_number,
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
    """A rejected record sent again and accepted is its reprocessing, not a duplicate (R17)."""
    by_id = {event.record_id: event for event in events}
    if not by_id:
        return
    open_rejects = RejectedRecord.objects.filter(
        usage_file__source=source, record_id__in=list(by_id), status=RejectStatus.OPEN
    )
    now = timezone.now()
    linked = set()
    for reject in open_rejects.order_by("pk"):
        reject.status = RejectStatus.REPROCESSED
        reject.reprocessed_at = now
        # A record rejected more than once (in several files, or on several lines) is
        # accepted once: the event is linked to the first rejection (a one-to-one link), the
        # others are closed with it.
        if reject.record_id not in linked:
            linked.add(reject.record_id)
            reject.usage_event = by_id[reject.record_id]
        reject.save(update_fields=["status", "reprocessed_at", "usage_event"])


# --- rating ---------------------------------------------------------------------------------


class RatingRun:
    """Rates chunks of one source's records, keeping bucket and fair-use state between chunks.

    Buckets are locked (SELECT … FOR UPDATE, in id order) when first loaded, so two runs that
    touch the same subscriber's buckets take turns instead of drawing the same units twice.
    """

    def __init__(self, *, source: str, engine: RatingEngine | None = None) -> None:
        self.source = source
        self.engine = engine or RatingEngine(CatalogCache())
        self.buckets: dict[int, BucketState] = {}
        self.personal: dict[int, list[BucketState]] = {}
        self.shared: dict[int, list[BucketState]] = {}
        self.bucket_holders: set[tuple] = set()
        self.fair_use = FairUseCounter()
        self.fair_use_loaded: set[int] = set()
        self.accounts: dict[int, AccountInfo] = {}
        self.granted: set[tuple[int, dt.datetime]] = set()

    # -- state loading
    def _load_accounts(self, account_ids) -> None:
        missing = set(account_ids) - set(self.accounts)
        for pk, tz, cycle in BillingAccount.objects.filter(pk__in=missing).values_list(
            "pk", "timezone", "bill_cycle_day"
        ):
            self.accounts[pk] = AccountInfo(tz, cycle)

    def _ensure_grants(self, pairs) -> None:
        """Grant plan allowances for each (term, period) a chunk touches, once (R12)."""
        wanted = []
        for term, period in pairs:
            key = (term.subscription_id, period.start)
            if key not in self.granted:
                self.granted.add(key)
                # The holder's buckets are loaded again: a grant may add some (a new period).
                self.bucket_holders.discard(("s", term.subscription_id))
                self.bucket_holders.discard(("a", term.billing_account_id))
                wanted.append(
                    (term.subscription_id, term.billing_account_id, period.start, period.end)
                )
        buckets_grant(periods=wanted)

    def _load_buckets(self, terms) -> None:
        subscription_ids = {t.subscription_id for t in terms} - {
            key[1] for key in self.bucket_holders if key[0] == "s"
        }
        account_ids = {t.billing_account_id for t in terms} - {
            key[1] for key in self.bucket_holders if key[0] == "a"
        }
        if not subscription_ids and not account_ids:
            return
        self.bucket_holders |= {("s", pk) for pk in subscription_ids}
        self.bucket_holders |= {("a", pk) for pk in account_ids}
        query = Q(subscription_id__in=subscription_ids) | Q(
            shared=True, billing_account_id__in=account_ids
        )
        rows = list(
            Bucket.objects.select_for_update(of=("self",))
            .filter(query)
            .exclude(pk__in=list(self.buckets))
            .order_by("pk")
            .select_related("plan_version", "allowance")
        )
        if not rows:
            return
        moved = dict(
            BucketMovement.objects.filter(bucket_id__in=[b.pk for b in rows])
            .values("bucket_id")
            .annotate(total=Sum("quantity"))
            .values_list("bucket_id", "total")
        )
        zones = _allowance_zones({b.allowance_id for b in rows if b.allowance_id})
        for bucket in rows:
            destinations, roamings = zones.get(bucket.allowance_id, (frozenset(), frozenset()))
            state = self.buckets[bucket.pk] = BucketState(
                id=bucket.pk,
                subscription_id=bucket.subscription_id,
                billing_account_id=bucket.billing_account_id,
                shared=bucket.shared,
                from_plan=bucket.source == BucketSource.PLAN,
                plan_id=bucket.plan_version.plan_id if bucket.plan_version_id else None,
                services=frozenset(bucket.services),
                destination_zones=destinations,
                roaming_zones=roamings,
                valid_from=bucket.valid_from,
                valid_to=bucket.valid_to,
                remaining=bucket.initial + (moved.get(bucket.pk) or 0),
            )
            if state.shared:
                holder = self.shared.setdefault(state.billing_account_id, [])
            else:
                holder = self.personal.setdefault(state.subscription_id, [])
            holder.append(state)
            holder.sort(key=BucketState.sort_key)

    def _load_fair_use(self, subscription_ids) -> None:
        missing = set(subscription_ids) - self.fair_use_loaded
        if not missing:
            return
        self.fair_use_loaded |= missing
        rows = (
            FairUseCount.objects.filter(subscription_id__in=missing)
            .values("subscription_id", "policy_id", "period_start")
            .annotate(total=Sum("quantity"))
        )
        for row in rows:
            key = (row["subscription_id"], row["policy_id"], row["period_start"])
            self.fair_use.counts[key] = row["total"]
        for key in FairUseCount.objects.filter(
            subscription_id__in=missing, notified=True
        ).values_list("subscription_id", "policy_id", "period_start"):
            self.fair_use.notified.add(tuple(key))

    # -- rating
    def rate(self, records: list[UsageRecord], *, usage_file=None):
        """Rate records in the given order; return (events to save, rejected records)."""
        terms = TermIndex.load(
            msisdns={r.msisdn for r in records}, imsis={r.imsi for r in records if not r.msisdn}
        )
        resolved, rejects = [], []
        for record in records:
            term, reason = terms.resolve(
                msisdn=record.msisdn, imsi=record.imsi, instant=record.started_at
            )
            if term is None:
                rejects.append(
                    RejectedRecord(
                        usage_file=usage_file, line_number=record.line_number or 0,
                        record_id=record.record_id, raw=record.raw, reason=reason,
                        detail=f"at {record.started_at:%Y-%m-%d %H:%M:%S}Z (R19)",
                    )
                )  # fmt: skip
            else:
                resolved.append((record, term))
        self._load_accounts({t.billing_account_id for _, t in resolved})
        pairs = []
        for record, term in resolved:
            account = self.accounts[term.billing_account_id]
            period = billing_period_containing(
                record.started_at, tz=account.timezone, cycle_day=account.cycle_day
            )
            pairs.append((term, period))
        self._ensure_grants(pairs)
        self._load_buckets([t for _, t in resolved])
        self._load_fair_use({t.subscription_id for _, t in resolved})
        events = []
        now = timezone.now()
        for record, term in resolved:
            buckets = self.personal.get(term.subscription_id, []) + self.shared.get(
                term.billing_account_id, []
            )
            source = record.source or self.source
            rating = self.engine.rate(
                record,
                term=term,
                account=self.accounts[term.billing_account_id],
                source=source,
                buckets=buckets,
                fair_use=self.fair_use,
            )
            events.append(
                usage_event_build(
                    record, rating, source=source, term=term, usage_file=usage_file, now=now
                )
            )
        return events, rejects

    def save(self, events: list[UsageEvent]) -> list[UsageEvent]:
        """Write new events, then their bucket draws and fair-use counts (bulk)."""
        UsageEvent.objects.bulk_create(events)
        write_side_effects(events)
        return events


def write_side_effects(events: list[UsageEvent]) -> None:
    """Write the bucket draws (R11) and fair-use counts (R13) of rated events."""
    movements, counts = [], []
    for event in events:
        rating = event._rating
        reference = f"usage:{event.pk}"
        for bucket_id, quantity in rating.draws:
            movements.append(
                BucketMovement(
                    bucket_id=bucket_id, kind=BucketMovementKind.USAGE, quantity=-quantity,
                    reason=f"{event.service} {event.source}/{event.record_id}",
                    reference=reference,
                )
            )  # fmt: skip
        for policy_id, period_start, quantity in rating.fair_use:
            counts.append(
                FairUseCount(
                    usage_event=event, subscription_id=event.subscription_id,
                    policy_id=policy_id, period_start=period_start, quantity=quantity,
                    notified=rating.notify_fair_use,
                )
            )  # fmt: skip
    BucketMovement.objects.bulk_create(movements)
    FairUseCount.objects.bulk_create(counts)


def _allowance_zones(allowance_ids) -> dict[int, tuple[frozenset, frozenset]]:
    from catalog.models import Allowance

    result = {}
    for allowance in Allowance.objects.filter(pk__in=allowance_ids).prefetch_related(
        "destination_zones", "roaming_zones"
    ):
        result[allowance.pk] = (
            frozenset(z.code for z in allowance.destination_zones.all()),
            frozenset(z.code for z in allowance.roaming_zones.all()),
        )
    return result


def usage_event_build(
    record: UsageRecord, rating, *, source: str, term=None, usage_file=None, now=None
) -> UsageEvent:
    """Hold a record and its rating in an unsaved UsageEvent (the simulator keeps it unsaved)."""
    event = UsageEvent(
        usage_file=usage_file,
        line_number=record.line_number or None,
        source=source,
        record_id=record.record_id,
        record_type=record.record_type,
        service=record.service,
        subscription_id=term.subscription_id if term else None,
        billing_account_id=term.billing_account_id if term else None,
        msisdn=record.msisdn or (term.msisdn if term else ""),
        imsi=record.imsi,
        started_at=record.started_at,
        utc_offset=record.utc_offset,
        duration=record.duration,
        volume_uplink=record.volume_uplink,
        volume_downlink=record.volume_downlink,
        units=record.units,
        other_party=record.other_party,
        visited_plmn=record.visited_plmn,
        apn=record.apn,
        cause=record.cause,
        charging_id=record.charging_id,
        rating_status=RatingStatus.RATED if rating.status == "rated" else RatingStatus.ERROR,
        rating_error=rating.error,
        rating_detail=rating.detail,
        destination_zone=rating.destination_zone,
        roaming_zone=rating.roaming_zone,
        time_band=rating.time_band,
        plan_version_id=rating.plan_version_id,
        rate_row_id=rating.rate_row_id,
        charged_units=rating.charged_units,
        covered_units=rating.covered_units,
        currency=rating.currency,
        retail_amount=rating.retail_amount,
        tax_inclusive=rating.tax_inclusive,
        throttled=rating.throttled,
        fair_use_units=rating.fair_use_units,
        wholesale_rate_row_id=rating.wholesale_rate_row_id,
        wholesale_units=rating.wholesale_units,
        wholesale_amount=rating.wholesale_amount,
        rated_at=now if now and rating.status == "rated" else None,
    )
    event._rating = rating
    return event


# --- corrections ----------------------------------------------------------------------------


def rejected_record_reprocess(
    *, rejected_record: RejectedRecord, corrected_raw: str | None = None, acting_user=None
) -> RejectedRecord:
    """Process a rejected record again, corrected or as it was; it is accepted once at most.

    Accepted, it becomes a usage event and the rejection is closed as reprocessed; rejected
    again, it stays open with the new reason (R16).
    """
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
        if UsageEvent.objects.filter(source=source, record_id=record.record_id).exists():
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
