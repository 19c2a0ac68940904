"""The settlement demo settles October with HOSTNET and shows one dispute, once."""

from decimal import Decimal

import pytest
import time_machine

from charging import demo as charging_demo
from invoicing import demo as invoicing_demo
from settlement import demo
from settlement.models import DisputeItem, Statement, StatementStatus

pytestmark = [pytest.mark.django_db, pytest.mark.golden]


@time_machine.travel("2026-11-03 09:00:00+01:00", tick=False)
def test_the_demo_settles_hostnet_and_shows_a_dispute_once(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    from catalog import demo as catalog_demo
    from subscribers import demo as subscribers_demo

    settings.MEDIA_ROOT = tmp_path
    catalog_demo.load()
    subscribers_demo.load()
    charging_demo.load()
    with django_capture_on_commit_callbacks(execute=True):
        invoicing_demo.load()
        summary = demo.load()

    from settlement.models import SettlementRun

    assert {r.status for r in SettlementRun.objects.all()} == {"done"}
    host = Statement.objects.get(partner__code="HOSTNET")
    assert host.status == StatementStatus.ISSUED and host.pdf
    # The golden usage (R14); the demo's whole base pays the SIM fee, not only A, B and C.
    usage = sum(line.amount for line in host.lines.filter(kind="usage"))
    assert usage == Decimal("5.314176")
    sims = host.lines.get(kind="sim_fee")
    assert sims.units >= 3 and sims.amount == sims.units * Decimal("0.30")
    assert host.exact_total == usage + sims.amount
    content = Statement.objects.get(partner__code="ACME-CONTENT")
    # 30 % of the first 5.00 and 40 % of the rest of SMART-10's invoiced voice-out revenue.
    revenue = content.lines.get(kind="revenue").amount
    share = content.lines.get(kind="share").amount
    expected = min(revenue, Decimal("5")) * Decimal("0.3") + max(
        revenue - Decimal("5"), Decimal("0")
    ) * Decimal("0.4")
    assert revenue > 0 and share == expected.quantize(Decimal("0.000001"))
    dispute = DisputeItem.objects.get()
    assert (dispute.service, dispute.roaming_zone, dispute.difference) == (
        "DATA", "EU", Decimal("0.449998")
    )  # fmt: skip
    assert "1 dispute item(s)" in summary
    with django_capture_on_commit_callbacks(execute=True):
        again = demo.load()
    assert DisputeItem.objects.count() == 1 and Statement.objects.count() == 2
    assert again == summary and f"HOSTNET EUR {host.total} (issued)" in again
