"""The catalogue console: lists, forms, refusals on forms, versions side by side, roles."""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from catalog import services
from catalog.models import (
    AddOn,
    Allowance,
    Brand,
    FairUsePolicy,
    HostNetwork,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    RateRow,
    Status,
    TaxRate,
    TimeBandSet,
    Zone,
    ZoneTable,
    ZoneType,
)
from catalog.views.bands import _line_errors

pytestmark = pytest.mark.django_db

BERLIN_DECEMBER = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)  # 2026-12-01 00:00 Berlin

LIST_NAMES = (
    "brand",
    "zonetable",
    "timebandset",
    "taxcategory",
    "taxregion",
    "ratecard",
    "hostnetwork",
    "plan",
    "planversion",
    "addon",
    "promotion",
)


def csv_lines(response) -> list[str]:
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode().splitlines()


def comparison_row(content: str, label: str) -> list[tuple[str, bool]]:
    """The cells of one row of the side-by-side table: (text, highlighted)."""
    match = re.search(rf'<tr data-row="{re.escape(label)}">(.*?)</tr>', content, re.S)
    assert match, f"no row {label!r}"
    cells = re.findall(r'<td( class="diff-changed")?>(.*?)</td>', match.group(1), re.S)
    return [(html.unescape(text).strip(), bool(marked)) for marked, text in cells]


def version_form(version: PlanVersion, **changes) -> dict:
    local = timezone.localtime(version.effective_from)
    data = {
        "effective_from": local.strftime("%Y-%m-%dT%H:%M"),
        "rate_card": version.rate_card_id,
        "recurring_fee": str(version.recurring_fee),
        "fee_period": version.fee_period,
        "fee_timing": version.fee_timing,
        "activation_fee": str(version.activation_fee),
        "tax_category": version.tax_category_id or "",
        "notes": version.notes,
    }
    data.update(changes)
    return data


def row_form(golden, **changes) -> dict:
    data = {
        "service": "VOICE_OUT",
        "destination_zones": [zone.pk for zone in golden.destination("NAT_MOBILE", "NAT_FIXED")],
        "roaming_zones": [zone.pk for zone in golden.roaming("HOME", "EU")],
        "time_band": golden.band_set.bands.get(code="PEAK").pk,
        "price": "0.10",
        "unit": "MINUTE",
        "increment_first": "60",
        "increment_next": "60",
        "connection_fee": "0",
        "minimum_charge": "0",
        "tax_category": "",
        "description": "",
    }
    data.update(changes)
    return data


def clone_with_fee(golden, fee: str) -> PlanVersion:
    clone = services.plan_version_clone(version=golden.version, effective_from=BERLIN_DECEMBER)
    return services.plan_version_update(version=clone, data={"recurring_fee": Decimal(fee)})


# --- lists, filters, CSV --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "finance", "auditor"])
def test_every_catalogue_list_renders_for_every_reading_role(
    golden_catalog, console_client_for, role_users, role
):
    client = console_client_for(role_users[role])
    for name in LIST_NAMES:
        response = client.get(reverse(f"catalog:{name}-list"))
        assert response.status_code == 200, name


def test_plan_list_filters_by_code_or_name(golden_catalog, console_client_for, finance):
    client = console_client_for(finance)
    found = client.get(reverse("catalog:plan-list"), {"q": "smart"})
    assert [row.record.code for row in found.context["table"].rows] == ["SMART-10"]
    missed = client.get(reverse("catalog:plan-list"), {"q": "nothing-like-it"})
    assert len(missed.context["table"].rows) == 0


def test_rate_card_list_filters_by_kind_and_status(
    golden_draft_catalog, console_client_for, auditor
):
    services.rate_card_publish(rate_card=golden_draft_catalog.wholesale_card)
    client = console_client_for(auditor)
    response = client.get(reverse("catalog:ratecard-list"), {"kind": "wholesale"})
    assert [row.record.code for row in response.context["table"].rows] == ["HOSTNET-2026"]
    response = client.get(reverse("catalog:ratecard-list"), {"status": "draft"})
    assert [row.record.code for row in response.context["table"].rows] == ["SMART-10-2026"]


def test_rate_card_list_sorts_by_row_count(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).get(
        reverse("catalog:ratecard-list"), {"sort": "-row_count"}
    )
    counts = [row.record.row_count for row in response.context["table"].rows]
    assert counts == [15, 12]


def test_plan_list_exports_what_is_filtered_as_csv(golden_catalog, console_client_for, finance):
    services.plan_save(
        code="DATA-ONLY",
        name="Data only",
        brand=golden_catalog.brand,
        payment_model="prepaid",
        currency="EUR",
    )
    response = console_client_for(finance).get(
        reverse("catalog:plan-list"), {"q": "SMART", "_export": "csv"}
    )
    lines = csv_lines(response)
    assert lines[0] == "Code,Name,Brand,Payment model,Currency,Versions"
    assert lines[1:] == ["SMART-10,Smart 10,LOREM,postpaid,EUR,1"]


def test_rate_card_csv_shows_status_as_text(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).get(
        reverse("catalog:ratecard-list"), {"kind": "retail", "_export": "csv"}
    )
    lines = csv_lines(response)
    assert len(lines) == 2
    assert ",published,15," in lines[1]
    assert "<span" not in lines[1]


def test_menu_shows_the_catalogue_to_finance(golden_catalog, console_client_for, finance):
    response = console_client_for(finance).get(reverse("home"))
    for url_name in ("plan-list", "ratecard-list", "zonetable-list", "timebandset-list"):
        assert reverse(f"catalog:{url_name}").encode() in response.content


# --- brands, tax, host networks ---------------------------------------------------------------


def test_operator_creates_and_edits_a_brand(golden_catalog, console_client_for, operator):
    client = console_client_for(operator)
    response = client.post(
        reverse("catalog:brand-create"),
        {"code": "IPSUM", "name": "Ipsum Mobile", "parent": golden_catalog.brand.pk},
    )
    brand = Brand.objects.get(code="IPSUM")
    assert response.status_code == 302 and response["Location"] == brand.get_absolute_url()
    assert brand.parent == golden_catalog.brand
    assert brand.history.first().history_user == operator
    client.post(
        reverse("catalog:brand-edit", args=[brand.pk]),
        {"code": "IPSUM", "name": "Ipsum Mobil", "parent": ""},
    )
    brand.refresh_from_db()
    assert (brand.name, brand.parent) == ("Ipsum Mobil", None)


def test_brand_page_shows_its_audit_trail_and_plans(golden_catalog, console_client_for, auditor):
    response = console_client_for(auditor).get(golden_catalog.brand.get_absolute_url())
    assert b"Audit trail" in response.content
    assert b"SMART-10" in response.content


def test_tax_rate_is_set_through_the_region_page(golden_catalog, console_client_for, operator):
    client = console_client_for(operator)
    url = reverse("catalog:taxrate-create", args=[golden_catalog.tax_region.pk])
    response = client.post(
        url,
        {"category": golden_catalog.tax_category.pk, "rate": "0.16", "valid_from": "2027-01-01"},
    )
    assert response.status_code == 302
    rate = TaxRate.objects.get(region=golden_catalog.tax_region, valid_from=dt.date(2027, 1, 1))
    assert rate.rate == Decimal("0.16000")
    page = client.get(golden_catalog.tax_region.get_absolute_url())
    assert b"2027-01-01" in page.content


def test_tax_rate_of_one_or_more_is_a_form_error(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).post(
        reverse("catalog:taxrate-create", args=[golden_catalog.tax_region.pk]),
        {"category": golden_catalog.tax_category.pk, "rate": "19", "valid_from": "2027-01-01"},
    )
    assert response.status_code == 200
    assert "rate" in response.context["form"].errors
    assert not TaxRate.objects.filter(valid_from=dt.date(2027, 1, 1)).exists()


def test_host_network_takes_its_plmn_codes_as_text(golden_catalog, console_client_for, operator):
    client = console_client_for(operator)
    client.post(
        reverse("catalog:hostnetwork-create"),
        {"code": "OTHERNET", "name": "Other", "plmn_codes": "26201, 26202", "country_code": "49"},
    )
    assert HostNetwork.objects.get(code="OTHERNET").plmn_codes == ["26201", "26202"]
    response = client.post(
        reverse("catalog:hostnetwork-create"),
        {"code": "BADNET", "name": "Bad", "plmn_codes": "262", "country_code": "49"},
    )
    assert "plmn_codes" in response.context["form"].errors
    assert not HostNetwork.objects.filter(code="BADNET").exists()


def test_wholesale_tariff_is_added_on_the_host_network_page(
    golden_catalog, console_client_for, operator
):
    network = golden_catalog.host_network
    response = console_client_for(operator).post(
        reverse("catalog:hostnetworktariff-create", args=[network.pk]),
        {"rate_card": golden_catalog.wholesale_card.pk, "effective_from": "2027-01-01T00:00"},
    )
    assert response.status_code == 302
    assert network.tariffs.count() == 2
    # R31: the recurring fees of the same terms, written on the same form.
    response = console_client_for(operator).post(
        reverse("catalog:hostnetworktariff-create", args=[network.pk]),
        {"rate_card": golden_catalog.wholesale_card.pk, "effective_from": "2027-06-01T00:00",
         "sim_fee": "0.25", "platform_fee": "100", "minimum_commitment": ""},
    )  # fmt: skip
    assert response.status_code == 302
    tariff = network.tariffs.order_by("-effective_from").first()
    assert (tariff.sim_fee, tariff.platform_fee, tariff.minimum_commitment) == (
        Decimal("0.25"), Decimal("100"), Decimal("0")
    )  # fmt: skip


# --- zones ----------------------------------------------------------------------------------


def test_zone_is_created_with_prefixes_from_a_textarea(
    golden_draft_catalog, console_client_for, operator
):
    table = golden_draft_catalog.zone_table
    response = console_client_for(operator).post(
        reverse("catalog:zone-create", args=[table.pk, "destination"]),
        {"code": "UK", "name": "United Kingdom", "kind": "listed", "members": "44\n447, 4420"},
    )
    assert response.status_code == 302
    zone = Zone.objects.get(table=table, zone_type=ZoneType.DESTINATION, code="UK")
    assert sorted(zone.members.values_list("value", flat=True)) == ["44", "4420", "447"]


def test_prefix_of_another_zone_is_a_form_error(golden_draft_catalog, console_client_for, operator):
    table = golden_draft_catalog.zone_table
    response = console_client_for(operator).post(
        reverse("catalog:zone-create", args=[table.pk, "destination"]),
        {"code": "MOBILE2", "name": "", "kind": "listed", "members": "4915"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["members"] == [
        "already in another zone: 4915 (in NAT_MOBILE)"
    ]
    assert not Zone.objects.filter(code="MOBILE2").exists()


def test_roaming_zone_with_a_malformed_network_is_a_form_error(
    golden_catalog, console_client_for, operator
):
    response = console_client_for(operator).post(
        reverse("catalog:zone-create", args=[golden_catalog.zone_table.pk, "roaming"]),
        {"code": "ASIA", "name": "", "kind": "listed", "members": "440, 4401"},
    )
    errors = response.context["form"].errors["members"]
    assert errors == [
        "members[1]: network '4401' must be an MCC (3 digits) or an MCC+MNC (5 or 6 digits)"
    ]


def test_zone_members_are_edited_and_an_unused_zone_deleted(
    golden_draft_catalog, console_client_for, operator
):
    client = console_client_for(operator)
    free = golden_draft_catalog.destination("FREE")[0]
    client.post(
        reverse("catalog:zone-edit", args=[free.pk]),
        {"code": "FREE", "name": "Free numbers", "kind": "listed", "members": "49800,49801"},
    )
    assert sorted(free.members.values_list("value", flat=True)) == ["49800", "49801"]
    client.post(
        reverse("catalog:zone-create", args=[golden_draft_catalog.zone_table.pk, "destination"]),
        {"code": "SPARE", "name": "", "kind": "listed", "members": "4999"},
    )
    spare = Zone.objects.get(code="SPARE")
    response = client.post(reverse("catalog:zone-delete", args=[spare.pk]))
    assert response["Location"] == golden_draft_catalog.zone_table.get_absolute_url()
    assert not Zone.objects.filter(pk=spare.pk).exists()


def test_deleting_a_zone_that_rates_name_is_refused_with_a_message(
    golden_draft_catalog, console_client_for, operator
):
    mobile = golden_draft_catalog.destination("NAT_MOBILE")[0]
    response = console_client_for(operator).post(
        reverse("catalog:zone-delete", args=[mobile.pk]), follow=True
    )
    assert b"is named by rates or allowances" in response.content
    assert Zone.objects.filter(pk=mobile.pk).exists()


def test_zones_of_a_table_that_published_cards_use_offer_no_change(
    golden_catalog, console_client_for, operator
):
    table = golden_catalog.zone_table
    mobile = golden_catalog.destination("NAT_MOBILE")[0]

    page = console_client_for(operator).get(table.get_absolute_url()).content.decode()

    assert "Published rate cards use this table: its zones never change." in page
    assert reverse("catalog:zone-create", args=[table.pk, "destination"]) not in page
    assert reverse("catalog:zone-edit", args=[mobile.pk]) not in page
    assert reverse("catalog:zone-delete", args=[mobile.pk]) not in page
    assert reverse("catalog:zonetable-clone", args=[table.pk]) in page


def test_a_draft_table_offers_delete_only_for_zones_nothing_names(
    golden_draft_catalog, console_client_for, operator
):
    table = golden_draft_catalog.zone_table
    mobile = golden_draft_catalog.destination("NAT_MOBILE")[0]
    spare = services.zone_save(table=table, zone_type="destination", code="SPARE", members=["4999"])

    page = console_client_for(operator).get(table.get_absolute_url()).content.decode()

    assert "its zones never change" not in page
    assert reverse("catalog:zone-edit", args=[mobile.pk]) in page
    assert reverse("catalog:zone-delete", args=[mobile.pk]) not in page
    assert reverse("catalog:zone-create", args=[table.pk, "destination"]) in page
    assert reverse("catalog:zone-delete", args=[spare.pk]) in page


@pytest.mark.parametrize(
    ("query", "zone"),
    [
        ({"number": "+49 151 12340001"}, "NAT_MOBILE"),
        ({"number": "0012125550100"}, "WORLD"),
        ({"network": "20408"}, "EU"),
        ({"network": "44010"}, "WORLD2"),
    ],
)
def test_zone_finder_answers_like_the_rating_engine(
    golden_catalog, console_client_for, auditor, query, zone
):
    response = console_client_for(auditor).get(golden_catalog.zone_table.get_absolute_url(), query)
    answers = response.context["lookup_answers"]
    assert [answer["zone"] for answer in answers] == [zone]
    assert f'<strong class="zone-found">{zone}</strong>'.encode() in response.content


def test_zone_finder_knows_the_host_network_is_home(golden_catalog, console_client_for, auditor):
    response = console_client_for(auditor).get(
        golden_catalog.zone_table.get_absolute_url(),
        {"network": "26203", "host_network": golden_catalog.host_network.pk},
    )
    assert [answer["zone"] for answer in response.context["lookup_answers"]] == ["HOME"]


# --- time bands -----------------------------------------------------------------------------

WEEKEND_SET = """
PEAK (Peak): Mon-Fri 08:00-20:00
WEEKEND (Weekend): Sat,Sun 00:00-24:00
OFFPEAK (Off-peak): rest
"""


def band_set_form(bands: str, code: str = "WEEKEND") -> dict:
    return {"code": code, "name": "With weekend", "timezone": "Europe/Berlin", "bands": bands}


def test_time_band_set_is_created_from_text(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).post(
        reverse("catalog:timebandset-create"), band_set_form(WEEKEND_SET)
    )
    band_set = TimeBandSet.objects.get(code="WEEKEND")
    assert response["Location"] == band_set.get_absolute_url()
    weekend = band_set.bands.get(code="WEEKEND")
    window = weekend.windows.get()
    assert (weekend.name, window.days, window.start_time, window.end_time) == (
        "Weekend",
        [6, 7],
        dt.time(0),
        dt.time(0),
    )
    assert band_set.bands.get(code="OFFPEAK").is_rest


def test_overlapping_band_set_is_a_form_error(golden_catalog, console_client_for, operator):
    bands = "PEAK: Mon-Fri 08:00-20:00\nLUNCH: Mon 12:00-14:00\nOFFPEAK: rest"
    response = console_client_for(operator).post(
        reverse("catalog:timebandset-create"), band_set_form(bands)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["bands"] == [
        "overlap: Mon 12:00 is in both PEAK and LUNCH"
    ]
    assert not TimeBandSet.objects.filter(code="WEEKEND").exists()


def test_band_set_with_a_gap_is_a_form_error(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).post(
        reverse("catalog:timebandset-create"), band_set_form("PEAK: Mon-Fri 08:00-20:00")
    )
    assert response.context["form"].errors["bands"] == [
        "gap: Mon 00:00 is in no band (add windows or a rest band)"
    ]


def test_unreadable_band_lines_are_named_by_line(golden_catalog, console_client_for, operator):
    bands = "PEAK: Mon-Fry 08:00-20:00\nNIGHT: Sun-Mon 00:00-06:00\nLATE: Tue 22:00-21:00\nrubbish"
    response = console_client_for(operator).post(
        reverse("catalog:timebandset-create"), band_set_form(bands)
    )
    errors = response.context["form"].errors["bands"]
    assert [error.split(":")[0] for error in errors] == ["line 1", "line 2", "line 3", "line 4"]
    assert "unknown day 'fry'" in errors[0]
    assert "runs backwards" in errors[1]
    assert "ends before it starts" in errors[2]


def test_band_service_refusal_names_the_line_of_its_window():
    class Form:
        band_origins = [{"line": 2, "windows": [3, 5]}]

    error = ValidationError({"bands[0].windows[1]": "windows start and end on whole minutes"})
    assert _line_errors(Form(), error).message_dict == {
        "bands": ["line 5: windows start and end on whole minutes"]
    }


def test_band_set_edit_shows_its_text_and_saves_it(
    golden_draft_catalog, console_client_for, operator
):
    band_set = golden_draft_catalog.band_set
    client = console_client_for(operator)
    url = reverse("catalog:timebandset-edit", args=[band_set.pk])
    text = client.get(url).context["form"].initial["bands"]
    assert text == "PEAK (Peak): Mon-Fri 08:00-20:00\nOFFPEAK (Off-peak): rest"
    response = client.post(url, band_set_form(text.replace("20:00", "19:00"), code="DE_PEAK"))
    assert response.status_code == 302
    assert band_set.bands.get(code="PEAK").windows.get().end_time == dt.time(19)


def test_band_set_of_a_published_card_cannot_change(golden_catalog, console_client_for, operator):
    band_set = golden_catalog.band_set
    client = console_client_for(operator)
    detail = client.get(band_set.get_absolute_url()).content.decode()
    assert reverse("catalog:timebandset-edit", args=[band_set.pk]) not in detail
    assert reverse("catalog:timebandset-clone", args=[band_set.pk]) in detail
    form_page = client.get(reverse("catalog:timebandset-edit", args=[band_set.pk]))
    assert b"Published rate cards use this band set" in form_page.content
    response = client.post(
        reverse("catalog:timebandset-edit", args=[band_set.pk]),
        band_set_form(WEEKEND_SET, code="DE_PEAK"),
    )
    assert response.status_code == 200
    assert "published rate cards use this band set" in str(response.context["form"].errors)
    assert not band_set.bands.filter(code="WEEKEND").exists()


def test_band_set_clone_starts_from_the_source_text(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).get(
        reverse("catalog:timebandset-clone", args=[golden_catalog.band_set.pk])
    )
    assert response.context["form"].initial["bands"].startswith("PEAK (Peak): Mon-Fri 08:00-20:00")


# --- rate cards -----------------------------------------------------------------------------


def test_rate_card_page_shows_rows_readably(golden_catalog, console_client_for, finance):
    response = console_client_for(finance).get(golden_catalog.retail_card.get_absolute_url())
    content = response.content.decode()
    assert "0.99 / minute" in content
    assert "60/60" in content and "60/1" in content
    assert "0.15" in content
    assert "published — immutable; clone it to change" in content
    assert reverse("catalog:raterow-create", args=[golden_catalog.retail_card.pk]) not in content


def test_operator_adds_edits_and_deletes_a_row_of_a_draft_card(
    golden_draft_catalog, console_client_for, operator
):
    golden = golden_draft_catalog
    client = console_client_for(operator)
    card = golden.retail_card
    sms_abroad = {
        "service": "SMS_OUT",
        "destination_zones": [],
        "roaming_zones": [golden.roaming("WORLD2")[0].pk],
        "time_band": "",
        "unit": "MESSAGE",
        "increment_first": "1",
        "increment_next": "1",
    }
    assert (
        reverse("catalog:raterow-create", args=[card.pk]).encode()
        in client.get(card.get_absolute_url()).content
    )
    response = client.post(
        reverse("catalog:raterow-create", args=[card.pk]),
        row_form(golden, **sms_abroad, price="0.59"),
    )
    assert response.status_code == 302 and response["Location"] == card.get_absolute_url()
    row = card.rows.get(price=Decimal("0.59"))
    client.post(
        reverse("catalog:raterow-edit", args=[row.pk]),
        row_form(golden, **sms_abroad, price="0.69"),
    )
    row.refresh_from_db()
    assert row.price == Decimal("0.69")
    client.post(reverse("catalog:raterow-delete", args=[row.pk]))
    assert not RateRow.objects.filter(pk=row.pk).exists()


def test_ambiguous_rate_row_is_a_form_error(golden_draft_catalog, console_client_for, operator):
    card = golden_draft_catalog.retail_card
    response = console_client_for(operator).post(
        reverse("catalog:raterow-create", args=[card.pk]), row_form(golden_draft_catalog)
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "equally specific for the same events" in errors[0]
    assert errors[0].startswith("row ") and "this row" in errors[0]
    assert card.rows.count() == 15


def test_row_with_a_unit_foreign_to_its_service_is_a_field_error(
    golden_draft_catalog, console_client_for, operator
):
    response = console_client_for(operator).post(
        reverse("catalog:raterow-create", args=[golden_draft_catalog.retail_card.pk]),
        row_form(golden_draft_catalog, unit="GB", roaming_zones=[]),
    )
    assert response.context["form"].errors["unit"] == ["VOICE_OUT is priced per MINUTE, SECOND"]


def test_row_added_to_a_published_card_is_refused_on_the_form(
    golden_catalog, console_client_for, operator
):
    card = golden_catalog.retail_card
    response = console_client_for(operator).post(
        reverse("catalog:raterow-create", args=[card.pk]),
        row_form(golden_catalog, roaming_zones=[], price="0.01"),
    )
    assert response.status_code == 200
    assert "never changes" in response.context["form"].non_field_errors()[0]
    assert card.rows.count() == 15


def test_operator_creates_a_draft_card(golden_catalog, console_client_for, operator):
    response = console_client_for(operator).post(
        reverse("catalog:ratecard-create"),
        {
            "code": "SMART-20-2027",
            "name": "SMART-20 prices",
            "kind": "retail",
            "currency": "EUR",
            "zone_table": golden_catalog.zone_table.pk,
            "time_band_set": golden_catalog.band_set.pk,
        },
    )
    card = RateCard.objects.get(code="SMART-20-2027")
    assert response["Location"] == card.get_absolute_url()
    assert card.status == Status.DRAFT


def test_rate_card_is_published_after_confirmation_then_retired(
    golden_draft_catalog, console_client_for, operator
):
    card = golden_draft_catalog.retail_card
    client = console_client_for(operator)
    url = reverse("catalog:ratecard-publish", args=[card.pk])
    confirmation = client.get(url)
    assert b"never changes again" in confirmation.content
    card.refresh_from_db()
    assert card.status == Status.DRAFT
    client.post(url)
    card.refresh_from_db()
    assert card.status == Status.PUBLISHED
    client.post(reverse("catalog:ratecard-retire", args=[card.pk]))
    card.refresh_from_db()
    assert card.status == Status.RETIRED


def test_empty_card_publish_is_refused_with_a_message(golden_catalog, console_client_for, operator):
    card = services.rate_card_save(
        code="EMPTY",
        name="Empty",
        kind="retail",
        currency="EUR",
        zone_table=golden_catalog.zone_table,
        time_band_set=None,
    )
    response = console_client_for(operator).post(
        reverse("catalog:ratecard-publish", args=[card.pk]), follow=True
    )
    assert b"a rate card without rows prices nothing" in response.content
    card.refresh_from_db()
    assert card.status == Status.DRAFT


def test_published_card_is_cloned_into_a_draft(golden_catalog, console_client_for, operator):
    card = golden_catalog.retail_card
    client = console_client_for(operator)
    url = reverse("catalog:ratecard-clone", args=[card.pk])
    assert client.get(url).context["form"].initial["code"] == "SMART-10-2026-NEW"
    response = client.post(url, {"code": "SMART-10-2027", "name": ""})
    clone = RateCard.objects.get(code="SMART-10-2027")
    assert response["Location"] == clone.get_absolute_url()
    assert (clone.status, clone.rows.count(), clone.name) == (Status.DRAFT, 15, card.name)
    taken = client.post(url, {"code": "SMART-10-2027", "name": ""})
    assert taken.context["form"].errors["code"] == ["a rate card SMART-10-2027 exists already"]


# --- plans and versions ---------------------------------------------------------------------


def test_operator_creates_a_plan_and_its_first_version(
    golden_catalog, console_client_for, operator
):
    client = console_client_for(operator)
    client.post(
        reverse("catalog:plan-create"),
        {
            "code": "SMART-20",
            "name": "Smart 20",
            "brand": golden_catalog.brand.pk,
            "payment_model": "postpaid",
            "currency": "EUR",
            "description": "",
        },
    )
    plan = Plan.objects.get(code="SMART-20")
    page = client.get(plan.get_absolute_url())
    create_url = reverse("catalog:planversion-create", args=[plan.pk])
    assert create_url.encode() in page.content
    response = client.post(
        create_url,
        version_form(
            golden_catalog.version, recurring_fee="29.99", effective_from="2027-01-01T00:00"
        ),
    )
    version = plan.versions.get()
    assert response["Location"] == version.get_absolute_url()
    assert (version.version, version.status, version.recurring_fee) == (
        1,
        Status.DRAFT,
        Decimal("29.99"),
    )
    assert version.effective_from == dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)


def test_draft_version_fee_is_changed_through_the_form(
    golden_draft_catalog, console_client_for, operator
):
    version = golden_draft_catalog.version
    response = console_client_for(operator).post(
        reverse("catalog:planversion-edit", args=[version.pk]),
        version_form(version, recurring_fee="21.49"),
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.recurring_fee == Decimal("21.49")
    assert version.history.first().history_user == operator


def test_editing_a_published_version_is_a_form_error(golden_catalog, console_client_for, operator):
    version = golden_catalog.version
    response = console_client_for(operator).post(
        reverse("catalog:planversion-edit", args=[version.pk]),
        version_form(version, recurring_fee="9.99"),
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert errors == [
        "plan version is published: a published or retired plan version never changes; "
        "clone it to make a new draft."
    ]
    version.refresh_from_db()
    assert version.recurring_fee == Decimal("19.99")


def test_changing_the_currency_of_a_published_plan_is_a_form_error(
    golden_catalog, console_client_for, operator
):
    plan = golden_catalog.plan
    response = console_client_for(operator).post(
        reverse("catalog:plan-edit", args=[plan.pk]),
        {
            "code": plan.code,
            "name": plan.name,
            "brand": plan.brand_id,
            "payment_model": "postpaid",
            "currency": "GBP",
            "description": "",
        },
    )
    assert "payment_model" in response.context["form"].errors
    plan.refresh_from_db()
    assert plan.currency == "EUR"


def test_side_by_side_marks_the_changed_fee(golden_catalog, console_client_for, finance):
    clone_with_fee(golden_catalog, "24.99")
    response = console_client_for(finance).get(golden_catalog.plan.get_absolute_url())
    content = response.content.decode()
    assert comparison_row(content, "Recurring fee") == [("19.99 EUR", False), ("24.99 EUR", True)]
    assert comparison_row(content, "Rate card") == [
        ("SMART-10-2026", False),
        ("SMART-10-2026", False),
    ]
    assert comparison_row(content, "Status") == [("published", False), ("draft", True)]
    data = comparison_row(content, "Data 10 GB")
    assert data[0] == data[1] and not data[1][1]
    assert data[0][0].startswith("10 GB · data · to any · in ")


def test_side_by_side_marks_an_allowance_that_appears(golden_catalog, console_client_for, auditor):
    clone = clone_with_fee(golden_catalog, "19.99")
    services.allowance_save(
        owner=clone,
        data={
            "name": "Roaming 1 GB",
            "services": ["DATA"],
            "quantity": 1,
            "unit": "GB",
            "roaming_zones": golden_catalog.roaming("WORLD1"),
        },
    )
    content = console_client_for(auditor).get(golden_catalog.plan.get_absolute_url()).content
    content = content.decode()
    assert comparison_row(content, "Recurring fee") == [("19.99 EUR", False), ("19.99 EUR", False)]
    roaming = comparison_row(content, "Roaming 1 GB")
    assert roaming[0] == ("—", False) and roaming[1][1]


def test_plan_page_marks_the_version_in_force_now(
    golden_catalog, console_client_for, operator, monkeypatch
):
    clone_with_fee(golden_catalog, "24.99")
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    response = console_client_for(operator).get(golden_catalog.plan.get_absolute_url())
    columns = response.context["columns"]
    assert [(column["version"].version, column["in_force"]) for column in columns] == [
        (1, True),
        (2, False),
    ]
    assert response.content.count(b'<span class="badge now">in force now</span>') == 1


def test_new_version_is_a_clone_of_the_latest(
    golden_catalog, console_client_for, operator, monkeypatch
):
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    client = console_client_for(operator)
    page = client.get(golden_catalog.plan.get_absolute_url())
    clone_url = reverse("catalog:planversion-clone", args=[golden_catalog.version.pk])
    assert clone_url.encode() in page.content
    form = client.get(clone_url).context["form"]
    assert form.initial["effective_from"] == BERLIN_DECEMBER
    response = client.post(clone_url, {"effective_from": "2026-12-01T00:00"})
    clone = golden_catalog.plan.versions.get(version=2)
    assert response["Location"] == clone.get_absolute_url()
    assert (clone.status, clone.effective_from, clone.recurring_fee) == (
        Status.DRAFT,
        BERLIN_DECEMBER,
        Decimal("19.99"),
    )
    assert sorted(clone.allowances.values_list("name", flat=True)) == [
        "Data 10 GB",
        "SMS 100",
        "Voice 100 min",
    ]


def test_version_is_published_after_confirmation(golden_catalog, console_client_for, operator):
    clone = clone_with_fee(golden_catalog, "24.99")
    client = console_client_for(operator)
    url = reverse("catalog:planversion-publish", args=[clone.pk])
    confirmation = client.get(url)
    assert b"Publish SMART-10 v2" in confirmation.content
    assert b"2026-12-01 00:00 CET" in confirmation.content
    response = client.post(url)
    assert response["Location"] == golden_catalog.plan.get_absolute_url()
    clone.refresh_from_db()
    assert clone.status == Status.PUBLISHED
    assert clone.history.first().history_change_reason == "published"


def test_publish_refusal_is_shown_and_changes_nothing(golden_catalog, console_client_for, operator):
    early = services.plan_version_clone(
        version=golden_catalog.version, effective_from=dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    )
    response = console_client_for(operator).post(
        reverse("catalog:planversion-publish", args=[early.pk]), follow=True
    )
    assert b"a new version takes effect after it" in response.content
    early.refresh_from_db()
    assert early.status == Status.DRAFT


def test_published_version_is_retired(golden_catalog, console_client_for, operator):
    version = golden_catalog.version
    console_client_for(operator).post(reverse("catalog:planversion-retire", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == Status.RETIRED


def test_allowance_is_added_edited_and_deleted_on_a_draft_version(
    golden_draft_catalog, console_client_for, operator
):
    golden = golden_draft_catalog
    version = golden.version
    client = console_client_for(operator)
    data = {
        "name": "Roaming 1 GB",
        "services": ["DATA"],
        "quantity": "1",
        "unit": "GB",
        "roaming_zones": [golden.roaming("WORLD1")[0].pk],
    }
    response = client.post(reverse("catalog:allowance-create", args=[version.pk]), data)
    assert response["Location"] == version.get_absolute_url()
    allowance = version.allowances.get(name="Roaming 1 GB")
    client.post(reverse("catalog:allowance-edit", args=[allowance.pk]), {**data, "quantity": "2"})
    allowance.refresh_from_db()
    assert allowance.quantity == 2
    assert [zone.code for zone in allowance.roaming_zones.all()] == ["WORLD1"]
    client.post(reverse("catalog:allowance-delete", args=[allowance.pk]))
    assert not Allowance.objects.filter(pk=allowance.pk).exists()


def test_allowance_with_a_foreign_unit_is_a_field_error(
    golden_draft_catalog, console_client_for, operator
):
    response = console_client_for(operator).post(
        reverse("catalog:allowance-create", args=[golden_draft_catalog.version.pk]),
        {"name": "Odd", "services": ["DATA"], "quantity": "1", "unit": "MINUTE"},
    )
    assert response.context["form"].errors["unit"] == ["MINUTE is not a unit of DATA"]


def test_allowance_on_a_published_version_is_refused_on_the_form(
    golden_catalog, console_client_for, operator
):
    version = golden_catalog.version
    response = console_client_for(operator).post(
        reverse("catalog:allowance-create", args=[version.pk]),
        {"name": "More", "services": ["DATA"], "quantity": "1", "unit": "GB"},
    )
    assert "never changes" in response.context["form"].non_field_errors()[0]
    assert version.allowances.count() == 3


def test_fair_use_policy_needs_an_overage_price(golden_draft_catalog, console_client_for, operator):
    version = golden_draft_catalog.version
    client = console_client_for(operator)
    url = reverse("catalog:fairusepolicy-create", args=[version.pk])
    data = {
        "name": "Data cap",
        "services": ["DATA"],
        "cap_quantity": "30",
        "cap_unit": "GB",
        "action": "overage",
        "overage_price": "",
        "overage_unit": "GB",
    }
    response = client.post(url, data)
    assert response.context["form"].errors["overage_price"] == [
        "an overage policy names a price ≥ 0"
    ]
    client.post(url, {**data, "overage_price": "2.00"})
    policy = FairUsePolicy.objects.get(plan_version=version)
    assert (policy.cap_quantity, policy.overage_price) == (30, Decimal("2.00"))
    page = client.get(version.get_absolute_url())
    assert reverse("catalog:fairusepolicy-edit", args=[policy.pk]).encode() in page.content


# --- add-ons and promotions -----------------------------------------------------------------


def test_add_on_is_created_given_an_allowance_published_and_cloned(
    golden_catalog, console_client_for, operator
):
    client = console_client_for(operator)
    client.post(
        reverse("catalog:addon-create"),
        {
            "code": "DATA-5",
            "name": "5 GB extra",
            "kind": "one_off",
            "currency": "EUR",
            "price": "4.99",
            "validity_days": "30",
            "zone_table": golden_catalog.zone_table.pk,
            "eligible_plans": [golden_catalog.plan.pk],
            "description": "",
        },
    )
    add_on = AddOn.objects.get(code="DATA-5")
    assert add_on.status == Status.DRAFT
    client.post(
        reverse("catalog:addon-allowance-create", args=[add_on.pk]),
        {"name": "5 GB", "services": ["DATA"], "quantity": "5", "unit": "GB"},
    )
    assert add_on.allowances.count() == 1
    client.post(reverse("catalog:addon-publish", args=[add_on.pk]))
    add_on.refresh_from_db()
    assert add_on.status == Status.PUBLISHED
    page = client.get(add_on.get_absolute_url()).content.decode()
    assert "published — immutable; clone it to change" in page
    assert reverse("catalog:addon-edit", args=[add_on.pk]) not in page
    response = client.post(reverse("catalog:addon-clone", args=[add_on.pk]), {"code": "DATA-5B"})
    clone = AddOn.objects.get(code="DATA-5B")
    assert response["Location"] == clone.get_absolute_url()
    assert (clone.status, clone.allowances.count(), clone.price) == (
        Status.DRAFT,
        1,
        Decimal("4.99"),
    )


def test_add_on_without_allowance_or_price_is_not_published(
    golden_catalog, console_client_for, operator
):
    add_on = services.add_on_save(data={"code": "EMPTY", "name": "Empty", "kind": "one_off"})
    response = console_client_for(operator).post(
        reverse("catalog:addon-publish", args=[add_on.pk]), follow=True
    )
    assert b"an add-on grants an allowance or costs something" in response.content
    add_on.refresh_from_db()
    assert add_on.status == Status.DRAFT


def promotion_form(golden, **changes) -> dict:
    data = {
        "code": "HALF-3",
        "name": "Half price for 3 months",
        "discount_type": "percent",
        "value": "50",
        "currency": "EUR",
        "periods": "3",
        "eligible_plans": [golden.plan.pk],
        "available_from": "",
        "available_until": "",
        "description": "",
    }
    data.update(changes)
    return data


def test_promotion_is_created_published_retired_and_cloned(
    golden_catalog, console_client_for, operator
):
    client = console_client_for(operator)
    client.post(reverse("catalog:promotion-create"), promotion_form(golden_catalog))
    promotion = Promotion.objects.get(code="HALF-3")
    client.post(reverse("catalog:promotion-publish", args=[promotion.pk]))
    promotion.refresh_from_db()
    assert promotion.status == Status.PUBLISHED
    client.post(reverse("catalog:promotion-retire", args=[promotion.pk]))
    promotion.refresh_from_db()
    assert promotion.status == Status.RETIRED
    form = client.get(reverse("catalog:promotion-clone", args=[promotion.pk])).context["form"]
    assert (form.initial["code"], form.initial["value"]) == ("HALF-3-NEW", Decimal("50"))
    client.post(
        reverse("catalog:promotion-clone", args=[promotion.pk]),
        promotion_form(golden_catalog, code="HALF-3-2027", value="40"),
    )
    assert Promotion.objects.get(code="HALF-3-2027").status == Status.DRAFT


def test_promotion_over_100_percent_and_backwards_dates_are_form_errors(
    golden_catalog, console_client_for, operator
):
    client = console_client_for(operator)
    response = client.post(
        reverse("catalog:promotion-create"), promotion_form(golden_catalog, value="150")
    )
    assert response.status_code == 200 and response.context["form"].errors
    response = client.post(
        reverse("catalog:promotion-create"),
        promotion_form(
            golden_catalog, available_from="2027-02-01T00:00", available_until="2027-01-01T00:00"
        ),
    )
    assert response.context["form"].errors["available_until"] == ["ends after it starts"]
    assert not Promotion.objects.exists()


# --- permissions ----------------------------------------------------------------------------


def test_finance_gets_403_on_editing_a_plan_version_and_on_publishing(
    golden_draft_catalog, console_client_for, finance
):
    version = golden_draft_catalog.version
    client = console_client_for(finance)
    edit = reverse("catalog:planversion-edit", args=[version.pk])
    publish = reverse("catalog:planversion-publish", args=[version.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, version_form(version, recurring_fee="1.00")).status_code == 403
    assert client.get(publish).status_code == 403
    assert client.post(publish).status_code == 403
    card_publish = reverse("catalog:ratecard-publish", args=[golden_draft_catalog.retail_card.pk])
    assert client.post(card_publish).status_code == 403
    version.refresh_from_db()
    assert (version.status, version.recurring_fee) == (Status.DRAFT, Decimal("19.99"))


def test_finance_reads_the_plan_page_without_any_button(
    golden_draft_catalog, console_client_for, finance, operator
):
    url = golden_draft_catalog.plan.get_absolute_url()
    version = golden_draft_catalog.version
    buttons = [
        reverse("catalog:planversion-publish", args=[version.pk]),
        reverse("catalog:planversion-edit", args=[version.pk]),
        reverse("catalog:planversion-clone", args=[version.pk]),
        reverse("catalog:plan-edit", args=[golden_draft_catalog.plan.pk]),
    ]
    read = console_client_for(finance).get(url)
    assert read.status_code == 200
    assert not [button for button in buttons if button.encode() in read.content]
    edit = console_client_for(operator).get(url)
    assert all(button.encode() in edit.content for button in buttons)


def test_auditor_cannot_change_anything(golden_draft_catalog, console_client_for, auditor):
    golden = golden_draft_catalog
    version, card = golden.version, golden.retail_card
    row = card.rows.first()
    allowance = version.allowances.first()
    zone = golden.destination("FREE")[0]

    def url(name, *args):
        return reverse(f"catalog:{name}", args=args)

    attempts = [
        (url("brand-create"), {"code": "X", "name": "X"}),
        (url("brand-edit", golden.brand.pk), {"code": "X", "name": "X"}),
        (url("plan-edit", golden.plan.pk), {"code": "X"}),
        (url("planversion-edit", version.pk), version_form(version)),
        (url("planversion-publish", version.pk), {}),
        (url("planversion-clone", version.pk), {"effective_from": "2027-01-01T00:00"}),
        (url("planversion-create", golden.plan.pk), version_form(version)),
        (url("allowance-create", version.pk), {}),
        (url("allowance-delete", allowance.pk), {}),
        (url("fairusepolicy-create", version.pk), {}),
        (url("ratecard-publish", card.pk), {}),
        (url("ratecard-clone", card.pk), {"code": "Y"}),
        (url("raterow-create", card.pk), row_form(golden, roaming_zones=[])),
        (url("raterow-delete", row.pk), {}),
        (url("zone-edit", zone.pk), {"code": "FREE", "kind": "listed"}),
        (url("zone-delete", zone.pk), {}),
        (url("timebandset-edit", golden.band_set.pk), band_set_form(WEEKEND_SET)),
        (url("taxrate-create", golden.tax_region.pk), {}),
        (url("hostnetworktariff-create", golden.host_network.pk), {}),
        (url("addon-create"), {"code": "A"}),
        (url("promotion-create"), promotion_form(golden)),
    ]
    client = console_client_for(auditor)
    refused = [url for url, data in attempts if client.post(url, data).status_code == 403]
    assert refused == [url for url, _ in attempts]
    assert Brand.objects.count() == 1
    assert PlanVersion.objects.get().status == Status.DRAFT
    assert card.rows.count() == 15 and version.allowances.count() == 3
    assert Zone.objects.filter(pk=zone.pk).exists()
    assert not AddOn.objects.exists() and not Promotion.objects.exists()


def test_anonymous_visitor_is_sent_to_login(golden_catalog, client):
    version = golden_catalog.version
    for url in [
        reverse("catalog:plan-list"),
        golden_catalog.plan.get_absolute_url(),
        reverse("catalog:planversion-edit", args=[version.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.post(reverse("catalog:planversion-retire", args=[version.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    version.refresh_from_db()
    assert version.status == Status.PUBLISHED


def test_user_without_a_role_cannot_read_the_catalogue(
    golden_catalog, console_client_for, make_user
):
    nobody = make_user("nobody")
    assert console_client_for(nobody).get(reverse("catalog:plan-list")).status_code == 403


def test_zones_of_a_table_that_published_cards_use_never_change(
    golden_catalog, console_client_for, operator
):
    free = golden_catalog.destination("FREE")[0]
    response = console_client_for(operator).post(
        reverse("catalog:zone-edit", args=[free.pk]),
        {"code": "FREE", "name": "Free numbers", "kind": "listed", "members": "49800,49801"},
    )
    assert response.status_code == 200
    assert "its zones never change" in str(response.context["form"].errors)
    assert list(free.members.values_list("value", flat=True)) == ["49800"]


def test_operator_clones_a_zone_table_that_published_cards_use(
    golden_catalog, console_client_for, operator, finance
):
    table = golden_catalog.zone_table
    url = reverse("catalog:zonetable-clone", args=[table.pk])
    assert console_client_for(finance).post(url, {"code": "DE-X"}).status_code == 403
    response = console_client_for(operator).post(url, {"code": "DE-2027", "name": ""})
    clone = ZoneTable.objects.get(code="DE-2027")
    assert response["Location"] == clone.get_absolute_url()
    assert clone.zones.count() == table.zones.count()
    assert clone.members.count() == table.members.count()


def test_a_refused_edit_keeps_the_stored_name_in_its_heading(
    golden_catalog, console_client_for, operator
):
    brand = golden_catalog.brand
    response = console_client_for(operator).post(
        reverse("catalog:brand-edit", args=[brand.pk]),
        {"code": "not a code!", "name": "<b>Typed wrong</b>", "parent": ""},
    )
    assert response.status_code == 200  # the form again, with its errors
    assert response.context["title"] == f"Edit {brand}"
    assert "Typed wrong" not in response.content.decode().split("<form")[0]
