"""Services of the settlement: partners, agreements, runs, statements, reconciliation, disputes.

One transaction per service; side effects (the Celery job, the PDF, webhooks) after commit.
A run's figures come from settlement.selectors (set-based SQL, R31, R32); its statement is
written again while it is a draft, so a rerun is idempotent, and never changes once issued.
"""

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalog.models import Service
from core.money import quantize_minor, quantize_rated
from core.outbox import publish
from settlement import selectors
from settlement.models import (
    Agreement,
    AgreementKind,
    Direction,
    DisputeItem,
    DisputeStatus,
    LineKind,
    Partner,
    PartnerKind,
    Reconciliation,
    RunStatus,
    SettlementRun,
    ShareBasis,
    Statement,
    StatementLine,
    StatementStatus,
)

ZERO = Decimal("0")
HUNDRED = Decimal("100")
SERVICE_LABELS = dict(Service.choices)
MAX_CSV_BYTES = 5 * 1024 * 1024


# --- partners and agreements ------------------------------------------------------------------


def partner_save(*, partner: Partner | None = None, acting_user=None, **fields) -> Partner:
    """Create or update a partner; a host network partner names its catalogue network."""
    partner = partner or Partner()
    for name, value in fields.items():
        setattr(partner, name, value)
    partner.currency = (partner.currency or "").upper()
    if partner.kind == PartnerKind.HOST_NETWORK and partner.host_network_id is None:
        raise ValidationError({"host_network": "a host network partner names its network"})
    if partner.kind in (PartnerKind.RESELLER, PartnerKind.HOSTED_BRAND) and not (
        partner.partner_brand_id
    ):
        raise ValidationError({"partner_brand": "a reseller or hosted brand names its brand"})
    if len(partner.currency) != 3 or not partner.currency.isalpha():
        raise ValidationError({"currency": "an ISO 4217 code, such as EUR"})
    partner.full_clean()
    with transaction.atomic():
        partner._history_user = acting_user
        partner.save()
    return partner


def _tiers(tiers) -> list[dict]:
    if not tiers:
        return []
    if not isinstance(tiers, list):
        raise ValidationError({"tiers": "a list of {from, percent}"})
    clean, last = [], None
    for index, tier in enumerate(tiers):
        try:
            start = Decimal(str(tier["from"]))
            percent = Decimal(str(tier["percent"]))
        except (KeyError, TypeError, InvalidOperation):
            message = f"tier {index + 1}: from and percent, as decimals"
            raise ValidationError({"tiers": message}) from None
        if start < 0 or not ZERO <= percent <= HUNDRED:
            raise ValidationError({"tiers": f"tier {index + 1}: from ≥ 0, percent 0–100"})
        if last is not None and start <= last:
            raise ValidationError({"tiers": "tiers start at rising thresholds"})
        if last is None and start != 0:
            raise ValidationError({"tiers": "the first tier starts at 0"})
        last = start
        clean.append({"from": str(start), "percent": str(percent)})
    return clean


def agreement_save(*, agreement: Agreement | None = None, acting_user=None, **fields) -> Agreement:
    """Create or update an agreement (TMF651); tiers are checked and stored as text decimals."""
    agreement = agreement or Agreement()
    for name, value in fields.items():
        setattr(agreement, name, value)
    agreement.tiers = _tiers(agreement.tiers)
    agreement.services = list(agreement.services or [])
    bad = [code for code in agreement.services if code not in SERVICE_LABELS]
    if bad:
        raise ValidationError({"services": f"unknown services: {', '.join(bad)}"})
    if agreement.effective_to and agreement.effective_to <= agreement.effective_from:
        raise ValidationError({"effective_to": "ends after it starts"})
    if (
        agreement.cap is not None
        and agreement.floor is not None
        and agreement.cap < agreement.floor
    ):
        raise ValidationError({"cap": "the cap is not below the floor"})
    partner = agreement.partner
    if agreement.kind == AgreementKind.WHOLESALE and partner.kind != PartnerKind.HOST_NETWORK:
        raise ValidationError({"kind": "a wholesale agreement is a host network's"})
    if agreement.kind == AgreementKind.RESELLER and partner.kind not in (
        PartnerKind.RESELLER,
        PartnerKind.HOSTED_BRAND,
    ):
        raise ValidationError({"kind": "a reseller agreement is a reseller's or hosted brand's"})
    agreement.full_clean()
    with transaction.atomic():
        agreement._history_user = acting_user
        agreement.save()
    return agreement


def share_of(*, agreement: Agreement, revenue: Decimal, events: int) -> Decimal:
    """The share an agreement gives of a month's invoiced revenue (R32), exact to 6 places.

    Flat: ``percent`` of the revenue. Tiers, progressive: by revenue, each slice of the revenue
    at its tier's percent; by volume, each slice of the events at its tier's percent of the
    revenue they stand for. Then held between the floor and the cap.
    """
    tiers = [(Decimal(t["from"]), Decimal(t["percent"])) for t in agreement.tiers]
    if not tiers:
        share = revenue * agreement.percent / HUNDRED
    else:
        measure = revenue if agreement.basis == ShareBasis.REVENUE else Decimal(events)
        share = ZERO
        for index, (start, percent) in enumerate(tiers):
            stop = tiers[index + 1][0] if index + 1 < len(tiers) else None
            slice_ = max(ZERO, (min(measure, stop) if stop is not None else measure) - start)
            if agreement.basis == ShareBasis.REVENUE:
                share += slice_ * percent / HUNDRED
            elif measure:
                share += revenue * (slice_ / measure) * percent / HUNDRED
    if agreement.floor is not None:
        share = max(share, agreement.floor)
    if agreement.cap is not None:
        share = min(share, agreement.cap)
    return quantize_rated(share)


# --- runs and statements ----------------------------------------------------------------------


def settlement_run_create(
    *, partner: Partner, year: int, month: int, acting_user=None, run_now: bool = False
):
    """Queue a partner's settlement of a month (one run per partner and month); the Celery job
    computes it after commit (``run_now``: computed here, for the demo and commands). Asking
    again reruns a draft and leaves an issued one alone."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise ValidationError({"month": "a month of a year between 2000 and 2100"})
    from settlement.tasks import settlement_run_execute_task

    with transaction.atomic():
        run, created = SettlementRun.objects.get_or_create(
            partner=partner,
            period_year=year,
            period_month=month,
            defaults={"created_by": acting_user},
        )
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        statement = Statement.objects.filter(run=run).first()
        if statement is not None and statement.status != StatementStatus.DRAFT:
            return run
        run.status = RunStatus.QUEUED
        run.status_detail = ""
        run._history_user = acting_user
        run.save()
        if not run_now:
            transaction.on_commit(lambda: settlement_run_execute_task.delay(run.pk))
    if run_now:
        try:
            run = settlement_run_execute(run=run)
        except ValidationError as error:
            run = settlement_run_fail(run=run, detail="; ".join(error.messages))
    return run


def _wholesale_lines(partner: Partner, period, run: SettlementRun) -> list[StatementLine]:
    lines = []
    usage = ZERO
    for group in selectors.wholesale_usage(
        source=partner.host_network.code, start=period.start, end=period.end
    ):
        zone_text = group.roaming_zone or "—"
        lines.append(
            StatementLine(
                kind=LineKind.USAGE,
                description=f"{SERVICE_LABELS.get(group.service, group.service)}, {zone_text}",
                service=group.service,
                roaming_zone=group.roaming_zone,
                events=group.events,
                units=group.units,
                amount=group.amount,
            )
        )
        usage += group.amount
        run.events += group.events
    tariff = selectors.tariff_for(host_network_id=partner.host_network_id, period=period)
    if tariff is None:
        if lines:
            raise ValidationError({"tariff": f"{partner.host_network.code} has no tariff then"})
        return lines
    if tariff.rate_card.currency != partner.currency:
        raise ValidationError(
            {
                "currency": f"the card {tariff.rate_card.code} is in {tariff.rate_card.currency}, "
                f"the partner settles in {partner.currency}: no conversion is made"
            }
        )
    committed = usage
    if tariff.sim_fee:
        sims = selectors.active_sims(
            host_network_id=partner.host_network_id, start=period.start, end=period.end
        )
        amount = quantize_rated(sims * tariff.sim_fee)
        committed += amount
        lines.append(
            StatementLine(
                kind=LineKind.SIM_FEE,
                description=f"SIM fees, {sims} × {tariff.sim_fee.normalize():f} "
                "(active on any day of the month)",
                units=sims,
                amount=amount,
            )
        )
    if tariff.platform_fee:
        lines.append(
            StatementLine(
                kind=LineKind.PLATFORM_FEE, description="Platform fee", amount=tariff.platform_fee
            )
        )
    if tariff.minimum_commitment and committed < tariff.minimum_commitment:
        lines.append(
            StatementLine(
                kind=LineKind.SHORTFALL,
                description=f"Minimum commitment {tariff.minimum_commitment.normalize():f}: "
                "shortfall",
                amount=tariff.minimum_commitment - committed,
            )
        )
    return lines


def _share_lines(partner: Partner, period) -> list[StatementLine]:
    lines = []
    for agreement in selectors.agreements_in_force(partner=partner, period=period).exclude(
        kind=AgreementKind.WHOLESALE
    ):
        brand_codes = list(agreement.brand_codes)
        brand_ids = None
        if agreement.kind == AgreementKind.RESELLER:
            brand_ids = selectors.brand_tree(partner.partner_brand_id)
        revenue, events = selectors.invoiced_revenue(
            period=period,
            plan_codes=agreement.plan_codes,
            services=agreement.services,
            brand_codes=brand_codes,
            brand_ids=brand_ids,
        )
        revenue = quantize_rated(revenue)
        share = share_of(agreement=agreement, revenue=revenue, events=events)
        lines.append(
            StatementLine(
                kind=LineKind.REVENUE,
                description=f"{agreement.code}: invoiced revenue ({events} events)",
                events=events,
                amount=revenue,
                counts=False,
            )
        )
        if agreement.kind == AgreementKind.RESELLER:
            lines.append(
                StatementLine(
                    kind=LineKind.SHARE,
                    description=f"{agreement.code}: kept by the reseller",
                    amount=share,
                    counts=False,
                )
            )
            lines.append(
                StatementLine(
                    kind=LineKind.SHARE,
                    description=f"{agreement.code}: owed to the MVNO",
                    amount=revenue - share,
                )
            )
        else:
            lines.append(
                StatementLine(
                    kind=LineKind.SHARE,
                    description=f"{agreement.code}: revenue share",
                    amount=share,
                )
            )
    return lines


def _dispute_lines(partner: Partner, statement: Statement) -> list[StatementLine]:
    lines = []
    disputes = DisputeItem.objects.filter(
        partner=partner, status__in=(DisputeStatus.ACCEPTED, DisputeStatus.CREDITED)
    ).filter(period_start__lt=statement.period_start)
    disputes = disputes.filter(settled_on__isnull=True) | disputes.filter(settled_on=statement)
    for dispute in disputes.order_by("period_start", "pk"):
        sign = 1 if dispute.status == DisputeStatus.ACCEPTED else -1
        label = "accepted" if sign == 1 else "credited by the partner"
        lines.append(
            StatementLine(
                kind=LineKind.DISPUTE,
                description=f"Dispute {dispute.pk} ({dispute.period_start:%Y-%m}, "
                f"{SERVICE_LABELS.get(dispute.service, dispute.service)}, "
                f"{dispute.roaming_zone or '—'}): {label}",
                service=dispute.service,
                roaming_zone=dispute.roaming_zone,
                amount=sign * dispute.difference,
                dispute=dispute,
            )
        )
    return lines


def settlement_run_execute(*, run: SettlementRun) -> SettlementRun:
    """Compute a run's statement (R31, R32): set-based sums, lines written again while the
    statement is a draft (idempotent), refused once it is issued."""
    started = timezone.now()
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().select_related("partner").get(pk=run.pk)
        partner = Partner.objects.select_related("host_network").get(pk=run.partner_id)
        statement = Statement.objects.select_for_update().filter(run=run).first()
        if statement is not None and statement.status != StatementStatus.DRAFT:
            raise ValidationError({"status": f"the statement is {statement.status}: it stays"})
        period = selectors.period_of(partner=partner, year=run.period_year, month=run.period_month)
        direction = (
            Direction.RECEIVABLE
            if partner.kind in (PartnerKind.RESELLER, PartnerKind.HOSTED_BRAND)
            else Direction.PAYABLE
        )
        if statement is None:
            statement = Statement.objects.create(
                run=run,
                partner=partner,
                period_start=period.start,
                period_end=period.end,
                currency=partner.currency,
                direction=direction,
            )
        run.events = 0
        lines = []
        if partner.host_network_id:
            lines += _wholesale_lines(partner, period, run)
        lines += _share_lines(partner, period)
        lines += _dispute_lines(partner, statement)
        statement.lines.all().delete()
        DisputeItem.objects.filter(settled_on=statement).update(settled_on=None)
        for position, line in enumerate(lines, start=1):
            line.statement, line.position = statement, position
            line.amount = quantize_rated(line.amount)
        StatementLine.objects.bulk_create(lines)
        settled = [line.dispute_id for line in lines if line.dispute_id]
        DisputeItem.objects.filter(pk__in=settled).update(settled_on=statement)
        exact = sum((line.amount for line in lines if line.counts), ZERO)
        statement.exact_total = exact
        statement.total = quantize_minor(exact, statement.currency)
        statement.direction = direction
        statement.save()
        run.status = RunStatus.DONE
        run.status_detail = ""
        run.started_at = started
        run.finished_at = timezone.now()
        run.seconds = Decimal(str(round((run.finished_at - started).total_seconds(), 3)))
        run.save()
    return run


def settlement_run_fail(*, run: SettlementRun, detail: str) -> SettlementRun:
    """Record why a run could not compute its statement."""
    with transaction.atomic():
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        run.status, run.status_detail = RunStatus.FAILED, detail[:2000]
        run.finished_at = timezone.now()
        run.save()
    return run


def statement_payload(statement: Statement) -> dict:
    return {
        "statement": statement.pk,
        "number": statement.number,
        "partner": statement.partner.code,
        "period": f"{statement.run.period_year}-{statement.run.period_month:02d}",
        "currency": statement.currency,
        "total": str(statement.total),
        "exactTotal": str(statement.exact_total),
        "direction": statement.direction,
        "dueDate": statement.due_date.isoformat() if statement.due_date else None,
    }


def statement_issue(*, statement: Statement, acting_user=None) -> Statement:
    """Issue a draft statement: numbered, due after the partner's payment terms, its PDF
    rendered after commit, announced as ``settlement.statement_issued``."""
    from settlement.tasks import statement_document_render_task

    with transaction.atomic():
        statement = (
            Statement.objects.select_for_update()
            .select_related("partner", "run")
            .get(pk=statement.pk)
        )
        if statement.status != StatementStatus.DRAFT:
            raise ValidationError({"status": f"the statement is {statement.status} already"})
        if statement.run.status != RunStatus.DONE:
            raise ValidationError({"status": "the run has not finished"})
        run = statement.run
        statement.number = f"ST-{statement.partner.code}-{run.period_year}{run.period_month:02d}"
        statement.status = StatementStatus.ISSUED
        statement.issued_at = timezone.now()
        statement.due_date = timezone.localdate() + dt.timedelta(
            days=statement.partner.payment_terms_days
        )
        statement._history_user = acting_user
        statement.save()
        publish(
            event_type="settlement.statement_issued",
            payload=statement_payload(statement),
            brand=statement.partner.brand,
            subject=statement.number,
        )
        transaction.on_commit(lambda: statement_document_render_task.delay(statement.pk))
    return statement


def statement_decide(*, statement: Statement, agreed: bool, note: str = "", acting_user=None):
    """Record the partner's answer to an issued statement: agreed, or disputed (with why)."""
    note = (note or "").strip()
    if not agreed and not note:
        raise ValidationError({"note": "say what the partner disputes"})
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.status not in (StatementStatus.ISSUED, StatementStatus.DISPUTED):
            raise ValidationError({"status": f"a {statement.status} statement is not decided"})
        statement.status = StatementStatus.AGREED if agreed else StatementStatus.DISPUTED
        statement.note = note[:300]
        statement.decided_at = timezone.now()
        statement._history_user = acting_user
        statement.save()
    return statement


# --- reconciliation (R31) ---------------------------------------------------------------------

CSV_COLUMNS = ("period", "service", "roaming_zone", "units", "amount")


def _parse_partner_csv(content: bytes) -> list[dict]:
    if len(content) > MAX_CSV_BYTES:
        raise ValidationError({"file": "at most 5 MB"})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "UTF-8 text expected"}) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        raise ValidationError({"file": f"missing columns: {', '.join(missing)}"})
    reader.fieldnames = header
    rows, errors, seen = [], [], set()
    for number, raw in enumerate(reader, start=2):
        row = {key: (raw.get(key) or "").strip() for key in CSV_COLUMNS}
        try:
            year, month = (int(part) for part in row["period"].split("-"))
            if not 1 <= month <= 12:
                raise ValueError
        except ValueError:
            errors.append(f"line {number}: period is YYYY-MM")
            continue
        service = row["service"].upper()
        if service not in SERVICE_LABELS:
            errors.append(f"line {number}: unknown service {row['service']!r}")
            continue
        try:
            units = int(row["units"] or "0")
            amount = Decimal(row["amount"])
        except (ValueError, InvalidOperation):
            errors.append(f"line {number}: units is a whole number, amount a decimal")
            continue
        key = (year, month, service, row["roaming_zone"].upper())
        if key in seen:
            errors.append(f"line {number}: a second line for {service} {key[3]}")
            continue
        seen.add(key)
        rows.append(
            {"year": year, "month": month, "service": service, "roaming_zone": key[3],
             "units": units, "amount": amount}
        )  # fmt: skip
    if errors:
        raise ValidationError({"file": errors[:20]})
    if not rows:
        raise ValidationError({"file": "no lines"})
    if len({(row["year"], row["month"]) for row in rows}) != 1:
        raise ValidationError({"file": "one period per file"})
    return rows


def _beyond(ours: Decimal, theirs: Decimal, agreement: Agreement | None) -> bool:
    difference = abs(theirs - ours)
    absolute = agreement.tolerance_amount if agreement else Decimal("0.01")
    percent = agreement.tolerance_percent if agreement else Decimal("0.5")
    base = max(abs(ours), abs(theirs))
    relative = (difference / base * HUNDRED) if base else ZERO
    return difference > absolute and relative > percent


def reconciliation_import(
    *, partner: Partner, content: bytes, file_name: str, acting_user=None
) -> Reconciliation:
    """Import a host network's invoice (CSV, docs/settlement.md), match it line by line against
    our wholesale figures (R31) and open a dispute item for each difference beyond the
    agreement's tolerance (absolute and percent), a line on one side only included."""
    if partner.host_network_id is None:
        raise ValidationError({"partner": "only a host network's invoice is reconciled"})
    rows = _parse_partner_csv(content)
    year, month = rows[0]["year"], rows[0]["month"]
    period = selectors.period_of(partner=partner, year=year, month=month)
    agreement = (
        selectors.agreements_in_force(partner=partner, period=period)
        .filter(kind=AgreementKind.WHOLESALE)
        .order_by("-effective_from")
        .first()
    )
    ours = {
        (group.service, group.roaming_zone): group
        for group in selectors.wholesale_usage(
            source=partner.host_network.code, start=period.start, end=period.end
        )
    }
    theirs = {(row["service"], row["roaming_zone"]): row for row in rows}
    with transaction.atomic():
        reconciliation = Reconciliation(
            partner=partner,
            period_year=year,
            period_month=month,
            file_name=file_name[:255],
            lines_read=len(rows),
            their_total=sum((row["amount"] for row in rows), ZERO),
            our_total=sum((group.amount for group in ours.values()), ZERO),
            imported_by=acting_user,
        )
        reconciliation._history_user = acting_user
        reconciliation.save()
        disputes, matched = [], 0
        for key in sorted(set(ours) | set(theirs)):
            our, their = ours.get(key), theirs.get(key)
            our_amount = our.amount if our else ZERO
            their_amount = their["amount"] if their else ZERO
            if not _beyond(our_amount, their_amount, agreement):
                matched += 1
                continue
            disputes.append(
                DisputeItem(
                    reconciliation=reconciliation,
                    partner=partner,
                    period_start=period.start,
                    period_end=period.end,
                    service=key[0],
                    roaming_zone=key[1],
                    our_units=our.units if our else 0,
                    our_amount=our_amount,
                    their_units=their["units"] if their else 0,
                    their_amount=their_amount,
                    difference=their_amount - our_amount,
                )
            )
        for dispute in disputes:
            dispute._history_user = acting_user
            dispute.save()
        reconciliation.lines_matched = matched
        reconciliation.save(update_fields=["lines_matched"])
    return reconciliation


DISPUTE_MOVES = {
    DisputeStatus.OPEN: {DisputeStatus.ACCEPTED, DisputeStatus.REJECTED, DisputeStatus.CREDITED},
}


def dispute_decide(*, dispute: DisputeItem, status: str, note: str = "", acting_user=None):
    """Close an open dispute item: accepted (the next statement adds the difference), rejected
    (nothing changes) or credited (the next statement takes the difference off)."""
    with transaction.atomic():
        dispute = DisputeItem.objects.select_for_update().get(pk=dispute.pk)
        if status not in DISPUTE_MOVES.get(dispute.status, set()):
            raise ValidationError(
                {"status": f"a {dispute.status} dispute item does not become {status}"}
            )
        dispute.status = status
        dispute.note = (note or "").strip()[:300]
        dispute._history_user = acting_user
        dispute.save()
    return dispute
