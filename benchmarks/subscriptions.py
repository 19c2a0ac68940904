"""How fast the rating engine finds a record's subscriber (R19):
``python -m benchmarks.subscriptions [--subscriptions 100000]``.

Creates subscriptions with realistic effective-dated terms (ordered, activated in October 2026;
some change plan, some are suspended and reactivated, some end) in bulk (``COPY`` on
PostgreSQL, ``bulk_create`` on SQLite), then times

- single look-ups: ``subscription_term_at`` for one record at a time (one indexed query each);
- batched look-ups: ``TermIndex.load`` for 1,000 numbers and IMSIs at once, then
  ``TermIndex.resolve`` for each record (what mediation does per batch of a usage file);

checks every answer against what was generated, shows the query plan of both look-ups (it must
use the term indexes ``term_msisdn_from`` / ``term_imsi_from``) and ends with ``RESULT {json}``.

By default it works in a throwaway database (``test_<name>`` of the configured one, created
with the migrations and dropped afterwards); ``--in-place`` uses the configured database itself,
with its own brand and MSISDN block, and deletes what it made at the end.
"""

import argparse
import datetime as dt
import os
import random
import re
import statistics
from dataclasses import dataclass

from benchmarks.common import (
    Stopwatch,
    max_rss_bytes,
    mb,
    per_second,
    print_result,
    setup_django,
    traced_peak,
)

SEED = 20261025
MSISDN_PREFIX = "4915999"  # + 6 digits: a block no demo or test uses
IMSI_PREFIX = "26203999"  # + 7 digits
BRAND_CODE = "BENCH-SUBS"
SUBSCRIPTIONS_PER_ACCOUNT = 10
BATCH_SIZE = 1_000
OCTOBER_START = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # 2026-10-01 00:00 Berlin
DAY = dt.timedelta(days=1)
TERM_COLUMNS = (
    "subscription_id",
    "valid_from",
    "valid_to",
    "msisdn",
    "imsi",
    "plan_id",
    "status",
    "change",
)
SUBSCRIPTION_COLUMNS = (
    "created_at",
    "updated_at",
    "billing_account_id",
    "status",
    "msisdn",
    "plan_id",
    "activated_at",
    "terminated_at",
)


@dataclass
class Life:
    """What was generated for one subscription: its steps (instant, status, plan index)."""

    msisdn: str
    imsi: str
    steps: list[tuple[dt.datetime, str, int]]

    def at(self, instant: dt.datetime) -> tuple[str, int] | None:
        """Return (status, plan index) in force at an instant, or None before the order."""
        found = None
        for start, status, plan in self.steps:
            if start <= instant:
                found = (status, plan)
        return found


def generate_lives(count: int, *, seed: int = SEED) -> list[Life]:
    """Draw ``count`` subscription lives with a fixed seed."""
    rng = random.Random(seed)
    lives = []
    for number in range(count):
        activated = OCTOBER_START + DAY * rng.randrange(31)
        plan = rng.randrange(3)
        steps = [
            (activated - DAY * rng.randint(1, 6), "pending", plan),
            (activated, "active", plan),
        ]
        fate = rng.random()
        later = activated + DAY * rng.randint(2, 25)
        if fate < 0.20:
            steps.append((later, "active", (plan + 1) % 3))
        elif fate < 0.25:
            steps.append((later, "suspended", plan))
            steps.append((later + DAY * rng.randint(1, 5), "active", plan))
        elif fate < 0.30:
            steps.append((later, "terminated", plan))
        lives.append(Life(f"{MSISDN_PREFIX}{number:06d}", f"{IMSI_PREFIX}{number:07d}", steps))
    return lives


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere."""
    from django.db import connection

    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    model.objects.bulk_create(
        (model(**dict(zip(columns, row, strict=True))) for row in rows), batch_size=2_000
    )


def load(lives: list[Life]) -> dict:
    """Write a brand, three plans, accounts, the subscriptions and their terms; return ids."""
    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import Brand, Plan, TaxRegion
    from subscribers.models import (
        BillingAccount,
        Customer,
        Subscription,
        SubscriptionTerm,
    )

    now = timezone.now()
    with transaction.atomic():
        Brand.objects.bulk_create([Brand(code=BRAND_CODE, name="Benchmark brand")])
        brand = Brand.objects.get(code=BRAND_CODE)
        TaxRegion.objects.bulk_create([TaxRegion(code=BRAND_CODE, name="Benchmark region")])
        region = TaxRegion.objects.get(code=BRAND_CODE)
        Plan.objects.bulk_create(
            Plan(code=f"{BRAND_CODE}-{size}", name=size, brand=brand, payment_model="postpaid")
            for size in "SML"
        )
        plans = list(Plan.objects.filter(brand=brand).order_by("code").values_list("pk", flat=True))
        accounts = -(-len(lives) // SUBSCRIPTIONS_PER_ACCOUNT)
        Customer.objects.bulk_create(
            (
                Customer(brand=brand, number=f"BENCH{n:07d}", kind="person", last_name=f"B{n}")
                for n in range(accounts)
            ),
            batch_size=2_000,
        )
        customers = dict(
            Customer.objects.filter(brand=brand).values_list("number", "pk").iterator()
        )
        BillingAccount.objects.bulk_create(
            (
                BillingAccount(
                    customer_id=customers[f"BENCH{n:07d}"],
                    number=f"BENCH{n:07d}",
                    tax_region=region,
                    payment_model="postpaid",
                )
                for n in range(accounts)
            ),
            batch_size=2_000,
        )
        account_ids = list(
            BillingAccount.objects.filter(customer__brand=brand)
            .order_by("number")
            .values_list("pk", flat=True)
        )
        _insert(
            Subscription,
            SUBSCRIPTION_COLUMNS,
            [
                (
                    now,
                    now,
                    account_ids[index // SUBSCRIPTIONS_PER_ACCOUNT],
                    life.steps[-1][1],
                    life.msisdn,
                    plans[life.steps[-1][2]],
                    life.steps[1][0],
                    life.steps[-1][0] if life.steps[-1][1] == "terminated" else None,
                )
                for index, life in enumerate(lives)
            ],
        )
        ids = dict(
            Subscription.objects.filter(billing_account__customer__brand=brand)
            .values_list("msisdn", "pk")
            .iterator()
        )
        rows = []
        for life in lives:
            for index, (start, status, plan) in enumerate(life.steps):
                end = life.steps[index + 1][0] if index + 1 < len(life.steps) else None
                change = "create" if index == 0 else status
                row = (ids[life.msisdn], start, end, life.msisdn, life.imsi, plans[plan], status)
                rows.append((*row, change))
        _insert(SubscriptionTerm, TERM_COLUMNS, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE subscribers_subscription")
            cursor.execute("ANALYZE subscribers_subscriptionterm")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"plans": plans, "subscriptions": ids, "terms": len(rows)}


def cleanup() -> int:
    """Delete everything the benchmark made in the configured database; return the terms.

    Plain DELETE statements: the ORM's delete would load every subscription to write its audit
    row, and the benchmark's rows have none (they are bulk-inserted).
    """
    from django.db import connection, transaction

    from catalog.models import Brand, Plan, TaxRegion
    from subscribers.models import BillingAccount, Customer, Subscription, SubscriptionTerm

    table = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (Brand, Plan, TaxRegion, BillingAccount, Customer, Subscription)
    }
    terms_table = connection.ops.quote_name(SubscriptionTerm._meta.db_table)
    brand = f"(SELECT id FROM {table[Brand]} WHERE code = %s)"
    customers = f"(SELECT id FROM {table[Customer]} WHERE brand_id IN {brand})"
    accounts = f"(SELECT id FROM {table[BillingAccount]} WHERE customer_id IN {customers})"
    statements = [
        f"DELETE FROM {table[Subscription]} WHERE billing_account_id IN {accounts}",
        f"DELETE FROM {table[BillingAccount]} WHERE customer_id IN {customers}",
        f"DELETE FROM {table[Customer]} WHERE brand_id IN {brand}",
        f"DELETE FROM {table[Plan]} WHERE brand_id IN {brand}",
        f"DELETE FROM {table[Brand]} WHERE code = %s",
        f"DELETE FROM {table[TaxRegion]} WHERE code = %s",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {terms_table} WHERE msisdn LIKE %s", [f"{MSISDN_PREFIX}%"])
        terms = cursor.rowcount
        for sql in statements:
            cursor.execute(sql, [BRAND_CODE])
    return terms


def in_use() -> bool:
    """Tell whether the benchmark's brand or numbers are in the database already."""
    from catalog.models import Brand
    from subscribers.models import SubscriptionTerm

    return (
        Brand.objects.filter(code=BRAND_CODE).exists()
        or SubscriptionTerm.objects.filter(msisdn__startswith=MSISDN_PREFIX).exists()
    )


def sample_records(lives: list[Life], count: int, rng: random.Random) -> list[tuple]:
    """Draw usage records: (msisdn, imsi, instant, the life), in October and early November."""
    records = []
    for _ in range(count):
        life = rng.choice(lives)
        instant = OCTOBER_START + dt.timedelta(seconds=rng.randrange(40 * 86_400))
        by_imsi = rng.random() < 0.1
        records.append(("" if by_imsi else life.msisdn, life.imsi, instant, life))
    return records


def expected_answer(life: Life, instant: dt.datetime, ids: dict, plans: list) -> tuple:
    """What R19 answers for a record of this life: (subscription id, plan id) or a reason."""
    state = life.at(instant)
    if state is None or state[0] not in ("active", "barred"):
        return (None, "INACTIVE_SUBSCRIPTION")
    return (ids[life.msisdn], plans[state[1]])


def answer(term, reason) -> tuple:
    return (None, reason) if term is None else (term.subscription_id, term.plan_id)


def explain(*, msisdns: list[str], imsis: list[str]) -> str:
    """Run ``TermIndex.load`` once, then return the database's plan for the query it made."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from subscribers.selectors import TermIndex

    with CaptureQueriesContext(connection) as captured:
        TermIndex.load(msisdns=msisdns, imsis=imsis)
    [query] = captured.captured_queries
    postgresql = connection.vendor == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + query["sql"])
        rows = cursor.fetchall()
    lines = [row[0] if postgresql else row[-1] for row in rows]
    # Long IN lists make the plan unreadable: show how many values they hold instead.
    return "\n".join(re.sub(r"'\{[^}]{80,}\}'", _values_count, line) for line in lines)


def _values_count(match: re.Match) -> str:
    return f"'{{… {match.group(0).count(',') + 1} values}}'"


def uses_term_indexes(plan: str) -> bool:
    return "term_msisdn_from" in plan and "term_imsi_from" in plan


def measure(lives: list[Life], ids: dict, plans: list, *, singles: int, batches: int) -> dict:
    """Time single and batched look-ups; check every answer."""
    from subscribers.selectors import TermIndex, subscription_term_at

    rng = random.Random(SEED + 1)
    wrong = 0
    single_records = sample_records(lives, singles, rng)
    durations = []
    for msisdn, imsi, instant, life in single_records:
        with Stopwatch() as watch:
            term, reason = subscription_term_at(msisdn=msisdn, imsi=imsi, instant=instant)
        durations.append(watch.seconds)
        wrong += answer(term, reason) != expected_answer(life, instant, ids, plans)
    durations.sort()

    batch_records = [sample_records(lives, BATCH_SIZE, rng) for _ in range(max(1, batches))]
    load_seconds = resolve_seconds = 0.0
    for records in batch_records:
        with Stopwatch() as loading:
            index = TermIndex.load(
                msisdns=[r[0] for r in records], imsis=[r[1] for r in records if not r[0]]
            )
        with Stopwatch() as resolving:
            answers = [index.resolve(msisdn=r[0], imsi=r[1], instant=r[2]) for r in records]
        load_seconds += loading.seconds
        resolve_seconds += resolving.seconds
        for (term, reason), (_, _, instant, life) in zip(answers, records, strict=True):
            wrong += answer(term, reason) != expected_answer(life, instant, ids, plans)
    with traced_peak() as memory:
        TermIndex.load(msisdns=[r[0] for r in batch_records[0]], imsis=[])
    batched = len(batch_records) * BATCH_SIZE
    return {
        "single_lookups": len(durations),
        "single_ms_mean": round(statistics.fmean(durations) * 1000, 3),
        "single_ms_p50": round(durations[len(durations) // 2] * 1000, 3),
        "single_ms_p95": round(durations[int(len(durations) * 0.95)] * 1000, 3),
        "single_ms_p99": round(durations[int(len(durations) * 0.99)] * 1000, 3),
        "single_lookups_per_s": round(per_second(len(durations), sum(durations))),
        "batches": len(batch_records),
        "batch_size": BATCH_SIZE,
        "batch_load_ms_mean": round(load_seconds / len(batch_records) * 1000, 2),
        "batch_resolve_ms_mean": round(resolve_seconds / len(batch_records) * 1000, 2),
        "batched_lookups_per_s": round(per_second(batched, load_seconds + resolve_seconds)),
        "batch_load_peak_bytes": memory["peak_bytes"],
        "wrong_answers": wrong,
    }


def run(
    *,
    subscriptions: int,
    singles: int,
    batches: int,
    keep: bool = False,
    random_page_cost: float | None = None,
) -> dict:
    """Load, measure and (unless ``keep``) delete the benchmark's rows in the current database.

    ``random_page_cost`` sets PostgreSQL's planner cost of a random page read for this session
    (the server default 4 assumes spinning disks; 1.1 is the usual value for SSDs).
    """
    from django.db import connection

    settings = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if random_page_cost is not None:
                cursor.execute(
                    "SELECT set_config('random_page_cost', %s, false)", [str(random_page_cost)]
                )
            cursor.execute("SHOW random_page_cost")
            settings["random_page_cost"] = float(cursor.fetchone()[0])
    if in_use():
        raise SystemExit(f"brand {BRAND_CODE} or numbers {MSISDN_PREFIX}… exist: run --cleanup")
    with Stopwatch() as generating:
        lives = generate_lives(subscriptions)
    try:
        with Stopwatch() as loading:
            loaded = load(lives)
        print(
            f"loaded {subscriptions:,} subscriptions with {loaded['terms']:,} terms "
            f"in {loading.seconds:.1f} s ({connection.vendor})"
        )
        figures = measure(
            lives, loaded["subscriptions"], loaded["plans"], singles=singles, batches=batches
        )
        sample = sample_records(lives, BATCH_SIZE, random.Random(SEED + 2))
        numbers = [r[0] for r in sample if r[0]]
        imsis = [r[1] for r in sample if not r[0]]
        plan = explain(msisdns=numbers, imsis=imsis)
        single_plan = explain(msisdns=[lives[0].msisdn], imsis=[lives[0].imsi])
    finally:
        if not keep:
            cleanup()
    print(f"\nquery plan of TermIndex.load ({len(numbers)} numbers, {len(imsis)} IMSIs):")
    print(plan)
    print("\nquery plan of one look-up (subscription_term_at):")
    print(single_plan)
    figures.update(
        benchmark="subscriptions",
        database=connection.vendor,
        subscriptions=subscriptions,
        terms=loaded["terms"],
        generate_s=round(generating.seconds, 2),
        load_s=round(loading.seconds, 2),
        load_terms_per_s=round(per_second(loaded["terms"], loading.seconds)),
        single_uses_term_indexes=uses_term_indexes(single_plan),
        batch_uses_term_indexes=uses_term_indexes(plan),
        max_rss_bytes=max_rss_bytes(),
        **settings,
    )
    print(
        f"\nsingle look-ups: {figures['single_lookups']:,}, mean {figures['single_ms_mean']} ms, "
        f"p50 {figures['single_ms_p50']} ms, p95 {figures['single_ms_p95']} ms, "
        f"p99 {figures['single_ms_p99']} ms ({figures['single_lookups_per_s']:,}/s)"
    )
    print(
        f"batched look-ups: {figures['batches']} batches of {BATCH_SIZE:,}: load "
        f"{figures['batch_load_ms_mean']} ms + resolve {figures['batch_resolve_ms_mean']} ms "
        f"a batch ({figures['batched_lookups_per_s']:,} records/s), "
        f"{mb(figures['batch_load_peak_bytes'])} peak for one batch's terms"
    )
    print(
        f"answers checked: {figures['single_lookups'] + figures['batches'] * BATCH_SIZE:,}, "
        f"wrong: {figures['wrong_answers']}; term indexes used: single "
        f"{figures['single_uses_term_indexes']}, batch {figures['batch_uses_term_indexes']}; "
        f"peak RSS {mb(figures['max_rss_bytes'])}"
    )
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.subscriptions", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=2_000, help="single look-ups to time")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 records")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use the configured database (own brand and numbers, deleted afterwards)",
    )
    parser.add_argument("--keep", action="store_true", help="with --in-place: keep the rows")
    parser.add_argument(
        "--random-page-cost",
        type=float,
        help="PostgreSQL planner setting for this session (1.1 for SSDs; default: the server's)",
    )
    parser.add_argument(
        "--cleanup", action="store_true", help="only delete rows an earlier --keep run left"
    )
    args = parser.parse_args(argv)
    if args.subscriptions < 1:
        parser.error("--subscriptions must be at least 1")
    setup_django()
    from django.conf import settings

    settings.DEBUG = False  # no query log: it would slow the look-ups and grow memory
    if args.cleanup:
        print(f"deleted {cleanup():,} terms")
        return {}
    options = {"subscriptions": args.subscriptions, "singles": args.singles}
    options.update(batches=args.batches, random_page_cost=args.random_page_cost)
    if args.in_place:
        figures = run(**options, keep=args.keep)
    else:
        from django.db import connections
        from django.test.utils import setup_databases, teardown_databases

        database = connections["default"].settings_dict
        if database["ENGINE"].endswith("postgresql"):
            # A name of its own: never the test database a test run may be using.
            database["TEST"]["NAME"] = f"test_{database['NAME']}_bench_{os.getpid()}"
        databases = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
        try:
            figures = run(**options, keep=True)
        finally:
            teardown_databases(databases, verbosity=0)
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
