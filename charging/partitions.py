"""Rating one large file with several workers in parallel, never drawing a bucket twice.

A file is split into parts by subscriber group. Terms link numbers, IMSIs, subscriptions and
billing accounts; the records of everything linked (a number, every subscription that held it,
their accounts and so every other number of those accounts) form one group and go to one part.
Personal buckets belong to a subscription and shared ones to an account (R11), so no bucket and
no fair-use counter is ever reached from two parts: each part's worker locks and draws its own
buckets, in event-time order (R11b), as if it rated a file of its own. Parts are balanced by
record count, largest groups first.

Each part is rated in a transaction of its own by the same code as a whole file (one pass, or
two passes when it must) and records its counts; the last part to finish, under a lock on the
file, adds them up, closes the rejects its records reprocessed and marks the file processed. A
part that fails rolls back alone and can run again (its task is retried).

One rule differs from rating a file whole: the same record id sent for two subscribers in
different parts of one file (a host-network error) is accepted once, for the part that writes it
first; the other line is counted as a duplicate, not necessarily the later one (R17).
"""

import logging
import tempfile
from collections import Counter
from contextlib import ExitStack

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import OperationalError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from charging.models import FileStatus, PartStatus, UsageFile, UsageFilePart
from charging.usage_store import months_of_event_times, usage_months_ensure
from subscribers.models import SubscriptionTerm

logger = logging.getLogger(__name__)

LOOKUP_CHUNK = 5_000


class _Groups:
    """Union-find over keys like ("n", msisdn), ("i", imsi), ("s", id), ("a", id)."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, key):
        parent = self.parent
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while key != root:  # path compression
            parent[key], key = root, parent.get(key, key)
        return root

    def union(self, *keys) -> None:
        roots = [self.find(key) for key in keys]
        for root in roots[1:]:
            if root != roots[0]:
                self.parent[root] = roots[0]


def _subscriber_key(raw: str):
    """The number (or IMSI) a line is rated for, read without parsing the whole line."""
    return _key_and_day(raw)[0]


def _key_and_day(raw: str):
    """A line's subscriber key (_subscriber_key) and the day of its event time, one split."""
    fields = raw.split(",", 5)
    if len(fields) < 4:
        return None, ""
    day = fields[4][:8] if len(fields) > 5 else ""  # charging.usage_store.event_time_of
    if fields[2]:
        return ("n", fields[2]), day
    return (("i", fields[3]) if fields[3] else None), day


def usage_file_split(*, usage_file: UsageFile, parts: int) -> list[UsageFilePart]:
    """Split a received file into at most ``parts`` parts by subscriber group; return them.

    Reads the stored file twice, streaming: once to count each number's records, once to write
    the parts. Memory grows with the subscribers the file names, not with its records.
    """
    from charging.services import records_of

    if parts < 2:
        raise ValidationError({"parts": "split a file into two parts or more"})
    with transaction.atomic():
        usage_file = UsageFile.objects.select_for_update().get(pk=usage_file.pk)
        if usage_file.status != FileStatus.PROCESSING or usage_file.part_count:
            raise ValidationError({"status": f"file {usage_file.name} cannot be split now"})
        per_key: Counter = Counter()
        event_times = set()
        with records_of(usage_file) as records:
            for _number, raw in records:
                key, day = _key_and_day(raw)
                per_key[key] += 1
                event_times.add(day)  # a day: enough to know the months
        groups = _Groups()
        numbers = [key[1] for key in per_key if key and key[0] == "n"]
        imsis = [key[1] for key in per_key if key and key[0] == "i"]
        for first in range(0, max(len(numbers), len(imsis)), LOOKUP_CHUNK):
            query = Q(msisdn__in=numbers[first : first + LOOKUP_CHUNK]) | Q(
                imsi__in=imsis[first : first + LOOKUP_CHUNK]
            )
            for msisdn, imsi, subscription_id, account_id in (
                SubscriptionTerm.objects.filter(query)
                .order_by()
                .values_list(
                    "msisdn", "imsi", "subscription_id", "subscription__billing_account_id"
                )
            ):
                keys = [("n", msisdn), ("s", subscription_id), ("a", account_id)]
                if imsi:
                    keys.append(("i", imsi))
                groups.union(*keys)
        sizes: Counter = Counter()
        for key, count in per_key.items():
            sizes[groups.find(key) if key else None] += count
        # Largest groups first, each to the part with the fewest records so far.
        loads = [0] * parts
        part_of = {}
        for root, count in sorted(sizes.items(), key=lambda item: -item[1]):
            index = loads.index(min(loads))
            part_of[root] = index
            loads[index] += count
        used = sorted(set(part_of.values()))
        renumber = {index: number for number, index in enumerate(used, start=1)}
        with ExitStack() as stack:  # parts are written to disk, not held in memory
            outputs = {
                index: stack.enter_context(tempfile.TemporaryFile(mode="w+b")) for index in used
            }
            index_of = {key: part_of[groups.find(key) if key else None] for key in per_key}
            with records_of(usage_file) as records:
                for number, raw in records:
                    outputs[index_of[_subscriber_key(raw)]].write(f"{number}\t{raw}\n".encode())
            created = []
            for index, output in outputs.items():
                output.seek(0)
                part = UsageFilePart(
                    usage_file=usage_file, number=renumber[index], records=loads[index]
                )
                part.content.save(
                    f"{usage_file.name}.part{renumber[index]}", File(output), save=False
                )
                created.append(part)
        UsageFilePart.objects.bulk_create(created)
        usage_file.part_count = len(created)
        usage_file.save(update_fields=["part_count"])
    # The months' partitions, after the split's transaction: before any part writes events.
    usage_months_ensure(months=months_of_event_times(event_times))
    logger.info("usage file %s split into %s parts: %s", usage_file.name, len(created),
                [part.records for part in created])  # fmt: skip
    return created


def usage_file_part_process(*, part: UsageFilePart, chunk: int | None = None) -> UsageFilePart:
    """Rate one part of a split file in its own transaction; the last part closes the file.

    A part that meets an error nobody foresaw is rolled back alone and marked failed, with the
    error, on the part and on its file (which stays processing: the other parts are kept);
    ``usage_file_parts_retry`` runs it again once the cause is fixed. Database outages raise
    for the task to retry.
    """
    from charging.leases import PART, HeldElsewhere, retrying_conflicts, worker_lease

    try:
        # The part's lease (charging.leases): a part whose worker dies is seen stalled at once.
        with worker_lease(PART, part.pk):
            UsageFilePart.objects.filter(pk=part.pk, status=PartStatus.QUEUED).update(
                worker_started_at=timezone.now()
            )
            return retrying_conflicts(lambda: _part_process(part, chunk), what=f"part {part.pk}")
    except HeldElsewhere:
        logger.info("usage file part %s: another worker holds it now", part.pk)
        return UsageFilePart.objects.get(pk=part.pk)
    except OperationalError:
        raise
    except Exception as error:
        from charging.leases import lock_conflict

        if lock_conflict(error):
            raise
        return _part_failed(part, error)


def _part_failed(part: UsageFilePart, error: Exception) -> UsageFilePart:
    logger.exception("usage file part %s: processing failed", part.pk)
    detail = f"{type(error).__name__}: {error}"[:400]
    with transaction.atomic():
        part = UsageFilePart.objects.select_for_update().get(pk=part.pk)
        if part.status == PartStatus.DONE:
            return part
        part.status, part.detail = PartStatus.FAILED, detail
        part.save(update_fields=["status", "detail"])
        UsageFile.objects.filter(pk=part.usage_file_id).update(
            status_detail=(
                f"part {part.number} failed, nothing of it written ({detail}); the other "
                "parts are kept: retry the failed parts once the cause is fixed"
            )[:500]
        )
    return part


def usage_file_parts_retry(*, usage_file: UsageFile, acting_user=None) -> list[int]:
    """Queue a split file's failed and stalled parts again; return their ids to dispatch.

    A part is stalled when a worker took it and no live worker holds it any more (its worker
    was lost: charging.leases): its transaction was rolled back whole, nothing of it is written.
    A part some worker holds now is left to it. A user limited to some brands is refused.
    """
    from charging.leases import PART, held_ids
    from subscribers.selectors import require_every_brand

    require_every_brand(acting_user, "a host network's usage file")
    with transaction.atomic():
        usage_file = UsageFile.objects.select_for_update().get(pk=usage_file.pk)
        if usage_file.status != FileStatus.PROCESSING:
            raise ValidationError({"status": f"file {usage_file.name} is {usage_file.status}"})
        held = held_ids(PART) or set()
        stalled = Q(status=PartStatus.QUEUED, worker_started_at__isnull=False) & ~Q(pk__in=held)
        retried = list(
            usage_file.parts.filter(Q(status=PartStatus.FAILED) | stalled)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not retried:
            raise ValidationError(
                {"parts": f"file {usage_file.name} has no failed part and no part left by a worker"}
            )
        UsageFilePart.objects.filter(pk__in=retried).update(
            status=PartStatus.QUEUED, detail="", worker_started_at=None
        )
        usage_file.status_detail = ""
        usage_file.save(update_fields=["status_detail"])
    logger.info("usage file %s: parts %s retried", usage_file.name, retried)
    return retried


def _part_process(part: UsageFilePart, chunk: int | None) -> UsageFilePart:
    from charging.pipeline import close_resent_rejects, process_in_order
    from charging.services import CHUNK, FileCounts, process_two_passes

    chunk = chunk or CHUNK
    with transaction.atomic():
        part = UsageFilePart.objects.select_for_update().get(pk=part.pk)
        if part.status == PartStatus.DONE:
            return part
        usage_file = UsageFile.objects.get(pk=part.usage_file_id)
        counts = process_in_order(usage_file, chunk=chunk, part=part)
        if counts is None:
            counts = process_two_passes(usage_file, chunk=chunk, part=part)
        counts.record_on(part)
        part.status = PartStatus.DONE
        part.processed_at = timezone.now()
        part.save()
        # The file's lock makes the parts finish one at a time: the last sees all others done.
        usage_file = UsageFile.objects.select_for_update().get(pk=usage_file.pk)
        waiting = usage_file.parts.exclude(status=PartStatus.DONE).exclude(pk=part.pk).exists()
        if not waiting:
            totals = usage_file.parts.aggregate(
                read=Sum("records_read"),
                accepted=Sum("records_accepted"),
                rejected=Sum("records_rejected"),
                duplicate=Sum("records_duplicate"),
            )
            FileCounts(**totals).record_on(usage_file)
            close_resent_rejects(usage_file)
            usage_file.status = FileStatus.PROCESSED
            usage_file.processed_at = timezone.now()
            usage_file.save()
            logger.info("usage file %s: its %s parts are rated", usage_file.name,
                        usage_file.part_count)  # fmt: skip
    return part
