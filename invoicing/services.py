"""Writes of the invoicing: bill cycles, bill runs, review, issuing, credit notes, voiding.

Rules: R26 (idempotent, resumable bill runs), R27 (gapless numbers from a locked counter row),
R28 (issued is final; corrections are credit notes). The bill run's arithmetic is in
``invoicing.billing``.
"""

import datetime as dt
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from charging.models import RerateChange
from core.money import quantize_minor
from core.outbox import publish_many
from core.periods import billing_period
from invoicing.billing import MARGIN, ChunkBiller, Draft, apply_totals, drafts_write
from invoicing.models import (
    FINAL_STATUSES,
    BillCycle,
    BillRun,
    BillRunError,
    BillRunStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    InvoiceStatus,
    InvoiceTax,
    LineKind,
    RerateSettlement,
)
from invoicing.payments.services import (
    invoice_allocations_release,
    invoice_payment_state_refresh,
    issued_invoices_credit_apply,
)
from invoicing.prepaid import hybrid_credit_settle
from subscribers.models import BillingAccount, Subscription

logger = logging.getLogger(__name__)

SERIES_PREFIX = {
    InvoiceKind.INVOICE: "INV",
    InvoiceKind.CREDIT_NOTE: "CN",
    InvoiceKind.STATEMENT: "ST",
    InvoiceKind.RECEIPT: "RC",
}
DEFAULT_CHUNK = 500
ISSUE_CHUNK = 1000


def _user(acting_user):
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


# --- bill cycles and runs ---------------------------------------------------------------------


def bill_cycle_save(*, brand, cycle_day: int, code: str = "", name: str = "") -> BillCycle:
    """Create (or return) the bill cycle of a brand and cycle day."""
    if not 1 <= cycle_day <= 28:
        raise ValidationError({"cycle_day": "the cycle day lies between 1 and 28"})
    cycle, _ = BillCycle.objects.get_or_create(
        brand=brand,
        cycle_day=cycle_day,
        defaults={
            "code": code or f"{brand.code}-D{cycle_day:02d}",
            "name": name or f"{brand.name}, day {cycle_day}",
        },
    )
    return cycle


def bill_run_create(*, cycle: BillCycle, year: int, month: int, acting_user=None) -> BillRun:
    """Create the bill run of a cycle and period (or return the one that exists, R26) and
    start it as a Celery job once committed."""
    if not 1 <= month <= 12:
        raise ValidationError({"month": "a month lies between 1 and 12"})
    if not 2000 <= year <= 2999:
        raise ValidationError({"year": "a year between 2000 and 2999"})
    with transaction.atomic():
        run, created = BillRun.objects.get_or_create(
            cycle=cycle,
            period_year=year,
            period_month=month,
            defaults={"created_by": _user(acting_user)},
        )
        if created or run.status in (BillRunStatus.QUEUED, BillRunStatus.FAILED):
            transaction.on_commit(lambda: _enqueue_execute(run.pk))
    return run


def _enqueue_execute(run_id: int) -> None:
    from invoicing.tasks import bill_run_execute_task

    bill_run_execute_task.delay(run_id)


def bill_run_restart(*, bill_run: BillRun, acting_user=None) -> BillRun:
    """Run a bill run again: it finishes what is missing and changes nothing else (R26)."""
    if bill_run.status in (BillRunStatus.ISSUING, BillRunStatus.ISSUED):
        raise ValidationError({"status": "an issued run has nothing left to draft"})
    BillRun.objects.filter(pk=bill_run.pk).update(status=BillRunStatus.QUEUED)
    transaction.on_commit(lambda: _enqueue_execute(bill_run.pk))
    bill_run.refresh_from_db()
    return bill_run


def _period_window(run: BillRun) -> tuple[dt.datetime, dt.datetime, dt.date]:
    period = billing_period(
        year=run.period_year, month=run.period_month, tz="UTC", cycle_day=run.cycle.cycle_day
    )
    return period.start - MARGIN, period.end + MARGIN, period.start_date


def bill_run_accounts(run: BillRun):
    """Return the accounts a run bills: the cycle's own accounts (children invoiced to their
    parent ride on the parent's invoice) with a subscription that lived in the period."""
    start, end, _ = _period_window(run)
    lived = Subscription.objects.filter(activated_at__lt=end).filter(
        Q(terminated_at__isnull=True) | Q(terminated_at__gt=start)
    )
    # Two EXISTS rather than one with an OR inside: PostgreSQL hashes each of them once, where
    # the OR made it compare every account with every subscription (quadratic in accounts).
    own = lived.filter(billing_account_id=OuterRef("pk"))
    children = lived.filter(billing_account__parent_id=OuterRef("pk"))
    return (
        BillingAccount.objects.filter(
            customer__brand_id=run.cycle.brand_id,
            bill_cycle_day=run.cycle.cycle_day,
            invoice_to_parent=False,
        )
        .filter(Exists(own) | Exists(children))
        .order_by("pk")
    )


def bill_run_execute(
    *, bill_run: BillRun, chunk_size: int = DEFAULT_CHUNK, parts: int = 1
) -> BillRun:
    """Draft the invoices of every account of a run that has none yet (R26).

    Each chunk of accounts is billed and committed on its own: a run killed half-way is run
    again and bills only the accounts still missing; the database refuses a second invoice of
    an account and period whatever happens. With ``parts`` above one the accounts are split
    into that many disjoint parts (account id modulo ``parts``), each drafted by its own Celery
    task (``bill_run_part_task``) so that several workers share the run, when it has
    BILL_RUN_SPLIT_MIN_ACCOUNTS accounts or more to draft; the part that finishes last marks
    the run drafted.
    """
    from django.conf import settings

    run = bill_run_start(bill_run=bill_run)
    if run.status != BillRunStatus.RUNNING:
        return run
    remaining = run.accounts_total - run.accounts_done
    if parts > 1 and remaining >= settings.BILL_RUN_SPLIT_MIN_ACCOUNTS:
        from invoicing.tasks import bill_run_part_task

        for part in range(parts):
            bill_run_part_task.delay(run.pk, part, parts, chunk_size)
        run.refresh_from_db()
        return run
    return bill_run_part(bill_run=run, part=0, parts=1, chunk_size=chunk_size)


def bill_run_start(*, bill_run: BillRun) -> BillRun:
    """Mark a run running and count what it has to draft (R26); parts then draft it."""
    with transaction.atomic():
        run = BillRun.objects.select_for_update().select_related("cycle").get(pk=bill_run.pk)
        if run.status in (BillRunStatus.ISSUING, BillRunStatus.ISSUED):
            return run
        run.status = BillRunStatus.RUNNING
        run.started_at = timezone.now()
        run.progress_at = None
        run.finished_at = None
        run.status_detail = ""
        run.save()
        BillRunError.objects.filter(bill_run=run).delete()
        _without_jit()
        remaining = _remaining_accounts(run).count()
        already = Invoice.objects.filter(bill_run=run).count()
        BillRun.objects.filter(pk=run.pk).update(
            accounts_total=already + remaining,
            accounts_done=already,
            accounts_empty=0,
            accounts_failed=0,
        )
    run.refresh_from_db()
    return run


def _without_jit() -> None:
    """Turn PostgreSQL's JIT off for this transaction: the query over every account of a run
    is estimated costly enough to be compiled, which took longer than running it (0.9 s of
    compiling for 0.6 s of work at 100,000 accounts)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit TO OFF")


def _remaining_accounts(run: BillRun):
    """The accounts of a run that have no invoice or statement of its period yet (R26)."""
    _, _, start_date = _period_window(run)
    done = Invoice.objects.filter(
        billing_account_id=OuterRef("pk"),
        period_start_date=start_date,
        kind__in=[InvoiceKind.INVOICE, InvoiceKind.STATEMENT],
    )
    return bill_run_accounts(run).filter(~Exists(done))


def bill_run_part(
    *, bill_run: BillRun, part: int = 0, parts: int = 1, chunk_size: int = DEFAULT_CHUNK
) -> BillRun:
    """Draft the accounts of one part of a running run (account id modulo ``parts``), chunk
    by chunk, each chunk in its own transaction; the last part to finish marks the run
    drafted. Parts are disjoint, so workers drafting different parts never meet."""
    run = BillRun.objects.select_related("cycle").get(pk=bill_run.pk)
    if run.status != BillRunStatus.RUNNING:
        return run
    accounts = _remaining_accounts(run)
    if parts > 1:
        accounts = accounts.annotate(part=F("pk") % parts).filter(part=part)
    with transaction.atomic():
        _without_jit()
        remaining = list(accounts.values_list("pk", flat=True))
    cache: dict = {}
    try:
        for number, index in enumerate(range(0, len(remaining), chunk_size), start=1):
            _bill_chunk(run, remaining[index : index + chunk_size], cache)
            if number & (number - 1) == 0 and part == 0:  # after chunks 1, 2, 4, 8, …
                _analyze_invoices()
    except Exception as error:  # the run is marked failed with its reason; a rerun goes on
        logger.exception("bill run %s failed", run.pk)
        BillRun.objects.filter(pk=run.pk).update(
            status=BillRunStatus.FAILED, status_detail=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    return _bill_run_finish(run)


def _bill_run_finish(run: BillRun) -> BillRun:
    """Mark a running run drafted once every account of it is done (by whichever part)."""
    now = timezone.now()
    BillRun.objects.filter(
        pk=run.pk, status=BillRunStatus.RUNNING, accounts_done__gte=F("accounts_total")
    ).update(status=BillRunStatus.DRAFTED, finished_at=now, progress_at=now)
    run.refresh_from_db()
    return run


def _analyze_invoices() -> None:
    """Refresh PostgreSQL's statistics of the tables a run fills, so that its later chunks'
    look-ups of earlier lines keep their index plans as the tables grow (a fresh run would
    otherwise be planned as if they were empty and slow down chunk after chunk)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE invoicing_invoice, invoicing_invoiceline, invoicing_invoicetax")


def _commit_without_waiting_for_disk() -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk.

    Only for a chunk of drafts: a server crash in the split second after such a commit loses
    the whole chunk (its invoices and its progress count together, never half of it), and a
    rerun drafts those accounts again (R26). Issuing, numbers and money stay synchronous.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _bill_chunk(run: BillRun, account_ids: list[int], cache: dict) -> None:
    biller = ChunkBiller(run, cache=cache)
    try:
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            drafts, errors, empty = biller.bill(account_ids)
            drafts_write(drafts)
            BillRunError.objects.bulk_create(
                BillRunError(bill_run=run, billing_account_id=pk, message=message)
                for pk, message in errors.items()
            )
            BillRun.objects.filter(pk=run.pk).update(
                accounts_done=F("accounts_done") + len(account_ids),
                accounts_empty=F("accounts_empty") + len(empty),
                accounts_failed=F("accounts_failed") + len(errors),
                progress_at=timezone.now(),
            )
    except IntegrityError:
        # Another worker billed some of these accounts meanwhile: bill the rest one by one.
        if len(account_ids) == 1:
            BillRun.objects.filter(pk=run.pk).update(accounts_done=F("accounts_done") + 1)
            return
        for pk in account_ids:
            _bill_chunk(run, [pk], cache)


# --- review -----------------------------------------------------------------------------------


def _lock_invoice(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("billing_account", "bill_run__cycle")
        .get(pk=invoice.pk)
    )


def invoice_regenerate(*, invoice: Invoice, acting_user=None) -> Invoice | None:
    """Compute a draft again from the account's current data; returns the new draft (None
    when the account has nothing to bill any more)."""
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED):
            raise ValidationError({"status": "only a draft is regenerated; issued is final (R28)"})
        if invoice.bill_run is None:
            raise ValidationError({"bill_run": "only a bill run's draft is regenerated"})
        run, account = invoice.bill_run, invoice.billing_account
        invoice.delete()
        drafts, errors, _empty = ChunkBiller(run).bill([account.pk])
        if errors:
            raise ValidationError({"billing_account": errors[account.pk]})
        written = drafts_write(drafts)
    return Invoice.objects.get(pk=written[0]) if written else None


def invoice_exclude(*, invoice: Invoice, acting_user=None) -> Invoice:
    """Keep a draft out of its run's issuing (finance fixes the account, then regenerates)."""
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.status != InvoiceStatus.DRAFT:
            raise ValidationError({"status": "only a draft can be excluded"})
        invoice.status = InvoiceStatus.EXCLUDED
        invoice.save(update_fields=["status", "updated_at"])
    return invoice


def invoice_include(*, invoice: Invoice, acting_user=None) -> Invoice:
    """Put an excluded draft back into its run."""
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.status != InvoiceStatus.EXCLUDED:
            raise ValidationError({"status": "only an excluded draft can be included again"})
        invoice.status = InvoiceStatus.DRAFT
        invoice.save(update_fields=["status", "updated_at"])
    return invoice


# --- issuing ----------------------------------------------------------------------------------


def _series(brand_id: int, kind: str, year: int) -> InvoiceSeries:
    series, _ = InvoiceSeries.objects.get_or_create(
        brand_id=brand_id, code=f"{SERIES_PREFIX[kind]}-{year}"
    )
    return series


def _number(invoices: list[tuple], *, today: dt.date) -> list[tuple]:
    """Give drafts gapless numbers from their series' locked counter rows (R27).

    ``invoices`` are (id, brand id, kind, payment terms days) of locked drafts; returns
    (id, series id, number, due date). Series rows are locked in primary key order, so two
    issuers never deadlock; the counters and the invoices commit together, so a rolled-back
    issue leaves no gap.
    """
    groups: dict[int, list[tuple]] = {}
    series_for: dict[tuple, InvoiceSeries] = {}
    for row in invoices:
        key = (row[1], row[2])
        if key not in series_for:
            series_for[key] = _series(row[1], row[2], today.year)
        groups.setdefault(series_for[key].pk, []).append(row)
    numbered = []
    for series in InvoiceSeries.objects.select_for_update().filter(pk__in=groups).order_by("pk"):
        members = sorted(groups[series.pk])
        first = series.last_number + 1
        series.last_number += len(members)
        series.save(update_fields=["last_number"])
        for offset, (pk, _brand, kind, terms_days) in enumerate(members):
            due = today + dt.timedelta(days=terms_days) if kind == InvoiceKind.INVOICE else None
            numbered.append((pk, series.pk, series.format(first + offset), due))
    return numbered


def _issued_write(numbered: list[tuple], *, today, now, user) -> None:
    """Write issued numbers and dates: one UPDATE on PostgreSQL, bulk_update elsewhere."""
    from django.db import connection

    user_id = user.pk if user is not None else None
    if connection.vendor == "postgresql":
        ids, series, numbers, dues = (list(column) for column in zip(*numbered, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE invoicing_invoice AS i SET series_id = v.series_id,
                     number = v.number, status = %s, issue_date = %s, due_date = v.due_date,
                     issued_at = %s, issued_by_id = %s, updated_at = %s
                   FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::date[])
                     AS v(id, series_id, number, due_date)
                   WHERE i.id = v.id""",
                [InvoiceStatus.ISSUED, today, now, user_id, now, ids, series, numbers, dues],
            )
        return
    invoices = []
    for pk, series_id, number, due in numbered:
        invoices.append(
            Invoice(
                pk=pk,
                series_id=series_id,
                number=number,
                status=InvoiceStatus.ISSUED,
                issue_date=today,
                due_date=due,
                issued_at=now,
                issued_by_id=user_id,
                updated_at=now,
            )  # fmt: skip
        )
    Invoice.objects.bulk_update(
        invoices,
        [
            "series",
            "number",
            "status",
            "issue_date",
            "due_date",
            "issued_at",
            "issued_by",
            "updated_at",
        ],  # fmt: skip
        batch_size=1000,
    )


def invoices_issue(
    *, invoice_ids: list[int], acting_user=None, issue_date: dt.date | None = None
) -> int:
    """Issue drafts: numbers (R27), final (R28), rerating changes settled (R15). Returns how
    many were issued; invoices no longer drafts are left alone. ``issue_date`` (today if not
    given) dates a backlog issued as of an earlier day, as the demo's October invoices are."""
    now = timezone.now()
    today = issue_date or timezone.localdate(now)
    with transaction.atomic():
        drafts = list(
            Invoice.objects.select_for_update(of=("self",))
            .filter(pk__in=invoice_ids, status=InvoiceStatus.DRAFT)
            .order_by("pk")
            .values_list(
                "pk", "brand_id", "kind", "billing_account__payment_terms_days", "bill_run_id"
            )
        )
        if not drafts:
            return 0
        numbered = _number([row[:4] for row in drafts], today=today)
        user = _user(acting_user)
        _issued_write(numbered, today=today, now=now, user=user)
        ids = [row[0] for row in drafts]
        # A hybrid invoice asks now for the credit its balance lent: the balance gets it back.
        hybrid_credit_settle(invoice_ids=ids, acting_user=user)
        # The audit trail: one historical row per issued invoice, written in bulk.
        Invoice.history.bulk_history_create(
            list(Invoice.objects.filter(pk__in=ids)),
            update=True,
            default_user=user,
            default_change_reason="issued",
            default_date=now,
        )
        per_run: dict[int, int] = {}
        for row in drafts:
            if row[4] is not None:
                per_run[row[4]] = per_run.get(row[4], 0) + 1
        for run_id, count in per_run.items():
            BillRun.objects.filter(pk=run_id).update(invoices_issued=F("invoices_issued") + count)
        settled = RerateSettlement.objects.filter(line__invoice_id__in=ids)
        if settled.exists():
            RerateChange.objects.filter(pk__in=settled.values("rerate_change_id")).update(
                settled_at=now
            )
        _issued_events(ids)
        # Credit an account holds (an overpayment) pays its new invoices at once.
        issued_invoices_credit_apply(invoice_ids=ids)
        transaction.on_commit(lambda: invoices_issued_publish(invoice_ids=ids))
    return len(drafts)


ISSUED_EVENTS = {
    InvoiceKind.INVOICE: "invoice.issued",
    InvoiceKind.CREDIT_NOTE: "credit_note.issued",
    InvoiceKind.STATEMENT: "statement.issued",
    InvoiceKind.RECEIPT: "receipt.issued",
}


def _issued_events(invoice_ids: list[int]) -> None:
    """Tell the outside world of issued documents, in the issuing transaction (core.outbox)."""
    rows = Invoice.objects.filter(pk__in=invoice_ids).select_related("billing_account", "brand")
    by_type: dict[str, list] = {}
    for invoice in rows.order_by("pk"):
        payload = {
            "id": invoice.pk,
            "number": invoice.number,
            "kind": invoice.kind,
            "billingAccount": {
                "id": invoice.billing_account_id,
                "number": invoice.billing_account.number,
            },  # fmt: skip
            "issueDate": invoice.issue_date,
            "dueDate": invoice.due_date,
            "periodStart": invoice.period_start_date,
            "periodEnd": invoice.period_end_date,
            "currency": invoice.currency,
            "net": invoice.net_total,
            "tax": invoice.tax_total,
            "gross": invoice.gross_total,
        }
        by_type.setdefault(ISSUED_EVENTS[invoice.kind], []).append(
            (payload, invoice.brand, invoice.number)
        )
    for event_type, events in by_type.items():
        publish_many(event_type=event_type, events=events)


def invoice_issue(*, invoice: Invoice, acting_user=None) -> Invoice:
    """Issue one draft invoice."""
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError({"status": f"an invoice that is {invoice.status} is not issued"})
    if not invoices_issue(invoice_ids=[invoice.pk], acting_user=acting_user):
        raise ValidationError({"status": "the invoice is no longer a draft"})
    invoice.refresh_from_db()
    return invoice


def bill_run_issue(
    *, bill_run: BillRun, acting_user=None, chunk_size: int = ISSUE_CHUNK
) -> BillRun:
    """Issue every draft of a run (excluded drafts stay drafts), chunk by chunk."""
    with transaction.atomic():
        run = BillRun.objects.select_for_update().get(pk=bill_run.pk)
        if run.status not in (BillRunStatus.DRAFTED, BillRunStatus.ISSUING):
            raise ValidationError(
                {"status": f"a run that is {run.get_status_display()} cannot be issued"}
            )
        run.status = BillRunStatus.ISSUING
        run.issued_by = _user(acting_user)
        run.save(update_fields=["status", "issued_by"])
    while True:
        ids = list(
            Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            break
        invoices_issue(invoice_ids=ids, acting_user=acting_user)
    BillRun.objects.filter(pk=run.pk).update(status=BillRunStatus.ISSUED, issued_at=timezone.now())
    run.refresh_from_db()
    return run


def invoices_issued_publish(*, invoice_ids: list[int]) -> None:
    """React to issued invoices, after their commit: render their PDFs.

    The "invoice issued" events themselves are written in the issuing transaction
    (``_issued_events``, core's outbox), so a rolled-back issue announces nothing.
    """
    from invoicing.tasks import invoice_document_render_task

    for invoice_id in invoice_ids:
        invoice_document_render_task.delay(invoice_id)


# --- credit notes and voiding -----------------------------------------------------------------


def _credited_so_far(invoice: Invoice) -> Decimal:
    total = Invoice.objects.filter(corrects=invoice, kind=InvoiceKind.CREDIT_NOTE).aggregate(
        total=Sum("gross_total")
    )["total"]
    return -(total or Decimal("0"))


def credit_note_create(
    *,
    invoice: Invoice,
    reason: str,
    amount: Decimal | None = None,
    tax_rate: Decimal | None = None,
    acting_user=None,
    refresh_state: bool = True,
) -> Invoice:
    """Issue a credit note for an issued invoice (R27, R28): whole, or a part of ``amount``
    (net, or gross for a tax-inclusive invoice) at one of the invoice's tax rates."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a credit note says why"})
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.kind not in (InvoiceKind.INVOICE, InvoiceKind.STATEMENT):
            raise ValidationError({"invoice": "only an invoice is credited"})
        if invoice.status not in FINAL_STATUSES or invoice.status == InvoiceStatus.VOID:
            raise ValidationError({"status": f"a {invoice.status} invoice is not credited"})
        note = Invoice(
            brand_id=invoice.brand_id,
            billing_account_id=invoice.billing_account_id,
            kind=InvoiceKind.CREDIT_NOTE,
            status=InvoiceStatus.DRAFT,
            period_start_date=invoice.period_start_date,
            period_end_date=invoice.period_end_date,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            currency=invoice.currency,
            tax_inclusive=invoice.tax_inclusive,
            corrects=invoice,
            reason=reason[:300],
            customer_name=invoice.customer_name,
            customer_address=invoice.customer_address,
            customer_tax_id=invoice.customer_tax_id,
        )
        draft = Draft(note)
        if amount is None:
            if Invoice.objects.filter(corrects=invoice).exists():
                raise ValidationError(
                    {"amount": "the invoice was partly credited: credit the rest by amount"}
                )
            for line in invoice.lines.order_by("position"):
                draft.add(
                    InvoiceLine(
                        kind=line.kind,
                        billing_account_id=line.billing_account_id,
                        subscription_id=line.subscription_id,
                        description=f"credit: {line.description}",
                        service=line.service,
                        destination_zone=line.destination_zone,
                        roaming_zone=line.roaming_zone,
                        period_start_date=line.period_start_date,
                        period_end_date=line.period_end_date,
                        days=line.days,
                        days_in_period=line.days_in_period,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        rated_amount=-line.rated_amount if line.rated_amount is not None else None,
                        amount=-line.amount,
                        tax_rate=line.tax_rate,
                        plan_version_id=line.plan_version_id,
                        promotion_id=line.promotion_id,
                        corrects=line,
                    )
                )
        else:
            amount = _credit_amount(invoice, amount, tax_rate)
            rates = list(invoice.taxes.values_list("rate", flat=True))
            if tax_rate is None:
                if len(rates) != 1:
                    raise ValidationError({"tax_rate": "name the tax rate the credit is at"})
                tax_rate = rates[0]
            draft.add(
                InvoiceLine(
                    kind=LineKind.ADJUSTMENT,
                    billing_account_id=invoice.billing_account_id,
                    description=f"credit: {reason[:250]}",
                    amount=-amount,
                    tax_rate=tax_rate,
                )
            )
        taxes = apply_totals(draft)
        if -note.gross_total > invoice.gross_total - _credited_so_far(invoice):
            raise ValidationError({"amount": "more than what is left of the invoice to credit"})
        note.save()
        for line in draft.lines:
            line.invoice = note
        InvoiceLine.objects.bulk_create(draft.lines)
        for row in taxes:
            row.invoice_id = note.pk
        InvoiceTax.objects.bulk_create(row.instance() for row in taxes)
        invoices_issue(invoice_ids=[note.pk], acting_user=acting_user)
        if refresh_state:  # what the note leaves to pay may settle the invoice
            invoice_payment_state_refresh(invoice_ids=[invoice.pk])
    note.refresh_from_db()
    return note


def _credit_amount(invoice: Invoice, amount, tax_rate) -> Decimal:
    try:
        amount = Decimal(str(amount))
    except Exception as error:
        raise ValidationError({"amount": "a decimal amount"}) from error
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({"amount": "a positive amount"})
    if quantize_minor(amount, invoice.currency) != amount:
        raise ValidationError({"amount": "at most the currency's minor unit"})
    if tax_rate is not None and not invoice.taxes.filter(rate=tax_rate).exists():
        raise ValidationError({"tax_rate": "the invoice has no line at this rate"})
    return amount


def invoice_void(*, invoice: Invoice, reason: str, acting_user=None) -> Invoice:
    """Void an issued invoice: it keeps its number and a full credit note cancels it (R27)."""
    with transaction.atomic():
        invoice = _lock_invoice(invoice)
        if invoice.status == InvoiceStatus.VOID:
            raise ValidationError({"status": "the invoice is void already"})
        credit_note_create(
            invoice=invoice, reason=reason, acting_user=acting_user, refresh_state=False
        )
        invoice.status = InvoiceStatus.VOID
        invoice.voided_at = timezone.now()
        invoice.save(update_fields=["status", "voided_at", "updated_at"])
        # What was paid of it becomes credit on the account (and pays its other invoices).
        invoice_allocations_release(invoice=invoice, acting_user=acting_user)
    return invoice
