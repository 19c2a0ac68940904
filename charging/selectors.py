"""Reads of charging that are more than one ORM call."""

from django.db.models import BooleanField, Case, CharField, Func, Q, QuerySet, Value, When

from catalog.selectors import brands_of
from charging.cdr import HEADER
from charging.models import (
    FileStatus,
    PartStatus,
    RejectedRecord,
    SequenceGap,
    UsageEvent,
    UsageFile,
    UsageFilePart,
    UsageRecordKey,
)
from subscribers.models import Subscription, SubscriptionTerm

# Positions (1-based) of the subscriber's number and IMSI in a usage file's CSV line.
MSISDN_FIELD = HEADER.split(",").index("served_msisdn") + 1
IMSI_FIELD = HEADER.split(",").index("served_imsi") + 1


class StoredContentMissing(Exception):
    """A usage file's stored copy cannot be read: lost from storage or unreadable there."""


def usage_file_content_open(*, usage_file: UsageFile):
    """Open a usage file's stored copy for reading, or say plainly why it cannot be read."""
    if not usage_file.content:
        raise StoredContentMissing(f"{usage_file.name}: its content was not kept.")
    try:
        return usage_file.content.open("rb")
    except OSError as error:
        raise StoredContentMissing(
            f"{usage_file.name}: the stored copy ({usage_file.content.name}) cannot be read "
            f"from storage ({error.strerror or error}). Restore it from the file storage's "
            "backup; the file's records and counts in the database are untouched."
        ) from error


def usage_file_content_type(*, usage_file: UsageFile) -> str:
    """Say the media type a usage file was received as."""
    if usage_file.name.endswith(".gz"):
        return "application/gzip"
    if usage_file.name.endswith(".json"):
        return "application/json"
    return "text/csv; charset=utf-8"


# --- files and parts no worker holds (issue 13) --------------------------------------------
#
# A worker holds a session advisory lock on the file (or part) it works on (charging.leases);
# PostgreSQL drops it when the worker's process or connection dies. A file a worker started, still
# processing, whose lock nobody holds, is stalled: nothing of it was written, it can be retried.


def _stalled_file_filter(held: set[int]) -> Q:
    return Q(status=FileStatus.PROCESSING, part_count=0, worker_started_at__isnull=False) & ~Q(
        pk__in=held
    )


def _stalled_part_filter(held: set[int]) -> Q:
    return Q(status=PartStatus.QUEUED, worker_started_at__isnull=False) & ~Q(pk__in=held)


def usage_files_stalled(files: QuerySet[UsageFile] | None = None) -> QuerySet[UsageFile]:
    """Files (of ``files``, all by default) left processing whole by a worker that is gone.

    A split file is not stalled itself: its parts are (usage_file_parts_stalled). On a database
    that cannot tell who holds a lock (SQLite), none.
    """
    from charging.leases import FILE, held_ids

    files = UsageFile.objects.all() if files is None else files
    held = held_ids(FILE)
    return files.none() if held is None else files.filter(_stalled_file_filter(held))


def usage_file_parts_stalled(
    parts: QuerySet[UsageFilePart] | None = None,
) -> QuerySet[UsageFilePart]:
    """Parts of split files a worker took and no live worker holds any more (a lost worker)."""
    from charging.leases import PART, held_ids

    parts = UsageFilePart.objects.all() if parts is None else parts
    held = held_ids(PART)
    return parts.none() if held is None else parts.filter(_stalled_part_filter(held))


def usage_files_with_stalled(files: QuerySet[UsageFile]) -> QuerySet[UsageFile]:
    """Annotate files with ``stalled``: processing whole, or one of its parts, with no worker."""
    from charging.leases import FILE, held_ids

    held_files = held_ids(FILE)
    if held_files is None:
        return files.annotate(stalled=Value(False, output_field=BooleanField()))
    parts = usage_file_parts_stalled().values("usage_file_id")
    return files.annotate(
        stalled=Case(
            When(_stalled_file_filter(held_files), then=Value(True)),
            When(status=FileStatus.PROCESSING, pk__in=parts, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def usage_file_parts_with_stalled(parts: QuerySet[UsageFilePart]) -> QuerySet[UsageFilePart]:
    """Annotate parts with ``stalled``: a worker took the part and no live worker holds it."""
    from charging.leases import PART, held_ids

    held = held_ids(PART)
    if held is None:
        return parts.annotate(stalled=Value(False, output_field=BooleanField()))
    return parts.annotate(
        stalled=Case(
            When(_stalled_part_filter(held), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


# --- brand scoping --------------------------------------------------------------------------
#
# A host network's file may carry records of several brands, and a rejected record has no
# subscription: what a user limited to some brands sees of usage files is decided by records.
#
# - A rejected record belongs to the brand of the subscriptions whose number (or, when the
#   record has no number, whose IMSI) it names, as read from its raw line, or of the usage
#   event it became. One naming no known subscriber, or unreadable, belongs to no brand: only
#   users who see every brand see it.
# - A usage file is seen when it brought in a usage event or a rejected record of the user's
#   brands. An empty, duplicate, quarantined or failed file is seen only by users who see every
#   brand.
# - A sequence gap is a missing file of a host network: nobody knows whose records it held, so
#   only users who see every brand see it.


class CsvField(Func):
    """Field ``position`` (1-based) of a CSV line, split on commas (``split_part``).

    SQLite has no ``split_part``; charging.apps registers one on each SQLite connection.
    """

    function = "split_part"
    output_field = CharField()

    def __init__(self, expression, position: int):
        super().__init__(expression, Value(","), Value(position))


def _terms_of_brands(brands: list[int]):
    return SubscriptionTerm.objects.filter(
        subscription__billing_account__customer__brand_id__in=brands
    )


def rejected_records_visible_to(user) -> QuerySet[RejectedRecord]:
    """Return the rejected records a user may see: those naming their brands' subscribers."""
    rejects = RejectedRecord.objects.all()
    brands = brands_of(user)
    if brands is None:
        return rejects
    terms = _terms_of_brands(brands)
    msisdn = CsvField("raw", MSISDN_FIELD)
    imsi = CsvField("raw", IMSI_FIELD)
    return rejects.annotate(named_msisdn=msisdn, named_imsi=imsi).filter(
        Q(named_msisdn__in=terms.exclude(msisdn="").values("msisdn"))
        | Q(named_msisdn="", named_imsi__in=terms.exclude(imsi="").values("imsi"))
        | Q(usage_event__subscription_id__in=terms.values("subscription_id"))
    )


def usage_files_visible_to(user) -> QuerySet[UsageFile]:
    """Return the usage files a user may see: those with usage or rejects of their brands."""
    files = UsageFile.objects.all()
    brands = brands_of(user)
    if brands is None:
        return files
    subscriptions = _terms_of_brands(brands).values("subscription_id")
    with_usage = UsageEvent.objects.filter(subscription_id__in=subscriptions).values(
        "usage_file_id"
    )
    with_rejects = rejected_records_visible_to(user).values("usage_file_id")
    return files.filter(Q(pk__in=with_usage) | Q(pk__in=with_rejects))


def sequence_gaps_visible_to(user) -> QuerySet[SequenceGap]:
    """Return the sequence gaps a user may see: all of them for users who see every brand."""
    gaps = SequenceGap.objects.all()
    return gaps if brands_of(user) is None else gaps.none()


# --- reads through the usage store's indexes (issue 14) ------------------------------------


def usage_of_account(events, account_id: int):
    """Narrow usage events to a billing account's, through its subscriptions' index.

    The usage store keeps no (account, time) index: a subscription never changes account, so
    an account's events are its subscriptions' events, served by (subscription, time).
    """
    return events.filter(
        subscription_id__in=Subscription.objects.filter(billing_account_id=account_id).values("pk"),
        billing_account_id=account_id,
    )


def record_keys_named(record_id: str, source: str | None = None):
    """The ids of the events holding a record id (of one source, when given): the R17 keys."""
    keys = UsageRecordKey.objects.filter(record_id=record_id)
    if source is not None:
        keys = keys.filter(source=source)
    return keys.values("usage_event_id")
