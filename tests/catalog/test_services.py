"""The catalogue's writes refuse what would make rating ambiguous or change a published price.

Rules: billing-rules R7 (one event, one row), R7a (zones), R8 (time bands), R9 (units and
increments), R11-R13 (allowances, fair use), R24 (plan versions), R35 (promotions).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog import services
from catalog.lookup import BandIndex, ZoneIndex
from catalog.models import (
    AddOn,
    FairUseAction,
    PlanVersion,
    Promotion,
    RateCard,
    RateRow,
    Status,
    TaxRate,
    Zone,
    ZoneKind,
    ZoneMember,
    ZoneType,
)

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"
OCT_1 = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # 2026-10-01 00:00 Berlin
NOV_1 = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)  # 2026-11-01 00:00 Berlin
WEEKDAYS = [1, 2, 3, 4, 5]

# --- building blocks, all through the services ------------------------------------------------


def _table(code="DE"):
    return services.zone_table_save(code=code, name=f"Numbering plan {code}")


def _zone(table, code, members=(), zone_type=ZoneType.DESTINATION, kind=ZoneKind.LISTED):
    return services.zone_save(
        table=table, zone_type=zone_type, code=code, kind=kind, members=list(members)
    )


def _window(days, start, end):
    return {"days": days, "start_time": start, "end_time": end}


def _peak_bands(code="DE_PEAK"):
    """PEAK Monday-Friday 08:00-20:00, OFFPEAK the rest of the week."""
    return services.time_band_set_save(
        code=code,
        name="Peak and off-peak",
        timezone_name=BERLIN,
        bands=[
            {"code": "PEAK", "windows": [_window(WEEKDAYS, dt.time(8), dt.time(20))]},
            {"code": "OFFPEAK", "is_rest": True, "windows": []},
        ],
    )


def _card(table, band_set=None, code="RETAIL", kind="retail", currency="EUR"):
    return services.rate_card_save(
        code=code,
        name=f"Card {code}",
        kind=kind,
        currency=currency,
        zone_table=table,
        time_band_set=band_set,
    )


def _row(card, **fields):
    data = {
        "service": "VOICE_OUT",
        "price": Decimal("0.09"),
        "unit": "MINUTE",
        "increment_first": 60,
        "increment_next": 60,
    }
    data.update(fields)
    return services.rate_row_save(rate_card=card, data=data)


@pytest.fixture
def catalog():
    """A zone table, a peak/off-peak band set and a draft retail card using both."""
    table = _table()
    zones = {
        "NAT": _zone(table, "NAT", ["49"]),
        "EU": _zone(table, "EU", ["33", "34"]),
        "WORLD": _zone(table, "WORLD", kind=ZoneKind.REST),
        "HOME": _zone(table, "HOME", zone_type=ZoneType.ROAMING, kind=ZoneKind.HOME),
        "R_EU": _zone(table, "R_EU", ["208", "214"], zone_type=ZoneType.ROAMING),
    }
    band_set = _peak_bands()
    bands = {band.code: band for band in band_set.bands.all()}
    card = _card(table, band_set)
    return {"table": table, "zones": zones, "band_set": band_set, "bands": bands, "card": card}


def _published_card(catalog):
    _row(catalog["card"], destination_zones=[catalog["zones"]["NAT"]])
    return services.rate_card_publish(rate_card=catalog["card"])


def _brand():
    return services.brand_save(code="LOREM", name="Lorem Mobile")


def _plan(code="SMART-10", payment_model="postpaid", currency="EUR"):
    return services.plan_save(
        code=code,
        name=code,
        brand=_brand(),
        payment_model=payment_model,
        currency=currency,
    )


def _version(plan, card, effective_from=OCT_1, fee="19.99"):
    return services.plan_version_create(
        plan=plan,
        data={
            "effective_from": effective_from,
            "rate_card": card,
            "recurring_fee": Decimal(fee),
        },
    )


# --- zones (R7a) --------------------------------------------------------------------------------


def test_prefix_in_two_zones_of_one_table_is_refused():
    table = _table()
    _zone(table, "NAT_MOBILE", ["4915", "4916"])

    with pytest.raises(ValidationError) as refused:
        _zone(table, "PREMIUM", ["49900", "4915"])

    assert refused.value.message_dict == {
        "members": ["already in another zone: 4915 (in NAT_MOBILE)"]
    }
    assert not Zone.objects.filter(code="PREMIUM").exists()


def test_same_prefix_in_two_tables_is_accepted():
    _zone(_table("DE"), "NAT", ["49"])

    zone = _zone(_table("AT"), "GERMANY", ["49"])

    assert list(zone.members.values_list("value", flat=True)) == ["49"]


def test_prefix_listed_twice_in_one_zone_is_refused():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "NAT", ["49", "4915", "49"])

    assert refused.value.message_dict == {"members": ["listed twice: 49"]}


def test_member_with_letters_is_refused_with_its_index():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "NAT", ["49", "49a", "4916"])

    assert refused.value.message_dict == {"members": ["members[1]: '49a' is not made of digits"]}


def test_roaming_network_of_four_digits_is_refused_with_its_index():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "EU", ["208", "20801", "2621"], zone_type=ZoneType.ROAMING)

    assert refused.value.message_dict == {
        "members": [
            "members[2]: network '2621' must be an MCC (3 digits) or an MCC+MNC (5 or 6 digits)"
        ]
    }


def test_every_bad_member_is_reported():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "EU", ["20", "208", "x"], zone_type=ZoneType.ROAMING)

    assert [message[:11] for message in refused.value.message_dict["members"]] == [
        "members[0]:",
        "members[2]:",
    ]


def test_second_rest_zone_of_a_type_is_refused():
    table = _table()
    _zone(table, "WORLD", kind=ZoneKind.REST)
    _zone(table, "WORLD2", zone_type=ZoneType.ROAMING, kind=ZoneKind.REST)

    with pytest.raises(ValidationError) as refused:
        _zone(table, "OTHERS", kind=ZoneKind.REST)

    assert refused.value.message_dict == {"kind": ["DE already has a rest destination zone: WORLD"]}


def test_home_zone_is_refused_as_a_destination_zone():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "HOME", kind=ZoneKind.HOME)

    assert refused.value.message_dict == {"kind": ["a destination zone cannot be of kind 'home'"]}


def test_incoming_zone_is_refused_as_a_roaming_zone():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "INCOMING", zone_type=ZoneType.ROAMING, kind=ZoneKind.INCOMING)

    assert "kind" in refused.value.message_dict


def test_rest_zone_lists_no_prefix():
    with pytest.raises(ValidationError) as refused:
        _zone(_table(), "WORLD", ["1"], kind=ZoneKind.REST)

    assert refused.value.message_dict == {
        "members": ["a zone of kind 'rest' lists no prefix or network"]
    }


def test_zone_code_is_unique_per_table_and_type():
    table = _table()
    _zone(table, "EU", ["33"])
    _zone(table, "EU", ["208"], zone_type=ZoneType.ROAMING)

    with pytest.raises(ValidationError) as refused:
        _zone(table, "EU", ["34"])

    assert "code" in refused.value.message_dict


def test_zone_save_replaces_its_members():
    table = _table()
    zone = _zone(table, "EU", ["33", "34"])

    services.zone_save(
        table=table, zone_type=ZoneType.DESTINATION, code="EU", members=["34", "39"], zone=zone
    )

    assert sorted(zone.members.values_list("value", flat=True)) == ["34", "39"]
    assert ZoneIndex.from_table(table).destination("3312345") is None


def test_prefix_freed_by_one_zone_can_join_another():
    table = _table()
    eu = _zone(table, "EU", ["33", "41"])
    services.zone_save(
        table=table, zone_type=ZoneType.DESTINATION, code="EU", members=["33"], zone=eu
    )

    swiss = _zone(table, "CH", ["41"])

    assert ZoneIndex.from_table(table).destination("41441234567") == swiss.code


def test_zone_named_by_a_rate_row_cannot_be_deleted(catalog):
    _row(catalog["card"], destination_zones=[catalog["zones"]["EU"]])

    with pytest.raises(ValidationError, match="zone EU is named by rates or allowances"):
        services.zone_delete(zone=catalog["zones"]["EU"])

    assert Zone.objects.filter(code="EU").exists()


def test_unused_zone_is_deleted_with_its_members(catalog):
    services.zone_delete(zone=catalog["zones"]["EU"])

    assert not ZoneMember.objects.filter(value__in=["33", "34"]).exists()


def test_zone_members_record_history_with_the_acting_user(operator):
    zone = _zone(_table(), "NAT", ["49"])

    services.zone_save(
        table=zone.table,
        zone_type=ZoneType.DESTINATION,
        code="NAT",
        members=["4915"],
        zone=zone,
        acting_user=operator,
    )

    records = ZoneMember.history.order_by("history_id")
    assert [(r.value, r.history_type) for r in records] == [
        ("49", "+"),
        ("49", "-"),
        ("4915", "+"),
    ]
    assert [r.history_user for r in records[1:]] == [operator, operator]


def test_host_network_needs_plmn_codes_of_five_or_six_digits():
    with pytest.raises(ValidationError) as refused:
        services.host_network_save(
            code="HOSTNET", name="Host", plmn_codes=["26203", "2620"], country_code="49"
        )

    assert list(refused.value.message_dict) == ["plmn_codes"]


# --- time bands (R8) ------------------------------------------------------------------------


def test_overlapping_windows_are_refused_naming_the_day_and_time():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name=BERLIN,
            bands=[
                {"code": "PEAK", "windows": [_window(WEEKDAYS, dt.time(8), dt.time(20))]},
                {"code": "EVENING", "windows": [_window([1], dt.time(19, 30), dt.time(23))]},
                {"code": "OFFPEAK", "is_rest": True},
            ],
        )

    assert refused.value.message_dict == {
        "bands": ["overlap: Mon 19:30 is in both PEAK and EVENING"]
    }


def test_windows_touching_at_their_ends_do_not_overlap():
    band_set = services.time_band_set_save(
        code="BANDS",
        name="Bands",
        timezone_name=BERLIN,
        bands=[
            {"code": "DAY", "windows": [_window([1, 2, 3, 4, 5, 6, 7], dt.time(6), dt.time(18))]},
            {"code": "NIGHT", "is_rest": True},
        ],
    )

    bands = BandIndex.from_set(band_set)
    assert bands.band_at(dt.datetime(2026, 10, 5, 15, 59, tzinfo=dt.UTC)) == "DAY"  # 17:59
    assert bands.band_at(dt.datetime(2026, 10, 5, 16, 0, tzinfo=dt.UTC)) == "NIGHT"  # 18:00


def test_gap_without_a_rest_band_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name=BERLIN,
            bands=[
                {"code": "PEAK", "windows": [_window(WEEKDAYS, dt.time(8), dt.time(20))]},
                {"code": "WEEKEND", "windows": [_window([6, 7], dt.time(0), dt.time(0))]},
            ],
        )

    assert refused.value.message_dict == {
        "bands": ["gap: Mon 00:00 is in no band (add windows or a rest band)"]
    }


def test_gap_is_covered_by_the_rest_band():
    band_set = _peak_bands()

    bands = BandIndex.from_set(band_set)
    assert bands.band_at(dt.datetime(2026, 10, 5, 5, 59, tzinfo=dt.UTC)) == "OFFPEAK"  # 07:59
    assert bands.band_at(dt.datetime(2026, 10, 5, 6, 0, tzinfo=dt.UTC)) == "PEAK"  # 08:00


def test_window_ending_at_midnight_covers_the_last_minute_of_the_day():
    band_set = services.time_band_set_save(
        code="HALVES",
        name="Mornings and afternoons",
        timezone_name="UTC",
        bands=[
            {"code": "AM", "windows": [_window([1, 2, 3, 4, 5, 6, 7], dt.time(0), dt.time(12))]},
            {"code": "PM", "windows": [_window([1, 2, 3, 4, 5, 6, 7], dt.time(12), dt.time(0))]},
        ],
    )

    bands = BandIndex.from_set(band_set)
    assert bands.band_at(dt.datetime(2026, 10, 11, 23, 59, 59, tzinfo=dt.UTC)) == "PM"  # Sunday
    assert bands.band_at(dt.datetime(2026, 10, 12, 0, 0, tzinfo=dt.UTC)) == "AM"  # Monday


def test_window_ending_before_it_starts_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name=BERLIN,
            bands=[
                {"code": "NIGHT", "windows": [_window(WEEKDAYS, dt.time(22), dt.time(6))]},
                {"code": "REST", "is_rest": True},
            ],
        )

    assert refused.value.message_dict == {
        "bands[0].windows[0]": ["a window ends after it starts (00:00 ends the day)"]
    }


def test_window_on_a_day_that_is_not_a_weekday_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name=BERLIN,
            bands=[
                {"code": "PEAK", "windows": [_window([0, 1], dt.time(8), dt.time(20))]},
                {"code": "REST", "is_rest": True},
            ],
        )

    assert list(refused.value.message_dict) == ["bands[0].windows[0].days"]


def test_window_without_times_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name=BERLIN,
            bands=[
                {"code": "PEAK", "windows": [{"days": [1], "start_time": dt.time(8)}]},
                {"code": "REST", "is_rest": True},
            ],
        )

    assert refused.value.message_dict == {
        "bands[0].windows[0]": ["a window has a start and an end time"]
    }


def test_two_rest_bands_are_refused():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name=BERLIN,
            bands=[{"code": "A", "is_rest": True}, {"code": "B", "is_rest": True}],
        )

    assert refused.value.message_dict == {"bands": ["at most one band covers the rest of the week"]}


def test_unknown_timezone_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="BANDS",
            name="Bands",
            timezone_name="Europe/Atlantis",
            bands=[{"code": "ALL", "is_rest": True}],
        )

    assert refused.value.message_dict == {"timezone": ["unknown timezone 'Europe/Atlantis'"]}


def test_band_set_edit_is_refused_once_a_published_card_uses_it(catalog):
    _published_card(catalog)

    with pytest.raises(ValidationError, match="published rate cards use this band set"):
        services.time_band_set_save(
            code="DE_PEAK",
            name="Peak until 21:00",
            timezone_name=BERLIN,
            bands=[
                {"code": "PEAK", "windows": [_window(WEEKDAYS, dt.time(8), dt.time(21))]},
                {"code": "OFFPEAK", "is_rest": True},
            ],
            band_set=catalog["band_set"],
        )

    peak = catalog["band_set"].bands.get(code="PEAK").windows.get()
    assert peak.end_time == dt.time(20)


def test_band_set_edit_is_allowed_while_only_draft_cards_use_it(catalog):
    _row(catalog["card"], time_band=catalog["bands"]["PEAK"])

    services.time_band_set_save(
        code="DE_PEAK",
        name="Peak until 21:00",
        timezone_name=BERLIN,
        bands=[
            {"code": "PEAK", "windows": [_window(WEEKDAYS, dt.time(8), dt.time(21))]},
            {"code": "OFFPEAK", "is_rest": True},
        ],
        band_set=catalog["band_set"],
    )

    bands = BandIndex.from_set(catalog["band_set"])
    assert bands.band_at(dt.datetime(2026, 10, 5, 18, 30, tzinfo=dt.UTC)) == "PEAK"  # 20:30
    assert RateRow.objects.get().time_band == catalog["bands"]["PEAK"]


def test_band_named_by_a_draft_row_cannot_be_dropped_from_its_set(catalog):
    _row(catalog["card"], time_band=catalog["bands"]["OFFPEAK"])

    with pytest.raises(ValidationError) as refused:
        services.time_band_set_save(
            code="DE_PEAK",
            name="One band",
            timezone_name=BERLIN,
            bands=[{"code": "PEAK", "is_rest": True}],
            band_set=catalog["band_set"],
        )

    assert refused.value.message_dict == {
        "bands": ["rate rows of draft cards name band OFFPEAK: keep it"]
    }


def test_rest_band_can_move_to_another_band():
    band_set = _peak_bands()

    services.time_band_set_save(
        code="DE_PEAK",
        name="Off-peak evenings, peak the rest",
        timezone_name=BERLIN,
        bands=[
            {"code": "PEAK", "is_rest": True},
            {"code": "OFFPEAK", "windows": [_window(WEEKDAYS, dt.time(20), dt.time(0))]},
        ],
        band_set=band_set,
    )

    bands = BandIndex.from_set(band_set)
    assert bands.band_at(dt.datetime(2026, 10, 5, 19, 0, tzinfo=dt.UTC)) == "OFFPEAK"  # 21:00
    assert bands.band_at(dt.datetime(2026, 10, 10, 19, 0, tzinfo=dt.UTC)) == "PEAK"  # Saturday


# --- rate cards (R7, R9) ----------------------------------------------------------------------


def test_equally_specific_overlapping_rows_are_refused(catalog):
    nat = catalog["zones"]["NAT"]
    first = _row(catalog["card"], destination_zones=[nat])

    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], destination_zones=[nat, catalog["zones"]["EU"]], price=Decimal("1"))

    [message] = refused.value.message_dict["rows"]
    assert message.startswith(f"row {first.pk} (voice out, 0.09000000/MINUTE) and this row")
    assert "equally specific" in message
    assert list(catalog["card"].rows.all()) == [first]


def test_rows_naming_different_conditions_of_one_specificity_are_ambiguous(catalog):
    _row(catalog["card"], destination_zones=[catalog["zones"]["NAT"]])

    # A call to NAT from HOME would match both rows, each naming one condition (R7).
    with pytest.raises(ValidationError, match="equally specific"):
        _row(catalog["card"], roaming_zones=[catalog["zones"]["HOME"]])


def test_rows_of_different_specificity_are_accepted(catalog):
    nat, peak = catalog["zones"]["NAT"], catalog["bands"]["PEAK"]
    _row(catalog["card"], destination_zones=[nat])

    _row(catalog["card"], destination_zones=[nat], time_band=peak, price=Decimal("0.19"))

    assert catalog["card"].rows.count() == 2


def test_rows_for_different_bands_or_zones_are_accepted(catalog):
    zones, bands = catalog["zones"], catalog["bands"]
    _row(catalog["card"], destination_zones=[zones["NAT"]], time_band=bands["PEAK"])
    _row(catalog["card"], destination_zones=[zones["NAT"]], time_band=bands["OFFPEAK"])
    _row(catalog["card"], destination_zones=[zones["EU"]], time_band=bands["PEAK"])
    _row(catalog["card"], service="SMS_OUT", unit="MESSAGE", increment_first=1, increment_next=1)

    assert services.rate_card_publish(rate_card=catalog["card"]).status == Status.PUBLISHED


def test_unit_must_fit_the_service(catalog):
    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], unit="MB")

    assert refused.value.message_dict == {"unit": ["VOICE_OUT is priced per MINUTE, SECOND"]}


def test_messages_have_no_increments(catalog):
    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], service="SMS_OUT", unit="MESSAGE")

    assert refused.value.message_dict == {
        "increment_first": ["messages and events have no increments"]
    }


def test_negative_price_is_refused(catalog):
    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], price=Decimal("-0.01"))

    assert refused.value.message_dict == {"price": ["must be ≥ 0"]}


def test_data_row_with_a_destination_zone_is_refused(catalog):
    with pytest.raises(ValidationError) as refused:
        _row(
            catalog["card"],
            service="DATA",
            unit="GB",
            increment_first=1000,
            increment_next=1000,
            destination_zones=[catalog["zones"]["NAT"]],
        )

    assert refused.value.message_dict == {
        "destination_zones": ["data has no destination zone (R7a)"]
    }


def test_zone_of_another_table_is_refused(catalog):
    foreign = _zone(_table("AT"), "NAT", ["43"])

    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], destination_zones=[foreign])

    assert refused.value.message_dict == {
        "destination_zones": ["NAT is not a destination zone of DE"]
    }


def test_roaming_zone_named_as_destination_is_refused(catalog):
    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], destination_zones=[catalog["zones"]["R_EU"]])

    assert refused.value.message_dict == {
        "destination_zones": ["R_EU is not a destination zone of DE"]
    }


def test_band_of_another_set_is_refused(catalog):
    other = _peak_bands("OTHER")

    with pytest.raises(ValidationError) as refused:
        _row(catalog["card"], time_band=other.bands.get(code="PEAK"))

    assert refused.value.message_dict == {
        "time_band": ["PEAK is not a band of the card's band set"]
    }


def test_band_on_a_card_without_band_set_is_refused(catalog):
    card = _card(catalog["table"], None, code="FLAT")

    with pytest.raises(ValidationError) as refused:
        _row(card, time_band=catalog["bands"]["PEAK"])

    assert list(refused.value.message_dict) == ["time_band"]


def test_publish_requires_rows(catalog):
    with pytest.raises(ValidationError, match="without rows prices nothing"):
        services.rate_card_publish(rate_card=catalog["card"])

    assert RateCard.objects.get().status == Status.DRAFT


def test_row_cannot_be_added_to_a_published_card(catalog):
    card = catalog["card"]
    _published_card(catalog)

    # ``card`` is the caller's copy from before publishing: the database decides.
    with pytest.raises(ValidationError, match="rate card is published"):
        _row(card, destination_zones=[catalog["zones"]["EU"]])

    assert card.rows.count() == 1
    assert RateCard.objects.get().status == Status.PUBLISHED


def test_row_of_a_published_card_cannot_be_changed(catalog):
    card = _published_card(catalog)
    row = card.rows.get()

    with pytest.raises(ValidationError, match="rate card is published"):
        services.rate_row_save(
            rate_card=card,
            row=row,
            data={"service": "VOICE_OUT", "price": Decimal("0.01"), "unit": "MINUTE"},
        )

    assert RateRow.objects.get().price == Decimal("0.09")


def test_row_of_a_published_card_cannot_be_changed_through_a_draft_card(catalog):
    row = _published_card(catalog).rows.get()
    draft = _card(catalog["table"], catalog["band_set"], code="DRAFT")

    with pytest.raises(ValidationError, match="belongs to another rate card"):
        services.rate_row_save(
            rate_card=draft,
            row=row,
            data={"service": "VOICE_OUT", "price": Decimal("0.01"), "unit": "MINUTE"},
        )

    assert RateRow.objects.get().price == Decimal("0.09")


def test_row_of_a_published_card_cannot_be_deleted(catalog):
    row = _published_card(catalog).rows.get()

    with pytest.raises(ValidationError, match="rate card is published"):
        services.rate_row_delete(row=row)

    assert RateRow.objects.count() == 1


def test_published_card_header_cannot_be_changed_even_from_a_stale_copy(catalog):
    card = catalog["card"]
    _published_card(catalog)

    with pytest.raises(ValidationError, match="rate card is published"):
        services.rate_card_save(
            code="RETAIL",
            name="Renamed",
            kind="retail",
            currency="EUR",
            zone_table=catalog["table"],
            time_band_set=catalog["band_set"],
            rate_card=card,
        )

    stored = RateCard.objects.get()
    assert (stored.status, stored.name) == (Status.PUBLISHED, "Card RETAIL")


def test_card_with_rows_keeps_its_zone_table(catalog):
    card = catalog["card"]
    _row(card, destination_zones=[catalog["zones"]["NAT"]])
    other = _table("AT")
    card.zone_table = other  # as a model form would, before calling the service

    with pytest.raises(ValidationError) as refused:
        services.rate_card_save(
            code="RETAIL",
            name="Card",
            kind="retail",
            currency="EUR",
            zone_table=other,
            time_band_set=catalog["band_set"],
            rate_card=card,
        )

    assert list(refused.value.message_dict) == ["zone_table"]
    assert RateCard.objects.get().zone_table == catalog["table"]


def test_clone_makes_an_editable_draft_with_the_same_rows(catalog):
    zones, bands = catalog["zones"], catalog["bands"]
    _row(catalog["card"], destination_zones=[zones["NAT"]], roaming_zones=[zones["HOME"]],
         time_band=bands["PEAK"], connection_fee=Decimal("0.15"))  # fmt: skip
    _row(catalog["card"], service="DATA", unit="GB", price=Decimal("1.99"),
         increment_first=1000, increment_next=1000, roaming_zones=[zones["R_EU"]])  # fmt: skip
    card = services.rate_card_publish(rate_card=catalog["card"])

    clone = services.rate_card_clone(rate_card=card, code="RETAIL-2027")
    _row(clone, destination_zones=[zones["EU"]], price=Decimal("0.19"))

    def rows(of):
        return sorted(
            (
                row.service,
                sorted(z.code for z in row.destination_zones.all()),
                sorted(z.code for z in row.roaming_zones.all()),
                row.time_band_id,
                row.price,
                row.unit,
                row.increment_first,
                row.increment_next,
                row.connection_fee,
            )
            for row in of.rows.all()
        )

    assert clone.status == Status.DRAFT
    assert rows(clone) == sorted(
        [*rows(card), ("VOICE_OUT", ["EU"], [], None, Decimal("0.19"), "MINUTE", 60, 60, 0)]
    )
    assert card.rows.count() == 2
    assert clone.history.first().history_change_reason == "cloned from RETAIL"


def test_retire_only_from_published(catalog):
    with pytest.raises(ValidationError, match="only a published rate card can be retired"):
        services.rate_card_retire(rate_card=catalog["card"])
    card = _published_card(catalog)

    retired = services.rate_card_retire(rate_card=card)

    assert retired.status == Status.RETIRED
    with pytest.raises(ValidationError, match="only a published rate card can be retired"):
        services.rate_card_retire(rate_card=retired)
    with pytest.raises(ValidationError, match="rate card is retired"):
        services.rate_card_publish(rate_card=retired)


def test_host_network_tariff_needs_a_published_wholesale_card(catalog):
    network = services.host_network_save(
        code="HOSTNET", name="Host", plmn_codes=["26203"], country_code="49"
    )
    wholesale = _card(catalog["table"], code="HOSTNET-2026", kind="wholesale")
    _row(wholesale, roaming_zones=[catalog["zones"]["HOME"]], price=Decimal("0.004"))

    with pytest.raises(ValidationError, match="publish the wholesale card first"):
        services.host_network_tariff_set(
            host_network=network, rate_card=wholesale, effective_from=OCT_1
        )
    with pytest.raises(ValidationError, match="priced by a wholesale card"):
        services.host_network_tariff_set(
            host_network=network, rate_card=_published_card(catalog), effective_from=OCT_1
        )


# --- plans and versions (R24) ---------------------------------------------------------------


def test_versions_are_numbered_one_after_another(catalog):
    plan = _plan()

    first = _version(plan, catalog["card"])
    second = _version(plan, catalog["card"], effective_from=NOV_1)

    assert (first.version, second.version, first.status) == (1, 2, Status.DRAFT)


def test_draft_version_can_be_updated(catalog):
    version = _version(_plan(), catalog["card"])

    services.plan_version_update(version=version, data={"recurring_fee": Decimal("24.99")})

    assert PlanVersion.objects.get().recurring_fee == Decimal("24.99")


def test_published_version_update_is_refused(catalog):
    version = _version(_plan(), _published_card(catalog))
    services.plan_version_publish(version=version)

    # ``version`` is the caller's copy from before publishing: the database decides.
    with pytest.raises(ValidationError, match="plan version is published"):
        services.plan_version_update(version=version, data={"recurring_fee": Decimal("0")})

    stored = PlanVersion.objects.get()
    assert (stored.status, stored.recurring_fee) == (Status.PUBLISHED, Decimal("19.99"))


def test_version_needs_a_retail_card_in_the_plan_currency(catalog):
    plan = _plan()
    pounds = _card(catalog["table"], code="GBP", currency="GBP")
    wholesale = _card(catalog["table"], code="WHOLESALE", kind="wholesale")

    with pytest.raises(ValidationError) as refused:
        _version(plan, pounds)
    assert refused.value.message_dict == {"rate_card": ["the card is in GBP, the plan in EUR"]}
    with pytest.raises(ValidationError) as refused:
        _version(plan, wholesale)
    assert refused.value.message_dict == {"rate_card": ["a plan is priced by a retail rate card"]}


def test_publish_rechecks_a_card_changed_after_the_version_was_made(catalog):
    card = catalog["card"]
    version = _version(_plan(), card)
    services.rate_card_save(
        code="RETAIL",
        name="Card",
        kind="retail",
        currency="GBP",
        zone_table=catalog["table"],
        time_band_set=catalog["band_set"],
        rate_card=card,
    )
    _published_card(catalog)

    with pytest.raises(ValidationError) as refused:
        services.plan_version_publish(version=version)

    assert refused.value.message_dict == {"rate_card": ["the card is in GBP, the plan in EUR"]}


def test_publish_requires_a_published_rate_card(catalog):
    version = _version(_plan(), catalog["card"])

    with pytest.raises(ValidationError) as refused:
        services.plan_version_publish(version=version)

    assert refused.value.message_dict == {"rate_card": ["publish rate card RETAIL first"]}
    assert PlanVersion.objects.get().status == Status.DRAFT


@pytest.mark.parametrize(
    "effective_from", [NOV_1, NOV_1 - dt.timedelta(microseconds=1), OCT_1], ids=str
)
def test_publish_refuses_an_effective_date_not_after_the_latest_published(catalog, effective_from):
    card = _published_card(catalog)
    plan = _plan()
    services.plan_version_publish(version=_version(plan, card, effective_from=NOV_1))
    late = _version(plan, card, effective_from=effective_from)

    with pytest.raises(ValidationError) as refused:
        services.plan_version_publish(version=late)

    assert refused.value.message_dict == {
        "effective_from": [
            "v1 takes effect 2026-10-31 23:00 UTC; a new version takes effect after it"
        ]
    }


def test_publish_counts_retired_versions_as_published(catalog):
    card = _published_card(catalog)
    plan = _plan()
    first = services.plan_version_publish(version=_version(plan, card, effective_from=NOV_1))
    services.plan_version_retire(version=first)

    with pytest.raises(ValidationError, match="v1 takes effect"):
        services.plan_version_publish(version=_version(plan, card, effective_from=OCT_1))


def test_publish_accepts_a_later_effective_date(catalog):
    card = _published_card(catalog)
    plan = _plan()
    services.plan_version_publish(version=_version(plan, card, effective_from=OCT_1))

    second = services.plan_version_publish(version=_version(plan, card, effective_from=NOV_1))

    assert (second.version, second.status) == (2, Status.PUBLISHED)
    assert second.published_at is not None


def test_version_retires_only_from_published(catalog):
    version = _version(_plan(), _published_card(catalog))

    with pytest.raises(ValidationError, match="only a published version can be retired"):
        services.plan_version_retire(version=version)
    services.plan_version_publish(version=version)

    assert services.plan_version_retire(version=version).status == Status.RETIRED


def test_payment_model_and_currency_are_locked_once_a_version_is_published(catalog):
    plan = _plan()
    services.plan_version_publish(version=_version(plan, _published_card(catalog)))

    for payment_model, currency in (("prepaid", "EUR"), ("postpaid", "GBP")):
        with pytest.raises(ValidationError) as refused:
            services.plan_save(
                code=plan.code,
                name=plan.name,
                brand=plan.brand,
                payment_model=payment_model,
                currency=currency,
                plan=plan,
            )
        assert list(refused.value.message_dict) == ["payment_model"]


def test_payment_model_lock_reads_the_stored_plan_not_the_form_copy(catalog):
    plan = _plan()
    services.plan_version_publish(version=_version(plan, _published_card(catalog)))
    plan.payment_model = "prepaid"  # a model form sets the instance before the service runs

    with pytest.raises(ValidationError, match="payment model and currency stay"):
        services.plan_save(
            code=plan.code,
            name=plan.name,
            brand=plan.brand,
            payment_model="prepaid",
            currency="EUR",
            plan=plan,
        )


def test_published_plan_can_still_be_renamed(catalog):
    plan = _plan()
    services.plan_version_publish(version=_version(plan, _published_card(catalog)))

    services.plan_save(
        code=plan.code,
        name="Smart 10 (2026)",
        brand=plan.brand,
        payment_model="postpaid",
        currency="EUR",
        plan=plan,
    )

    assert plan.versions.get().plan.name == "Smart 10 (2026)"


def test_payment_model_can_change_while_only_drafts_exist(catalog):
    plan = _plan()
    _version(plan, catalog["card"])

    services.plan_save(
        code=plan.code,
        name=plan.name,
        brand=plan.brand,
        payment_model="prepaid",
        currency="EUR",
        plan=plan,
    )

    assert plan.payment_model == "prepaid"


# --- allowances and fair use (R11-R13) ------------------------------------------------------


def _allowance(owner, allowance=None, **fields):
    data = {"name": "Data 10 GB", "services": ["DATA"], "quantity": 10, "unit": "GB"}
    data.update(fields)
    return services.allowance_save(owner=owner, data=data, allowance=allowance)


def _policy(version, policy=None, **fields):
    data = {
        "name": "Fair use 30 GB",
        "services": ["DATA"],
        "cap_quantity": 30,
        "cap_unit": "GB",
        "action": FairUseAction.OVERAGE,
        "overage_price": Decimal("2.00"),
        "overage_unit": "GB",
    }
    data.update(fields)
    return services.fair_use_policy_save(version=version, data=data, policy=policy)


def test_allowance_is_added_to_a_draft_version(catalog):
    version = _version(_plan(), catalog["card"])

    allowance = _allowance(
        version,
        name="Voice 100 min",
        services=["VOICE_OUT", "VOICE_OUT"],
        quantity=100,
        unit="MINUTE",
        destination_zones=[catalog["zones"]["NAT"]],
        roaming_zones=[catalog["zones"]["HOME"]],
    )

    assert (allowance.services, allowance.quantity_base) == (["VOICE_OUT"], 6000)
    assert [z.code for z in allowance.destination_zones.all()] == ["NAT"]


def test_allowance_on_a_published_version_is_refused(catalog):
    version = _version(_plan(), _published_card(catalog))
    services.plan_version_publish(version=version)

    with pytest.raises(ValidationError, match="plan version is published"):
        _allowance(version)

    assert not version.allowances.exists()


def test_allowance_of_a_published_version_cannot_be_deleted(catalog):
    version = _version(_plan(), _published_card(catalog))
    allowance = _allowance(version)
    services.plan_version_publish(version=version)

    with pytest.raises(ValidationError, match="plan version is published"):
        services.allowance_delete(allowance=allowance)

    assert version.allowances.count() == 1


def test_allowance_of_another_version_cannot_be_changed_through_a_draft(catalog):
    card = _published_card(catalog)
    plan = _plan()
    published = _version(plan, card)
    allowance = _allowance(published)
    services.plan_version_publish(version=published)
    draft = _version(plan, card, effective_from=NOV_1)

    with pytest.raises(ValidationError, match="belongs to another plan version"):
        _allowance(draft, quantity=99, allowance=allowance)

    allowance.refresh_from_db()
    assert allowance.quantity == 10


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"services": ["VOICE_OUT"], "unit": "GB"}, {"unit": ["GB is not a unit of VOICE_OUT"]}),
        (
            {"services": ["VOICE_OUT", "SMS_OUT"], "unit": "MINUTE"},
            {"unit": ["MINUTE is not a unit of SMS_OUT"]},
        ),
        ({"services": []}, {"services": ["one or more of " + ", ".join(
            ["VOICE_OUT", "VOICE_IN", "SMS_OUT", "SMS_IN", "DATA", "EVENT"])]}),
        ({"services": ["FAX"]}, {"services": ["one or more of " + ", ".join(
            ["VOICE_OUT", "VOICE_IN", "SMS_OUT", "SMS_IN", "DATA", "EVENT"])]}),
    ],
    ids=["unit", "mixed-units", "no-service", "unknown-service"],
)  # fmt: skip
def test_allowance_services_and_unit_are_checked(catalog, fields, errors):
    version = _version(_plan(), catalog["card"])

    with pytest.raises(ValidationError) as refused:
        _allowance(version, **fields)

    assert refused.value.message_dict == errors


def test_allowance_zones_must_belong_to_the_card_table(catalog):
    version = _version(_plan(), catalog["card"])
    foreign = _zone(_table("AT"), "EU", ["208"], zone_type=ZoneType.ROAMING)

    with pytest.raises(ValidationError) as refused:
        _allowance(version, roaming_zones=[foreign])
    assert refused.value.message_dict == {"roaming_zones": ["EU is not a roaming zone of DE"]}
    with pytest.raises(ValidationError) as refused:
        _allowance(version, roaming_zones=[catalog["zones"]["NAT"]])
    assert refused.value.message_dict == {"roaming_zones": ["NAT is not a roaming zone of DE"]}


def test_data_allowance_with_a_destination_zone_is_refused(catalog):
    version = _version(_plan(), catalog["card"])

    with pytest.raises(ValidationError) as refused:
        _allowance(version, destination_zones=[catalog["zones"]["NAT"]])

    assert refused.value.message_dict == {
        "destination_zones": ["data has no destination zone (R7a)"]
    }


def test_version_with_allowances_keeps_its_zone_table(catalog):
    version = _version(_plan(), catalog["card"])
    _allowance(version, roaming_zones=[catalog["zones"]["HOME"]])
    other = _card(_table("AT"), code="AT")

    with pytest.raises(ValidationError) as refused:
        services.plan_version_update(version=version, data={"rate_card": other})

    assert list(refused.value.message_dict) == ["rate_card"]
    assert PlanVersion.objects.get().rate_card == catalog["card"]


def test_overage_policy_needs_a_price(catalog):
    version = _version(_plan(), catalog["card"])

    with pytest.raises(ValidationError) as refused:
        _policy(version, overage_price=None)

    assert refused.value.message_dict == {"overage_price": ["an overage policy names a price ≥ 0"]}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"cap_unit": "MINUTE"}, {"cap_unit": ["MINUTE is not a unit of DATA"]}),
        ({"overage_unit": "MESSAGE"}, {"overage_unit": ["MESSAGE is not a unit of DATA"]}),
        ({"overage_unit": ""}, {"overage_unit": ["no unit is not a unit of DATA"]}),
    ],
    ids=["cap-unit", "overage-unit", "no-overage-unit"],
)
def test_policy_units_are_checked_on_their_own_fields(catalog, fields, errors):
    version = _version(_plan(), catalog["card"])

    with pytest.raises(ValidationError) as refused:
        _policy(version, **fields)

    assert refused.value.message_dict == errors


def test_throttling_policy_keeps_no_overage_price(catalog):
    version = _version(_plan(), catalog["card"])

    policy = _policy(version, action=FairUseAction.THROTTLE)

    assert (policy.overage_price, policy.overage_unit, policy.cap_base) == (
        None,
        "",
        30_000_000_000,
    )


def test_policy_on_a_published_version_is_refused(catalog):
    version = _version(_plan(), _published_card(catalog))
    policy = _policy(version)
    services.plan_version_publish(version=version)

    with pytest.raises(ValidationError, match="plan version is published"):
        _policy(version, policy=policy, cap_quantity=50)
    with pytest.raises(ValidationError, match="plan version is published"):
        services.fair_use_policy_delete(policy=policy)

    policy.refresh_from_db()
    assert policy.cap_quantity == 30


def test_clone_copies_allowances_and_policies_into_the_next_draft(catalog, operator):
    zones = catalog["zones"]
    version = _version(_plan(), _published_card(catalog))
    _allowance(version, roaming_zones=[zones["HOME"], zones["R_EU"]], shared=True)
    _allowance(version, name="Voice", services=["VOICE_OUT"], quantity=100, unit="MINUTE",
               destination_zones=[zones["NAT"]])  # fmt: skip
    _policy(version, roaming_zones=[zones["HOME"]])
    services.plan_version_publish(version=version)

    clone = services.plan_version_clone(version=version, effective_from=NOV_1, acting_user=operator)

    def allowances(of):
        return [
            (a.name, a.services, a.quantity, a.unit, a.shared,
             sorted(z.code for z in a.destination_zones.all()),
             sorted(z.code for z in a.roaming_zones.all()))
            for a in of.allowances.all()
        ]  # fmt: skip

    def policies(of):
        return [
            (p.name, p.services, p.cap_quantity, p.cap_unit, p.action, p.overage_price,
             p.overage_unit, sorted(z.code for z in p.roaming_zones.all()))
            for p in of.fair_use_policies.all()
        ]  # fmt: skip

    assert (clone.version, clone.status, clone.effective_from) == (2, Status.DRAFT, NOV_1)
    assert clone.recurring_fee == Decimal("19.99")
    assert allowances(clone) == allowances(version)
    assert len(allowances(clone)) == 2
    assert (
        policies(clone)
        == policies(version)
        == [("Fair use 30 GB", ["DATA"], 30, "GB", "overage", Decimal("2"), "GB", ["HOME"])]
    )
    created = clone.history.earliest()
    assert (created.history_user, created.history_change_reason) == (operator, "cloned from v1")
    _allowance(clone, name="Extra", quantity=1)  # the clone is an editable draft


# --- add-ons and promotions (R11, R35) ------------------------------------------------------


def _add_on(**fields):
    data = {
        "code": "DATA-5GB",
        "name": "Data 5 GB",
        "kind": "one_off",
        "price": Decimal("5.00"),
        "validity_days": 30,
    }
    data.update(fields)
    return services.add_on_save(data=data)


def _promotion(**fields):
    data = {
        "code": "WELCOME",
        "name": "Welcome",
        "discount_type": "percent",
        "value": Decimal("50"),
        "periods": 3,
    }
    data.update(fields)
    return services.promotion_save(data=data)


def test_add_on_publish_and_retire_lifecycle():
    add_on = _add_on()

    with pytest.raises(ValidationError, match="only a published add-on can be retired"):
        services.add_on_retire(add_on=add_on)
    published = services.add_on_publish(add_on=add_on)
    with pytest.raises(ValidationError, match="add-on is published"):
        services.add_on_publish(add_on=published)
    retired = services.add_on_retire(add_on=published)

    assert (published.status, retired.status) == (Status.PUBLISHED, Status.RETIRED)
    assert [r.history_change_reason for r in AddOn.history.order_by("history_id")] == [
        None,
        "published",
        "retired",
    ]


def test_add_on_that_grants_nothing_and_costs_nothing_is_not_published():
    add_on = _add_on(price=Decimal("0"))

    with pytest.raises(ValidationError, match="grants an allowance or costs something"):
        services.add_on_publish(add_on=add_on)


def test_free_add_on_with_an_allowance_is_published(catalog):
    add_on = _add_on(price=Decimal("0"), zone_table=catalog["table"])
    _allowance(add_on, roaming_zones=[catalog["zones"]["HOME"]])

    assert services.add_on_publish(add_on=add_on).status == Status.PUBLISHED


def test_published_add_on_cannot_be_changed():
    add_on = _add_on()
    services.add_on_publish(add_on=add_on)

    with pytest.raises(ValidationError, match="add-on is published"):
        services.add_on_save(data={"price": Decimal("1.00")}, add_on=add_on)
    with pytest.raises(ValidationError, match="add-on is published"):
        _allowance(add_on)

    assert AddOn.objects.get().price == Decimal("5.00")


def test_add_on_allowance_zones_need_the_add_on_zone_table(catalog):
    add_on = _add_on()

    with pytest.raises(ValidationError) as refused:
        _allowance(add_on, roaming_zones=[catalog["zones"]["HOME"]])

    assert refused.value.message_dict == {
        "roaming_zones": ["HOME is not a roaming zone of no zone table"]
    }


def test_add_on_with_zoned_allowances_keeps_its_zone_table(catalog):
    add_on = _add_on(zone_table=catalog["table"])
    _allowance(add_on, roaming_zones=[catalog["zones"]["HOME"]])

    with pytest.raises(ValidationError) as refused:
        services.add_on_save(data={"zone_table": _table("AT")}, add_on=add_on)

    assert list(refused.value.message_dict) == ["zone_table"]


def test_add_on_clone_copies_its_allowances_into_a_draft(catalog):
    plan = _plan()
    add_on = _add_on(zone_table=catalog["table"], eligible_plans=[plan])
    _allowance(add_on, roaming_zones=[catalog["zones"]["HOME"]])
    services.add_on_publish(add_on=add_on)

    clone = services.add_on_clone(add_on=add_on, code="DATA-5GB-2027")

    assert (clone.status, clone.price, list(clone.eligible_plans.all())) == (
        Status.DRAFT,
        Decimal("5.00"),
        [plan],
    )
    copied = clone.allowances.get()
    assert (copied.quantity, [z.code for z in copied.roaming_zones.all()]) == (10, ["HOME"])


def test_promotion_percentage_above_100_is_refused():
    with pytest.raises(ValidationError) as refused:
        _promotion(value=Decimal("100.01"))

    assert refused.value.message_dict == {"value": ["a percentage is at most 100"]}


def test_promotion_percentage_above_100_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        Promotion.objects.create(
            code="TOO-MUCH", name="Too much", discount_type="percent", value=101, periods=1
        )


def test_fixed_promotion_may_exceed_100():
    promotion = _promotion(discount_type="fixed", value=Decimal("120.00"))

    assert promotion.value == Decimal("120.00")


def test_promotion_lasts_at_least_one_period():
    with pytest.raises(ValidationError) as refused:
        _promotion(periods=0)

    assert refused.value.message_dict == {"periods": ["a promotion lasts at least one period"]}


def test_promotion_availability_ends_after_it_starts():
    with pytest.raises(ValidationError) as refused:
        _promotion(available_from=NOV_1, available_until=OCT_1)

    assert refused.value.message_dict == {"available_until": ["ends after it starts"]}


def test_promotion_needs_an_eligible_plan_to_publish():
    promotion = _promotion()

    with pytest.raises(ValidationError) as refused:
        services.promotion_publish(promotion=promotion)

    assert refused.value.message_dict == {"eligible_plans": ["name at least one plan"]}


def test_promotion_publish_and_retire_lifecycle():
    promotion = _promotion(eligible_plans=[_plan()])

    published = services.promotion_publish(promotion=promotion)
    with pytest.raises(ValidationError, match="promotion is published"):
        services.promotion_save(data={"value": Decimal("10")}, promotion=promotion)
    retired = services.promotion_retire(promotion=published)

    assert (published.status, retired.status) == (Status.PUBLISHED, Status.RETIRED)
    assert Promotion.objects.get().value == Decimal("50")
    with pytest.raises(ValidationError, match="only a published promotion can be retired"):
        services.promotion_retire(promotion=retired)


# --- tax (R4) -------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [Decimal("1"), Decimal("1.19"), Decimal("-0.01")])
def test_tax_rate_must_be_a_fraction_from_zero_to_below_one(rate):
    region = services.tax_region_save(code="DE", name="Germany")
    category = services.tax_category_save(code="TELECOM", name="Telecom")

    with pytest.raises(ValidationError) as refused:
        services.tax_rate_set(
            region=region, category=category, rate=rate, valid_from=dt.date(2026, 1, 1)
        )

    assert list(refused.value.message_dict) == ["rate"]
    assert not TaxRate.objects.exists()


def test_tax_rate_set_twice_for_a_date_replaces_the_rate():
    region = services.tax_region_save(code="DE", name="Germany")
    category = services.tax_category_save(code="TELECOM", name="Telecom")
    day = dt.date(2026, 1, 1)

    services.tax_rate_set(region=region, category=category, rate=Decimal("0"), valid_from=day)
    services.tax_rate_set(region=region, category=category, rate=Decimal("0.19"), valid_from=day)

    assert list(TaxRate.objects.values_list("rate", flat=True)) == [Decimal("0.19")]


# --- audit trail ----------------------------------------------------------------------------


def test_plan_version_publish_records_the_user_and_the_reason(catalog, operator):
    version = _version(_plan(), _published_card(catalog))

    services.plan_version_publish(version=version, acting_user=operator)

    record = version.history.latest()
    assert (record.status, record.history_user, record.history_change_reason) == (
        Status.PUBLISHED,
        operator,
        "published",
    )
    assert version.history.count() == 2


def test_rate_row_change_records_the_user(catalog, operator):
    row = services.rate_row_save(
        rate_card=catalog["card"],
        data={"service": "VOICE_OUT", "price": Decimal("0.09"), "unit": "MINUTE"},
        acting_user=operator,
    )

    record = row.history.latest()
    assert (record.history_type, record.history_user, record.price) == (
        "+",
        operator,
        Decimal("0.09"),
    )


def test_change_without_a_user_records_none():
    brand = _brand()

    assert brand.history.get().history_user is None


def test_a_data_rate_rounds_to_one_kilobyte_unless_it_says_otherwise(golden_draft_catalog):
    card = golden_draft_catalog.retail_card
    row = services.rate_row_save(
        rate_card=card,
        data={"service": "DATA", "price": Decimal("2.00"), "unit": "GB",
              "roaming_zones": golden_draft_catalog.roaming("WORLD2")},
    )  # fmt: skip
    assert (row.increment_first, row.increment_next) == (1000, 1000)  # R9


def test_a_cloned_zone_table_answers_alike_and_can_be_corrected(golden_catalog):
    from catalog.lookup import ZoneIndex

    clone = services.zone_table_clone(table=golden_catalog.zone_table, code="DE-2027")
    original, copy = ZoneIndex.from_table(golden_catalog.zone_table), ZoneIndex.from_table(clone)
    for number in ("4917012345678", "498001234567", "12125550100", "33612345678"):
        assert copy.destination(number) == original.destination(number)
    assert copy.roaming("44010", {"26203"}) == "WORLD2"
    free = clone.zones.get(zone_type="destination", code="FREE")
    services.zone_save(table=clone, zone_type="destination", code="FREE", zone=free,
                       members=["49800", "49801"])  # fmt: skip
    assert ZoneIndex.from_table(clone).destination("498011234") == "FREE"
    assert ZoneIndex.from_table(golden_catalog.zone_table).destination("498011234") == "NAT_FIXED"
