"""The revenue assurance of the golden October, end to end (R33, issue 18).

Catalogue and subscribers through their services, the four file arrivals through the real
ingestion path, the October bill run drafted and issued; then the reconciliation of October
must say what the scenario's last section says, figure for figure.
"""

import io
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from assurance.models import FindingKind, FindingState, ReconciliationRow
from assurance.selectors import kpis, period_of
from assurance.services import finding_update, reconciliation_run
from charging.services import usage_file_ingest
from invoicing.demo import invoice_profile_create
from invoicing.services import bill_cycle_save, bill_run_create, bill_run_issue

pytestmark = [pytest.mark.django_db, pytest.mark.golden]

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILES = [
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",
]


@pytest.fixture
def october(tmp_path, settings, django_capture_on_commit_callbacks):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    catalog = build_golden_catalog()
    invoice_profile_create(catalog.brand)
    subscribers = build_golden_subscribers(catalog)
    with time_machine.travel("2026-11-01 01:00:00+01:00", tick=False):
        for name in FILES:
            usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    with time_machine.travel("2026-11-02 09:00:00+01:00", tick=False):
        cycle = bill_cycle_save(brand=catalog.brand, cycle_day=1)
        with django_capture_on_commit_callbacks(execute=True):
            run = bill_run_create(cycle=cycle, year=2026, month=10)
        run.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            bill_run_issue(bill_run=run)
    return catalog, subscribers


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_october_usage_chain_balances_as_the_scenario_says(october):
    outcome = reconciliation_run(year=2026, month=10)
    total = outcome.reconciliation.rows.get(source="")
    # Records: received 29 in two loaded files; accepted 20; rejected 8; duplicates 1.
    assert (total.files_loaded, total.received, total.accepted, total.rejected,
            total.duplicates) == (2, 29, 20, 8, 1)  # fmt: skip
    assert (total.rated, total.in_error) == (19, 1)
    # Retail: rated 12.218343; invoiced usage 12.21; unbilled 0; rounding 0.008343.
    assert total.rated_retail == Decimal("12.218343")
    assert total.invoiced_usage == Decimal("12.21")
    assert total.unbilled == Decimal("0")
    assert total.rounding == Decimal("0.008343")
    assert total.difference == Decimal("0")
    assert total.wholesale == Decimal("5.314176")
    # Files: one duplicate file refused, one quarantined, sequence 000003 missing.
    assert (total.files_duplicate, total.files_quarantined, total.sequence_gaps) == (1, 1, 1)
    kinds = sorted(finding.kind for finding in outcome.findings)
    assert kinds == sorted(
        [FindingKind.DUPLICATE_FILE, FindingKind.QUARANTINED_FILE, FindingKind.SEQUENCE_GAP]
    )
    gap = next(f for f in outcome.findings if f.kind == FindingKind.SEQUENCE_GAP)
    assert "000003" in gap.title and gap.records["model"] == "charging.sequencegap"
    assert outcome.reconciliation.balanced
    hostnet = ReconciliationRow.objects.get(reconciliation=outcome.reconciliation, source="HOSTNET")
    assert (hostnet.received, hostnet.rated, hostnet.rated_retail) == (
        29, 19, Decimal("12.218343"))  # fmt: skip


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_october_margin_and_kpis(october):
    figures = kpis(period_of(year=2026, month=10))
    # Margin October (usage only): retail 12.218343 − wholesale 5.314176.
    assert figures.usage_retail == Decimal("12.218343")
    assert figures.wholesale == Decimal("5.314176")
    assert figures.usage_retail - figures.wholesale == Decimal("6.904167")
    assert (figures.active, figures.gross_adds, figures.churned, figures.base) == (3, 3, 1, 2)
    assert figures.churn_rate == Decimal("0.5000")
    assert figures.revenue == Decimal("95.39")  # 52.19 + 30.95 + 12.25 net
    assert figures.arpu == Decimal("31.80")
    assert figures.roaming_retail == Decimal("6.574176")  # A10, A11, A12 in WORLD1
    assert figures.unbilled == Decimal("0")
    assert figures.dso_days == Decimal("31.0")  # nothing paid yet
    (plan,) = figures.plans
    assert (plan["usage"], plan["wholesale"]) == ("12.218343", "5.314176")


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_a_fixed_finding_that_comes_back_says_so(october, django_user_model):
    user = django_user_model.objects.create(username="fin")
    first = reconciliation_run(year=2026, month=10)
    gap = next(f for f in first.findings if f.kind == FindingKind.SEQUENCE_GAP)
    finding_update(finding=gap, user=user, state=FindingState.FIXED, comment="asked HOSTNET")
    again = reconciliation_run(year=2026, month=10)
    same = next(f for f in again.findings if f.kind == FindingKind.SEQUENCE_GAP)
    assert same.pk == gap.pk
    assert (same.state, same.recurrences, same.recurred) == (FindingState.OPEN, 1, True)
    assert [c.text for c in same.comments.all()] == ["asked HOSTNET"]


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_finance_drills_from_dashboard_to_findings_lineage_and_exports(
    october, finance, console_client_for
):
    from openpyxl import load_workbook

    from invoicing.models import InvoiceLine

    client = console_client_for(finance)
    # finance sees every brand here: it may reconcile from the console.
    response = client.post("/assurance/reconcile/", {"period": "2026-10"})
    assert response.status_code == 302 and "/assurance/reconciliations/" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "12.218343" in page and "0.008343" in page and "The chain balances" in page

    dashboard = client.get("/assurance/?period=2026-10").content.decode()
    assert "Revenue assurance · 2026-10" in dashboard and "Missing file" in dashboard
    assert "5.314176" in dashboard and "data-chart" in dashboard

    finding = client.get("/assurance/findings/").content.decode()
    assert "HOSTNET 000003 missing" in finding
    from assurance.models import Finding

    gap = Finding.objects.get(kind=FindingKind.SEQUENCE_GAP)
    detail = client.get(gap.get_absolute_url()).content.decode()
    assert "/charging/gaps/" in detail or "record-link" in detail

    line = InvoiceLine.objects.get(description="voice out, NAT_MOBILE, HOME")
    lineage = client.get(f"/assurance/lineage/line/{line.pk}/").content.decode()
    # 0.18 of A14, and A1 inside its allowance: both events with their file lines.
    assert "HOSTNET/A14" in lineage and "HOSTNET/A1<" in lineage.replace("</a>", "<")
    assert "CDR_HOSTNET_20261101000500_000001.csv" in lineage
    from charging.models import UsageEvent

    a14 = UsageEvent.objects.get(record_id="A14")
    event = client.get(f"/assurance/lineage/event/{a14.pk}/").content.decode()
    assert "A14" in event and "How was this priced" in event
    assert "voice out, NAT_MOBILE, HOME" in event

    xlsx = client.get("/assurance/?period=2026-10&_export=xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (
        values["Usage retail (rated)"] == 12.218343
        or str(values["Usage retail (rated)"]) == "12.218343"
    )
    csv_text = client.get("/assurance/?period=2026-10&_export=csv").content.decode()
    assert "Wholesale cost,5.314176" in csv_text


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_api_kpis_findings_and_reconciliations(october, finance, api_client_for):
    api = api_client_for(finance)
    created = api.post("/api/v1/assurance/reconciliation", {"period": "2026-10"}, format="json")
    assert created.status_code == 201, created.content
    total = next(row for row in created.json()["rows"] if row["source"] == "")
    assert (total["received"], total["rated_retail"], total["rounding"]) == (
        29, "12.218343", "0.008343")  # fmt: skip
    bad = api.post("/api/v1/assurance/reconciliation", {"period": "2026-13"}, format="json")
    assert bad.status_code == 400 and "period" in str(bad.json())
    kpi = api.get("/api/v1/assurance/kpi?period=2026-10").json()
    assert (kpi["usageRetail"], kpi["wholesaleCost"], kpi["activeSubscribers"]) == (
        "12.218343", "5.314176", 3)  # fmt: skip
    assert api.get("/api/v1/assurance/kpi?period=oct").status_code == 400
    findings = api.get("/api/v1/assurance/finding?kind=sequence_gap").json()
    (gap,) = findings.get("results", findings)
    refused = api.patch(f"/api/v1/assurance/finding/{gap['id']}", {"state": "explained"},
                        format="json")  # fmt: skip
    assert refused.status_code == 400 and "comment" in str(refused.json())
    changed = api.patch(f"/api/v1/assurance/finding/{gap['id']}",
                        {"state": "explained", "comment": "000003 was a test file"},
                        format="json")  # fmt: skip
    assert changed.status_code == 200 and changed.json()["state"] == "explained"


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_what_if_of_a_draft_without_allowances_shows_the_bill_shock(october, finance):
    from catalog import services as catalog_services
    from catalog.models import PlanVersion
    from charging.models import UsageEvent

    catalog, _ = october
    published = PlanVersion.objects.filter(plan=catalog.plan).order_by("-version").first()
    draft = catalog_services.plan_version_create(
        plan=catalog.plan,
        data={"rate_card": published.rate_card, "recurring_fee": Decimal("24.99"),
              "fee_timing": published.fee_timing, "tax_category": published.tax_category,
              "effective_from": published.effective_from},
    )  # fmt: skip
    before = list(UsageEvent.objects.order_by("pk").values_list("retail_amount", flat=True))
    run = services_whatif(draft, finance)
    assert run.events == 19 and run.retail_before == Decimal("12.218343")
    # No allowance in the draft: every covered minute, message and byte is now charged.
    assert run.retail_after > run.retail_before
    assert (run.recurring_before, run.recurring_after) == (Decimal("59.97"), Decimal("74.97"))
    assert run.bill_shock[0]["msisdn"] == "4915112340001"  # Anna's 3 GB of data
    assert run.wholesale == Decimal("5.314176")
    # Nothing written to the ledgers.
    assert list(UsageEvent.objects.order_by("pk").values_list("retail_amount", flat=True)) == before


def services_whatif(draft, user):
    from assurance.services import whatif_run

    return whatif_run(plan_version=draft, user=user)
