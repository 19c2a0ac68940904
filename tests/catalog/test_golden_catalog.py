"""The scenario's catalogue builds through the services and prices what the scenario says."""

import datetime as dt

import pytest

from catalog.lookup import BandIndex, RateIndex, ZoneIndex
from catalog.selectors import host_network_tariff_at, plan_version_at

pytestmark = pytest.mark.django_db


def test_golden_catalog_publishes_and_looks_up(golden_catalog):
    zones = ZoneIndex.from_table(golden_catalog.zone_table)
    bands = BandIndex.from_set(golden_catalog.band_set)
    retail = RateIndex.from_card(golden_catalog.retail_card)
    home = set(golden_catalog.host_network.plmn_codes)
    # A15: MOC roaming in Japan (44010) is WORLD2, which has no rate (R7).
    assert zones.roaming("44010", home) == "WORLD2"
    assert retail.match("VOICE_OUT", "NAT_FIXED", "WORLD2", "PEAK") is None
    # A3: a call to the US at 21:30 Berlin is WORLD, off-peak, 0.99 with a 0.15 connection fee.
    a3_start = dt.datetime(2026, 10, 7, 19, 30, tzinfo=dt.UTC)
    band = bands.band_at(a3_start, "Europe/Berlin")
    row = retail.match("VOICE_OUT", zones.destination("12125550100"), "HOME", band)
    assert (band, str(row.price), str(row.connection_fee)) == ("OFFPEAK", "0.99000000", "0.150000")
    version = plan_version_at(plan=golden_catalog.plan, instant=a3_start)
    assert version == golden_catalog.version
    tariff = host_network_tariff_at(host_network=golden_catalog.host_network, instant=a3_start)
    assert tariff.rate_card == golden_catalog.wholesale_card
