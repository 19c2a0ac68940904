"""How fast a bill run drafts and issues invoices, and renders their PDFs:
``python -m benchmarks.billrun [--accounts 100000] [--events 3000000] [--pdfs 40] [--parts 2]``.

On PostgreSQL only. Loads, with set-based SQL (``INSERT … SELECT generate_series``), a brand
with a 19.99 monthly plan in advance, N postpaid accounts of one subscription each (nine in ten
active since September, one in ten from a day in October) and M rated usage events spread over
October, then times

- the draft run over every account (invoices per second): ``bill_run_start``, then ``--parts``
  worker processes each running ``bill_run_part_task`` on its part of the accounts, as that
  many Celery workers do (``--parts 1``: ``bill_run_execute`` in this process);
- issuing: ``bill_run_issue``, numbers from the locked counter row, no PDFs (invoices/s);
- PDFs: ``invoice_document_render`` of K issued invoices in this process (one worker), beside
  WeasyPrint alone rendering the HTML of the first of them K times, the two in turn (PDFs per
  second, and the ratio of the two);

checks that every account got exactly one invoice and that the totals add up, and reports the
peak memory of this process and of a draft worker. By default it works in a throwaway database
(``test_<name>_bench_<pid>`` created with the migrations and dropped afterwards). Ends with
``RESULT {json}``.
"""

import argparse
import datetime as dt
import os
import resource
from decimal import Decimal

from benchmarks.common import (
    Stopwatch,
    max_rss_bytes,
    mb,
    per_second,
    print_result,
    setup_django,
)

BRAND_CODE = "BENCH-BILL"
MSISDN_PREFIX = "4915888"  # + 7 digits
FEE = Decimal("19.99")
SEPTEMBER = dt.datetime(2026, 8, 31, 22, tzinfo=dt.UTC)  # 2026-09-01 00:00 Berlin
OCTOBER = dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC)


def load(*, accounts: int, events: int) -> dict:
    """Create the benchmark's brand, plan, accounts, subscriptions, terms and events."""
    from django.db import connection

    from catalog import services as catalog_services
    from catalog.models import Brand, PaymentModel, Plan, PlanVersion, RateCard, Status, ZoneTable

    brand = Brand.objects.create(code=BRAND_CODE, name="Benchmark Mobile")
    category = catalog_services.tax_category_save(code="BENCH-TEL", name="Telecom")
    region = catalog_services.tax_region_save(code="BENCH-DE", name="Germany")
    catalog_services.tax_rate_set(
        region=region, category=category, rate=Decimal("0.19"), valid_from=dt.date(2020, 1, 1)
    )
    table = ZoneTable.objects.create(code="BENCH", name="Benchmark zones")
    card = RateCard.objects.create(
        code="BENCH-RETAIL", name="Benchmark retail", kind="retail", zone_table=table,
        status=Status.PUBLISHED,
    )  # fmt: skip
    plan = Plan.objects.create(
        code="BENCH-PLAN", name="Benchmark plan", brand=brand, payment_model=PaymentModel.POSTPAID
    )
    version = PlanVersion.objects.create(
        plan=plan, version=1, status=Status.PUBLISHED, effective_from=SEPTEMBER, rate_card=card,
        recurring_fee=FEE, tax_category=category, published_at=SEPTEMBER,
    )  # fmt: skip
    params = {
        "n": accounts, "m": events, "brand": brand.pk, "region": region.pk, "plan": plan.pk,
        "version": version.pk, "september": SEPTEMBER, "october": OCTOBER,
        "prefix": MSISDN_PREFIX,
    }  # fmt: skip
    statements = [
        """INSERT INTO subscribers_customer (created_at, updated_at, brand_id, number, kind,
             first_name, last_name, company_name, email, phone, street, postal_code, city,
             country, tax_id, language, external_id)
           SELECT now(), now(), %(brand)s, 'BENCH-C' || i, 'person', 'Bench', 'Customer ' || i,
             '', '', '', 'Hauptstraße ' || i, '10115', 'Berlin', 'DE', '', 'de', ''
           FROM generate_series(1, %(n)s) AS i""",
        """INSERT INTO subscribers_billingaccount (created_at, updated_at, customer_id, number,
             name, status, currency, timezone, bill_cycle_day, payment_terms_days,
             tax_region_id, payment_model, credit_limit, dunning_policy, invoice_to_parent)
           SELECT now(), now(), c.id, 'BENCH-A' || substr(c.number, 8), c.last_name, 'active',
             'EUR', 'Europe/Berlin', 1, 14, %(region)s, 'postpaid', 0, '', false
           FROM subscribers_customer c WHERE c.brand_id = %(brand)s""",
        """INSERT INTO subscribers_subscription (created_at, updated_at, billing_account_id,
             status, msisdn, plan_id, activated_at)
           SELECT now(), now(), a.id, 'active',
             %(prefix)s || lpad(substr(a.number, 8), 7, '0'), %(plan)s,
             CASE WHEN a.id %% 10 = 0
                  THEN %(october)s + ((a.id %% 30) * interval '1 day')
                  ELSE %(september)s END
           FROM subscribers_billingaccount a JOIN subscribers_customer c ON c.id = a.customer_id
           WHERE c.brand_id = %(brand)s""",
        """INSERT INTO subscribers_subscriptionterm (subscription_id, valid_from, msisdn, imsi,
             plan_id, status, change)
           SELECT s.id, s.activated_at, s.msisdn, '', s.plan_id, 'active', 'activate'
           FROM subscribers_subscription s WHERE s.plan_id = %(plan)s""",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, params)
        cursor.execute(
            "SELECT min(id), max(id) FROM subscribers_subscription WHERE plan_id = %s", [plan.pk]
        )
        first, last = cursor.fetchone()
        params.update(first=first, span=last - first + 1)
        # Events of the subscriptions, spread over October after each one's activation.
        cursor.execute(
            """INSERT INTO charging_usageevent (source, record_id, record_type, service,
                 subscription_id, billing_account_id, msisdn, imsi, started_at, utc_offset,
                 duration, volume_uplink, volume_downlink, units, other_party, visited_plmn, apn,
                 cause, charging_id, rating_status, rating_error, rating_detail,
                 destination_zone, roaming_zone, time_band, plan_version_id, charged_units,
                 covered_units, currency, retail_amount, tax_inclusive, throttled,
                 fair_use_units, wholesale_units, wholesale_amount)
               SELECT 'BENCH', 'E' || i, 'MOC', (ARRAY['VOICE_OUT','SMS_OUT','DATA'])[i %% 3 + 1],
                 s.id, s.billing_account_id, s.msisdn, '',
                 greatest(s.activated_at, %(october)s)
                   + ((i %% 97) * interval '5 hours') + interval '1 hour',
                 '+0100', 60, 0, 0, 60, '4917012345678', '26203', '', '', '', 'rated', '', '',
                 (ARRAY['NAT_MOBILE','EU','WORLD'])[i %% 3 + 1], 'HOME', 'PEAK',
                 %(version)s, 60, 0, 'EUR', ((i %% 50) * 0.013)::numeric(20, 6), false, false,
                 0, 0, 0
               FROM generate_series(0, %(m)s - 1) AS i
               JOIN subscribers_subscription s ON s.id = %(first)s + (i %% %(span)s)""",
            params,
        )
        cursor.execute("ANALYZE")
    return {"brand": brand, "plan": plan}


def pdf_rates(invoices: list, count: int) -> dict:
    """Time our PDF task's work for ``count`` invoices and WeasyPrint alone for as many."""
    from weasyprint import HTML

    from invoicing import documents

    invoices = invoices[:count]
    html = documents.invoice_html(invoices[0])
    HTML(string=html).write_pdf()  # warm up fonts and caches for both
    alone_seconds = ours_seconds = 0.0
    # Turn about, one of each, so that both see the same load on a shared machine.
    for invoice in invoices:
        with Stopwatch() as alone:
            HTML(string=html, base_url=".").write_pdf()
        with Stopwatch() as ours:
            documents.invoice_document_render(invoice=invoice, force=True)
        alone_seconds += alone.seconds
        ours_seconds += ours.seconds
    pages = documents.pdf_bytes(html)[1]
    return {
        "pdfs": len(invoices),
        "pdf_pages_each": pages,
        "pdfs_per_s": round(per_second(len(invoices), ours_seconds), 2),
        "weasyprint_alone_pdfs_per_s": round(per_second(len(invoices), alone_seconds), 2),
        "pdf_ratio": round(alone_seconds / ours_seconds, 3) if ours_seconds else None,
    }


def _draft_part(run_id: int, part: int, parts: int, chunk: int) -> None:
    """One worker process: the body of the Celery task that drafts a part of a run."""
    from invoicing.tasks import bill_run_part_task

    bill_run_part_task(run_id, part, parts, chunk)


def draft(run, *, chunk: int, parts: int):
    """Draft a run as the bill run task does: one process, or ``parts`` worker processes each
    running ``bill_run_part_task`` on its part (as that many Celery workers would)."""
    import multiprocessing

    from django.db import connections

    from invoicing import services

    if parts == 1:
        return services.bill_run_execute(bill_run=run, chunk_size=chunk)
    run = services.bill_run_start(bill_run=run)
    connections.close_all()  # each worker opens its own connection
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_draft_part, args=(run.pk, part, parts, chunk))
        for part in range(parts)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if any(worker.exitcode for worker in workers):
        raise SystemExit(f"a draft worker failed: exit codes {[w.exitcode for w in workers]}")
    run.refresh_from_db()
    return run


def run(
    *, accounts: int, events: int, pdfs: int, chunk: int, parts: int = 2, in_place: bool = False
) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, Sum

    from invoicing import services
    from invoicing.models import BillRun, Invoice, InvoiceStatus

    if connection.vendor != "postgresql":
        raise SystemExit("the bill run benchmark needs PostgreSQL (DATABASE_URL)")
    if not in_place:
        settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench-media"
    if parts > 1 and connection.in_atomic_block:
        # Worker processes cannot read rows of a transaction still open (a test's): draft here.
        print("drafting in this process: the rows are in a transaction still open")
        parts = 1
    with Stopwatch() as loading:
        loaded = load(accounts=accounts, events=events)
    print(f"loaded {accounts:,} accounts and {events:,} rated events in {loading.seconds:.1f} s")
    cycle = services.bill_cycle_save(brand=loaded["brand"], cycle_day=1)
    run = BillRun.objects.create(cycle=cycle, period_year=2026, period_month=10)
    with Stopwatch() as drafting:
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "services.bill_run_execute(bill_run=run, chunk_size=chunk)", globals(), locals(),
                os.environ["BENCH_PROFILE"],
            )  # fmt: skip
            run.refresh_from_db()
        else:
            run = draft(run, chunk=chunk, parts=parts)
    rss_after_draft = max_rss_bytes()
    rss_workers = max_rss_bytes(resource.RUSAGE_CHILDREN) if parts > 1 else 0
    invoices = Invoice.objects.filter(bill_run=run)
    drafted = invoices.count()
    print(
        f"draft run ({parts} worker process{'es' if parts > 1 else ''}): {drafted:,} invoices "
        f"in {drafting.seconds:.1f} s ({per_second(drafted, drafting.seconds):,.0f}/s), "
        f"{run.accounts_failed} errors, status {run.status}"
    )
    publish = services.invoices_issued_publish
    services.invoices_issued_publish = lambda **kwargs: None  # no PDFs while issuing
    try:
        with Stopwatch() as issuing:
            run = services.bill_run_issue(bill_run=run)
    finally:
        services.invoices_issued_publish = publish
    print(f"issuing: {run.invoices_issued:,} invoices in {issuing.seconds:.1f} s "
          f"({per_second(run.invoices_issued, issuing.seconds):,.0f}/s)")  # fmt: skip
    per_account = invoices.values("billing_account").annotate(n=Count("id"))
    duplicates = per_account.filter(n__gt=1).count()
    totals = invoices.aggregate(net=Sum("net_total"), gross=Sum("gross_total"))
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in invoices.values_list("number", flat=True))
    gapless = numbers == list(range(numbers[0], numbers[0] + len(numbers))) if numbers else True
    sample = list(invoices.filter(status=InvoiceStatus.ISSUED).order_by("pk")[:pdfs])
    rates = pdf_rates(sample, pdfs) if sample else {}
    if rates:
        print(f"PDFs: {rates['pdfs_per_s']}/s per worker ({rates['pdf_pages_each']} pages each); "
              f"WeasyPrint alone {rates['weasyprint_alone_pdfs_per_s']}/s; "
              f"ratio {rates['pdf_ratio']}")  # fmt: skip
    figures = {
        "benchmark": "billrun",
        "database": connection.vendor,
        "accounts": accounts,
        "events": events,
        "chunk": chunk,
        "draft_worker_processes": parts,
        "load_s": round(loading.seconds, 1),
        "draft_s": round(drafting.seconds, 2),
        "draft_invoices": drafted,
        "draft_invoices_per_s": round(per_second(drafted, drafting.seconds)),
        "issue_s": round(issuing.seconds, 2),
        "issued_invoices": run.invoices_issued,
        "issue_invoices_per_s": round(per_second(run.invoices_issued, issuing.seconds)),
        "errors": run.accounts_failed,
        "accounts_billed_twice": duplicates,
        "numbers_gapless": gapless,
        "net_total": str(totals["net"]),
        "gross_total": str(totals["gross"]),
        "max_rss_bytes_after_draft": rss_after_draft,
        "max_rss_bytes_draft_worker": rss_workers,
        "max_rss_bytes": max_rss_bytes(),
        **rates,
    }
    print(f"every account once: {duplicates == 0 and drafted == accounts}; numbers gapless: "
          f"{gapless}; peak RSS {mb(figures['max_rss_bytes'])}")  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.billrun", description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--pdfs", type=int, default=40, help="invoices to render as PDF")
    parser.add_argument("--chunk", type=int, default=1_000, help="accounts billed per chunk")
    parser.add_argument(
        "--parts",
        type=int,
        default=2,
        help="worker processes drafting the run, each a part of the accounts (1: in this one)",
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="use the configured database as it is and leave the rows (a scratch database "
        "or a test's transaction)",
    )
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.events < 0 or args.pdfs < 0 or args.chunk < 1 or args.parts < 1:
        parser.error("--accounts, --chunk and --parts at least 1, --events and --pdfs not negative")
    setup_django()
    from django.conf import settings
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    settings.DEBUG = False  # no query log
    import logging

    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    options = {
        "accounts": args.accounts, "events": args.events, "pdfs": args.pdfs, "parts": args.parts
    }  # fmt: skip
    if args.in_place:
        figures = run(**options, chunk=args.chunk, in_place=True)
        print_result(figures)
        return figures
    database = connections["default"].settings_dict
    if not database["ENGINE"].endswith("postgresql"):
        raise SystemExit("the bill run benchmark needs PostgreSQL (DATABASE_URL)")
    database["TEST"]["NAME"] = f"test_{database['NAME']}_bench_{os.getpid()}"
    databases = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        figures = run(**options, chunk=args.chunk)
    finally:
        teardown_databases(databases, verbosity=0)
    print_result(figures)
    return figures


if __name__ == "__main__":
    main()
