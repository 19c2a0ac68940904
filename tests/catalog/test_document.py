"""Catalogue documents: lossless export and import, errors by path, all or nothing, commands."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from catalog import services
from catalog.document import (
    CatalogDocumentError,
    catalog_export,
    catalog_import,
    document_dump,
    document_load,
)
from catalog.models import (
    AddOn,
    Brand,
    HostNetwork,
    HostNetworkTariff,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    RateRow,
    Status,
    TaxCategory,
    TaxRate,
    TaxRegion,
    TimeBandSet,
    Zone,
    ZoneTable,
)

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "catalog" / "examples"
GOLDEN_FILE = EXAMPLES / "golden-october.yaml"


def empty_catalog() -> None:
    """Delete every catalogue object, dependants first (PROTECT forbids the other order)."""
    for model in (
        Promotion,
        AddOn,
        HostNetworkTariff,
        HostNetwork,
        PlanVersion,
        Plan,
        RateRow,
        RateCard,
        TimeBandSet,
        ZoneTable,
        TaxRate,
        TaxRegion,
        TaxCategory,
    ):
        model.objects.all().delete()
    Brand.objects.filter(parent__isnull=False).delete()
    Brand.objects.all().delete()


def catalog_counts() -> dict[str, int]:
    """Count the rows of every catalogue model, history tables included."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("catalog").get_models()
    }


def golden_document() -> dict:
    return document_load(GOLDEN_FILE.read_bytes())


def import_errors(document: dict) -> dict[str, list[str]]:
    with pytest.raises(CatalogDocumentError) as caught:
        catalog_import(document=document)
    return caught.value.as_dict()


# --- lossless round trips -------------------------------------------------------------------


@pytest.mark.parametrize("format", ["yaml", "json"])
def test_export_then_import_into_an_empty_catalogue_gives_the_same_export(golden_catalog, format):
    exported = catalog_export()
    text = document_dump(exported, format)
    empty_catalog()
    assert Plan.objects.count() == 0

    catalog_import(document=document_load(text, format=format))

    assert catalog_export() == exported
    assert document_dump(catalog_export(), format) == text


def test_export_keeps_statuses_effective_dates_and_exact_prices(golden_catalog):
    exported = catalog_export()

    version = exported["plans"][0]["versions"][0]
    assert (version["status"], version["effective_from"]) == ("published", "2026-09-30T22:00:00Z")
    data_world1 = exported["rate_cards"][1]["rows"][14]
    assert (data_world1["price"], data_world1["unit"]) == ("0.0199", "MB")
    # R31: the SIM fee travels with the tariff; fees left at zero are left out.
    assert exported["host_networks"][0]["tariffs"] == [
        {"rate_card": "HOSTNET-2026", "effective_from": "2026-01-01T00:00:00Z", "sim_fee": "0.30"}
    ]
    assert exported["tax_regions"][0]["rates"] == [
        {"category": "TELECOM", "rate": "0.19", "valid_from": "2020-01-01"}
    ]


def test_a_tariff_without_fees_still_loads_and_a_changed_fee_is_imported(golden_catalog):
    document = catalog_export()
    tariff = document["host_networks"][0]["tariffs"][0]
    del tariff["sim_fee"]  # a document written before fees existed
    tariff["platform_fee"], tariff["minimum_commitment"] = "150.00", "1000"

    summary = catalog_import(document=document_load(json.dumps(document), format="json"))

    assert summary.changed == [("updated", "tariff", "HOSTNET from 2026-01-01T00:00:00Z")]
    stored = HostNetworkTariff.objects.get()
    assert (stored.sim_fee, stored.platform_fee, stored.minimum_commitment) == (
        Decimal("0"), Decimal("150"), Decimal("1000")
    )  # fmt: skip
    tariff["sim_fee"] = "-1"
    with pytest.raises(CatalogDocumentError):
        catalog_import(document=document_load(json.dumps(document), format="json"))


def test_example_file_reproduces_the_golden_catalogue_of_the_builders(golden_catalog):
    built = catalog_export()
    empty_catalog()

    catalog_import(document=golden_document())

    assert catalog_export() == built


def test_example_file_round_trips_losslessly():
    catalog_import(document=golden_document())
    exported = catalog_export()
    empty_catalog()

    catalog_import(document=document_load(document_dump(exported)))

    assert catalog_export() == exported


def test_importing_the_same_document_twice_changes_nothing():
    first = catalog_import(document=golden_document())
    counts = catalog_counts()

    second = catalog_import(document=golden_document())

    assert first.counts()["created"] == 12
    assert first.counts()["published"] == 3
    assert second.counts() == {
        "created": 0,
        "updated": 0,
        "unchanged": 12,
        "published": 0,
        "retired": 0,
    }
    assert catalog_counts() == counts


def test_import_matches_the_catalogue_built_by_the_services(golden_catalog):
    counts = catalog_counts()

    summary = catalog_import(document=golden_document())

    assert summary.changed == []
    assert catalog_counts() == counts


def test_export_of_one_plan_holds_what_it_needs_and_imports_alone(golden_catalog):
    document = golden_document()
    document["plans"].append(
        {
            "code": "OTHER",
            "name": "Other",
            "brand": "LOREM",
            "payment_model": "prepaid",
            "versions": [
                {
                    "version": 1,
                    "effective_from": "2026-10-01T00:00:00Z",
                    "rate_card": "SMART-10-2026",
                }
            ],
        }
    )
    catalog_import(document=document)

    exported = catalog_export(plans=["SMART-10"])

    assert [plan["code"] for plan in exported["plans"]] == ["SMART-10"]
    assert [card["code"] for card in exported["rate_cards"]] == ["SMART-10-2026"]
    assert "host_networks" not in exported
    empty_catalog()
    catalog_import(document=exported)
    assert catalog_export(plans=["SMART-10"]) == exported


def test_export_of_an_unknown_plan_is_refused():
    with pytest.raises(Plan.DoesNotExist):
        catalog_export(plans=["NOPE"])


# --- errors with their paths ----------------------------------------------------------------


def test_a_negative_price_is_reported_at_its_path_and_nothing_is_loaded():
    document = golden_document()
    document["rate_cards"][1]["rows"][5]["price"] = "-1"

    errors = import_errors(document)

    assert errors == {"rate_cards[1].rows[5].price": ["must be ≥ 0"]}
    assert Plan.objects.count() == ZoneTable.objects.count() == RateCard.objects.count() == 0


def test_an_unknown_zone_code_is_reported_at_its_path():
    document = golden_document()
    document["rate_cards"][1]["rows"][2]["destination_zones"] = ["MARS"]
    document["plans"][0]["versions"][0]["allowances"][0]["roaming_zones"] = ["HOME", "MOON"]

    errors = import_errors(document)

    assert errors == {
        "rate_cards[1].rows[2].destination_zones[0]": ["no destination zone MARS in zone table DE"],
        "plans[0].versions[0].allowances[0].roaming_zones[1]": [
            "no roaming zone MOON in zone table DE"
        ],
    }


def test_overlapping_time_bands_are_refused_by_the_service_with_their_path():
    document = golden_document()
    document["time_band_sets"][0]["bands"].append(
        {"code": "LUNCH", "windows": [{"days": [1], "start": "12:00", "end": "13:00"}]}
    )

    errors = import_errors(document)

    assert list(errors) == ["time_band_sets[0].bands"]
    assert errors["time_band_sets[0].bands"][0].startswith("overlap: Mon 12:00 is in both")
    assert TimeBandSet.objects.count() == 0


def test_ambiguous_rows_are_reported_at_the_second_row():
    document = golden_document()
    rows = document["rate_cards"][1]["rows"]
    rows.append({**rows[0], "price": "0.10"})

    errors = import_errors(document)

    assert list(errors) == ["rate_cards[1].rows[15]"]
    assert errors["rate_cards[1].rows[15]"][0].startswith(
        "rows[0] and this row are equally specific for the same events"
    )


def test_every_shape_error_is_reported_at_once():
    document = golden_document()
    document["brands"][0]["colour"] = "blue"
    del document["tax_categories"][0]["name"]
    document["rate_cards"][0]["rows"][0]["service"] = "TELEPATHY"
    document["rate_cards"][0]["rows"][1]["price"] = 0.022
    document["rate_cards"][0]["rows"][2]["increment_first"] = 0
    document["plans"][0]["versions"][0]["effective_from"] = "2026-10-01T00:00:00"
    document["zone_tables"][0]["destination_zones"][0]["prefixes"] = ["49-800"]

    errors = import_errors(document)

    assert errors == {
        "brands[0].colour": ["unknown key (known: code, name, parent)"],
        "tax_categories[0].name": ["required"],
        "rate_cards[0].rows[0].service": [
            "must be one of VOICE_OUT, VOICE_IN, SMS_OUT, SMS_IN, DATA, EVENT"
        ],
        "rate_cards[0].rows[1].price": [
            "write decimals as text ('0.09'): a binary float is not exact"
        ],
        "rate_cards[0].rows[2].increment_first": ["must be ≥ 1"],
        "plans[0].versions[0].effective_from": [
            "needs a UTC offset (Z or +02:00): an instant is never local"
        ],
        "zone_tables[0].destination_zones[0].prefixes[0]": [
            "must be digits, written as text ('4915')"
        ],
    }


def test_a_document_of_another_format_or_version_is_refused():
    errors = import_errors({"format": "mvno-billing/catalog", "version": 2, "plans": []})

    assert errors == {"version": ["this system reads version 1 of the format"]}
    assert import_errors({"version": 1}) == {"format": ["must be mvno-billing/catalog"]}


def test_text_that_is_not_a_document_is_reported_with_its_line():
    with pytest.raises(CatalogDocumentError) as yaml_error:
        document_load("format: mvno-billing/catalog\nversion: [1\n")
    with pytest.raises(CatalogDocumentError) as json_error:
        document_load('{"format": "x",\n "version": }', format="json")
    with pytest.raises(CatalogDocumentError) as twice:
        document_load("version: 1\nversion: 2\n")

    assert yaml_error.value.errors[0][0] == "document"
    assert "line 3" in yaml_error.value.errors[0][1]
    assert json_error.value.errors == [("document", "line 2, column 13: Expecting value")]
    assert "key 'version' given twice" in twice.value.errors[0][1]


def test_yaml_reads_decimals_exactly_and_avoids_yaml_1_1_traps():
    document = document_load("price: 0.1234567890123456789\nend: 20:00\ncode: NO\nprefix: 0047\n")

    assert document == {
        "price": Decimal("0.1234567890123456789"),
        "end": "20:00",
        "code": "NO",
        "prefix": "0047",
    }


def test_a_json_number_is_imported_exactly():
    document = json.loads(document_dump(golden_document(), "json"))
    document["rate_cards"][1]["rows"][14]["price"] = "PLACEHOLDER"
    text = json.dumps(document).replace('"PLACEHOLDER"', "0.0199")

    catalog_import(document=document_load(text, format="json"))

    row = RateRow.objects.get(rate_card__code="SMART-10-2026", unit="MB")
    assert row.price == Decimal("0.0199")


# --- all or nothing, dry runs ---------------------------------------------------------------


def test_a_late_error_leaves_nothing_half_loaded(golden_catalog):
    before = catalog_counts()
    document = golden_document()
    document["brands"].append({"code": "NEWBRAND", "name": "New"})
    document["promotions"] = [
        {
            "code": "BAD-DATES",
            "name": "Ends before it starts",
            "discount_type": "percent",
            "value": "10",
            "periods": 1,
            "eligible_plans": ["SMART-10"],
            "available_from": "2026-10-01T00:00:00Z",
            "available_until": "2026-09-01T00:00:00Z",
        }
    ]

    errors = import_errors(document)

    assert errors == {"promotions[0].available_until": ["ends after it starts"]}
    assert catalog_counts() == before
    assert not Brand.objects.filter(code="NEWBRAND").exists()


def test_every_refusal_of_the_services_is_reported_at_once(golden_catalog):
    before = catalog_counts()
    document = golden_document()
    document["rate_cards"][1]["rows"][0]["price"] = "0.10"
    document["brands"].append({"code": "NEWBRAND", "name": "New"})
    document["promotions"] = [
        {
            "code": "BAD-DATES",
            "name": "Ends before it starts",
            "discount_type": "percent",
            "value": "10",
            "periods": 1,
            "eligible_plans": ["SMART-10"],
            "available_from": "2026-10-01T00:00:00Z",
            "available_until": "2026-09-01T00:00:00Z",
        }
    ]

    errors = import_errors(document)

    assert sorted(errors) == ["promotions[0].available_until", "rate_cards[1].rows[0].price"]
    assert catalog_counts() == before
    assert not Brand.objects.filter(code="NEWBRAND").exists()


def test_a_dry_run_reports_what_it_would_do_and_changes_nothing():
    before = catalog_counts()

    summary = catalog_import(document=golden_document(), dry_run=True)

    assert summary.dry_run
    assert summary.counts()["created"] == 12
    assert ("published", "plan version", "SMART-10 v1") in summary.actions
    assert catalog_counts() == before


# --- what import does with objects that exist -----------------------------------------------


def test_a_published_rate_card_that_differs_is_an_error_naming_the_difference():
    catalog_import(document=golden_document())
    document = golden_document()
    document["rate_cards"][1]["rows"][0]["price"] = "0.10"

    errors = import_errors(document)

    assert errors == {
        "rate_cards[1].rows[0].price": [
            "rate card SMART-10-2026 is published and never changes (it has '0.09', the "
            "document '0.10'): import the change as a new rate card, with another code"
        ]
    }


def test_a_changed_published_plan_version_asks_for_a_new_version():
    catalog_import(document=golden_document())
    document = golden_document()
    document["plans"][0]["versions"][0]["recurring_fee"] = "21.99"

    errors = import_errors(document)

    assert list(errors) == ["plans[0].versions[0].recurring_fee"]
    assert errors["plans[0].versions[0].recurring_fee"][0].endswith("add the change as version 2")


def test_a_new_version_of_a_plan_is_added_and_published():
    catalog_import(document=golden_document())
    document = golden_document()
    following = {
        **document["plans"][0]["versions"][0],
        "version": 2,
        "effective_from": "2027-01-01T00:00:00+01:00",
        "recurring_fee": "21.99",
    }
    document["plans"][0]["versions"].append(following)

    summary = catalog_import(document=document)

    assert summary.changed == [
        ("created", "plan version", "SMART-10 v2"),
        ("published", "plan version", "SMART-10 v2"),
    ]
    version = PlanVersion.objects.get(plan__code="SMART-10", version=2)
    assert (version.status, version.recurring_fee) == (Status.PUBLISHED, Decimal("21.99"))
    assert version.allowances.count() == 3


def test_a_version_number_must_follow_the_last_one():
    catalog_import(document=golden_document())
    document = golden_document()
    document["plans"][0]["versions"].append({**document["plans"][0]["versions"][0], "version": 3})

    assert import_errors(document) == {
        "plans[0].versions[1].version": ["the next version of SMART-10 is 2"]
    }


def test_a_draft_is_updated_to_match_the_document():
    document = golden_document()
    document["rate_cards"][1]["status"] = "draft"
    document["plans"][0]["versions"][0]["status"] = "draft"
    catalog_import(document=document)
    document["rate_cards"][1]["rows"][0]["price"] = "0.10"
    document["plans"][0]["versions"][0]["allowances"][0]["quantity"] = 12

    summary = catalog_import(document=document)

    assert ("updated", "rate card", "SMART-10-2026") in summary.actions
    assert ("updated", "plan version", "SMART-10 v1") in summary.actions
    exported = catalog_export()
    assert exported["rate_cards"][1]["rows"][0]["price"] == "0.10"
    assert exported["plans"][0]["versions"][0]["allowances"][0]["quantity"] == 12
    assert RateRow.objects.filter(rate_card__code="SMART-10-2026").count() == 15


def test_a_status_moves_forward_only():
    catalog_import(document=golden_document())
    retired = golden_document()
    retired["rate_cards"][0]["status"] = "retired"
    back = golden_document()
    back["rate_cards"][0]["status"] = "draft"

    summary = catalog_import(document=retired)

    assert summary.changed == [("retired", "rate card", "HOSTNET-2026")]
    assert RateCard.objects.get(code="HOSTNET-2026").status == Status.RETIRED
    assert import_errors(back) == {
        "rate_cards[0].status": ["rate card HOSTNET-2026 is retired: it never goes back"]
    }


def test_a_retired_card_still_prices_a_version_published_in_the_same_import():
    document = golden_document()
    document["rate_cards"][1]["status"] = "retired"

    catalog_import(document=document)

    assert RateCard.objects.get(code="SMART-10-2026").status == Status.RETIRED
    assert PlanVersion.objects.get(plan__code="SMART-10").status == Status.PUBLISHED


def test_zones_that_published_cards_use_are_not_changed_by_an_import():
    catalog_import(document=golden_document())
    document = golden_document()
    zones = document["zone_tables"][0]["destination_zones"]
    zones[2]["prefixes"] = ["4915", "4916"]
    zones.append({"code": "NAT_MOBILE_B", "prefixes": ["4917"]})

    with pytest.raises(CatalogDocumentError) as refused:
        catalog_import(document=document)

    assert any("never change" in message for _, message in refused.value.errors)
    assert not Zone.objects.filter(code="NAT_MOBILE_B").exists()


def test_references_resolve_to_objects_already_in_the_database():
    services.zone_table_save(code="BARE", name="A table without zones yet")
    document = {
        "format": "mvno-billing/catalog",
        "version": 1,
        "rate_cards": [
            {
                "code": "DATA-ANY",
                "name": "Data anywhere",
                "kind": "retail",
                "zone_table": "BARE",
                "rows": [{"service": "DATA", "price": "1.00", "unit": "GB"}],
            }
        ],
    }

    summary = catalog_import(document=document)

    assert summary.changed == [("created", "rate card", "DATA-ANY")]
    assert RateCard.objects.get(code="DATA-ANY").zone_table.code == "BARE"


def test_import_never_deletes_what_the_document_does_not_list():
    catalog_import(document=golden_document())
    document = golden_document()
    document["rate_cards"] = []
    document["plans"] = []
    document["host_networks"] = []

    catalog_import(document=document)

    assert RateCard.objects.count() == 2
    assert Plan.objects.count() == 1


# --- management commands --------------------------------------------------------------------


def test_catalog_import_command_prints_a_summary(tmp_path):
    out = io.StringIO()

    call_command("catalog_import", str(GOLDEN_FILE), stdout=out)

    assert "created   rate card SMART-10-2026" in out.getvalue()
    assert "created 12, updated 0, unchanged 0, published 3, retired 0" in out.getvalue()
    assert Plan.objects.filter(code="SMART-10").exists()


def test_catalog_import_command_dry_run_saves_nothing():
    out = io.StringIO()

    call_command("catalog_import", str(GOLDEN_FILE), "--dry-run", stdout=out)

    assert "(dry run: nothing saved)" in out.getvalue()
    assert Plan.objects.count() == 0


def test_catalog_import_command_lists_errors_with_their_paths(tmp_path):
    document = golden_document()
    document["rate_cards"][1]["rows"][5]["price"] = "-1"
    bad = tmp_path / "bad.json"
    bad.write_text(document_dump(document, "json"))

    with pytest.raises(CommandError) as caught:
        call_command("catalog_import", str(bad))

    assert "1 error, nothing imported" in str(caught.value)
    assert "rate_cards[1].rows[5].price: must be ≥ 0" in str(caught.value)
    assert Plan.objects.count() == 0


def test_catalog_export_command_writes_yaml_or_json(tmp_path):
    catalog_import(document=golden_document())
    out = io.StringIO()
    target = tmp_path / "smart.json"

    call_command("catalog_export", stdout=out)
    call_command("catalog_export", "--plan", "SMART-10", "-o", str(target), stderr=io.StringIO())

    assert document_load(out.getvalue()) == catalog_export()
    assert json.loads(target.read_text()) == catalog_export(plans=["SMART-10"])


def test_catalog_export_command_refuses_an_unknown_plan():
    with pytest.raises(CommandError, match="no plan with code 'NOPE'"):
        call_command("catalog_export", "--plan", "NOPE", stdout=io.StringIO())
