"""Which worker holds a usage file or a part now: PostgreSQL session advisory locks (issue 13).

A worker that processes a file (or rates one part of a split file) holds a session-level
advisory lock keyed by the file's (or the part's) id for as long as it works, on its own
database connection. PostgreSQL releases it when the worker lets it go, and also when the
worker's process or connection dies (``kill -9``, an out-of-memory kill, a host lost): the lock
is the signal that someone is working, not a guess from how long ago the work started.

So a file (or a part) that a worker started (``worker_started_at`` is set), that is still being
processed, and whose lock nobody holds, is *stalled*: its worker died, its transaction was
rolled back, nothing of it is written, and it can be retried (charging.services
usage_file_retry, charging.partitions usage_file_parts_retry).

Keys use PostgreSQL's two-integer form ``(namespace, id)``; they show in ``pg_locks`` with
``classid`` = namespace, ``objid`` = id and ``objsubid`` = 2, in the database they were taken in.
The locks need a session of their own for the worker: behind a pooler in transaction mode
(PgBouncer ``pool_mode=transaction``) a session lock would outlive its worker; run workers on
direct connections or a pool in session mode (docs/operations.md).

On SQLite (the embedded default) nothing is ever held nor found stalled.
"""

import logging
import random
import time
from contextlib import contextmanager

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# Namespaces of the two-integer advisory keys (the first integer).
FILE = 13_001  # a usage file processed whole (or being split)
PART = 13_002  # one part of a split file


class HeldElsewhere(Exception):
    """Another live worker holds the file or part: it is being processed now."""


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def worker_lease(namespace: int, pk: int):
    """Hold the advisory lock of ``(namespace, pk)`` while the block runs; HeldElsewhere if taken.

    Session-level: it survives the block's transactions (a rollback does not release it) and is
    released at the end of the block, or by PostgreSQL when the process or connection dies.
    """
    if not _postgresql():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, pk])
        taken = cursor.fetchone()[0]
    if not taken:
        raise HeldElsewhere(f"a live worker holds {pk} now")
    try:
        yield
    finally:
        _release(namespace, pk)


def _release(namespace: int, pk: int) -> None:
    if connection.connection is not None and not connection.needs_rollback:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, pk])
            return
        except DatabaseError:
            logger.warning("lease (%s, %s): unlock failed, closing the session", namespace, pk)
    if connection.connection is not None:
        connection.close()  # closing the session releases its locks


def held_ids(namespace: int) -> set[int] | None:
    """The ids of a namespace whose lock a live session holds now, in this database.

    None when the database cannot tell (SQLite): then nothing is taken for stalled.
    """
    if not _postgresql():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 2 AND classid = %s::oid "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [namespace],
        )
        return {row[0] for row in cursor.fetchall()}


# --- a deadlock victim runs again -----------------------------------------------------------

CONFLICT_RETRIES = 5


def lock_conflict(error: BaseException) -> bool:
    """Tell whether an error is PostgreSQL choosing this transaction as a deadlock's victim,
    or refusing it for a serialization failure: the work can simply run again.

    Django wraps psycopg's errors (OperationalError, the cause being psycopg's); ``COPY``
    raises psycopg's own.
    """
    try:
        from psycopg.errors import DeadlockDetected, SerializationFailure
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    while error is not None:
        if isinstance(error, DeadlockDetected | SerializationFailure):
            return True
        error = error.__cause__
    return False


def retrying_conflicts(work, *, what: str, attempts: int = CONFLICT_RETRIES):
    """Run ``work()`` (one transaction) again when it is a deadlock's victim, ``attempts`` times
    at most, after a short random pause; the last conflict is raised.

    The transaction was rolled back whole by PostgreSQL, so running it again from the start is
    safe; the pause, random, lets the other transaction finish first.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            if attempt == attempts or not lock_conflict(error):
                raise
            pause = random.uniform(0.05, 0.2) * attempt
            logger.warning(
                "%s: deadlock victim (attempt %s of %s), running again in %.2f s",
                what, attempt, attempts, pause,
            )  # fmt: skip
            time.sleep(pause)
    return None  # pragma: no cover - the loop returns or raises
