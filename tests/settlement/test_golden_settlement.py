"""The HOSTNET settlement of the golden October, end to end (R14, R31, R32).

From the golden catalogue (HOSTNET's card with its SIM fee of 0.30, written in the catalogue),
the subscribers and the sample CDR files through the real ingestion path: the settlement run
sums the events' wholesale ratings per service and roaming zone (5.314176) and adds 3 SIM fees
(0.90), 6.214176 shown as EUR 6.21; a rerun of the draft changes nothing; the statement is
issued, announced and rendered; the host network's sample invoice disagrees on one line (data
in EU), which becomes a dispute item with its events; the margin of SMART-10 is the invoiced
usage retail 12.218343 − wholesale 5.314176.
"""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from pypdf import PdfReader

from charging.services import usage_file_ingest
from core.models import OutboxEvent
from invoicing.demo import invoice_profile_create
from invoicing.services import bill_cycle_save, bill_run_create, bill_run_issue
from settlement import selectors, services
from settlement.evidence import evidence_csv
from settlement.models import DisputeStatus, LineKind, RunStatus, StatementStatus

pytestmark = [pytest.mark.django_db, pytest.mark.golden]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "charging" / "samples"
FILES = [
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",
]
PARTNER_INVOICE = ROOT / "settlement" / "samples" / "HOSTNET_invoice_2026-10.csv"
EXPECTED_USAGE = [
    ("VOICE_OUT", "HOME", 9, Decimal("0.457067")),
    ("VOICE_OUT", "WORLD1", 1, Decimal("1.166667")),
    ("VOICE_IN", "WORLD1", 1, Decimal("0.262500")),
    ("SMS_OUT", "HOME", 3, Decimal("0.003000")),
    ("SMS_IN", "HOME", 1, Decimal("0.000000")),
    ("DATA", "HOME", 2, Decimal("0.400000")),
    ("DATA", "EU", 1, Decimal("3.000002")),
    ("DATA", "WORLD1", 1, Decimal("0.024940")),
]


@pytest.fixture
def golden(tmp_path, settings):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    catalog = build_golden_catalog()
    invoice_profile_create(catalog.brand)
    subscribers = build_golden_subscribers(catalog)
    for name in FILES:
        usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    partner = services.partner_save(
        brand=catalog.brand, code="HOSTNET", name="Host Network GmbH", kind="host_network",
        currency="EUR", host_network=catalog.host_network, payment_terms_days=30,
    )  # fmt: skip
    return catalog, subscribers, partner


def usage_of(statement):
    return sorted(
        (line.service, line.roaming_zone, line.events, line.amount)
        for line in statement.lines.filter(kind=LineKind.USAGE)
    )


@time_machine.travel("2026-11-03 10:00:00+01:00", tick=False)
def test_hostnet_october_settlement_statement_dispute_and_margin(
    golden, django_capture_on_commit_callbacks
):
    catalog, subscribers, partner = golden

    with django_capture_on_commit_callbacks(execute=True):
        run = services.settlement_run_create(partner=partner, year=2026, month=10)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.status_detail
    statement = run.statement
    assert statement.status == StatementStatus.DRAFT
    assert usage_of(statement) == sorted(EXPECTED_USAGE)
    usage = sum(line.amount for line in statement.lines.filter(kind=LineKind.USAGE))
    assert usage == Decimal("5.314176")
    sims = statement.lines.get(kind=LineKind.SIM_FEE)
    assert (sims.units, sims.amount) == (3, Decimal("0.900000"))
    assert statement.exact_total == Decimal("6.214176")
    assert statement.total == Decimal("6.21") and statement.currency == "EUR"
    assert run.events == 19

    # A rerun of the draft writes the same lines and the same totals (idempotent).
    before = [(x.kind, x.description, x.amount) for x in statement.lines.order_by("position")]
    with django_capture_on_commit_callbacks(execute=True):
        again = services.settlement_run_create(partner=partner, year=2026, month=10)
    assert again.pk == run.pk
    statement.refresh_from_db()
    after = [(x.kind, x.description, x.amount) for x in statement.lines.order_by("position")]
    assert after == before and statement.total == Decimal("6.21")

    # Issued: numbered, announced through the outbox, rendered as a PDF holding its total.
    with django_capture_on_commit_callbacks(execute=True):
        statement = services.statement_issue(statement=statement)
    statement.refresh_from_db()
    assert statement.number == "ST-HOSTNET-202610"
    assert str(statement.due_date) == "2026-12-03"
    event = OutboxEvent.objects.get(event_type="settlement.statement_issued")
    assert event.payload["total"] == "6.21" and event.payload["exactTotal"] == "6.214176"
    with statement.pdf.open("rb") as handle:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    assert "ST-HOSTNET-202610" in text and "EUR 6.21" in text and "6.214176" in text
    assert "Page 1 of 1" in text
    # An issued statement stays: a rerun leaves it alone.
    with django_capture_on_commit_callbacks(execute=True):
        services.settlement_run_create(partner=partner, year=2026, month=10)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED and statement.total == Decimal("6.21")

    # R31: HOSTNET's invoice disagrees on data in EU (3.45 against our 3.000002).
    reconciliation = services.reconciliation_import(
        partner=partner, content=PARTNER_INVOICE.read_bytes(), file_name=PARTNER_INVOICE.name
    )
    assert (reconciliation.lines_read, reconciliation.lines_matched) == (8, 7)
    assert reconciliation.our_total == Decimal("5.314176")
    dispute = reconciliation.disputes.get()
    assert (dispute.service, dispute.roaming_zone) == ("DATA", "EU")
    assert dispute.difference == Decimal("0.449998")
    assert dispute.status == DisputeStatus.OPEN
    rows = list(csv.DictReader(io.StringIO(evidence_csv(dispute))))
    assert [row["record_id"] for row in rows] == ["A9"]
    assert rows[0]["wholesale_amount"] == "3.000002"

    # Credited by the partner: the next month's statement takes the difference off.
    services.dispute_decide(dispute=dispute, status=DisputeStatus.CREDITED, note="HOSTNET credit")
    with django_capture_on_commit_callbacks(execute=True):
        november = services.settlement_run_create(partner=partner, year=2026, month=11)
    november.refresh_from_db()
    credit = november.statement.lines.get(kind=LineKind.DISPUTE)
    assert credit.amount == Decimal("-0.449998")
    dispute.refresh_from_db()
    assert dispute.settled_on == november.statement

    # Margin of October per plan: invoiced usage retail − wholesale (R14).
    cycle = bill_cycle_save(brand=catalog.brand, cycle_day=1)
    with django_capture_on_commit_callbacks(execute=True):
        bill_run = bill_run_create(cycle=cycle, year=2026, month=10)
    with django_capture_on_commit_callbacks(execute=True):
        bill_run_issue(bill_run=bill_run)
    (plan_row,) = selectors.margin(year=2026, month=10, dimension="plan")
    assert plan_row.key == "SMART-10"
    assert plan_row.usage_retail == Decimal("12.218343")
    assert plan_row.wholesale == Decimal("5.314176")
    assert plan_row.usage_margin == Decimal("6.904167")
    (partner_row,) = selectors.margin(year=2026, month=10, dimension="partner")
    assert partner_row.wholesale == Decimal("5.314176") and partner_row.fees == Decimal("0.9")
    events = selectors.margin_events(year=2026, month=10, dimension="plan", key="SMART-10")
    assert events.count() == 19


@time_machine.travel("2026-11-03 10:00:00+01:00", tick=False)
def test_an_events_lineage_leads_to_the_statement_line_its_cost_landed_on(
    golden, django_capture_on_commit_callbacks, finance, console_client_for
):
    from charging.models import UsageEvent

    catalog, subscribers, partner = golden
    a9 = UsageEvent.objects.get(record_id="A9")  # data in EU, 3.000002 wholesale
    page = console_client_for(finance).get(f"/assurance/lineage/event/{a9.pk}/").content.decode()
    assert "on no partner statement yet" in page

    with django_capture_on_commit_callbacks(execute=True):
        run = services.settlement_run_create(partner=partner, year=2026, month=10)
    statement = run.statement
    line = statement.lines.get(kind=LineKind.USAGE, service="DATA", roaming_zone="EU")
    page = console_client_for(finance).get(f"/assurance/lineage/event/{a9.pk}/").content.decode()
    assert f'href="{statement.get_absolute_url()}"' in page
    assert f"Line {line.position} of" in page and "3.000002 EUR" in page
