"""The rating simulator: golden amounts on any plan version, drafts included, nothing written."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import RateRow, Zone, ZoneType
from charging.cdr import parse_line
from charging.models import UsageEvent
from charging.simulator import usage_simulate
from subscribers.models import Bucket, BucketMovement

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
FILE_2 = "CDR_HOSTNET_20261101001000_000002.csv"
BERLIN = "Europe/Berlin"


def sample_line(name: str, record_id: str) -> str:
    for line in (SAMPLES / name).read_text().splitlines():
        if line.startswith(f"{record_id},"):
            return line
    raise LookupError(record_id)


@pytest.fixture(scope="module")
def catalogue(django_db_setup, django_db_blocker):
    """The golden catalogue and a DRAFT v2 of SMART-10 whose WORLD calls cost 0.79, built once.

    Built inside a transaction rolled back after the module; each test runs in a savepoint.
    """
    from django.db import transaction

    from tests.catalog.builders import build_golden_catalog

    with django_db_blocker.unblock(), transaction.atomic():
        golden = build_golden_catalog()
        card = catalog_services.rate_card_clone(rate_card=golden.retail_card, code="SMART-10-DRAFT")
        world = Zone.objects.get(
            table=golden.zone_table, zone_type=ZoneType.DESTINATION, code="WORLD"
        )
        row = RateRow.objects.get(rate_card=card, service="VOICE_OUT", destination_zones=world)
        catalog_services.rate_row_save(
            rate_card=card,
            row=row,
            data={"service": "VOICE_OUT", "price": Decimal("0.79"), "unit": "MINUTE",
                  "increment_first": 60, "increment_next": 60,
                  "connection_fee": Decimal("0.15"), "destination_zones": [world],
                  "roaming_zones": golden.roaming("HOME", "EU")},
        )  # fmt: skip
        draft = catalog_services.plan_version_clone(
            version=golden.version, effective_from=dt.datetime(2026, 12, 31, 23, tzinfo=dt.UTC)
        )
        draft = catalog_services.plan_version_update(version=draft, data={"rate_card": card})
        yield golden, draft
        transaction.set_rollback(True)


def simulate(catalogue, line: str, *, version=None, remaining=None):
    golden, _ = catalogue
    return usage_simulate(
        plan_version=version or golden.version,
        record=parse_line(line, line_number=1),
        host_network=golden.host_network,
        timezone=BERLIN,
        remaining=remaining,
        tax_region=golden.tax_region,
    )


def allowance(catalogue, name: str, version=None):
    golden, _ = catalogue
    return (version or golden.version).allowances.get(name=name)


def test_simulator_reproduces_a3_world_call_with_its_connection_fee(catalogue):
    simulation = simulate(catalogue, sample_line(FILE_1, "A3"))
    rating = simulation.rating
    assert (rating.status, rating.destination_zone, rating.roaming_zone, rating.time_band) == (
        "rated", "WORLD", "HOME", "OFFPEAK")  # fmt: skip
    assert (rating.charged_units, rating.covered_units) == (60, 0)
    assert rating.retail_amount == Decimal("1.140000")
    assert rating.wholesale_amount == Decimal("0.002000")
    terms = [(term.label, term.amount) for term in simulation.explanation.retail_terms]
    assert terms == [("at the rate", Decimal("0.99")), ("connection fee", Decimal("0.15"))]


def test_a13_like_call_is_covered_whole_by_a_full_voice_allowance(catalogue):
    simulation = simulate(catalogue, sample_line(FILE_2, "A13"))
    rating = simulation.rating
    assert (rating.charged_units, rating.covered_units) == (5820, 5820)
    assert rating.retail_amount == Decimal("0.000000")
    assert rating.wholesale_amount == Decimal("0.386667")
    voice = next(b for b in simulation.buckets if b.allowance.name == "Voice 100 min")
    assert (voice.full, voice.before, voice.drawn, voice.after) == (6000, 6000, 5820, 180)


def test_a13_with_the_scenarios_5755_seconds_left_costs_what_mediation_charged(catalogue):
    voice = allowance(catalogue, "Voice 100 min")
    simulation = simulate(catalogue, sample_line(FILE_2, "A13"), remaining={voice.pk: 5755})
    assert (simulation.rating.covered_units, simulation.rating.retail_amount) == (
        5755, Decimal("0.054167"))  # fmt: skip
    assert [(d.name, d.quantity) for d in simulation.explanation.draws] == [("Voice 100 min", 5755)]
    assert simulation.explanation.left_units == 65


def test_a_draft_versions_price_is_simulated(catalogue):
    _, draft = catalogue
    assert draft.status == "draft"
    simulation = simulate(catalogue, sample_line(FILE_1, "A3"), version=draft)
    assert simulation.rating.plan_version_id == draft.pk
    assert simulation.rating.retail_amount == Decimal("0.940000")  # 0.79 + 0.15
    assert simulation.rating.wholesale_amount == Decimal("0.002000")


def test_roaming_in_world2_is_simulated_as_a_rating_error(catalogue):
    simulation = simulate(catalogue, sample_line(FILE_2, "A15"))
    assert (simulation.rating.status, simulation.rating.error) == ("error", "NO_RATE")
    assert simulation.rating.retail_amount is None


def test_simulating_writes_nothing(catalogue):
    before = (UsageEvent.objects.count(), Bucket.objects.count(), BucketMovement.objects.count())
    simulate(catalogue, sample_line(FILE_2, "A13"))
    after = (UsageEvent.objects.count(), Bucket.objects.count(), BucketMovement.objects.count())
    assert after == before == (0, 0, 0)


# --- the page -------------------------------------------------------------------------------


def page(client, **params):
    return client.get(reverse("charging:simulator"), params)


def typed_a13(catalogue, **overrides):
    golden, _ = catalogue
    params = {
        "plan_version": golden.version.pk,
        "host_network": golden.host_network.pk,
        "record_type": "MOC",
        "other_party": "4930987654",
        "visited_plmn": "26203",
        "start": "2026-10-26T21:00:00",
        "timezone": BERLIN,
        "duration": "5800",
        "bill_cycle_day": "1",
    }
    params.update(overrides)
    return params


def test_simulator_page_offers_every_plan_version_drafts_included(
    catalogue, console_client_for, auditor
):
    response = page(console_client_for(auditor))
    assert response.status_code == 200
    golden, draft = catalogue
    field = response.context["form"].fields["plan_version"]
    choices = {value.value for value, _ in field.choices if value}
    assert {golden.version.pk, draft.pk} <= choices
    assert "SMART-10 v2 (draft" in response.content.decode()


def test_typed_event_is_rated_and_explained_on_the_page(catalogue, console_client_for, auditor):
    response = page(console_client_for(auditor), **typed_a13(catalogue))
    assert response.status_code == 200
    simulation = response.context["simulation"]
    assert simulation.rating.retail_amount == Decimal("0.000000")
    body = response.content.decode()
    assert 'id="sim-retail">0.000000 EUR' in body
    assert "60/60: at least 60 s, then steps of 60 s" in body
    assert 'href="/help/rules/#R9"' in body
    assert "Voice 100 min" in body and "5,820 s" in body
    assert "+4930987654 starts with 49, the longest listed prefix: NAT_FIXED" in body
    assert "Nothing is written" in body


def test_remaining_allowance_typed_on_the_page_is_used(catalogue, console_client_for, auditor):
    voice = allowance(catalogue, "Voice 100 min")
    params = typed_a13(catalogue, **{f"remaining_{voice.pk}": "5,755"})
    response = page(console_client_for(auditor), **params)
    assert response.context["simulation"].rating.retail_amount == Decimal("0.054167")
    assert 'value="5755"' in response.content.decode()


def test_remaining_more_than_granted_is_a_form_error(catalogue, console_client_for, auditor):
    voice = allowance(catalogue, "Voice 100 min")
    params = typed_a13(catalogue, **{f"remaining_{voice.pk}": "7000"})
    response = page(console_client_for(auditor), **params)
    assert response.context["simulation"] is None
    assert "7,000 left is more than the 6,000 it grants" in response.content.decode()


def test_pasted_cdr_line_is_rated_like_the_file_would_be(catalogue, console_client_for, auditor):
    golden, draft = catalogue
    params = {
        "plan_version": draft.pk,
        "host_network": golden.host_network.pk,
        "timezone": BERLIN,
        "bill_cycle_day": "1",
        "cdr_line": sample_line(FILE_1, "A3"),
    }
    response = page(console_client_for(auditor), **params)
    simulation = response.context["simulation"]
    assert simulation.rating.retail_amount == Decimal("0.940000")
    assert 'id="sim-wholesale">0.002000 EUR' in response.content.decode()


def test_a_broken_pasted_line_says_why(catalogue, console_client_for, auditor):
    golden, _ = catalogue
    params = {
        "plan_version": golden.version.pk,
        "host_network": golden.host_network.pk,
        "timezone": BERLIN,
        "bill_cycle_day": "1",
        "cdr_line": sample_line(FILE_2, "X4"),
    }
    response = page(console_client_for(auditor), **params)
    assert response.status_code == 200
    assert response.context["simulation"] is None
    assert response.context["form"].errors["cdr_line"] == ["BAD_TIME: event_time '20261340100000'"]


def test_typed_event_without_what_it_needs_gets_field_errors(
    catalogue, console_client_for, auditor
):
    params = typed_a13(catalogue, duration="", other_party="", timezone="Mars/Olympus")
    response = page(console_client_for(auditor), **params)
    errors = response.context["form"].errors
    assert "is not an IANA timezone" in errors["timezone"][0]
    params = typed_a13(catalogue, duration="")
    errors = page(console_client_for(auditor), **params).context["form"].errors
    assert errors["duration"] == ["give the call's duration in seconds"]
    params = typed_a13(catalogue, other_party="")
    errors = page(console_client_for(auditor), **params).context["form"].errors
    assert errors["other_party"] == ["BAD_FIELD: other_party is empty for an outgoing call or SMS"]


def test_time_band_follows_the_typed_local_time(catalogue, console_client_for, auditor):
    # Monday 2026-10-26 09:00 in Berlin is PEAK; 07:59 is OFFPEAK.
    client = console_client_for(auditor)
    peak = page(client, **typed_a13(catalogue, start="2026-10-26T09:00", duration="60"))
    assert peak.context["simulation"].rating.time_band == "PEAK"
    offpeak = page(client, **typed_a13(catalogue, start="2026-10-26T07:59", duration="60"))
    assert offpeak.context["simulation"].rating.time_band == "OFFPEAK"
    assert offpeak.context["simulation"].record.utc_offset == "+0100"


def test_margin_of_a_tax_inclusive_version_is_taken_on_the_net_charge(catalogue):
    golden, draft = catalogue
    draft = catalog_services.plan_version_update(version=draft, data={"tax_inclusive": True})
    simulation = simulate(catalogue, sample_line(FILE_1, "A3"), version=draft)
    x = simulation.explanation
    assert (simulation.rating.retail_amount, simulation.rating.tax_inclusive) == (
        Decimal("0.940000"), True)  # fmt: skip
    assert x.tax_rate == Decimal("0.19")
    # R14: net = gross / (1 + rate), unrounded; margin = net − wholesale.
    assert x.retail_net == Decimal("0.940000") / Decimal("1.19")
    assert x.margin == Decimal("0.940000") / Decimal("1.19") - Decimal("0.002000")
    assert x.margin_text == "0.787915966386…"


def test_fair_use_past_the_cap_is_throttled_or_charged_at_the_overage_price(catalogue):
    golden, draft = catalogue
    data = {"name": "Data 1 GB fair use", "services": ["DATA"], "cap_quantity": 1,
            "cap_unit": "GB", "action": "throttle"}  # fmt: skip
    policy = catalog_services.fair_use_policy_save(version=draft, data=data)
    data_allowance = allowance(catalogue, "Data 10 GB", version=draft)
    line = sample_line(FILE_1, "A8")  # 1 GB at home, off-peak
    throttled = simulate(catalogue, line.replace("850000000", "1850000000"), version=draft,
                         remaining={data_allowance.pk: 0})  # fmt: skip
    assert (throttled.rating.fair_use_units, throttled.rating.throttled) == (10**9, True)
    assert throttled.rating.retail_amount == Decimal("1.990000")  # the first GB at 1.99/GB
    assert throttled.explanation.fair_use_policy == policy
    assert [t.label for t in throttled.explanation.retail_terms] == ["at the rate"]

    data.update(action="overage", overage_price=Decimal("5.00"), overage_unit="GB")
    catalog_services.fair_use_policy_save(version=draft, policy=policy, data=data)
    charged = simulate(catalogue, line.replace("850000000", "1850000000"), version=draft,
                       remaining={data_allowance.pk: 0})  # fmt: skip
    assert charged.rating.retail_amount == Decimal("6.990000")  # 1.99 + 5.00
    terms = [(t.label, t.amount) for t in charged.explanation.retail_terms]
    assert terms == [
        ("at the rate", Decimal("1.99")),
        ("overage past the cap of Data 1 GB fair use (R13)", Decimal("5.00")),
    ]


def test_fair_use_is_explained_on_the_page(catalogue, console_client_for, auditor):
    golden, draft = catalogue
    data = {"name": "Data 1 GB fair use", "services": ["DATA"], "cap_quantity": 1,
            "cap_unit": "GB", "action": "throttle"}  # fmt: skip
    catalog_services.fair_use_policy_save(version=draft, data=data)
    params = {
        "plan_version": draft.pk,
        "host_network": golden.host_network.pk,
        "record_type": "PGW",
        "visited_plmn": "26203",
        "start": "2026-10-10T08:00",
        "timezone": BERLIN,
        "volume": "2000000000",
        "bill_cycle_day": "1",
    }
    body = page(console_client_for(auditor), **params).content.decode()
    assert 'id="explain-fair-use"' in body
    assert "1,000,000,000 B past the cap of <em>Data 1 GB fair use</em>" in body
    assert "<strong>throttled</strong>" in body


def test_tax_inclusive_margin_without_a_tax_region_is_not_guessed(
    catalogue, console_client_for, auditor
):
    golden, draft = catalogue
    catalog_services.plan_version_update(version=draft, data={"tax_inclusive": True})
    params = {
        "plan_version": draft.pk,
        "host_network": golden.host_network.pk,
        "timezone": BERLIN,
        "bill_cycle_day": "1",
        "cdr_line": sample_line(FILE_1, "A3"),
    }
    response = page(console_client_for(auditor), **params)
    assert response.context["explanation"].margin is None
    body = response.content.decode()
    assert "Gross: name a tax region to take the tax out" in body
    assert 'href="/help/rules/#R14"' in body
    params["tax_region"] = golden.tax_region.pk
    response = page(console_client_for(auditor), **params)
    assert "(VAT 19 %)" in response.content.decode()
