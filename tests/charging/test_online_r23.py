"""R23: an event charged online and the same event rated from a CDR cost the same; a usage
file that later brings a record of a session charged online does not charge it again.

A usage file record is matched to an online session by (host network = the file's source,
charging id): the CDR's ``charging_id`` column is the ``chargingId`` the network sent online.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from charging.models import UsageEvent
from charging.online import services as online
from charging.services import usage_file_ingest
from subscribers.services import balance_of
from tests.charging.factories import cdr_file, cdr_line, file_name
from tests.charging.online_builders import MB, build_online_catalogue, online_subscriber

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)  # 14:00 Berlin, a Thursday: PEAK
ONLINE, OFFLINE = "4915100000001", "4915100000002"

# (service, CDR record type, units, other party, visited network)
EVENTS = [
    ("VOICE_OUT", "MOC", 61, "4917012345678", "26203"),  # national peak, 60/60
    ("VOICE_OUT", "MOC", 95, "3361234567", "20801"),  # to the EU from the EU, 60/1
    ("VOICE_OUT", "MOC", 130, "12125550100", "26203"),  # WORLD with a connection fee
    ("VOICE_OUT", "MOC", 61, "4917012345678", "31026"),  # roaming in WORLD1
    ("SMS_OUT", "SMSO", 1, "12125550100", "26203"),  # WORLD SMS, no allowance
    ("SMS_OUT", "SMSO", 1, "4917012345678", "26203"),  # national SMS, from the allowance
    ("DATA", "PGW", 1_200 * MB, "", "26203"),  # 1 GB allowance, then 200 MB paid
    ("DATA", "PGW", 35 * MB + 1, "", "31026"),  # roaming data, 10 MB increments
]


def _cdr(number: int, service, record_type, units, other, plmn, *, msisdn, charging_id="",
         at="20261015140000"):  # fmt: skip
    values = {"served_msisdn": msisdn, "event_time": at,
              "visited_plmn": plmn, "charging_id": charging_id}  # fmt: skip
    if record_type == "PGW":
        values.update(volume_uplink="0", volume_downlink=str(units), duration="60")
    elif record_type == "MOC":
        values.update(duration=str(units), other_party=other)
    else:
        values.update(other_party=other)
    return cdr_line(f"R{number:03d}", record_type, **values)


@pytest.fixture
def catalogue():
    with time_machine.travel(NOON, tick=False):
        catalogue = build_online_catalogue()
        for msisdn, imsi in ((ONLINE, "262030000000001"), (OFFLINE, "262030000000002")):
            online_subscriber(catalogue, plan_code="PRE-10", msisdn=msisdn, imsi=imsi,
                              balance="50.00")  # fmt: skip
        yield catalogue


def _charge_online(catalogue, number, service, units, other, plmn) -> None:
    network = catalogue.golden.host_network
    common = {"host_network": network, "session_id": f"S{number}", "msisdn": ONLINE,
              "other_party": other, "visited_plmn": plmn, "charging_id": f"C{number}"}  # fmt: skip
    if service == "SMS_OUT":
        assert online.charging_event(service=service, units=units, **common)["result"] == "SUCCESS"
        return
    answer = online.charging_initiate(service=service, requested_units=units, **common)
    assert answer["grantedUnits"] == units
    online.charging_terminate(host_network=network, reference=answer["reference"],
                              request_number=1, used_units=units)  # fmt: skip


def test_online_and_offline_cost_the_same_to_the_micro_unit(catalogue):
    with time_machine.travel(NOON, tick=False):
        for number, (service, _, units, other, plmn) in enumerate(EVENTS):
            _charge_online(catalogue, number, service, units, other, plmn)
        lines = [_cdr(n, *event, msisdn=OFFLINE) for n, event in enumerate(EVENTS)]
        usage_file = usage_file_ingest(name=file_name(1), content=cdr_file(lines))
    assert usage_file.records_accepted == len(EVENTS)
    online_events = UsageEvent.objects.filter(msisdn=ONLINE).order_by("charging_id")
    offline_events = UsageEvent.objects.filter(msisdn=OFFLINE).order_by("record_id")
    compared = [
        (e.service, e.charged_units, e.covered_units, e.retail_amount, e.wholesale_amount)
        for e in online_events
    ]
    assert compared == [
        (e.service, e.charged_units, e.covered_units, e.retail_amount, e.wholesale_amount)
        for e in offline_events
    ]
    # Not all free: the comparison covers money, allowance draws and wholesale.
    assert sum(e.retail_amount for e in online_events) > Decimal("3")
    assert any(e.covered_units for e in online_events)
    charged = Decimal("50.00") - balance_of(online_events[0].billing_account)
    assert charged == sum(e.retail_amount for e in online_events)


@pytest.mark.parametrize("one_pass", [True, False], ids=["one-pass", "two-passes"])
def test_a_file_does_not_charge_again_what_was_charged_online(catalogue, one_pass):
    with time_machine.travel(NOON, tick=False):
        _charge_online(catalogue, 0, "VOICE_OUT", 61, "4917012345678", "26203")
        account = UsageEvent.objects.get().billing_account
        balance = balance_of(account)
        lines = [
            _cdr(1, "VOICE_OUT", "MOC", 61, "4917012345678", "26203", msisdn=ONLINE,
                 charging_id="C0"),
            _cdr(2, "VOICE_OUT", "MOC", 61, "4917012345678", "26203", msisdn=ONLINE,
                 at="20261015140500"),
        ]  # fmt: skip
        # Out of event-time order, a file takes the two passes from the start.
        content = cdr_file(lines if one_pass else list(reversed(lines)))
        usage_file = usage_file_ingest(name=file_name(1), content=content)
    # R16 still balances: the record charged online is counted a duplicate (R17).
    assert (usage_file.records_read, usage_file.records_accepted) == (2, 1)
    assert usage_file.records_duplicate == 1
    assert UsageEvent.objects.filter(charging_id="C0").count() == 1
    assert UsageEvent.objects.filter(record_id="R002").exists()
    assert balance_of(account) == balance


def test_a_split_file_does_not_charge_again_what_was_charged_online(catalogue):
    """Each part of a split file runs the R23 check too, as a file rated whole does."""
    from charging.models import FileOrigin
    from charging.partitions import usage_file_part_process, usage_file_split
    from charging.services import usage_file_receive

    with time_machine.travel(NOON, tick=False):
        _charge_online(catalogue, 0, "VOICE_OUT", 61, "4917012345678", "26203")
        account = UsageEvent.objects.get().billing_account
        balance = balance_of(account)
        lines = [
            _cdr(1, "VOICE_OUT", "MOC", 61, "4917012345678", "26203", msisdn=ONLINE,
                 charging_id="C0"),
            _cdr(2, "VOICE_OUT", "MOC", 61, "4917012345678", "26203", msisdn=OFFLINE,
                 at="20261015140500"),
            _cdr(3, "VOICE_OUT", "MOC", 61, "4917012345678", "26203", msisdn=ONLINE,
                 at="20261015141000"),
        ]  # fmt: skip
        usage_file = usage_file_receive(
            name=file_name(1), content=cdr_file(lines), origin=FileOrigin.BENCHMARK
        )
        parts = usage_file_split(usage_file=usage_file, parts=2)
        assert len(parts) == 2  # the two subscribers, one part each
        for part in parts:
            usage_file_part_process(part=part)
    usage_file.refresh_from_db()
    assert (usage_file.records_read, usage_file.records_accepted) == (3, 2)
    assert usage_file.records_duplicate == 1
    assert UsageEvent.objects.filter(charging_id="C0").count() == 1  # the online session's own
    assert set(
        UsageEvent.objects.filter(usage_file=usage_file).values_list("record_id", flat=True)
    ) == {"R002", "R003"}
    assert balance_of(account) == balance
