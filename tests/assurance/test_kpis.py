"""KPIs of the assurance beyond the golden section: collections' aged receivables, default
period, host-network fees in the margin (issue 18)."""

from decimal import Decimal

import pytest
import time_machine

from assurance.selectors import kpis, period_of
from tests.assurance.test_golden_assurance import october  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.django_db]


@time_machine.travel("2027-02-10 09:00:00+01:00", tick=False)
def test_aged_receivables_are_bucketed_as_of_the_period_end(october):  # noqa: F811
    # The three October invoices (62.11 + 36.83 + 14.58 gross), issued on 2 November, due
    # 14 days later, on the 16th; nothing paid.
    before = kpis(period_of(year=2026, month=10))
    assert before.receivables_as_of.isoformat() == "2026-10-31" and before.receivables == []
    november = kpis(period_of(year=2026, month=11))
    assert november.receivables_as_of.isoformat() == "2026-11-30"
    (eur,) = november.receivables
    assert eur.currency == "EUR" and eur.invoices == 3
    assert eur.buckets == {"current": Decimal("0"), "d0_30": Decimal("113.52"),
                           "d31_60": Decimal("0"), "d61_90": Decimal("0"),
                           "d90_plus": Decimal("0")}  # fmt: skip
    january = kpis(period_of(year=2027, month=1)).receivables[0]  # 76 days past due
    assert (january.buckets["d0_30"], january.buckets["d61_90"]) == (Decimal("0"),
                                                                     Decimal("113.52"))  # fmt: skip
    assert kpis(period_of(year=2026, month=11), plan_id=1).receivables == []


@time_machine.travel("2026-12-10 09:00:00+01:00", tick=False)
def test_receivable_buckets_drill_down_to_their_invoices_from_dashboard_and_api(
    october,  # noqa: F811
    finance,
    console_client_for,
    api_client_for,
):
    client = console_client_for(finance)
    page = client.get("/assurance/?period=2026-11").content.decode()
    link = "/invoicing/receivables/invoices/?as_of=2026-11-30&amp;bucket=d0_30&amp;currency=EUR"
    assert link in page and "Receivables 0–30 days on 2026-11-30 (EUR)" in page
    assert "113.52" in page
    drill = client.get(link.replace("&amp;", "&")).content.decode()
    assert drill.count("/invoicing/invoices/") >= 3 and "62.11" in drill and "14.58" in drill
    empty = client.get(
        "/invoicing/receivables/invoices/?as_of=2026-11-30&bucket=d31_60&currency=EUR"
    ).content.decode()
    assert "62.11" not in empty
    csv_text = client.get("/assurance/?period=2026-11&_export=csv").content.decode()
    assert "Receivables 0–30 days on 2026-11-30 (EUR),113.52" in csv_text

    kpi = api_client_for(finance).get("/api/v1/assurance/kpi?period=2026-11").json()
    assert kpi["agedReceivables"]["asOf"] == "2026-11-30"
    (eur,) = kpi["agedReceivables"]["currencies"]
    assert (eur["currency"], eur["buckets"]["d0_30"], eur["total"], eur["invoices"]) == (
        "EUR", "113.52", "113.52", 3)  # fmt: skip
