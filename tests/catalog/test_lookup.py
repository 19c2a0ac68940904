"""The in-memory indexes answer zones (R7a), bands (R8) and rates (R7) as the rules say."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from catalog import services
from catalog.lookup import BandIndex, RateIndex, ZoneIndex
from catalog.models import ZoneKind, ZoneType
from tests.catalog.factories import TimeBandFactory, TimeBandSetFactory, TimeBandWindowFactory

BERLIN = "Europe/Berlin"
WEEKDAYS = [1, 2, 3, 4, 5]
MONDAY = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday, 00:00 UTC


def _table(code="DE"):
    return services.zone_table_save(code=code, name=f"Numbering plan {code}")


def _zone(table, code, members=(), zone_type=ZoneType.DESTINATION, kind=ZoneKind.LISTED):
    return services.zone_save(
        table=table, zone_type=zone_type, code=code, kind=kind, members=list(members)
    )


def _peak_bands():
    return services.time_band_set_save(
        code="DE_PEAK",
        name="Peak weekdays 08-20",
        timezone_name=BERLIN,
        bands=[
            {
                "code": "PEAK",
                "windows": [{"days": WEEKDAYS, "start_time": dt.time(8), "end_time": dt.time(20)}],
            },
            {"code": "OFFPEAK", "is_rest": True},
        ],
    )


# --- zones (R7a) --------------------------------------------------------------------------------


@pytest.fixture
def zones(db):
    """A German numbering plan with nested prefixes, networks and special zones."""
    table = _table()
    _zone(table, "NAT_FIXED", ["49"])
    _zone(table, "NAT_MOBILE", ["4915", "4916", "4917"])
    _zone(table, "PREMIUM", ["49900"])
    _zone(table, "EU", ["33", "34"])
    _zone(table, "INCOMING", kind=ZoneKind.INCOMING)
    _zone(table, "HOME", zone_type=ZoneType.ROAMING, kind=ZoneKind.HOME)
    _zone(table, "R_EU", ["262", "208"], zone_type=ZoneType.ROAMING)
    _zone(table, "R_SPECIAL", ["26207", "208150"], zone_type=ZoneType.ROAMING)
    return table


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("4930123456", "NAT_FIXED"),
        ("4915112345678", "NAT_MOBILE"),
        ("49900123456", "PREMIUM"),
        ("4990", "NAT_FIXED"),  # shorter than the premium prefix
        ("49", "NAT_FIXED"),
        ("33612345678", "EU"),
    ],
)
def test_longest_prefix_wins(zones, number, zone):
    assert ZoneIndex.from_table(zones).destination(number) == zone


def test_number_in_no_zone_falls_in_the_rest_zone(zones):
    _zone(zones, "WORLD", kind=ZoneKind.REST)

    assert ZoneIndex.from_table(zones).destination("12125550100") == "WORLD"


def test_number_in_no_zone_without_a_rest_zone_is_none(zones):
    index = ZoneIndex.from_table(zones)

    assert index.destination("12125550100") is None
    assert index.destination("") is None


def test_incoming_zone_is_known_by_the_index(zones):
    assert ZoneIndex.from_table(zones).incoming == "INCOMING"


def test_home_is_decided_by_the_sending_host_network(zones):
    index = ZoneIndex.from_table(zones)
    hostnet, othernet = {"26203"}, {"26201", "26202"}

    # The same visited network is home for one source's SIMs and roaming for another's.
    assert index.roaming("26203", hostnet) == "HOME"
    assert index.roaming("26203", othernet) == "R_EU"
    assert index.roaming("26201", othernet) == "HOME"


def test_mcc_and_mnc_beat_the_mcc(zones):
    index = ZoneIndex.from_table(zones)

    assert index.roaming("26207", {"26203"}) == "R_SPECIAL"
    assert index.roaming("26208", {"26203"}) == "R_EU"
    assert index.roaming("208150", {"26203"}) == "R_SPECIAL"  # a three-digit MNC
    assert index.roaming("20815", {"26203"}) == "R_EU"


def test_network_in_no_zone_falls_in_the_roaming_rest_zone(zones):
    assert ZoneIndex.from_table(zones).roaming("44010", {"26203"}) is None

    _zone(zones, "WORLD2", zone_type=ZoneType.ROAMING, kind=ZoneKind.REST)

    assert ZoneIndex.from_table(zones).roaming("44010", {"26203"}) == "WORLD2"


def _longest_prefix(prefixes: dict[str, str], number: str, rest: str | None) -> str | None:
    matches = [prefix for prefix in prefixes if number.startswith(prefix)]
    return prefixes[max(matches, key=len)] if matches else rest


prefix_tables = st.dictionaries(
    keys=st.text(alphabet="0123", min_size=1, max_size=5),
    values=st.sampled_from(["A", "B", "C", "D"]),
    max_size=25,
)
numbers = st.text(alphabet="01234", max_size=9)


@given(
    prefixes=prefix_tables,
    rest=st.none() | st.just("REST"),
    probes=st.lists(numbers, max_size=20),
)
def test_destination_is_the_longest_matching_prefix(prefixes, rest, probes):
    index = ZoneIndex(code="T", prefixes=prefixes, networks={}, destination_rest=rest)

    # Every listed prefix (and every extension of it) is a probe too, so matches are common.
    for number in [*probes, *prefixes, *(prefix + "0" for prefix in prefixes)]:
        assert index.destination(number) == _longest_prefix(prefixes, number, rest)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(prefixes=prefix_tables, probes=st.lists(numbers, max_size=20))
def test_zone_table_built_through_the_services_finds_the_longest_prefix(db, prefixes, probes):
    by_zone: dict[str, list[str]] = {}
    for prefix, zone in prefixes.items():
        by_zone.setdefault(zone, []).append(prefix)
    with transaction.atomic():
        table = _table("PROPERTY")
        for zone, members in sorted(by_zone.items()):
            _zone(table, zone, members)
        index = ZoneIndex.from_table(table)
        transaction.set_rollback(True)

    for number in [*probes, *prefixes]:
        assert index.destination(number) == _longest_prefix(prefixes, number, None)


# --- time bands (R8) ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("instant", "band"),
    [
        # Friday 23 October 2026, CEST (UTC+2): 06:30 UTC is 08:30 Berlin.
        (dt.datetime(2026, 10, 23, 6, 30, tzinfo=dt.UTC), "PEAK"),
        (dt.datetime(2026, 10, 23, 7, 30, tzinfo=dt.UTC), "PEAK"),  # 09:30 Berlin
        (dt.datetime(2026, 10, 23, 17, 59, tzinfo=dt.UTC), "PEAK"),  # 19:59 Berlin
        (dt.datetime(2026, 10, 23, 18, 0, tzinfo=dt.UTC), "OFFPEAK"),  # 20:00 Berlin
        # Monday 26 October 2026, after the change to CET (UTC+1) on the 25th.
        (dt.datetime(2026, 10, 26, 6, 30, tzinfo=dt.UTC), "OFFPEAK"),  # 07:30 Berlin
        (dt.datetime(2026, 10, 26, 7, 0, tzinfo=dt.UTC), "PEAK"),  # 08:00 Berlin
        (dt.datetime(2026, 10, 26, 7, 30, tzinfo=dt.UTC), "PEAK"),  # 08:30 Berlin
        (dt.datetime(2026, 10, 26, 18, 59, tzinfo=dt.UTC), "PEAK"),  # 19:59 Berlin
        (dt.datetime(2026, 10, 26, 19, 0, tzinfo=dt.UTC), "OFFPEAK"),  # 20:00 Berlin
        # Sunday 25 October, the hour 02:00-03:00 Berlin happens twice: a weekend either way.
        (dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC), "OFFPEAK"),
        (dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC), "OFFPEAK"),
        # Sunday 22:59 UTC is already Monday 00:59 in Berlin in summer, still off-peak.
        (dt.datetime(2026, 10, 18, 22, 59, tzinfo=dt.UTC), "OFFPEAK"),
    ],
    ids=str,
)
def test_band_is_decided_by_local_time_across_the_daylight_saving_change(instant, band):
    assert BandIndex.from_set(_peak_bands()).band_at(instant, BERLIN) == band


@pytest.mark.django_db
def test_band_follows_the_account_timezone_over_the_set_timezone():
    bands = BandIndex.from_set(_peak_bands())
    late = dt.datetime(2026, 10, 26, 23, 30, tzinfo=dt.UTC)  # Tuesday 00:30 Berlin, 08:30 Tokyo

    assert bands.band_at(late) == "OFFPEAK"
    assert bands.band_at(late, "Asia/Tokyo") == "PEAK"


@pytest.mark.django_db
def test_band_index_refuses_a_set_that_leaves_minutes_uncovered():
    band_set = TimeBandSetFactory(code="BROKEN")
    TimeBandWindowFactory(band=TimeBandFactory(band_set=band_set, code="PEAK"))

    with pytest.raises(ValueError, match="band set BROKEN leaves minutes uncovered"):
        BandIndex.from_set(band_set)


def _expected_bands(layout) -> list[str] | None:
    """Brute force: the band of every minute of the week, or None if the layout is invalid."""
    if any(not band["windows"] and not band["is_rest"] for band in layout):
        return None
    rest = [band["code"] for band in layout if band["is_rest"]]
    week = []
    for day in range(1, 8):
        for minute in range(1440):
            covering = [
                band["code"]
                for band in layout
                for window in band["windows"]
                if day in window["days"] and window["start"] <= minute < (window["end"] or 1440)
            ]
            if len(covering) > 1 or (not covering and not rest):
                return None
            week.append(covering[0] if covering else rest[0])
    return week


half_hours = st.integers(min_value=0, max_value=47).map(lambda n: n * 30)
day_sets = st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True).map(sorted)


@st.composite
def random_windows(draw):
    start = draw(half_hours)
    end = draw(st.integers(min_value=start // 30 + 1, max_value=48)) * 30
    return {"days": draw(day_sets), "start": start, "end": end % 1440}


@st.composite
def band_layouts(draw):
    """A few bands; half the time a partition of the day that tends to pass validation."""
    count = draw(st.integers(1, 3))
    codes = [f"B{n}" for n in range(count)]
    layout = [{"code": code, "is_rest": False, "windows": []} for code in codes]
    if draw(st.booleans()):
        cuts = sorted(set(draw(st.lists(half_hours, max_size=4))) - {0})
        bounds = list(zip([0, *cuts], [*cuts, 1440], strict=True))
        for days in ([1, 2, 3, 4, 5], [6, 7]):
            for start, end in bounds:
                band = draw(st.sampled_from([*layout, None]))  # None leaves a gap
                if band is not None:
                    band["windows"].append({"days": days, "start": start, "end": end % 1440})
    else:
        for band in layout:
            band["windows"] = draw(st.lists(random_windows(), max_size=3))
    rest = draw(st.sampled_from([None, *codes]))
    for band in layout:
        band["is_rest"] = band["code"] == rest
    return layout


def _as_bands(layout):
    def time_of(minute):
        return dt.time(minute // 60, minute % 60)

    return [
        {
            "code": band["code"],
            "is_rest": band["is_rest"],
            "windows": [
                {
                    "days": window["days"],
                    "start_time": time_of(window["start"]),
                    "end_time": time_of(window["end"]),
                }
                for window in band["windows"]
            ],
        }
        for band in layout
    ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(layout=band_layouts())
def test_every_minute_of_an_accepted_band_set_has_exactly_one_band(db, layout):
    expected = _expected_bands(layout)
    with transaction.atomic():
        try:
            band_set = services.time_band_set_save(
                code="PROPERTY", name="Property", timezone_name="UTC", bands=_as_bands(layout)
            )
        except ValidationError:
            band_set = None
        index = BandIndex.from_set(band_set) if band_set is not None else None
        transaction.set_rollback(True)

    event("accepted" if index is not None else "refused")
    # The service accepts exactly the layouts that give every minute one band (R8) ...
    assert (index is not None) == (expected is not None)
    if index is not None:
        # ... and the index then tells that band for every minute of the week.
        week = [index.band_at(MONDAY + dt.timedelta(minutes=m)) for m in range(7 * 1440)]
        assert week == expected


# --- rates (R7) -----------------------------------------------------------------------------


@pytest.fixture
def card(zones):
    band_set = _peak_bands()
    peak = band_set.bands.get(code="PEAK")
    card = services.rate_card_save(
        code="RETAIL",
        name="Retail",
        kind="retail",
        currency="EUR",
        zone_table=zones,
        time_band_set=band_set,
    )
    zone = {z.code: z for z in zones.zones.all()}

    def row(price, **fields):
        data = {"service": "VOICE_OUT", "price": Decimal(price), "unit": "MINUTE"}
        data.update(fields)
        services.rate_row_save(rate_card=card, data=data)

    row("1.49")  # anything else
    row("0.19", destination_zones=[zone["EU"]])
    row("0.09", destination_zones=[zone["NAT_FIXED"], zone["NAT_MOBILE"]],
        roaming_zones=[zone["HOME"]])  # fmt: skip
    row("0.05", destination_zones=[zone["NAT_FIXED"], zone["NAT_MOBILE"]],
        roaming_zones=[zone["HOME"]], time_band=peak)  # fmt: skip
    row("0.02", service="SMS_OUT", unit="MESSAGE", roaming_zones=[zone["HOME"]])
    return services.rate_card_publish(rate_card=card)


@pytest.mark.parametrize(
    ("case", "price"),
    [
        (("VOICE_OUT", "NAT_MOBILE", "HOME", "PEAK"), "0.05000000"),
        (("VOICE_OUT", "NAT_MOBILE", "HOME", "OFFPEAK"), "0.09000000"),
        (("VOICE_OUT", "NAT_FIXED", "R_EU", "PEAK"), "1.49000000"),
        (("VOICE_OUT", "EU", "HOME", "PEAK"), "0.19000000"),
        (("VOICE_OUT", "PREMIUM", "HOME", "OFFPEAK"), "1.49000000"),
        (("SMS_OUT", "EU", "HOME", None), "0.02000000"),
    ],
    ids=str,
)
def test_most_specific_row_wins(card, case, price):
    row = RateIndex.from_card(card).match(*case)

    assert str(row.price) == price


def test_event_with_no_matching_row_has_no_rate(card):
    index = RateIndex.from_card(card)

    assert index.match("SMS_OUT", "EU", "R_EU", None) is None
    assert index.match("DATA", None, "HOME", None) is None


def test_rate_index_carries_the_card_and_its_rows(card):
    index = RateIndex.from_card(card)

    assert (index.code, index.kind, index.currency, index.zone_table) == (
        "RETAIL",
        "retail",
        "EUR",
        "DE",
    )
    assert (index.time_band_set, index.uses_bands, len(index.rows)) == ("DE_PEAK", True, 5)
    sms = index.match("SMS_OUT", "EU", "HOME", None)
    assert (sms.counted, sms.unit_size, sms.specificity) == (True, 1, 1)
