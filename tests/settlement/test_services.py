"""Settlement rules one at a time (R31, R32): shares (flat, progressive by revenue or volume,
cap, floor), recurring fees and the minimum commitment, a reseller's keep, credit notes in the
month they are issued, statement states, reconciliation input errors and tolerances."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from catalog.models import HostNetwork, HostNetworkTariff, RateCard, Status, ZoneTable
from charging.models import UsageEvent
from invoicing.models import Invoice
from invoicing.services import bill_run_issue, credit_note_create
from settlement import services
from settlement.models import (
    Agreement,
    DisputeStatus,
    LineKind,
    RunStatus,
    StatementStatus,
)
from tests.catalog.factories import BrandFactory
from tests.invoicing.builders import (
    account_add,
    event_add,
    plan_add,
    run_bill,
    subscription_add,
    world_build,
)

pytestmark = [pytest.mark.django_db]
D = Decimal
OCT = dt.datetime(2026, 10, 10, 10, tzinfo=dt.UTC)


def share_of(revenue, events=0, **fields) -> Decimal:
    agreement = Agreement(**{"percent": D("0"), "tiers": [], "basis": "revenue", **fields})
    return services.share_of(agreement=agreement, revenue=D(revenue), events=events)


TIERS = [{"from": "0", "percent": "10"}, {"from": "100", "percent": "20"}]


def test_a_flat_share_is_a_percent_of_the_revenue():
    assert share_of("250.00", percent=D("12.5")) == D("31.250000")


def test_progressive_tiers_by_revenue_take_each_slice_at_its_rate():
    # 100 at 10 % + 150 at 20 %
    assert share_of("250", tiers=TIERS) == D("40.000000")
    assert share_of("80", tiers=TIERS) == D("8.000000")


def test_progressive_tiers_by_volume_share_the_revenue_the_events_stand_for():
    # 300 events: 100 at 10 %, 200 at 20 % of 3.00 each → 30 + 120
    assert share_of("900", events=300, tiers=TIERS, basis="volume") == D("150.000000")
    assert share_of("900", events=0, tiers=TIERS, basis="volume") == D("0")


def test_a_cap_and_a_floor_hold_the_share():
    assert share_of("250", tiers=TIERS, cap=D("25")) == D("25.000000")
    assert share_of("10", percent=D("10"), floor=D("5")) == D("5.000000")


@pytest.mark.parametrize(
    "tiers, message",
    [
        ([{"from": "10", "percent": "5"}], "starts at 0"),
        ([{"from": "0", "percent": "5"}, {"from": "0", "percent": "6"}], "rising"),
        ([{"from": "0", "percent": "150"}], "0–100"),
        ([{"from": "x"}], "decimals"),
    ],
)
def test_bad_tiers_are_refused_with_their_reason(tiers, message):
    brand = BrandFactory()
    partner = services.partner_save(brand=brand, code="P1", name="P", kind="content")
    with pytest.raises(ValidationError) as error:
        services.agreement_save(
            partner=partner, code="A1", name="A", kind="revenue_share",
            effective_from=dt.date(2026, 1, 1), tiers=tiers,
        )  # fmt: skip
    assert message in str(error.value.message_dict["tiers"])


def test_partners_name_what_they_need():
    brand = BrandFactory()
    with pytest.raises(ValidationError) as error:
        services.partner_save(brand=brand, code="H", name="H", kind="host_network")
    assert "host_network" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.partner_save(brand=brand, code="R", name="R", kind="reseller")
    assert "partner_brand" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.partner_save(brand=brand, code="C", name="C", kind="content", currency="E1")
    assert "currency" in error.value.message_dict


def host_world(*, sim_fee="0.50", platform_fee="0", minimum="0", currency="EUR"):
    world = world_build()
    plan_add(world, "BASIC", fee="10.00")
    table = ZoneTable.objects.create(code=f"Z-{world.brand.code}", name="zones")
    card = RateCard.objects.create(
        code=f"W-{world.brand.code}", name="wholesale", kind="wholesale", zone_table=table,
        status=Status.PUBLISHED, currency=currency,
    )  # fmt: skip
    network = HostNetwork.objects.create(
        code=f"H{world.brand.code}", name="host", plmn_codes=["26299"], country_code="49"
    )
    HostNetworkTariff.objects.create(
        host_network=network, rate_card=card, effective_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        sim_fee=D(sim_fee), platform_fee=D(platform_fee), minimum_commitment=D(minimum),
    )  # fmt: skip
    partner = services.partner_save(
        brand=world.brand, code=f"P-{network.code}", name="Host", kind="host_network",
        currency="EUR", host_network=network,
    )  # fmt: skip
    return world, network, partner


def sim_on(network, subscription):
    from subscribers.models import Sim

    sim = Sim.objects.create(
        iccid=f"8949{subscription.pk:015d}", imsi=f"26299{subscription.pk:010d}",
        status="assigned", host_network=network,
    )  # fmt: skip
    subscription.sim = sim
    subscription.save(update_fields=["sim"])


def wholesale_event(network, subscription, amount, *, roaming="HOME", at=OCT):
    event = event_add(subscription, at=at, amount="0.10", roaming=roaming)
    UsageEvent.objects.filter(pk=event.pk).update(
        source=network.code, wholesale_amount=D(amount), wholesale_units=60
    )


def test_sim_and_platform_fees_and_a_minimum_commitment_shortfall():
    world, network, partner = host_world(sim_fee="0.50", platform_fee="20", minimum="50")
    for active_from in (dt.date(2026, 9, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 1)):
        subscription = subscription_add(world, account_add(world), "BASIC", active_from=active_from)
        sim_on(network, subscription)
    november = dt.datetime(2026, 11, 5, 10, tzinfo=dt.UTC)
    wholesale_event(network, subscription, "1.000001", at=november)  # not October's
    first = subscription.__class__.objects.order_by("pk").first()
    wholesale_event(network, first, "2.500000")
    wholesale_event(network, first, "0.400000", roaming="EU")

    run = services.settlement_run_create(partner=partner, year=2026, month=10, run_now=True)
    lines = {line.kind: line for line in run.statement.lines.all()}
    assert run.status == RunStatus.DONE
    assert lines[LineKind.SIM_FEE].units == 2 and lines[LineKind.SIM_FEE].amount == D("1.000000")
    assert lines[LineKind.PLATFORM_FEE].amount == D("20.000000")
    # 50 − (2.9 usage + 1.0 SIM fees); the platform fee is not part of the commitment.
    assert lines[LineKind.SHORTFALL].amount == D("46.100000")
    assert run.statement.exact_total == D("70.000000") and run.statement.total == D("70.00")


def test_a_card_in_another_currency_fails_the_run_with_its_reason():
    world, network, partner = host_world(currency="USD")
    subscription = subscription_add(
        world, account_add(world), "BASIC", active_from=dt.date(2026, 9, 1)
    )
    wholesale_event(network, subscription, "1")
    run = services.settlement_run_create(partner=partner, year=2026, month=10, run_now=True)
    assert run.status == RunStatus.FAILED and "no conversion" in run.status_detail


@time_machine.travel("2026-11-20 10:00:00+01:00", tick=False)
def test_a_reseller_keeps_its_share_and_a_credit_note_reduces_the_month_it_is_issued_in():
    world = world_build()
    reseller_brand = BrandFactory(parent=world.brand)
    plan_add(world, "BASIC", fee="10.00")
    account = account_add(world)
    subscription_add(world, account, "BASIC", active_from=dt.date(2026, 9, 1))
    run = run_bill(world, 2026, 10)
    bill_run_issue(bill_run=run)
    # The reseller's brand owns the invoice (a hosted brand's customers).
    Invoice.objects.update(brand=reseller_brand)
    partner = services.partner_save(
        brand=world.brand, code="RESELL", name="Reseller", kind="reseller",
        partner_brand=reseller_brand,
    )  # fmt: skip
    services.agreement_save(
        partner=partner, code="RESELL-2026", name="keep 20 %", kind="reseller",
        effective_from=dt.date(2026, 1, 1), percent=D("20"),
    )  # fmt: skip
    october = services.settlement_run_create(partner=partner, year=2026, month=10, run_now=True)
    statement = october.statement
    revenue = statement.lines.get(kind=LineKind.REVENUE).amount
    invoice = Invoice.objects.get(kind="invoice")
    assert revenue == invoice.net_total
    kept, owed = statement.lines.filter(kind=LineKind.SHARE).order_by("position")
    assert (kept.counts, kept.amount) == (False, revenue * D("0.2"))
    assert owed.amount == revenue - kept.amount and statement.direction == "receivable"
    assert statement.exact_total == owed.amount

    # A credit note issued in November reduces November, not October (R32).
    note = credit_note_create(invoice=invoice, reason="goodwill", amount=D("5.00"),
                              tax_rate=D("0.19"))  # fmt: skip
    assert note.status == "issued"
    Invoice.objects.filter(pk=note.pk).update(brand=reseller_brand)
    again = services.settlement_run_create(partner=partner, year=2026, month=10, run_now=True)
    assert again.statement.lines.get(kind=LineKind.REVENUE).amount == revenue
    november = services.settlement_run_create(partner=partner, year=2026, month=11, run_now=True)
    assert november.statement.lines.get(kind=LineKind.REVENUE).amount == D("-5.000000")


def test_statement_states_and_dispute_moves():
    world, network, partner = host_world()
    run = services.settlement_run_create(partner=partner, year=2026, month=10, run_now=True)
    statement = run.statement
    with pytest.raises(ValidationError):
        services.statement_decide(statement=statement, agreed=True)
    statement = services.statement_issue(statement=statement)
    with pytest.raises(ValidationError):
        services.statement_issue(statement=statement)
    with pytest.raises(ValidationError) as error:
        services.statement_decide(statement=statement, agreed=False, note="")
    assert "note" in error.value.message_dict
    statement = services.statement_decide(statement=statement, agreed=False, note="SIM count")
    assert statement.status == StatementStatus.DISPUTED
    statement = services.statement_decide(statement=statement, agreed=True)
    assert statement.status == StatementStatus.AGREED


@pytest.mark.parametrize(
    "content, message",
    [
        (b"period,service,units,amount\n", "missing columns: roaming_zone"),
        (b"period,service,roaming_zone,units,amount\n2026-13,DATA,HOME,1,1\n", "YYYY-MM"),
        (b"period,service,roaming_zone,units,amount\n2026-10,FAX,HOME,1,1\n", "unknown service"),
        (b"period,service,roaming_zone,units,amount\n2026-10,DATA,HOME,1,x\n", "a decimal"),
        (b"period,service,roaming_zone,units,amount\n", "no lines"),
        (
            b"period,service,roaming_zone,units,amount\n2026-10,DATA,HOME,1,1\n"
            b"2026-10,DATA,HOME,1,1\n",
            "a second line",
        ),
        (
            b"period,service,roaming_zone,units,amount\n2026-10,DATA,HOME,1,1\n"
            b"2026-11,DATA,EU,1,1\n",
            "one period",
        ),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_a_bad_partner_invoice_is_refused_whole(content, message):
    world, network, partner = host_world()
    with pytest.raises(ValidationError) as error:
        services.reconciliation_import(partner=partner, content=content, file_name="x.csv")
    assert message in str(error.value.message_dict["file"])
    assert not partner.reconciliations.exists()


def test_a_difference_within_either_tolerance_is_no_dispute():
    world, network, partner = host_world()
    subscription = subscription_add(
        world, account_add(world), "BASIC", active_from=dt.date(2026, 9, 1)
    )
    wholesale_event(network, subscription, "100.000000")
    wholesale_event(network, subscription, "1.000000", roaming="EU")
    services.agreement_save(
        partner=partner, code="WS", name="ws", kind="wholesale",
        effective_from=dt.date(2026, 1, 1), tolerance_amount=D("0.05"),
        tolerance_percent=D("1"),
    )  # fmt: skip
    content = (
        b"period,service,roaming_zone,units,amount\n"
        b"2026-10,VOICE_OUT,HOME,60,100.500000\n"  # 0.50 off, but only 0.5 %: within
        b"2026-10,VOICE_OUT,EU,60,1.040000\n"  # 4 % off, but only 0.04: within
        b"2026-10,DATA,WORLD1,1000,0.300000\n"  # theirs only: a dispute
    )
    reconciliation = services.reconciliation_import(
        partner=partner, content=content, file_name="x.csv"
    )
    (dispute,) = reconciliation.disputes.all()
    assert (dispute.service, dispute.roaming_zone, dispute.difference) == (
        "DATA", "WORLD1", D("0.300000")
    )  # fmt: skip
    assert reconciliation.lines_matched == 2
    services.dispute_decide(dispute=dispute, status=DisputeStatus.ACCEPTED)
    with pytest.raises(ValidationError):
        services.dispute_decide(dispute=dispute, status=DisputeStatus.REJECTED)
    november = services.settlement_run_create(partner=partner, year=2026, month=11, run_now=True)
    line = november.statement.lines.get(kind=LineKind.DISPUTE)
    assert line.amount == D("0.300000")
