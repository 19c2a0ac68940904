"""The catalogue's REST API: TMF620 shapes, reads for every role, writes for operators."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import PlanVersion, RateRow, Status

pytestmark = pytest.mark.django_db

API = "/api/v1/catalog"
NOVEMBER_START = "2026-10-31T23:00:00Z"  # 2026-11-01 00:00 Europe/Berlin


@pytest.fixture
def full_catalog(golden_catalog):
    """The golden catalogue plus an add-on, a promotion and a draft v2 with a fair-use cap."""
    add_on = services.add_on_save(
        data={
            "code": "EU-DATA-5",
            "name": "EU data 5 GB",
            "kind": "one_off",
            "price": Decimal("4.99"),
            "validity_days": 30,
            "zone_table": golden_catalog.zone_table,
            "eligible_plans": [golden_catalog.plan],
        }
    )
    services.allowance_save(
        owner=add_on,
        data={"name": "Data 5 GB", "services": ["DATA"], "quantity": 5, "unit": "GB"},
    )
    services.add_on_publish(add_on=add_on)
    promotion = services.promotion_save(
        data={
            "code": "WELCOME",
            "name": "Welcome 50 %",
            "discount_type": "percent",
            "value": Decimal("50"),
            "periods": 3,
            "eligible_plans": [golden_catalog.plan],
        }
    )
    services.promotion_publish(promotion=promotion)
    draft = services.plan_version_clone(
        version=golden_catalog.version,
        effective_from=dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC),
    )
    services.fair_use_policy_save(
        version=draft,
        data={
            "name": "Data fair use",
            "services": ["DATA"],
            "cap_quantity": 30,
            "cap_unit": "GB",
            "action": "throttle",
        },
    )
    golden_catalog.add_on, golden_catalog.promotion, golden_catalog.draft = add_on, promotion, draft
    return golden_catalog


def ref(obj) -> dict:
    return {"id": str(obj.pk)}


# --- reads ----------------------------------------------------------------------------------

RESOURCES = [
    ("productOffering", "ProductOffering"),
    ("productOfferingPrice", "ProductOfferingPrice"),
    ("plan", "Plan"),
    ("planVersion", "PlanVersion"),
    ("allowance", "Allowance"),
    ("fairUsePolicy", "FairUsePolicy"),
    ("rateCard", "RateCard"),
    ("zoneTable", "ZoneTable"),
    ("zone", "Zone"),
    ("timeBandSet", "TimeBandSet"),
    ("timeBand", "TimeBand"),
    ("taxRegion", "TaxRegion"),
    ("taxRate", "TaxRate"),
    ("taxCategory", "TaxCategory"),
    ("brand", "Brand"),
    ("hostNetwork", "HostNetwork"),
    ("addOn", "AddOn"),
    ("promotion", "Promotion"),
]


def test_every_resource_lists_and_reads_by_its_href(full_catalog, auditor, api_client_for):
    client = api_client_for(auditor)
    for resource, type_name in RESOURCES:
        listing = client.get(f"{API}/{resource}")
        assert listing.status_code == 200, resource
        body = listing.json()
        assert body["count"] >= 1, resource
        assert listing["X-Total-Count"] == str(body["count"])
        first = body["results"][0]
        assert (first["@type"], type(first["id"])) == (type_name, str)
        detail = client.get(first["href"])
        assert detail.status_code == 200, resource
        assert (detail.json()["id"], detail.json()["@type"]) == (first["id"], type_name)


def test_lists_read_without_one_query_per_item(full_catalog, auditor, api_client_for):
    client = api_client_for(auditor)
    resources = ("productOffering", "planVersion", "plan", "productOfferingPrice", "zoneTable")
    for index, resource in enumerate(resources):
        queries = []
        for more in range(2):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(f"{API}/{resource}").status_code == 200
            queries.append(len(captured))
            # More versions, allowances, rows and zones for the second read.
            services.plan_version_clone(version=full_catalog.version)
            services.rate_card_clone(rate_card=full_catalog.retail_card, code=f"C{index}{more}")
            extra = services.zone_table_save(code=f"T{index}{more}", name="Another table")
            services.zone_save(
                table=extra,
                zone_type="destination",
                code=f"EXTRA{index}{more}",
                members=[f"99{index}{more}"],
            )
        assert queries[0] == queries[1], resource


def test_product_offering_is_the_version_as_sold_with_money_as_strings(
    full_catalog, auditor, api_client_for
):
    response = api_client_for(auditor).get(f"{API}/productOffering/{full_catalog.version.pk}")
    assert response.status_code == 200
    offering = response.json()
    assert offering["code"] == "SMART-10"
    assert offering["version"] == 1
    assert offering["lifecycleStatus"] == "published"
    assert offering["paymentModel"] == "postpaid"
    assert offering["taxIncluded"] is False
    assert offering["brand"]["name"] == "Lorem Mobile"
    assert offering["brand"]["href"].endswith(f"/api/v1/catalog/brand/{full_catalog.brand.pk}")
    # v2 is only a draft: v1 stays open-ended.
    assert offering["validFor"] == {"startDateTime": "2026-09-30T22:00:00Z", "endDateTime": None}
    prices = {price["priceType"]: price for price in offering["productOfferingPrice"]}
    assert prices["recurring"]["price"] == {"unit": "EUR", "value": "19.99"}
    assert prices["recurring"]["recurringChargePeriodType"] == "month"
    assert prices["recurring"]["chargeTiming"] == "in_advance"
    assert prices["oneTime"]["price"] == {"unit": "EUR", "value": "0.00"}
    assert prices["usage"]["rateCard"]["code"] == "SMART-10-2026"
    assert prices["usage"]["href"].endswith(
        f"/productOfferingPrice?rateCard={full_catalog.retail_card.pk}"
    )
    allowances = {a["name"]: a for a in offering["bundledAllowance"]}
    assert allowances["Data 10 GB"]["quantity"] == 10
    assert allowances["Data 10 GB"]["unitOfMeasure"] == "GB"
    assert {z["code"] for z in allowances["Data 10 GB"]["roamingZones"]} == {"HOME", "EU"}
    assert offering["fairUse"] == []
    assert [a["code"] for a in offering["addOn"]] == ["EU-DATA-5"]


def test_usage_prices_are_rate_rows_with_their_card(golden_catalog, auditor, api_client_for):
    card = golden_catalog.retail_card
    response = api_client_for(auditor).get(
        f"{API}/productOfferingPrice/", {"rateCard": card.pk, "service": "DATA"}
    )
    rows = response.json()["results"]
    assert [row["price"] for row in rows] == [
        {"unit": "EUR", "value": "1.99"},
        {"unit": "EUR", "value": "0.0199"},
    ]
    assert [row["unitOfMeasure"] for row in rows] == ["GB", "MB"]
    assert rows[1]["incrementFirst"] == 10000
    assert rows[0]["rateCard"] == {
        "id": str(card.pk),
        "href": f"http://testserver{API}/rateCard/{card.pk}",
        "name": "SMART-10 retail prices",
        "code": "SMART-10-2026",
        "@referredType": "RateCard",
    }
    assert rows[0]["priceType"] == "usage"
    assert rows[0]["lifecycleStatus"] == "published"


def test_rate_card_detail_lists_its_rows_with_fees(golden_catalog, auditor, api_client_for):
    card = api_client_for(auditor).get(f"{API}/rateCard/{golden_catalog.retail_card.pk}").json()
    assert card["rowCount"] == len(card["rows"]) == 15
    world = next(
        row
        for row in card["rows"]
        if row["service"] == "VOICE_OUT"
        and [z["code"] for z in row["destinationZones"]] == ["WORLD"]
    )
    assert world["price"] == {"unit": "EUR", "value": "0.99"}
    assert world["connectionFee"] == {"unit": "EUR", "value": "0.15"}
    assert world["timeBand"] is None


def test_lists_filter_by_status_code_brand_and_kind(full_catalog, auditor, api_client_for):
    client = api_client_for(auditor)
    drafts = client.get(f"{API}/productOffering/", {"lifecycleStatus": "draft"}).json()
    assert [o["id"] for o in drafts["results"]] == [str(full_catalog.draft.pk)]
    by_code = client.get(f"{API}/productOffering/", {"code": "smart-10", "ordering": "-version"})
    assert [o["version"] for o in by_code.json()["results"]] == [2, 1]
    assert client.get(f"{API}/plan/", {"brand": "LOREM"}).json()["count"] == 1
    assert client.get(f"{API}/plan/", {"brand": "OTHER"}).json()["count"] == 0
    wholesale = client.get(f"{API}/rateCard/", {"kind": "wholesale"}).json()["results"]
    assert [card["code"] for card in wholesale] == ["HOSTNET-2026"]
    assert "rows" not in wholesale[0]
    bad = client.get(f"{API}/rateCard/", {"kind": "cheap"})
    assert bad.status_code == 400
    assert "kind" in bad.json()["fieldErrors"]


def test_plan_lists_its_versions_with_their_validity(full_catalog, auditor, api_client_for):
    services.plan_version_publish(version=full_catalog.draft)
    plan = api_client_for(auditor).get(f"{API}/plan/{full_catalog.plan.pk}").json()
    assert [(v["version"], v["lifecycleStatus"]) for v in plan["versions"]] == [
        (1, "published"),
        (2, "published"),
    ]
    assert plan["versions"][0]["validFor"]["endDateTime"] == NOVEMBER_START
    assert plan["versions"][1]["validFor"] == {
        "startDateTime": NOVEMBER_START,
        "endDateTime": None,
    }
    assert plan["versions"][0]["productOffering"]["@referredType"] == "ProductOffering"


# --- which version applies ------------------------------------------------------------------


def test_version_at_switches_at_the_boundary_between_two_versions(
    golden_catalog, operator, api_client_for
):
    client = api_client_for(operator)
    clone = client.post(
        f"{API}/planVersion/{golden_catalog.version.pk}/clone",
        {"effectiveFrom": NOVEMBER_START},
    )
    assert clone.status_code == 201
    v2 = clone.json()
    assert (v2["version"], v2["lifecycleStatus"]) == (2, "draft")
    changed = client.patch(v2["href"], {"recurringFee": {"unit": "EUR", "value": "24.99"}})
    assert changed.status_code == 200
    assert client.post(f"{API}/planVersion/{v2['id']}/publish").status_code == 200

    plan = golden_catalog.plan.pk
    before = client.get(f"{API}/plan/{plan}/versionAt", {"instant": "2026-10-31T22:59:59Z"})
    at = client.get(f"{API}/plan/{plan}/versionAt", {"instant": NOVEMBER_START})
    assert before.status_code == at.status_code == 200
    assert before.json()["version"] == 1
    assert before.json()["validFor"]["endDateTime"] == NOVEMBER_START
    assert at.json()["version"] == 2
    assert at.json()["productOfferingPrice"][0]["price"] == {"unit": "EUR", "value": "24.99"}
    assert at.json()["bundledAllowance"][0]["name"] == "Data 10 GB"


def test_version_at_reads_an_offset_left_unencoded_in_the_query(
    golden_catalog, auditor, api_client_for
):
    plan = golden_catalog.plan.pk
    url = f"{API}/plan/{plan}/versionAt/?instant=2026-10-15T12:00:00+02:00"
    response = api_client_for(auditor).get(url)
    assert response.status_code == 200
    assert response.json()["version"] == 1


def test_version_at_before_the_first_version_is_404(golden_catalog, auditor, api_client_for):
    response = api_client_for(auditor).get(
        f"{API}/plan/{golden_catalog.plan.pk}/versionAt", {"instant": "2026-09-30T21:59:59Z"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert "SMART-10 has no version in force" in response.json()["message"]


def test_version_at_refuses_an_instant_without_offset(golden_catalog, auditor, api_client_for):
    response = api_client_for(auditor).get(
        f"{API}/plan/{golden_catalog.plan.pk}/versionAt", {"instant": "2026-10-15T10:00:00"}
    )
    assert response.status_code == 400
    assert "UTC offset" in response.json()["fieldErrors"]["instant"][0]


# --- zone lookup ----------------------------------------------------------------------------


def test_zone_lookup_finds_destination_by_longest_prefix(golden_catalog, auditor, api_client_for):
    url = f"{API}/zoneTable/{golden_catalog.zone_table.pk}/lookup"
    client = api_client_for(auditor)
    mobile = client.get(url, {"number": "4917012345678"}).json()
    assert mobile["@type"] == "ZoneLookup"
    assert mobile["destinationZone"]["code"] == "NAT_MOBILE"
    assert mobile["roamingZone"] is None
    assert client.get(url, {"number": "4930123456"}).json()["destinationZone"]["code"] == (
        "NAT_FIXED"
    )
    assert client.get(url, {"number": "12125550100"}).json()["destinationZone"]["code"] == "WORLD"


def test_zone_lookup_finds_roaming_zone_of_a_visited_network(
    golden_catalog, auditor, api_client_for
):
    url = f"{API}/zoneTable/{golden_catalog.zone_table.pk}/lookup"
    client = api_client_for(auditor)
    us = client.get(url, {"visitedPlmn": "310260", "homePlmn": "26203"}).json()
    assert us["roamingZone"]["code"] == "WORLD1"
    assert us["homePlmn"] == ["26203"]
    home = client.get(url, {"visitedPlmn": "26203", "homePlmn": "26203"}).json()
    assert home["roamingZone"]["code"] == "HOME"
    japan = client.get(
        url, {"visitedPlmn": "44010", "hostNetwork": golden_catalog.host_network.pk}
    ).json()
    assert japan["roamingZone"]["code"] == "WORLD2"


def test_zone_lookup_without_number_or_network_is_400(golden_catalog, auditor, api_client_for):
    client = api_client_for(auditor)
    url = f"{API}/zoneTable/{golden_catalog.zone_table.pk}/lookup"
    assert client.get(url).status_code == 400
    bad = client.get(url, {"number": "49-170"})
    assert bad.status_code == 400
    assert "number" in bad.json()["fieldErrors"]


# --- writes ---------------------------------------------------------------------------------


def test_operator_creates_a_draft_version_and_publishes_it(
    golden_catalog, operator, api_client_for
):
    client = api_client_for(operator)
    created = client.post(
        f"{API}/planVersion/",
        {
            "plan": ref(golden_catalog.plan),
            "effectiveFrom": "2027-01-01T00:00:00+01:00",
            "rateCard": ref(golden_catalog.retail_card),
            "recurringFee": {"unit": "EUR", "value": "17.50"},
            "activationFee": {"unit": "EUR", "value": "9.99"},
            "feeTiming": "in_arrears",
            "taxCategory": ref(golden_catalog.tax_category),
        },
    )
    assert created.status_code == 201, created.json()
    draft = created.json()
    assert (draft["version"], draft["lifecycleStatus"]) == (2, "draft")
    assert draft["effectiveFrom"] == "2026-12-31T23:00:00Z"
    assert draft["recurringFee"] == {"unit": "EUR", "value": "17.50"}
    allowance = client.post(
        f"{API}/allowance/",
        {
            "planVersion": {"id": draft["id"]},
            "name": "Data 20 GB",
            "services": ["DATA"],
            "quantity": 20,
            "unitOfMeasure": "GB",
            "roamingZones": [ref(z) for z in golden_catalog.roaming("HOME", "EU")],
        },
    )
    assert allowance.status_code == 201, allowance.json()

    published = client.post(f"{API}/planVersion/{draft['id']}/publish")

    assert published.status_code == 200
    assert published.json()["lifecycleStatus"] == "published"
    version = PlanVersion.objects.get(pk=draft["id"])
    assert version.status == Status.PUBLISHED
    assert version.activation_fee == Decimal("9.99")
    assert version.history.first().history_user == operator
    offering = client.get(f"{API}/productOffering/{draft['id']}").json()
    assert [a["name"] for a in offering["bundledAllowance"]] == ["Data 20 GB"]
    assert offering["productOfferingPrice"][1]["price"] == {"unit": "EUR", "value": "9.99"}


def test_editing_a_published_version_is_refused_with_400(golden_catalog, operator, api_client_for):
    version = golden_catalog.version
    response = api_client_for(operator).patch(
        f"{API}/planVersion/{version.pk}", {"recurringFee": {"unit": "EUR", "value": "9.99"}}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID"
    assert "published" in body["message"]
    assert "clone it" in body["fieldErrors"]["non_field_errors"][0]
    version.refresh_from_db()
    assert version.recurring_fee == Decimal("19.99")


def test_publishing_twice_is_a_400_not_a_500(golden_catalog, operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/planVersion/{golden_catalog.version.pk}/publish"
    )
    assert response.status_code == 400
    assert "published" in response.json()["message"]


def test_a_version_priced_by_a_wholesale_card_is_refused_on_its_field(
    golden_catalog, operator, api_client_for
):
    response = api_client_for(operator).post(
        f"{API}/planVersion/",
        {
            "plan": ref(golden_catalog.plan),
            "effectiveFrom": "2027-01-01T00:00:00Z",
            "rateCard": ref(golden_catalog.wholesale_card),
        },
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"] == {
        "rateCard": ["a plan is priced by a retail rate card"]
    }


def test_a_fee_in_another_currency_than_the_plan_is_refused(
    golden_catalog, operator, api_client_for
):
    response = api_client_for(operator).post(
        f"{API}/planVersion/",
        {
            "plan": ref(golden_catalog.plan),
            "effectiveFrom": "2027-01-01T00:00:00Z",
            "rateCard": ref(golden_catalog.retail_card),
            "recurringFee": {"unit": "USD", "value": "19.99"},
        },
    )
    assert response.status_code == 400
    assert list(response.json()["fieldErrors"]) == ["recurringFee.unit"]
    assert golden_catalog.plan.versions.count() == 1


def test_a_reference_to_a_missing_object_is_a_400(golden_catalog, operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/planVersion/",
        {
            "plan": {"id": "999999"},
            "effectiveFrom": "2027-01-01T00:00:00Z",
            "rateCard": ref(golden_catalog.retail_card),
        },
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"]["plan"] == ["no plan with id 999999"]


def test_adding_a_row_to_a_published_card_is_refused(golden_catalog, operator, api_client_for):
    card = golden_catalog.retail_card
    response = api_client_for(operator).post(
        f"{API}/productOfferingPrice/",
        {
            "rateCard": ref(card),
            "service": "EVENT",
            "price": {"unit": "EUR", "value": "1.00"},
            "unitOfMeasure": "EVENT",
        },
    )
    assert response.status_code == 400
    assert "rate card is published" in response.json()["message"]
    assert card.rows.count() == 15


def test_an_ambiguous_rate_row_is_refused_with_400(golden_catalog, operator, api_client_for):
    client = api_client_for(operator)
    clone = client.post(
        f"{API}/rateCard/{golden_catalog.retail_card.pk}/clone", {"code": "SMART-10-2027"}
    )
    assert clone.status_code == 201
    draft = clone.json()
    assert (draft["lifecycleStatus"], draft["rowCount"]) == ("draft", 15)
    incoming = golden_catalog.destination("INCOMING")
    # SMS in to INCOMING from any network is already priced by a row naming the same zone.
    response = client.post(
        f"{API}/productOfferingPrice/",
        {
            "rateCard": {"id": draft["id"]},
            "service": "SMS_IN",
            "destinationZones": [ref(z) for z in incoming],
            "price": {"unit": "EUR", "value": "0.01"},
            "unitOfMeasure": "MESSAGE",
        },
    )
    assert response.status_code == 400
    errors = response.json()["fieldErrors"]["rows"]
    assert "equally specific" in errors[0]
    assert RateRow.objects.filter(rate_card_id=draft["id"]).count() == 15


def test_a_row_of_a_draft_card_is_written_changed_and_deleted(
    golden_catalog, operator, api_client_for
):
    client = api_client_for(operator)
    draft = client.post(
        f"{API}/rateCard/{golden_catalog.retail_card.pk}/clone", {"code": "SMART-10-2027"}
    ).json()
    created = client.post(
        f"{API}/productOfferingPrice/",
        {
            "rateCard": {"id": draft["id"]},
            "service": "EVENT",
            "price": {"unit": "EUR", "value": "0.5"},
            "unitOfMeasure": "EVENT",
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["price"] == {"unit": "EUR", "value": "0.50"}
    row_url = created.json()["href"]
    changed = client.patch(row_url, {"price": {"unit": "EUR", "value": "0.25"}})
    assert changed.status_code == 200
    assert changed.json()["price"] == {"unit": "EUR", "value": "0.25"}
    assert changed.json()["unitOfMeasure"] == "EVENT"
    wrong_unit = client.patch(row_url, {"price": {"unit": "GBP", "value": "0.25"}})
    assert wrong_unit.status_code == 400
    # A price that is not a money object, or a float that may have lost digits (R1): 400.
    not_money = client.patch(row_url, {"price": "0.25"})
    assert not_money.status_code == 400, not_money.content
    assert "money is an object" in str(not_money.json())
    a_float = client.patch(row_url, {"price": {"unit": "EUR", "value": 0.25}})
    assert a_float.status_code == 400 and "string" in str(a_float.json())
    assert client.delete(row_url).status_code == 204
    assert RateRow.objects.filter(rate_card_id=draft["id"]).count() == 15


def test_a_band_set_with_a_gap_is_refused(operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/timeBandSet/",
        {
            "code": "WEEKDAYS",
            "name": "Weekdays only",
            "timezone": "Europe/Berlin",
            "bands": [
                {
                    "code": "DAY",
                    "windows": [
                        {"days": [1, 2, 3, 4, 5], "startTime": "00:00", "endTime": "24:00"}
                    ],
                }
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"]["bands"] == [
        "gap: Sat 00:00 is in no band (add windows or a rest band)"
    ]


def test_a_band_set_covering_the_week_is_created(operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/timeBandSet/",
        {
            "code": "WEEKEND",
            "name": "Weekend and the rest",
            "timezone": "Europe/Berlin",
            "bands": [
                {
                    "code": "WEEKEND",
                    "windows": [{"days": [6, 7], "startTime": "00:00", "endTime": "24:00"}],
                },
                {"code": "WEEK", "isRest": True},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    bands = {band["code"]: band for band in response.json()["bands"]}
    assert bands["WEEKEND"]["windows"] == [
        {"days": [6, 7], "startTime": "00:00", "endTime": "00:00"}
    ]
    assert bands["WEEK"]["isRest"] is True


def test_a_patch_replacing_bands_needs_each_band_whole(operator, api_client_for):
    client = api_client_for(operator)
    created = client.post(
        f"{API}/timeBandSet/",
        {"code": "ALLWEEK", "name": "All week", "timezone": "Europe/Berlin",
         "bands": [{"code": "ALL", "isRest": True}]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    patched = client.patch(
        created.json()["href"],
        {"bands": [{"name": "no code"}, {"code": "W", "windows": [{"startTime": "00:00"}]}]},
    )
    assert patched.status_code == 400, patched.content  # was a KeyError (500)
    errors = patched.json()["fieldErrors"]
    assert errors["bands[0].code"] == ["This field is required."]
    assert set(errors) >= {"bands[1].windows[0].days", "bands[1].windows[0].endTime"}


def test_a_prefix_of_another_zone_is_refused(golden_draft_catalog, operator, api_client_for):
    response = api_client_for(operator).post(
        f"{API}/zone/",
        {
            "zoneTable": ref(golden_draft_catalog.zone_table),
            "zoneType": "destination",
            "code": "MOBILE_X",
            "members": ["4917", "4918"],
        },
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"]["members"] == [
        "already in another zone: 4917 (in NAT_MOBILE)"
    ]


def test_an_add_on_is_created_published_and_cloned(golden_catalog, operator, api_client_for):
    client = api_client_for(operator)
    created = client.post(
        f"{API}/addOn/",
        {
            "code": "ROAM-WEEK",
            "name": "World roaming week",
            "kind": "one_off",
            "price": {"unit": "EUR", "value": "9.99"},
            "validityDays": 7,
            "eligiblePlans": [ref(golden_catalog.plan)],
        },
    )
    assert created.status_code == 201, created.json()
    add_on = created.json()
    assert add_on["price"] == {"unit": "EUR", "value": "9.99"}
    assert add_on["lifecycleStatus"] == "draft"
    published = client.post(f"{API}/addOn/{add_on['id']}/publish")
    assert published.json()["lifecycleStatus"] == "published"
    refused = client.patch(add_on["href"], {"name": "Renamed"})
    assert refused.status_code == 400
    clone = client.post(f"{API}/addOn/{add_on['id']}/clone", {"code": "ROAM-WEEK-2"})
    assert clone.status_code == 201
    assert (clone.json()["code"], clone.json()["lifecycleStatus"]) == ("ROAM-WEEK-2", "draft")


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditor_get_403_on_writes_and_actions(
    full_catalog, role_users, api_client_for, role
):
    client = api_client_for(role_users[role])
    draft = full_catalog.draft
    assert client.get(f"{API}/planVersion/{draft.pk}").status_code == 200
    attempts = [
        client.post(f"{API}/planVersion/{draft.pk}/publish"),
        client.post(f"{API}/planVersion/{draft.pk}/clone", {}),
        client.post(f"{API}/planVersion/{full_catalog.version.pk}/retire"),
        client.patch(f"{API}/planVersion/{draft.pk}", {"notes": "x"}),
        client.post(f"{API}/brand/", {"code": "NEW", "name": "New"}),
        client.post(f"{API}/rateCard/{full_catalog.retail_card.pk}/clone", {"code": "X"}),
        client.post(f"{API}/addOn/{full_catalog.add_on.pk}/retire"),
        client.delete(f"{API}/zone/{full_catalog.destination('FREE')[0].pk}"),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert attempts[0].json()["code"] == "PERMISSION_DENIED"
    draft.refresh_from_db()
    assert (draft.status, draft.notes) == (Status.DRAFT, "")


def test_anonymous_clients_get_401(golden_catalog, client):
    for url in (f"{API}/productOffering/", f"{API}/plan/{golden_catalog.plan.pk}/versionAt"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["@type"] == "Error"
    assert client.post(f"{API}/planVersion/{golden_catalog.version.pk}/retire").status_code == 401


def test_admin_retires_a_version(golden_catalog, admin_user, api_client_for):
    response = api_client_for(admin_user).post(
        f"{API}/planVersion/{golden_catalog.version.pk}/retire"
    )
    assert response.status_code == 200
    assert response.json()["lifecycleStatus"] == "retired"


# --- schema and browsable pages -------------------------------------------------------------


def test_schema_includes_the_catalogue_paths(auditor, api_client_for):
    response = api_client_for(auditor).get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = response.json()["paths"]
    for path in (
        f"{API}/productOffering/",
        f"{API}/productOffering/{{id}}/",
        f"{API}/productOfferingPrice/",
        f"{API}/plan/{{id}}/versionAt/",
        f"{API}/planVersion/{{id}}/publish/",
        f"{API}/rateCard/{{id}}/clone/",
        f"{API}/zoneTable/{{id}}/lookup/",
        f"{API}/addOn/",
    ):
        assert path in paths
    assert "post" not in paths[f"{API}/productOffering/"]
    schemas = response.json()["components"]["schemas"]
    assert set(schemas["Money"]["properties"]) == {"unit", "value"}
    # One money shape for the whole API, whichever app's resource carries it.
    assert sorted(name for name in schemas if "Money" in name) == ["Money", "MoneyRequest"]


def test_browsable_api_page_renders_for_an_operator(golden_catalog, operator, console_client_for):
    response = console_client_for(operator).get(
        f"{API}/planVersion/{golden_catalog.version.pk}/", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 200
    assert b"SMART-10" in response.content


def test_operator_writes_every_other_resource(golden_catalog, operator, api_client_for):
    client = api_client_for(operator)

    def ok(response, status_code=201):
        assert response.status_code == status_code, response.json()
        return response.json()

    brand = ok(
        client.post(
            f"{API}/brand", {"code": "IPSUM", "name": "Ipsum", "parent": ref(golden_catalog.brand)}
        )
    )
    assert brand["parent"]["code"] == "LOREM"
    assert ok(client.patch(brand["href"], {"name": "Ipsum Mobile"}), 200)["parent"] is not None
    category = ok(client.post(f"{API}/taxCategory", {"code": "CONTENT", "name": "Content"}))
    region = ok(client.post(f"{API}/taxRegion", {"code": "AT", "name": "Austria"}))
    rate = {
        "taxRegion": {"id": region["id"]},
        "taxCategory": {"id": category["id"]},
        "rate": "0.20",
        "validFrom": "2026-01-01",
    }
    ok(client.post(f"{API}/taxRate", rate))
    assert ok(client.post(f"{API}/taxRate", {**rate, "rate": "1.5"}), 400)["fieldErrors"] == {
        "rate": ["a rate is a fraction from 0 to below 1 (0.19 for 19 %)"]
    }
    assert ok(client.get(region["href"]), 200)["taxRates"][0]["rate"] == "0.20000"

    table = ok(client.post(f"{API}/zoneTable", {"code": "AT", "name": "Austria"}))
    zone = ok(
        client.post(
            f"{API}/zone",
            {
                "zoneTable": {"id": table["id"]},
                "zoneType": "destination",
                "code": "AT_MOBILE",
                "members": ["43664"],
            },
        )
    )
    zone = ok(client.patch(zone["href"], {"members": ["43664", "43676"]}), 200)
    assert (zone["members"], zone["kind"]) == (["43664", "43676"], "listed")
    assert ok(client.get(table["href"]), 200)["zones"][0]["code"] == "AT_MOBILE"
    assert client.delete(zone["href"]).status_code == 204

    network = ok(
        client.post(
            f"{API}/hostNetwork",
            {"code": "AUSNET", "name": "Aus Net", "plmnCodes": ["23201"], "countryCode": "43"},
        )
    )
    tariffs = ok(
        client.post(
            f"{network['href']}/tariff",
            {
                "rateCard": ref(golden_catalog.wholesale_card),
                "effectiveFrom": "2026-06-01T00:00:00Z",
            },
        )
    )
    assert tariffs["tariffs"][0]["validFor"] == {
        "startDateTime": "2026-06-01T00:00:00Z",
        "endDateTime": None,
    }
    assert tariffs["tariffs"][0]["simFee"] == "0.000000"
    # R31: the SIM fee of the same terms; a negative fee is a field error.
    with_fee = ok(
        client.post(
            f"{network['href']}/tariff",
            {"rateCard": ref(golden_catalog.wholesale_card),
             "effectiveFrom": "2026-07-01T00:00:00Z", "simFee": "0.30"},
        )
    )  # fmt: skip
    assert with_fee["tariffs"][1]["simFee"] == "0.300000"
    negative = client.post(
        f"{network['href']}/tariff",
        {"rateCard": ref(golden_catalog.wholesale_card),
         "effectiveFrom": "2026-08-01T00:00:00Z", "simFee": "-1"},
    )  # fmt: skip
    assert ok(negative, 400)["fieldErrors"].keys() == {"simFee"}
    retail_tariff = client.post(
        f"{network['href']}/tariff",
        {"rateCard": ref(golden_catalog.retail_card), "effectiveFrom": "2026-07-01T00:00:00Z"},
    )
    assert ok(retail_tariff, 400)["fieldErrors"] == {
        "rateCard": ["a host network is priced by a wholesale card"]
    }

    plan = ok(
        client.post(
            f"{API}/plan",
            {
                "code": "FLEX",
                "name": "Flex",
                "brand": ref(golden_catalog.brand),
                "paymentModel": "prepaid",
                "currency": "EUR",
            },
        )
    )
    plan = ok(client.patch(plan["href"], {"description": "Pay as you go"}), 200)
    assert (plan["paymentModel"], plan["versions"]) == ("prepaid", [])
    version = ok(
        client.post(
            f"{API}/planVersion",
            {
                "plan": {"id": plan["id"]},
                "effectiveFrom": "2026-12-01T00:00:00Z",
                "rateCard": ref(golden_catalog.retail_card),
            },
        )
    )
    policy = ok(
        client.post(
            f"{API}/fairUsePolicy",
            {
                "planVersion": {"id": version["id"]},
                "name": "Data cap",
                "services": ["DATA"],
                "capQuantity": 50,
                "capUnit": "GB",
                "action": "overage",
                "overagePrice": {"unit": "EUR", "value": "0.005"},
                "overageUnit": "MB",
            },
        )
    )
    assert policy["overagePrice"] == {"unit": "EUR", "value": "0.005"}
    policy = ok(client.patch(policy["href"], {"capQuantity": 40}), 200)
    assert (policy["capQuantity"], policy["overageUnit"]) == (40, "MB")
    no_price = client.patch(policy["href"], {"overagePrice": None})
    assert list(ok(no_price, 400)["fieldErrors"]) == ["overagePrice"]

    promotion = ok(
        client.post(
            f"{API}/promotion",
            {
                "code": "FLEX-INTRO",
                "name": "Intro",
                "discountType": "fixed",
                "value": "5",
                "periods": 2,
                "eligiblePlans": [{"id": plan["id"]}],
                "validFor": {
                    "startDateTime": "2026-12-01T00:00:00Z",
                    "endDateTime": "2026-11-01T00:00:00Z",
                },
            },
        ),
        400,
    )
    assert list(promotion["fieldErrors"]) == ["validFor.endDateTime"]
    promotion = ok(
        client.post(
            f"{API}/promotion",
            {
                "code": "FLEX-INTRO",
                "name": "Intro",
                "discountType": "fixed",
                "value": "5",
                "periods": 2,
                "eligiblePlans": [{"id": plan["id"]}],
            },
        )
    )
    published = ok(client.post(f"{promotion['href']}/publish"), 200)
    assert (published["lifecycleStatus"], published["value"]) == ("published", "5.000000")

    band_set = golden_catalog.band_set
    renamed = client.patch(f"{API}/timeBandSet/{band_set.pk}", {"name": "Peak and off-peak"})
    assert ok(renamed, 400)["message"].startswith("published rate cards use this band set")


def test_browsable_list_pages_render_for_an_operator(golden_catalog, operator, console_client_for):
    client = console_client_for(operator)
    for resource in ("planVersion", "productOfferingPrice", "timeBandSet", "zone", "promotion"):
        response = client.get(f"{API}/{resource}", HTTP_ACCEPT="text/html")
        assert response.status_code == 200, resource


def test_zone_table_clone_is_for_operators(golden_catalog, operator, finance, api_client_for):
    url = f"{API}/zoneTable/{golden_catalog.zone_table.pk}/clone"
    assert api_client_for(finance).post(url, {"code": "DE-F"}).status_code == 403
    response = api_client_for(operator).post(url, {"code": "DE-2027"})
    assert response.status_code == 201
    assert response.json()["code"] == "DE-2027"
