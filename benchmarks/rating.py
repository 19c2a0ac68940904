"""The whole usage path, file to rated events committed: ``python -m benchmarks.rating``.

Generates N synthetic records in the host network's CSV format (shared/docs/mno-cdr-format.md)
for N / 30 subscriptions (tens of records each, as a real file has) on the scenario's
catalogue (catalog/examples/golden-october.yaml), then times, in one run:

- the end-to-end path: receive (checksum, file stored, frame check), then parse, duplicate check,
  subscriber and zone look-ups, retail and wholesale rating, allowance draw-down, writes, commit;
  with ``--workers K`` the file is split by subscriber group and K processes rate the parts in
  parallel (charging.partitions), as K Celery workers do;
- a plain PostgreSQL ``COPY`` of the same records into an unindexed, logged table, repeated
  until it has lasted a few seconds: the machine's limit for moving those bytes into the
  database;
- the write floor: a ``COPY`` of the rows the run wrote (rated events, their R17 keys, bucket
  draws, fair-use counts), read back, into tables made as the product's are (indexes,
  partitions, foreign keys with their triggers), from as many connections as the run had
  workers, then into unindexed tables: what storing the result costs with no parsing and no
  rating at all, the ceiling of any implementation of this schema on this machine;

and prints records/s of each, end to end as a fraction of the write floor, the peak memory and
where the time went (a sampling profile of every process), ending with ``RESULT {json}``.
It works in a throwaway database (``test_<name>`` of the configured one, migrated, then
dropped). The target (issue 14): 1,000,000 records on two cores with two workers at 100,000
records/s end to end or more, at least 0.5 of the write floor, memory flat in N.
"""

import argparse
import datetime as dt
import multiprocessing
import random
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from benchmarks.common import Stopwatch, max_rss_bytes, mb, per_second, print_result, setup_django

SEED = 20261101
TARGET_RECORDS_PER_S = 100_000
TARGET_FLOOR_RATIO = 0.5  # end to end at least half the write floor of the product's schema
# Tens of records per subscriber, as a day's or a week's file holds, not hundreds.
RECORDS_PER_SUBSCRIBER = 30
MSISDN_BASE = 4915500000000
IMSI_BASE = 262035500000000
HEADER = (
    "record_id,record_type,served_msisdn,served_imsi,event_time,utc_offset,duration,other_party,"
    "volume_uplink,volume_downlink,apn,visited_plmn,cause_for_termination,charging_id"
)
DESTINATIONS = ("4917012345678", "4930123456", "33612345678", "12125550100", "4990012345",
                "498001234567", "4915199999999")  # fmt: skip
NETWORKS = ("26203",) * 8 + ("20801", "310260")
OCTOBER = dt.datetime(2026, 10, 1, 0, 0)


def write_file(path: Path, *, records: int, subscriptions: int, seed: int = SEED) -> None:
    """Write a usage file of ``records`` lines in event-time order, streaming."""
    rng = random.Random(seed)
    step = 30 * 86_400 / max(records, 1)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER + "\n")
        for index in range(records):
            who = rng.randrange(subscriptions)
            msisdn, imsi = MSISDN_BASE + who, IMSI_BASE + who
            when = (OCTOBER + dt.timedelta(seconds=int(index * step))).strftime("%Y%m%d%H%M%S")
            network = rng.choice(NETWORKS)
            kind = rng.random()
            if kind < 0.5:
                line = (
                    f"R{index},MOC,{msisdn},{imsi},{when},+0200,{rng.randrange(600)},"
                    f"{rng.choice(DESTINATIONS)},,,,{network},NORMAL,"
                )
            elif kind < 0.6:
                line = (
                    f"R{index},MTC,{msisdn},{imsi},{when},+0200,{rng.randrange(600)},"
                    f"4930111222,,,,{network},NORMAL,"
                )
            elif kind < 0.8:
                line = (
                    f"R{index},SMSO,{msisdn},{imsi},{when},+0200,,{rng.choice(DESTINATIONS)},"
                    f",,,{network},NORMAL,"
                )
            else:
                line = (
                    f"R{index},PGW,{msisdn},{imsi},{when},+0200,600,,{rng.randrange(10**6)},"
                    f"{rng.randrange(10**8)},internet,{network},NORMAL,C{index}"
                )
            out.write(line + "\n")  # fmt: skip
        out.write(f"TRAILER,{records}\n")


def load_world(subscriptions: int) -> None:
    """Load the scenario's catalogue and ``subscriptions`` active SMART-10 subscribers."""
    from django.conf import settings

    from catalog.document import catalog_import, document_load
    from catalog.models import Brand, Plan, TaxRegion
    from subscribers.models import BillingAccount, Customer, Subscription, SubscriptionTerm

    example = Path(settings.BASE_DIR) / "catalog" / "examples" / "golden-october.yaml"
    catalog_import(document=document_load(example.read_bytes(), format="yaml"))
    brand = Brand.objects.get(code="LOREM")
    plan = Plan.objects.get(code="SMART-10")
    region = TaxRegion.objects.get(code="DE")
    customers = Customer.objects.bulk_create(
        Customer(brand=brand, number=f"B{i:07d}", kind="person", last_name=f"Bench {i}")
        for i in range(subscriptions)
    )
    accounts = BillingAccount.objects.bulk_create(
        BillingAccount(customer=customer, number=f"BA{i:07d}", tax_region=region,
                       payment_model="postpaid", timezone="Europe/Berlin")
        for i, customer in enumerate(customers)
    )  # fmt: skip
    subs = Subscription.objects.bulk_create(
        Subscription(billing_account=account, msisdn=str(MSISDN_BASE + i), plan=plan,
                     status="active")
        for i, account in enumerate(accounts)
    )  # fmt: skip
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    SubscriptionTerm.objects.bulk_create(
        SubscriptionTerm(subscription=sub, valid_from=start, msisdn=sub.msisdn,
                         imsi=str(IMSI_BASE + i), plan=plan, status="active", change="benchmark")
        for i, sub in enumerate(subs)
    )  # fmt: skip


COPY_MIN_SECONDS = 3.0


def copy_baseline(path: Path) -> float | None:
    """Seconds per file to COPY its records into an unindexed, logged table (PostgreSQL only).

    The file is copied again until the copying has lasted COPY_MIN_SECONDS, so that a small
    file's figure is not a few milliseconds of noise; each copy is committed (WAL flushed).
    """
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        return None
    columns = ", ".join(f"c{i} text" for i in range(14))
    with path.open("rb") as source:  # the records: after the header, before the trailer
        start = len(source.readline())
        size = path.stat().st_size
        source.seek(max(start, size - 64))
        tail = source.read()
        end = size - len(tail) + tail.rindex(b"TRAILER,")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_cdr_copy ({columns})")
    rounds, seconds = 0, 0.0
    try:
        while rounds == 0 or seconds < COPY_MIN_SECONDS:
            with (
                Stopwatch() as copying,
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.copy("COPY bench_cdr_copy FROM STDIN (FORMAT csv)") as copy,
                path.open("rb") as source,
            ):
                source.seek(start)
                left = end - start
                while left > 0:
                    block = source.read(min(left, 1 << 20))
                    left -= len(block)
                    copy.write(block)
            rounds += 1
            seconds += copying.seconds
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_cdr_copy")
    return seconds / rounds


# What the usage path writes for each record: the floor is measured on these tables.
WRITTEN_TABLES = (
    "charging_usageevent",
    "charging_usagerecordkey",
    "subscribers_bucketmovement",
    "charging_fairusecount",
)


def _floor_tables_create(cursor, *, indexed: bool, foreign_keys: bool = True) -> None:
    """Create ``floor_<table>`` for each written table, as the product's schema has it.

    Indexed: the same columns, defaults, checks, indexes, foreign keys (the triggers they fire
    are part of what a write costs) and, for a partitioned table, the same partitions.
    Unindexed: columns and defaults only.
    """
    for table in WRITTEN_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS floor_{table} CASCADE")
        if not indexed:
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING DEFAULTS)")
            continue
        cursor.execute(
            "SELECT pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.relname = %s", [table]
        )
        partition_key = cursor.fetchone()[0]
        if partition_key is None:
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
        else:
            cursor.execute(
                f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL) "
                f"PARTITION BY {partition_key}"
            )
            cursor.execute(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
                [table],
            )
            for name, bound in cursor.fetchall():
                cursor.execute(f"CREATE TABLE floor_{name} PARTITION OF floor_{table} {bound}")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        for name, definition in cursor.fetchall() if foreign_keys else ():
            cursor.execute(f"ALTER TABLE floor_{table} ADD CONSTRAINT floor_{name} {definition}")


def write_floor(folder: Path, *, workers: int) -> dict | None:
    """Seconds to COPY the rows the run wrote into copies of their tables (PostgreSQL only).

    The rows are read back to files (streamed: memory stays flat), then copied, split in
    ``workers`` slices over as many connections in parallel, each slice in one transaction,
    into tables made as the product's are (_floor_tables_create): with the product's schema
    (indexes, partitions, foreign keys and their triggers) for the write floor, and unindexed.
    Bucket draws are the run's usage draws only. Nothing is kept. Foreign keys are left out
    only when the run's rows are not committed (a test's transaction): the copying connections
    could not see the rows they reference. ``figures["foreign_keys"]`` says which.
    """
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    sources = {
        "charging_usageevent": "(SELECT * FROM charging_usageevent)",  # partitioned
        "charging_usagerecordkey": "charging_usagerecordkey",
        "subscribers_bucketmovement": "(SELECT * FROM subscribers_bucketmovement "
        "WHERE kind = 'usage')",
        "charging_fairusecount": "charging_fairusecount",
    }
    slices: dict[str, list[Path]] = {}
    with connection.cursor() as cursor:
        for table in WRITTEN_TABLES:
            paths = [folder / f"{table}.{index}.copy" for index in range(workers)]
            outs = [path.open("wb") for path in paths]
            try:
                with cursor.copy(f"COPY {sources[table]} TO STDOUT") as copy:
                    for index, row in enumerate(copy):  # one row a message, in text format
                        outs[index % workers].write(row)
            finally:
                for out in outs:
                    out.close()
            slices[table] = paths
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key in ("dbname", "user", "password", "host", "port", "sslmode")
    }
    if connection.in_atomic_block:
        return _write_floor_in_transaction(slices)
    figures: dict = {}
    for label, indexed in (("indexed", True), ("unindexed", False)):
        with psycopg.connect(**params, autocommit=True) as setup, setup.cursor() as cursor:
            _floor_tables_create(cursor, indexed=indexed)
        errors: list[BaseException] = []

        def copy_slice(index: int, errors: list = errors) -> None:
            try:
                with psycopg.connect(**params) as conn, conn.cursor() as cur:
                    for table in WRITTEN_TABLES:
                        with (
                            cur.copy(f"COPY floor_{table} FROM STDIN") as copy,
                            slices[table][index].open("rb") as source,
                        ):
                            while block := source.read(1 << 20):
                                copy.write(block)
                    conn.commit()  # deferred foreign-key triggers run here, timed
            except BaseException as error:  # reported by the caller
                errors.append(error)

        threads = [threading.Thread(target=copy_slice, args=(i,)) for i in range(workers)]
        with Stopwatch() as copying:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        figures[label] = copying.seconds
        with psycopg.connect(**params, autocommit=True) as setup:
            for table in WRITTEN_TABLES:
                setup.execute(f"DROP TABLE floor_{table} CASCADE")
    return {"seconds": figures, "foreign_keys": True}


def _write_floor_in_transaction(slices: dict[str, list[Path]]) -> dict:
    """The write floor when the run's rows are not committed (a test's transaction).

    Other connections could neither see the rows the foreign keys reference nor read the
    tables the run changed, so the floor is copied on the run's own connection, in a savepoint
    rolled back afterwards, without foreign keys.
    """
    from django.db import connection, transaction

    figures = {}
    for label, indexed in (("indexed", True), ("unindexed", False)):
        with transaction.atomic():
            with connection.cursor() as cursor:
                _floor_tables_create(cursor, indexed=indexed, foreign_keys=False)
                with Stopwatch() as copying:
                    for table in WRITTEN_TABLES:
                        for path in slices[table]:
                            with (
                                cursor.copy(f"COPY floor_{table} FROM STDIN") as copy,
                                path.open("rb") as source,
                            ):
                                while block := source.read(1 << 20):
                                    copy.write(block)
            transaction.set_rollback(True)
        figures[label] = copying.seconds
    return {"seconds": figures, "foreign_keys": False}


class Sampler:
    """Where a process's time goes: the stack of one thread sampled every few milliseconds.

    Each sample counts the innermost function of the project's own code on the stack, marked
    when the innermost frame of all is in psycopg (talking to PostgreSQL) or Django. A thread
    of its own, so the measured code runs as it would (a few hundred samples a second).
    """

    INTERVAL = 0.005

    def __init__(self, thread_id: int | None = None) -> None:
        self.thread_id = thread_id or threading.get_ident()
        self.counts: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._root = str(Path(__file__).resolve().parents[1])

    def _label(self, frame) -> str:
        innermost = frame.f_code.co_filename
        where = " [psycopg]" if "/psycopg/" in innermost else " [Django]" if (
            "/django/" in innermost
        ) else ""  # fmt: skip
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(self._root) and "/.venv/" not in name:
                relative = name[len(self._root) + 1 :].removesuffix(".py").replace("/", ".")
                return f"{relative}.{frame.f_code.co_name}{where}"
            frame = frame.f_back
        return f"(outside the project){where}"

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            frame = sys._current_frames().get(self.thread_id)
            if frame is not None:
                self.counts[self._label(frame)] += 1

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def profile_lines(counts: Counter, top: int = 12) -> list[str]:
    total = sum(counts.values()) or 1
    return [f"{count * 100 / total:5.1f} %  {label}" for label, count in counts.most_common(top)]


def _rate_part(part_id: int) -> tuple[int, Counter]:
    """One worker's share: rate one part of the split file (a forked process of its own)."""
    from charging.models import UsageFilePart
    from charging.partitions import usage_file_part_process

    with Sampler() as sampler:
        part = usage_file_part_process(part=UsageFilePart.objects.get(pk=part_id))
    return part.records_read, sampler.counts


def ingest(path: Path, *, workers: int, profile: Counter | None = None):
    """The path under test: receive (checksum, store, frame check), then rate whole or in parts.

    With several workers the file is split by subscriber group (charging.partitions) and each
    part is rated by a process of its own, as Celery workers would rate them. ``profile``
    gathers the samples of every process's work (Sampler).
    """
    profile = Counter() if profile is None else profile
    with Sampler() as sampler:
        usage_file = _receive_and_split(path, workers=workers)
    profile.update(sampler.counts)
    if workers < 2:
        return usage_file
    from django.db import connections

    connections.close_all()  # each forked worker opens its own connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _read, counts in pool.map(_rate_part, [part.pk for part in usage_file.bench_parts]):
            profile.update(counts)
    usage_file.refresh_from_db()
    return usage_file


def _receive_and_split(path: Path, *, workers: int):
    from charging.models import FileOrigin
    from charging.partitions import usage_file_split
    from charging.services import usage_file_process, usage_file_receive

    with path.open("rb") as content:
        usage_file = usage_file_receive(
            name=path.name, content=content, origin=FileOrigin.BENCHMARK
        )
    if workers < 2:
        return usage_file_process(usage_file=usage_file)
    usage_file.bench_parts = usage_file_split(usage_file=usage_file, parts=workers)
    return usage_file


def run(*, records: int, subscriptions: int, workers: int = 1) -> dict:
    """Generate, load and time both paths in the current (throwaway) database."""
    import resource

    from django.db import connection

    with Stopwatch() as loading:
        load_world(subscriptions)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "CDR_HOSTNET_20261101000500_000001.csv"
        with Stopwatch() as generating:
            write_file(path, records=records, subscriptions=subscriptions)
        size = path.stat().st_size
        copy_seconds = copy_baseline(path)
        profile: Counter = Counter()
        with Stopwatch() as ingesting:
            usage_file = ingest(path, workers=workers, profile=profile)
        peak_rss = max_rss_bytes()  # before the floor is measured: that is not the path's
        peak_rss_worker = max_rss_bytes(resource.RUSAGE_CHILDREN) if workers > 1 else None
        floor = write_floor(Path(folder), workers=max(workers, 1)) or {}
    end_to_end = per_second(records, ingesting.seconds)
    copy_rate = per_second(records, copy_seconds) if copy_seconds else None
    ratio = end_to_end / copy_rate if copy_rate else None
    floor_rates = {
        label: per_second(records, seconds) for label, seconds in floor.get("seconds", {}).items()
    }
    floor_rate = floor_rates.get("indexed")
    to_floor = end_to_end / floor_rate if floor_rate else None
    figures = {
        "benchmark": "rating",
        "database": connection.vendor,
        "records": records,
        "subscriptions": subscriptions,
        "workers": workers,
        "file_bytes": size,
        "accepted": usage_file.records_accepted,
        "rejected": usage_file.records_rejected,
        "load_world_s": round(loading.seconds, 2),
        "generate_s": round(generating.seconds, 2),
        "end_to_end_s": round(ingesting.seconds, 2),
        "records_per_s": round(end_to_end),
        "copy_s": round(copy_seconds, 2) if copy_seconds else None,
        "copy_records_per_s": round(copy_rate) if copy_rate else None,
        "ratio_to_copy": round(ratio, 4) if ratio else None,
        "max_rss_bytes": peak_rss,
        "max_rss_worker_bytes": peak_rss_worker,
        "write_floor_records_per_s": {label: round(rate) for label, rate in floor_rates.items()}
        or None,
        "write_floor_ratio_to_copy": {
            label: round(rate / copy_rate, 4) for label, rate in floor_rates.items()
        }
        if copy_rate and floor_rates
        else None,
        "ratio_to_write_floor": round(to_floor, 4) if to_floor else None,
        "write_floor_foreign_keys": floor.get("foreign_keys"),
        "target_records_per_s": TARGET_RECORDS_PER_S,
        "target_ratio_to_write_floor": TARGET_FLOOR_RATIO,
        "meets_target": bool(
            end_to_end >= TARGET_RECORDS_PER_S
            and to_floor is not None
            and to_floor >= TARGET_FLOOR_RATIO
        ),
        "profile": profile_lines(profile),
    }
    print(f"{records:,} records ({mb(size)}) for {subscriptions:,} subscriptions "
          f"on {connection.vendor}; world loaded in {loading.seconds:.1f} s")  # fmt: skip
    print(
        f"end to end: {ingesting.seconds:.2f} s = {end_to_end:,.0f} records/s "
        f"(accepted {usage_file.records_accepted:,}, rejected {usage_file.records_rejected:,})"
    )
    if copy_rate:
        print(f"plain COPY of the records into a logged table: {copy_rate:,.0f} records/s; "
              f"end to end is {ratio:.4f} of it")  # fmt: skip
        for label, rate in floor_rates.items():
            schema = "the product's schema" if label == "indexed" else "unindexed tables"
            print(f"write floor, {schema}: {rate:,.0f} records/s: COPY of the rows written "
                  f"(events, R17 keys, bucket draws, fair-use counts), no parsing or rating, "
                  f"{max(workers, 1)} connection(s)")  # fmt: skip
        print(f"end to end / write floor: {to_floor:.4f} (target {TARGET_FLOOR_RATIO})")
    else:
        print("plain COPY and write floor: not measured (needs PostgreSQL: set DATABASE_URL)")
    print(f"peak resident memory: {mb(figures['max_rss_bytes'])}")
    if workers > 1:
        print(f"peak resident memory of a worker: {mb(figures['max_rss_worker_bytes'])}")
    print("where the time went (samples of every process, innermost function of the project):")
    for line in figures["profile"]:
        print("  " + line)
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rating", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument(
        "--subscriptions",
        type=int,
        default=None,
        help="subscribers drawn from (default: one per RECORDS_PER_SUBSCRIBER records)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="rate the file in this many parts, in parallel"
    )
    options = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        subscriptions = options.subscriptions or max(20, options.records // RECORDS_PER_SUBSCRIBER)
        figures = run(records=options.records, subscriptions=subscriptions, workers=options.workers)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
