"""The usage store's months: PostgreSQL partitions of the usage events (issue 14).

On PostgreSQL ``charging_usageevent`` is partitioned by range of ``started_at``, one partition
per calendar month in UTC (``charging_usageevent_y2026m10``), plus a default partition that takes
an event of a month with no partition of its own (a record dated years away), so that no write
ever fails for want of a partition. Months are created

- ahead, by the periodic task ``charging.usage_partitions_ahead`` (the current month and the
  next ones), and
- on demand, before a file's months are written (charging.services, charging.partitions), in
  a short transaction of their own.

An old month can be detached (``python manage.py usage_month_detach YYYY-MM``): its events leave
the usage store as a table of their own, to be archived (pg_dump) and dropped by the operator.
Their R17 keys stay, so a record id once accepted is still refused. On SQLite the usage events
are a plain table and these functions do nothing.
"""

import datetime as dt
import logging
import re

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

PARENT = "charging_usageevent"
DEFAULT_PARTITION = f"{PARENT}_default"
MONTHS_AHEAD = 2
_NAME = re.compile(rf"^{PARENT}_y(\d{{4}})m(\d{{2}})$")


def partitioned() -> bool:
    """Tell whether the usage events are partitioned here (PostgreSQL after migration 0005)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [PARENT])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def month_start(value: dt.date | dt.datetime) -> dt.date:
    return dt.date(value.year, value.month, 1)


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def _create_sql(month: dt.date) -> str:
    following = _next_month(month)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {PARENT} "
        f"FOR VALUES FROM ('{month.isoformat()} 00:00:00+00') "
        f"TO ('{following.isoformat()} 00:00:00+00')"
    )


def usage_months() -> list[dt.date]:
    """The months that have a partition of their own, in order."""
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid "
            "JOIN pg_class parent ON parent.oid = inhparent WHERE parent.relname = %s",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    months = []
    for name in names:
        match = _NAME.match(name)
        if match:
            months.append(dt.date(int(match[1]), int(match[2]), 1))
    return sorted(months)


def usage_months_ensure(*, months) -> list[dt.date]:
    """Create the partitions of the given months that do not exist yet; return those created.

    Each month in a savepoint of its own: a month whose events already wait in the default
    partition cannot get one (PostgreSQL refuses) and is left there, logged. Call it outside a
    long transaction that writes events: creating a partition locks the parent table.
    """
    wanted = sorted({month_start(month) for month in months})
    if not wanted or not partitioned():
        return []
    existing = set(usage_months())
    created = []
    for month in wanted:
        if month in existing or not dt.date(1, 1, 1) < month < dt.date(9999, 12, 1):
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_create_sql(month))
        except DatabaseError as error:
            logger.warning("usage month %s: no partition of its own (%s)", month, error)
            continue
        created.append(month)
        logger.info("usage month %s: partition %s created", month, partition_name(month))
    return created


def usage_months_ahead(*, today: dt.date | None = None, ahead: int = MONTHS_AHEAD) -> list:
    """Create the partitions of the current month and the ``ahead`` next ones (periodic task)."""
    month = month_start(today or timezone.now().date())
    months = [month]
    for _ in range(ahead):
        month = _next_month(month)
        months.append(month)
    return usage_months_ensure(months=months)


def months_of_event_times(times) -> set[dt.date]:
    """The UTC months a file's ``YYYYMMDDhhmmss`` local event times may fall in.

    A local time on the first or the last days of a month may be in the month before or after
    in UTC (offsets reach ±14 h): both are included. Unreadable times are skipped (rejected
    later by mediation).
    """
    months = set()
    for text in times:
        if len(text) < 8 or not text[:8].isdigit():
            continue
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
        if not (1 <= month <= 12 and 1 <= year <= 9998):
            continue
        this = dt.date(year, month, 1)
        months.add(this)
        if day == 1:
            months.add(dt.date(year - (month == 1), (month - 2) % 12 + 1, 1) if year > 1 else this)
        if day >= 28:
            months.add(_next_month(this))
    return months


def usage_month_detach(*, month: dt.date, today: dt.date | None = None) -> dict:
    """Detach an old month's partition from the usage store, for archiving; return its figures.

    Only a month that ended before the previous month began may go (events of the last two
    months are still invoiced and rerated). The table stays in the database under its name
    until the operator archives and drops it.
    """
    month = month_start(month)
    current = month_start(today or timezone.now().date())
    previous = dt.date(current.year - (current.month == 1), (current.month - 2) % 12 + 1, 1)
    if month >= previous:
        raise ValidationError(
            {
                "month": f"{month:%Y-%m} is still invoiced or rerated: detach months before "
                f"{previous:%Y-%m}"
            }  # fmt: skip
        )
    if not partitioned():
        raise ValidationError({"month": "the usage store is not partitioned on this database"})
    if month not in usage_months():
        raise ValidationError({"month": f"{month:%Y-%m} has no partition of its own"})
    name = partition_name(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {name}")
        events = cursor.fetchone()[0]
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
    logger.info("usage month %s detached: %s events in table %s", month, events, name)
    return {"month": month, "table": name, "events": events}


def event_time_of(raw: str) -> str:
    """A line's event time field, read without parsing the line (empty when it has none)."""
    fields = raw.split(",", 5)
    return fields[4] if len(fields) > 5 else ""


def usage_months_ensure_for_file(usage_file, part=None) -> list[dt.date]:
    """Create the partitions a file's (or a part's) events will be written to, before rating.

    One streaming pass over the stored file reading each line's event time only; nothing is
    done where the usage store is not partitioned.
    """
    if not partitioned():
        return []
    from charging.services import records_of

    with records_of(usage_file, part) as records:
        # A day is enough to know the months: a set of a few days, not a date per line.
        days = {event_time_of(raw)[:8] for _number, raw in records}
    return usage_months_ensure(months=months_of_event_times(days))
