"""The rated totals of a benchmark-like file stay what they were before the rating core and
the usage store were made faster (issue 14): same events, amounts, draws and fair-use counts.

The figures below were taken from the code as it was before that work (commit 0c6456f), on
the benchmark's own generator and world (benchmarks.rating): a file rated whole and the same
file split into two parts rated one after the other must both give them (R2, R11, R13, R14).
"""

from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.rating import load_world, write_file
from charging.models import FairUseCount, FileOrigin, PartStatus, UsageEvent
from charging.partitions import usage_file_part_process, usage_file_split
from charging.services import usage_file_process, usage_file_receive
from subscribers.models import BucketMovement

pytestmark = pytest.mark.django_db

RECORDS, SUBSCRIPTIONS = 3_000, 100


def rated_totals(usage_file) -> dict:
    """Counts and sums of a file's events and draws; amounts summed as Decimals (any database)."""
    totals = {
        "events": 0, "units": 0, "charged": 0, "covered": 0, "fair_use": 0,
        "wholesale_units": 0, "by_status": {}, "by_zone": {},
    }  # fmt: skip
    retail = wholesale = Decimal(0)
    zones: dict = {}
    for row in UsageEvent.objects.filter(usage_file=usage_file).values_list(
        "units", "charged_units", "covered_units", "fair_use_units", "wholesale_units",
        "rating_status", "destination_zone", "roaming_zone", "time_band", "retail_amount",
        "wholesale_amount",
    ):  # fmt: skip
        units, charged, covered, fair_use, wholesale_units, status, *zone, amount, cost = row
        totals["events"] += 1
        totals["units"] += units
        totals["charged"] += charged
        totals["covered"] += covered
        totals["fair_use"] += fair_use
        totals["wholesale_units"] += wholesale_units
        totals["by_status"][status] = totals["by_status"].get(status, 0) + 1
        retail += amount or 0
        wholesale += cost or 0
        key = "/".join(zone)
        count, total = zones.get(key, (0, Decimal(0)))
        zones[key] = (count + 1, total + (amount or 0))
    places = Decimal("0.000001")
    totals["by_zone"] = {key: (n, str(total.quantize(places))) for key, (n, total) in zones.items()}
    totals["retail"] = str(retail.quantize(places))
    totals["wholesale"] = str(wholesale.quantize(places))
    draws = BucketMovement.objects.filter(usage_event_id__isnull=False)
    totals["drawn"] = -sum(draws.values_list("quantity", flat=True))
    totals["draws"] = draws.count()
    totals["fair_use_counted"] = sum(FairUseCount.objects.values_list("quantity", flat=True))
    return totals


@pytest.fixture
def benchmark_file(tmp_path) -> Path:
    load_world(SUBSCRIPTIONS)
    path = tmp_path / "CDR_HOSTNET_20261101000500_000001.csv"
    write_file(path, records=RECORDS, subscriptions=SUBSCRIPTIONS)
    return path


def _receive(path: Path):
    with path.open("rb") as content:
        return usage_file_receive(name=path.name, content=content, origin=FileOrigin.BENCHMARK)


# fmt: off
PINNED = {'by_status': {'error': 152, 'rated': 2848},
     'by_zone': {'/EU/OFFPEAK': (43, '0.000000'),
                 '/EU/PEAK': (15, '0.000000'),
                 '/HOME/OFFPEAK': (305, '0.000000'),
                 '/HOME/PEAK': (175, '0.000000'),
                 '/WORLD1/OFFPEAK': (38, '36.877287'),
                 '/WORLD1/PEAK': (17, '16.235216'),
                 'EU/EU/OFFPEAK': (18, '0.000000'),
                 'EU/EU/PEAK': (15, '0.000000'),
                 'EU/HOME/OFFPEAK': (163, '0.000000'),
                 'EU/HOME/PEAK': (93, '0.000000'),
                 'EU/WORLD1/OFFPEAK': (21, '159.110000'),
                 'EU/WORLD1/PEAK': (18, '96.600000'),
                 'FREE/EU/OFFPEAK': (21, '0.000000'),
                 'FREE/EU/PEAK': (4, '0.000000'),
                 'FREE/HOME/OFFPEAK': (157, '0.000000'),
                 'FREE/HOME/PEAK': (90, '0.000000'),
                 'FREE/WORLD1/OFFPEAK': (23, '106.320000'),
                 'FREE/WORLD1/PEAK': (10, '49.630000'),
                 'INCOMING/EU/OFFPEAK': (23, '0.000000'),
                 'INCOMING/EU/PEAK': (7, '0.000000'),
                 'INCOMING/HOME/OFFPEAK': (134, '0.000000'),
                 'INCOMING/HOME/PEAK': (85, '0.000000'),
                 'INCOMING/WORLD1/OFFPEAK': (15, '35.770000'),
                 'INCOMING/WORLD1/PEAK': (11, '31.360000'),
                 'NAT_FIXED/EU/OFFPEAK': (11, '0.000000'),
                 'NAT_FIXED/EU/PEAK': (8, '0.000000'),
                 'NAT_FIXED/HOME/OFFPEAK': (153, '0.000000'),
                 'NAT_FIXED/HOME/PEAK': (90, '0.000000'),
                 'NAT_FIXED/WORLD1/OFFPEAK': (19, '100.360000'),
                 'NAT_FIXED/WORLD1/PEAK': (16, '105.860000'),
                 'NAT_MOBILE/EU/OFFPEAK': (38, '0.000000'),
                 'NAT_MOBILE/EU/PEAK': (28, '0.000000'),
                 'NAT_MOBILE/HOME/OFFPEAK': (297, '0.000000'),
                 'NAT_MOBILE/HOME/PEAK': (178, '0.000000'),
                 'NAT_MOBILE/WORLD1/OFFPEAK': (35, '245.600000'),
                 'NAT_MOBILE/WORLD1/PEAK': (34, '229.990000'),
                 'PREMIUM/EU/OFFPEAK': (16, '103.480000'),
                 'PREMIUM/EU/PEAK': (7, '29.850000'),
                 'PREMIUM/HOME/OFFPEAK': (157, '1188.030000'),
                 'PREMIUM/HOME/PEAK': (73, '545.260000'),
                 'PREMIUM/WORLD1/OFFPEAK': (25, '163.970000'),
                 'PREMIUM/WORLD1/PEAK': (11, '58.180000'),
                 'WORLD/EU/OFFPEAK': (14, '66.590000'),
                 'WORLD/EU/PEAK': (12, '51.720000'),
                 'WORLD/HOME/OFFPEAK': (151, '643.470000'),
                 'WORLD/HOME/PEAK': (96, '413.050000'),
                 'WORLD/WORLD1/OFFPEAK': (23, '90.320000'),
                 'WORLD/WORLD1/PEAK': (7, '49.560000')},
     'charged': 30002574993,
     'covered': 27333280105,
     'drawn': 27333280105,
     'draws': 1628,
     'events': 3000,
     'fair_use': 0,
     'fair_use_counted': 0,
     'retail': '4617.192503',
     'units': 30002010858,
     'wholesale': '422.159900',
     'wholesale_units': 30002293454}
# fmt: on


def test_a_benchmark_file_rated_whole_keeps_its_totals(benchmark_file):
    usage_file = usage_file_process(usage_file=_receive(benchmark_file))
    assert usage_file.records_accepted == RECORDS
    assert rated_totals(usage_file) == PINNED


def test_a_benchmark_file_rated_in_two_parts_keeps_its_totals(benchmark_file):
    usage_file = _receive(benchmark_file)
    parts = usage_file_split(usage_file=usage_file, parts=2)
    for part in parts:
        assert usage_file_part_process(part=part).status == PartStatus.DONE
    usage_file.refresh_from_db()
    assert usage_file.records_accepted == RECORDS
    assert rated_totals(usage_file) == PINNED


# A denser file of the same generator (200 records a subscriber, another seed): the voice
# allowances run out inside the month, so events are partly covered and the rest charged pro
# rata (R11, R12). Taken from the code before the rating core was tightened (commit d760106).
DENSE_RECORDS, DENSE_SUBSCRIPTIONS, DENSE_SEED = 4_000, 20, 1414
# fmt: off
DENSE_PINNED = {'by_status': {'error': 191, 'rated': 3809},
     'by_zone': {'/EU/OFFPEAK': (42, '0.000000'),
                 '/EU/PEAK': (34, '0.000000'),
                 '/HOME/OFFPEAK': (400, '0.000000'),
                 '/HOME/PEAK': (249, '0.000000'),
                 '/WORLD1/OFFPEAK': (62, '64.285557'),
                 '/WORLD1/PEAK': (29, '30.834652'),
                 'EU/EU/OFFPEAK': (29, '12.236000'),
                 'EU/EU/PEAK': (17, '5.038166'),
                 'EU/HOME/OFFPEAK': (177, '59.935499'),
                 'EU/HOME/PEAK': (117, '61.702499'),
                 'EU/WORLD1/OFFPEAK': (26, '200.830000'),
                 'EU/WORLD1/PEAK': (19, '133.850000'),
                 'FREE/EU/OFFPEAK': (31, '0.000000'),
                 'FREE/EU/PEAK': (16, '0.000000'),
                 'FREE/HOME/OFFPEAK': (185, '0.000000'),
                 'FREE/HOME/PEAK': (106, '0.000000'),
                 'FREE/WORLD1/OFFPEAK': (27, '181.920000'),
                 'FREE/WORLD1/PEAK': (10, '47.750000'),
                 'INCOMING/EU/OFFPEAK': (24, '0.000000'),
                 'INCOMING/EU/PEAK': (16, '0.000000'),
                 'INCOMING/HOME/OFFPEAK': (226, '0.000000'),
                 'INCOMING/HOME/PEAK': (103, '0.000000'),
                 'INCOMING/WORLD1/OFFPEAK': (24, '72.520000'),
                 'INCOMING/WORLD1/PEAK': (19, '49.490000'),
                 'NAT_FIXED/EU/OFFPEAK': (20, '1.800000'),
                 'NAT_FIXED/EU/PEAK': (14, '3.150000'),
                 'NAT_FIXED/HOME/OFFPEAK': (191, '24.720834'),
                 'NAT_FIXED/HOME/PEAK': (127, '32.580000'),
                 'NAT_FIXED/WORLD1/OFFPEAK': (31, '184.580000'),
                 'NAT_FIXED/WORLD1/PEAK': (18, '111.110000'),
                 'NAT_MOBILE/EU/OFFPEAK': (55, '5.815000'),
                 'NAT_MOBILE/EU/PEAK': (25, '4.950000'),
                 'NAT_MOBILE/HOME/OFFPEAK': (390, '47.749167'),
                 'NAT_MOBILE/HOME/PEAK': (236, '53.277000'),
                 'NAT_MOBILE/WORLD1/OFFPEAK': (56, '334.820000'),
                 'NAT_MOBILE/WORLD1/PEAK': (26, '211.970000'),
                 'PREMIUM/EU/OFFPEAK': (23, '141.290000'),
                 'PREMIUM/EU/PEAK': (24, '193.030000'),
                 'PREMIUM/HOME/OFFPEAK': (194, '1629.810000'),
                 'PREMIUM/HOME/PEAK': (101, '955.200000'),
                 'PREMIUM/WORLD1/OFFPEAK': (32, '212.110000'),
                 'PREMIUM/WORLD1/PEAK': (11, '38.490000'),
                 'WORLD/EU/OFFPEAK': (26, '134.290000'),
                 'WORLD/EU/PEAK': (18, '50.350000'),
                 'WORLD/HOME/OFFPEAK': (241, '950.950000'),
                 'WORLD/HOME/PEAK': (114, '494.370000'),
                 'WORLD/WORLD1/OFFPEAK': (21, '77.300000'),
                 'WORLD/WORLD1/PEAK': (18, '127.430000')},
     'charged': 42443255981,
     'covered': 37662694404,
     'drawn': 37662694404,
     'draws': 1495,
     'events': 4000,
     'fair_use': 0,
     'fair_use_counted': 0,
     'retail': '6941.534374',
     'units': 42442384079,
     'wholesale': '581.152470',
     'wholesale_units': 42442790980}
# fmt: on


def test_a_dense_benchmark_file_with_allowances_running_out_keeps_its_totals(tmp_path):
    load_world(DENSE_SUBSCRIPTIONS)
    path = tmp_path / "CDR_HOSTNET_20261101000500_000001.csv"
    write_file(path, records=DENSE_RECORDS, subscriptions=DENSE_SUBSCRIPTIONS, seed=DENSE_SEED)
    usage_file = usage_file_process(usage_file=_receive(path))
    assert usage_file.records_accepted == DENSE_RECORDS
    assert rated_totals(usage_file) == DENSE_PINNED


def test_free_text_with_tabs_and_backslashes_is_stored_as_sent(tmp_path):
    """Events are written as COPY text: a tab or backslash in a field must survive it."""
    load_world(2)
    path = tmp_path / "CDR_HOSTNET_20261101000500_000001.csv"
    path.write_text(
        "record_id,record_type,served_msisdn,served_imsi,event_time,utc_offset,duration,"
        "other_party,volume_uplink,volume_downlink,apn,visited_plmn,cause_for_termination,"
        "charging_id\n"
        "R\\1,PGW,4915500000000,262035500000000,20261005120000,+0200,60,,10,20,"
        "inter\tnet\\x,26203,NORMAL,C\\N\n"
        "TRAILER,1\n",
        encoding="utf-8",
    )
    usage_file = usage_file_process(usage_file=_receive(path))
    assert usage_file.records_accepted == 1
    event = UsageEvent.objects.get(usage_file=usage_file)
    assert (event.record_id, event.apn, event.charging_id) == ("R\\1", "inter\tnet\\x", "C\\N")
    assert event.units == 30 and event.rating_status == "rated"
