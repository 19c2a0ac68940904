"""The revenue assurance of the golden October, end to end (R33, issue 18).

Catalogue and subscribers through their services, the four file arrivals through the real
ingestion path, the October bill run drafted and issued; then the reconciliation of October
must say what the scenario's last section says, figure for figure.
"""

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
