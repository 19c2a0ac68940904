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


@time_machine.travel("2027-02-10 09:00:00+01:00", tick=False)
def test_aged_receivables_of_a_past_period_are_the_books_as_they_stood(
    october,  # noqa: F811
    finance,
):
    """Paid on 20 December: still owed at the end of November, no longer at the end of
    December; a payment returned on 10 January owes it again from then."""
    import datetime as dt

    from invoicing.models import Invoice
    from invoicing.payments.services import payment_record, payment_return

    invoice = Invoice.objects.get(gross_total=Decimal("62.11"))
    with time_machine.travel("2026-12-20 10:00:00+01:00", tick=False):
        payment = payment_record(
            billing_account=invoice.billing_account, amount="62.11", currency="EUR",
            method="bank_transfer", received_on=dt.date(2026, 12, 20), invoice_ids=[invoice.pk],
            acting_user=finance,
        )  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    with time_machine.travel("2027-01-10 10:00:00+01:00", tick=False):
        payment_return(payment=payment, reason_code="AC04", acting_user=finance)

    def owed(year, month):
        (eur,) = kpis(period_of(year=year, month=month)).receivables
        return eur.total, eur.invoices

    assert owed(2026, 11) == (Decimal("113.52"), 3)  # paid only later
    assert owed(2026, 12) == (Decimal("51.41"), 2)  # 113.52 - 62.11
    assert owed(2027, 1) == (Decimal("113.52"), 3)  # the payment came back


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


def _hostnet_statement(catalog):
    from settlement import services as settlement

    partner = settlement.partner_save(
        brand=catalog.brand, code="HOSTNET", name="Host Network GmbH", kind="host_network",
        currency="EUR", host_network=catalog.host_network, payment_terms_days=30,
    )  # fmt: skip
    run = settlement.settlement_run_create(partner=partner, year=2026, month=10, run_now=True)
    return run.statement


@time_machine.travel("2026-11-10 09:00:00+01:00", tick=False)
def test_margin_takes_off_the_host_networks_sim_fees_once_its_statement_exists(
    october,  # noqa: F811
    finance,
    console_client_for,
):
    catalog, _ = october
    period = period_of(year=2026, month=10)
    before = kpis(period)
    # No statement yet: R31's fees are unknown, the margin is revenue less usage wholesale.
    assert (before.host_fees, before.margin) == (Decimal("0"), Decimal("90.075824"))
    statement = _hostnet_statement(catalog)
    assert statement.exact_total == Decimal("6.214176")  # 5.314176 + 3 × 0.30 (scenario)

    figures = kpis(period)
    # The scenario's figures stay: wholesale usage 5.314176, usage margin 6.904167.
    assert (figures.wholesale, figures.usage_margin) == (Decimal("5.314176"), Decimal("6.904167"))
    assert figures.host_fees == Decimal("0.900000")  # three SIMs of SMART-10 × 0.30
    assert figures.margin == Decimal("95.39") - Decimal("5.314176") - Decimal("0.900000")
    assert [s.pk for s in figures.host_fee_statements] == [statement.pk]
    (plan,) = figures.plans
    assert (plan["wholesale"], plan["host_fees"], plan["statements"]) == (
        "5.314176", "0.900000", [statement.pk])  # fmt: skip
    # Usage 12.218343 + fees invoiced 83.18, less wholesale usage and the SIM fees.
    assert plan["margin"] == "89.184167"
    assert kpis(period, plan_id=plan["plan"]).host_fees == Decimal("0.900000")

    page = console_client_for(finance).get("/assurance/?period=2026-10").content.decode()
    assert f'href="/settlement/statements/{statement.pk}/" class="host-fees">0.900000' in page
    assert "allocated to plans by the SIMs" in page and "89.175824" in page


def test_fixed_fees_are_shared_by_the_sims_plans_and_add_up_to_the_statement():

    from assurance.selectors import host_network_fees
    from catalog.models import Plan
    from settlement.models import Partner, RunStatus, SettlementRun, Statement, StatementLine
    from subscribers.models import Subscription
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    catalog = build_golden_catalog()
    build_golden_subscribers(catalog)
    other = Plan.objects.create(
        brand=catalog.brand, code="OTHER-1", name="Other",
        payment_model=catalog.plan.payment_model, currency="EUR",
    )  # fmt: skip
    first = Subscription.objects.order_by("pk").first()
    Subscription.objects.filter(pk=first.pk).update(plan=other)
    partner = Partner.objects.create(
        brand=catalog.brand, code="HOSTNET", name="Host", kind="host_network",
        host_network=catalog.host_network,
    )  # fmt: skip
    period = period_of(year=2026, month=10)
    run = SettlementRun.objects.create(partner=partner, period_year=2026, period_month=10,
                                       status=RunStatus.DONE)  # fmt: skip
    statement = Statement.objects.create(run=run, partner=partner, period_start=period.start,
                                         period_end=period.end, currency="EUR",
                                         direction="payable")  # fmt: skip
    StatementLine.objects.create(statement=statement, position=1, kind="sim_fee", units=3,
                                 description="SIM fees", amount=Decimal("0.900000"))  # fmt: skip
    StatementLine.objects.create(statement=statement, position=2, kind="platform_fee",
                                 description="Platform", amount=Decimal("100.000000"))  # fmt: skip
    fees = host_network_fees(period)
    smart = catalog.plan.pk
    # SIM fees 0.30 per SIM on its plan; the platform fee 2/3 and 1/3, the cent left by
    # rounding on the plan with most SIMs.
    assert fees.by_plan == {smart: Decimal("0.600000") + Decimal("66.666667"),
                            other.pk: Decimal("0.300000") + Decimal("33.333333")}  # fmt: skip
    assert fees.total == Decimal("100.900000") and fees.statements == [statement]
    assert host_network_fees(period, brand_ids=[-1]).total == Decimal("0")


@time_machine.travel("2026-12-10 09:00:00+01:00", tick=False)
def test_dashboard_opens_on_the_latest_period_with_data_of_the_users_brands(
    october,  # noqa: F811
    finance,
    make_user,
    console_client_for,
    api_client_for,
):
    from assurance.selectors import default_period, last_closed_period
    from catalog import services as catalog_services
    from catalog.models import BrandScope

    # November, the last closed period, holds nothing: October has the invoices and usage.
    assert last_closed_period().start_date.month == 11
    page = console_client_for(finance).get("/assurance/").content.decode()
    assert "Revenue assurance · 2026-10" in page
    assert '<option value="2026-10" selected>2026-10 · invoices and usage</option>' in page
    assert '<option value="2026-11" class="muted">2026-11 · no data</option>' in page
    # The KPI API with no period answers for the same month as the dashboard.
    assert api_client_for(finance).get("/api/v1/assurance/kpi").json()["period"] == "2026-10"
    # A month outside the picker's two years is still listed once asked for.
    old = console_client_for(finance).get("/assurance/?period=2023-01").content.decode()
    assert '<option value="2023-01" selected class="muted">2023-01 · no data</option>' in old

    # Another brand's user: none of it is theirs, the last closed period it is.
    brand = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    assert default_period(brand_ids=[brand.pk]).start_date.month == 11
    user = make_user("ipsum-finance", "finance")
    BrandScope.objects.create(user=user, brand=brand)
    theirs = console_client_for(user).get("/assurance/").content.decode()
    assert "Revenue assurance · 2026-11" in theirs and "2026-10 · no data" in theirs
    assert api_client_for(user).get("/api/v1/assurance/kpi").json()["period"] == "2026-11"
