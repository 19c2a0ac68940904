"""How fast a settlement run computes a host network's month:
``python -m benchmarks.settlement [--accounts 100000] [--events 1000000]``.

On PostgreSQL only. Loads the bill run benchmark's data (benchmarks.billrun.load: a brand, N
postpaid accounts of one subscription each, M rated usage events over October, set-based
``INSERT … SELECT generate_series``), gives every event a wholesale rating (R14) and the host
network ``BENCH`` a card with a SIM fee of 0.30, then times ``settlement_run_execute`` of
October: the GROUP BY over the events per service and roaming zone, the count of SIMs active
on any day of the month (R31), the statement and its lines. Checks that the statement's usage
equals the events' wholesale sum and that the SIM fee counts every subscription; a second run
(the idempotent rerun of the draft) is timed too. By default it works in a throwaway database
(``test_<name>_bench_<pid>``). Ends with ``RESULT {json}``.
"""

import argparse
import datetime as dt
import os
from decimal import Decimal

from benchmarks.common import Stopwatch, max_rss_bytes, mb, print_result, setup_django

SIM_FEE = Decimal("0.30")


def load(*, accounts: int, events: int) -> dict:
    from django.db import connection

    from benchmarks.billrun import load as billrun_load
    from catalog.models import HostNetwork, HostNetworkTariff, RateCard, Status, ZoneTable
    from settlement.services import partner_save

    loaded = billrun_load(accounts=accounts, events=events)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE charging_usageevent SET wholesale_units = units, "
            "wholesale_amount = round(retail_amount / 3, 6), "
            "roaming_zone = (ARRAY['HOME','EU','WORLD1'])[(length(record_id) %% 3) + 1] "
            "WHERE source = %s",
            ["BENCH"],
        )
        cursor.execute("ANALYZE charging_usageevent")
    table = ZoneTable.objects.get(code="BENCH")
    card = RateCard.objects.create(
        code="BENCH-WHOLESALE", name="Benchmark wholesale", kind="wholesale", zone_table=table,
        status=Status.PUBLISHED,
    )  # fmt: skip
    network = HostNetwork.objects.create(
        code="BENCH", name="Benchmark host", plmn_codes=["26203"], country_code="49"
    )
    # One SIM of the host network per subscription (R31: the SIM fee counts them).
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO subscribers_sim (created_at, updated_at, iccid, imsi, status,
                 host_network_id)
               SELECT now(), now(), '8949' || lpad(s.id::text, 15, '0'),
                 '26203' || lpad(s.id::text, 10, '0'), 'assigned', %(network)s
               FROM subscribers_subscription s WHERE s.plan_id = %(plan)s""",
            {"network": network.pk, "plan": loaded["plan"].pk},
        )
        cursor.execute(
            """UPDATE subscribers_subscription s SET sim_id = m.id FROM subscribers_sim m
               WHERE m.imsi = '26203' || lpad(s.id::text, 10, '0') AND s.plan_id = %(plan)s""",
            {"plan": loaded["plan"].pk},
        )
    HostNetworkTariff.objects.create(
        host_network=network, rate_card=card, sim_fee=SIM_FEE,
        effective_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    partner = partner_save(
        brand=loaded["brand"], code="BENCH-HOST", name="Benchmark host network",
        kind="host_network", currency="EUR", host_network=network,
    )  # fmt: skip
    return {"partner": partner}


def run(*, accounts: int, events: int) -> dict:
    from django.db import connection
    from django.db.models import Count, Sum

    from charging.models import UsageEvent
    from settlement.models import LineKind, SettlementRun
    from settlement.selectors import period_of
    from settlement.services import settlement_run_execute

    if connection.vendor != "postgresql":
        raise SystemExit("the settlement benchmark needs PostgreSQL (DATABASE_URL)")
    with Stopwatch() as loading:
        partner = load(accounts=accounts, events=events)["partner"]
    print(f"loaded {accounts:,} accounts and {events:,} rated events in {loading.seconds:.1f} s")
    settlement = SettlementRun.objects.create(partner=partner, period_year=2026, period_month=10)
    with Stopwatch() as first:
        settlement = settlement_run_execute(run=settlement)
    with Stopwatch() as second:
        settlement = settlement_run_execute(run=settlement)
    statement = settlement.statement
    statement.refresh_from_db()
    period = period_of(partner=partner, year=2026, month=10)
    expected = UsageEvent.objects.filter(
        source="BENCH", started_at__gte=period.start, started_at__lt=period.end
    ).aggregate(total=Sum("wholesale_amount"), n=Count("id"))
    usage = statement.lines.filter(kind=LineKind.USAGE).aggregate(total=Sum("amount"))["total"]
    sims = statement.lines.get(kind=LineKind.SIM_FEE)
    print(
        f"settlement run: {settlement.events:,} events in {first.seconds:.2f} s "
        f"(rerun {second.seconds:.2f} s); usage {usage}, {sims.units:,} SIMs, "
        f"total {statement.currency} {statement.total}"
    )
    figures = {
        "benchmark": "settlement",
        "database": connection.vendor,
        "accounts": accounts,
        "events": events,
        "load_s": round(loading.seconds, 1),
        "run_s": round(first.seconds, 3),
        "rerun_s": round(second.seconds, 3),
        "events_settled": settlement.events,
        "events_in_month": expected["n"],
        "usage_total": str(usage),
        "usage_matches_events": usage == expected["total"],
        "sims": sims.units,
        "total": str(statement.total),
        "max_rss_bytes": max_rss_bytes(),
    }
    print(f"usage equals the events' wholesale sum: {figures['usage_matches_events']}; "
          f"peak RSS {mb(figures['max_rss_bytes'])}")  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.settlement", description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use the configured database as it is and leave the rows (a scratch database "
        "or a test's transaction)",
    )
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.events < 0:
        parser.error("--accounts at least 1, --events not negative")
    setup_django()
    from django.conf import settings
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    settings.DEBUG = False  # no query log
    options = {"accounts": args.accounts, "events": args.events}
    if args.in_place:
        figures = run(**options)
        print_result(figures)
        return figures
    database = connections["default"].settings_dict
    if not database["ENGINE"].endswith("postgresql"):
        raise SystemExit("the settlement benchmark needs PostgreSQL (DATABASE_URL)")
    database["TEST"]["NAME"] = f"test_{database['NAME']}_bench_{os.getpid()}"
    databases = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        figures = run(**options)
    finally:
        teardown_databases(databases, verbosity=0)
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
