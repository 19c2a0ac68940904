"""The whole usage path, file to rated events committed: ``python -m benchmarks.rating``.

Generates N synthetic records in the host network's CSV format (shared/docs/mno-cdr-format.md)
for a few thousand subscriptions on the scenario's catalogue (catalog/examples/
golden-october.yaml), then times, in one run:

- the end-to-end path: receive (checksum, file stored, frame check), then parse, duplicate check,
  subscriber and zone look-ups, retail and wholesale rating, allowance draw-down, writes, commit;
  with ``--workers K`` the file is split by subscriber group and K processes rate the parts in
  parallel (charging.partitions), as K Celery workers do;
- a plain PostgreSQL ``COPY`` of the same records into an unindexed table: the physical limit
  of the machine for moving those bytes into the database;
- the write floor: a ``COPY`` of the rows the run wrote (rated events, bucket draws, fair-use
  counts), read back, into tables indexed as the product's are, from as many connections as
  the run had workers, then into unindexed tables: what storing the result costs with no
  parsing and no rating at all, the ceiling of any implementation on this machine;

and prints records/s of each, the ratios to the plain COPY and the peak memory, ending with
``RESULT {json}``.
It works in a throwaway database (``test_<name>`` of the configured one, migrated, then
dropped). The issue's target: 100,000 records/s end to end for 1,000,000 records on two cores,
at least 0.35 of COPY, memory flat in N.
"""

import argparse
import datetime as dt
import multiprocessing
import random
import tempfile
import threading
from pathlib import Path

from benchmarks.common import Stopwatch, max_rss_bytes, mb, per_second, print_result, setup_django

SEED = 20261101
TARGET_RECORDS_PER_S = 100_000
TARGET_RATIO = 0.35
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


def copy_baseline(path: Path) -> float | None:
    """Seconds to COPY the file's records into an unindexed table (PostgreSQL only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    columns = ", ".join(f"c{i} text" for i in range(14))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE UNLOGGED TABLE bench_cdr_copy ({columns})")
        with (
            Stopwatch() as copying,
            cursor.copy("COPY bench_cdr_copy FROM STDIN (FORMAT csv)") as copy,
            path.open("rb") as source,
        ):
            source.readline()
            for line in source:
                if not line.startswith(b"TRAILER,"):
                    copy.write(line)
        cursor.execute("DROP TABLE bench_cdr_copy")
    return copying.seconds


# What the usage path writes for each record: the floor is measured on these tables.
WRITTEN_TABLES = ("charging_usageevent", "subscribers_bucketmovement", "charging_fairusecount")


def write_floor(folder: Path, *, workers: int) -> dict | None:
    """Seconds to COPY the rows the run wrote into copies of their tables (PostgreSQL only).

    The rows are read back to files (streamed: memory stays flat), then copied, split in
    ``workers`` slices over as many connections in parallel, into tables created ``LIKE`` the
    real ones: ``INCLUDING ALL`` (same indexes and constraints) for the indexed floor, plain
    for the unindexed one. Bucket draws are the run's usage draws only. Nothing is kept.
    """
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    sources = {
        "charging_usageevent": "charging_usageevent",
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
    figures = {}
    for label, including in (("indexed", "INCLUDING ALL"), ("unindexed", "INCLUDING DEFAULTS")):
        with psycopg.connect(**params, autocommit=True) as setup:
            for table in WRITTEN_TABLES:
                setup.execute(f"DROP TABLE IF EXISTS floor_{table}")
                setup.execute(f"CREATE TABLE floor_{table} (LIKE {table} {including})")
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
                    conn.commit()
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
                setup.execute(f"DROP TABLE floor_{table}")
    return figures


def _rate_part(part_id: int) -> int:
    """One worker's share: rate one part of the split file (a forked process of its own)."""
    from charging.models import UsageFilePart
    from charging.partitions import usage_file_part_process

    return usage_file_part_process(part=UsageFilePart.objects.get(pk=part_id)).records_read


def ingest(path: Path, *, workers: int):
    """The path under test: receive (checksum, store, frame check), then rate whole or in parts.

    With several workers the file is split by subscriber group (charging.partitions) and each
    part is rated by a process of its own, as Celery workers would rate them.
    """
    from django.db import connections

    from charging.models import FileOrigin
    from charging.partitions import usage_file_split
    from charging.services import usage_file_process, usage_file_receive

    with path.open("rb") as content:
        usage_file = usage_file_receive(
            name=path.name, content=content, origin=FileOrigin.BENCHMARK
        )
    if workers < 2:
        return usage_file_process(usage_file=usage_file)
    parts = usage_file_split(usage_file=usage_file, parts=workers)
    connections.close_all()  # each forked worker opens its own connection
    with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
        pool.map(_rate_part, [part.pk for part in parts])
    usage_file.refresh_from_db()
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
        with Stopwatch() as ingesting:
            usage_file = ingest(path, workers=workers)
        peak_rss = max_rss_bytes()  # before the floor is measured: that is not the path's
        peak_rss_worker = max_rss_bytes(resource.RUSAGE_CHILDREN) if workers > 1 else None
        floor = write_floor(Path(folder), workers=max(workers, 1))
    end_to_end = per_second(records, ingesting.seconds)
    copy_rate = per_second(records, copy_seconds) if copy_seconds else None
    ratio = end_to_end / copy_rate if copy_rate else None
    floor_rates = {label: per_second(records, seconds) for label, seconds in (floor or {}).items()}
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
        "target_records_per_s": TARGET_RECORDS_PER_S,
        "target_ratio": TARGET_RATIO,
        "meets_target": bool(
            end_to_end >= TARGET_RECORDS_PER_S and ratio is not None and ratio >= TARGET_RATIO
        ),
    }
    print(f"{records:,} records ({mb(size)}) for {subscriptions:,} subscriptions "
          f"on {connection.vendor}; world loaded in {loading.seconds:.1f} s")  # fmt: skip
    print(
        f"end to end: {ingesting.seconds:.2f} s = {end_to_end:,.0f} records/s "
        f"(accepted {usage_file.records_accepted:,}, rejected {usage_file.records_rejected:,})"
    )
    if copy_rate:
        print(f"plain COPY: {copy_seconds:.2f} s = {copy_rate:,.0f} records/s; "
              f"ratio {ratio:.4f} (target {TARGET_RATIO})")  # fmt: skip
        for label, rate in floor_rates.items():
            print(f"write floor, {label}: {rate:,.0f} records/s (ratio {rate / copy_rate:.4f}): "
                  f"COPY of the rows written, no parsing or rating, {max(workers, 1)} "
                  "connection(s)")  # fmt: skip
    else:
        print("plain COPY: not measured (needs PostgreSQL: set DATABASE_URL)")
    print(f"peak resident memory: {mb(figures['max_rss_bytes'])}")
    if workers > 1:
        print(f"peak resident memory of a worker: {mb(figures['max_rss_worker_bytes'])}")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rating", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--subscriptions", type=int, default=2_000)
    parser.add_argument(
        "--workers", type=int, default=1, help="rate the file in this many parts, in parallel"
    )
    options = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        figures = run(
            records=options.records, subscriptions=options.subscriptions, workers=options.workers
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
