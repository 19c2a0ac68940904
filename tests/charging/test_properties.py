"""Invariants of rating and mediation, over generated usage (R2, R12, R13, R16, R17, R23).

Each example touches the database, so examples are few and each runs in a savepoint that is
rolled back; the catalogue and subscribers are built once for the module.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catalog.models import UNIT_SIZE, FairUseAction, FairUsePolicy, RateRow
from charging.cdr import parse_line
from charging.engine import price_of
from charging.models import RejectedRecord, UsageEvent
from charging.services import RatingRun, usage_file_ingest
from core.money import quantize_rated
from subscribers.services import subscription_add_on_add
from tests.charging.factories import (
    build_rating_catalogue,
    cdr_file,
    cdr_line,
    file_name,
    subscriber_add,
)
from tests.subscribers.builders import build_golden_subscribers

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Subscribers rated on their own (each on an account of its own), and the others.
TARGETS = {"A": "4915112340001", "FAIR-T": "4915112340041", "FAIR-O": "4915112340042"}
OTHERS = ["4915112340002", "4915112340003", "4915112340043"]
UNKNOWN = "4915199990000"
NUMBERS = ["4917012345678", "4930111222", "33612345678", "12125550100", "4990012345",
           "498001234567"]  # fmt: skip
NETWORKS = ["26203", "26203", "26203", "20801", "310260", "44010"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        catalogue = build_rating_catalogue()
        build_golden_subscribers(catalogue.golden)
        for plan, msisdn, imsi in (
            ("FAIR-T", TARGETS["FAIR-T"], "262031234500041"),
            ("FAIR-O", TARGETS["FAIR-O"], "262031234500042"),
            ("FAMILY", OTHERS[2], "262031234500043"),
        ):
            subscription = subscriber_add(catalogue, plan_code=plan, msisdn=msisdn, imsi=imsi)
            if plan == "FAIR-O":  # 1 GB for 5-12 October on a plan that charges overage
                subscription_add_on_add(
                    subscription=subscription, add_on=catalogue.add_ons["DATA-WEEK"],
                    effective_at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
                )  # fmt: skip
        yield catalogue
        transaction.set_rollback(True)


@st.composite
def usage(draw, msisdns) -> dict:
    """The columns of one well-formed record (its id is given later)."""
    record_type = draw(st.sampled_from(["MOC", "MOC", "MTC", "SMSO", "SMST", "PGW", "PGW"]))
    day = draw(st.integers(min_value=1, max_value=34))
    month, day = (10, day) if day <= 31 else (11, day - 31)
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    columns = {
        "record_type": record_type,
        "served_msisdn": draw(st.sampled_from(msisdns)),
        "event_time": f"2026{month:02d}{day:02d}{hour:02d}{minute:02d}00",
        "utc_offset": "+0200" if (month, day) < (10, 25) else "+0100",
        "visited_plmn": draw(st.sampled_from(NETWORKS)),
    }
    if record_type == "PGW":
        up = draw(st.integers(0, 50_000_000))
        down = draw(st.one_of(st.integers(0, 10_000), st.integers(0, 3_000_000_000)))
        columns.update(volume_uplink=str(up), volume_downlink=str(down))
    else:
        columns["other_party"] = draw(st.sampled_from(NUMBERS))
        if record_type in ("MOC", "MTC"):
            columns["duration"] = str(draw(st.one_of(st.integers(0, 130), st.integers(0, 7200))))
    return columns


def line_of(record_id: str, columns: dict) -> str:
    columns = dict(columns)
    return cdr_line(record_id, columns.pop("record_type"), **columns)


def outcome(events, rejects, record_id: str):
    for event in events:
        if event.record_id == record_id:
            return (event.rating_status, event.rating_error, event.charged_units,
                    event.covered_units, event.fair_use_units, event.throttled,
                    event.retail_amount, event.wholesale_amount)  # fmt: skip
    return next(reject.reason for reject in rejects if reject.record_id == record_id)


# --- R23 --------------------------------------------------------------------------------------


@EXAMPLES
@given(
    target=usage(list(TARGETS.values())),
    others=st.lists(usage(OTHERS + [UNKNOWN]), max_size=8),
    position=st.integers(min_value=0, max_value=8),
)
def test_an_event_costs_the_same_rated_alone_or_in_a_batch(world, target, others, position):
    record = parse_line(line_of("T", target), line_number=2)
    batch = [parse_line(line_of(f"O{n}", c), line_number=3 + n) for n, c in enumerate(others)]
    batch.insert(min(position, len(batch)), record)
    with transaction.atomic():
        alone = outcome(*RatingRun(source="HOSTNET").rate([record]), "T")
        together = outcome(*RatingRun(source="HOSTNET").rate(batch), "T")
        transaction.set_rollback(True)
    assert alone == together


# --- R2, R12, R13 -----------------------------------------------------------------------------


ROAMING_US_THEN_HOME = [
    # 2.5 GB in the US (no allowance there) crosses FAIR-T's 2 GB cap; the next session at home
    # is covered by the 1 GB allowance although it lies past the cap.
    {"record_type": "PGW", "served_msisdn": "", "event_time": "20261005100000",
     "utc_offset": "-0400", "visited_plmn": "310260", "volume_uplink": "0",
     "volume_downlink": "2500000000"},
    {"record_type": "PGW", "served_msisdn": "", "event_time": "20261006100000",
     "utc_offset": "+0200", "visited_plmn": "26203", "volume_uplink": "0",
     "volume_downlink": "300000000"},
]  # fmt: skip


PAST_THE_CAP_THEN_COVERED = [
    # 1.2 GB on 3 October crosses FAIR-O's 1 GB cap; the 0.3 GB of the 6th lie past the cap but
    # DATA-WEEK covers them: none is charged at overage.
    {"record_type": "PGW", "served_msisdn": "", "event_time": "20261003100000",
     "utc_offset": "+0200", "visited_plmn": "26203", "volume_uplink": "0",
     "volume_downlink": "1200000000"},
    {"record_type": "PGW", "served_msisdn": "", "event_time": "20261006100000",
     "utc_offset": "+0200", "visited_plmn": "26203", "volume_uplink": "0",
     "volume_downlink": "300000000"},
]  # fmt: skip


@EXAMPLES
@given(
    plan=st.sampled_from(list(TARGETS)),
    columns=st.lists(usage(["the target"]), min_size=1, max_size=12),
)
@example(plan="FAIR-T", columns=ROAMING_US_THEN_HOME)
@example(plan="FAIR-O", columns=PAST_THE_CAP_THEN_COVERED)
def test_covered_plus_rated_plus_fair_use_units_are_the_charged_units(world, plan, columns):
    columns = [{**c, "served_msisdn": TARGETS[plan]} for c in columns]
    records = [parse_line(line_of(f"R{n}", c), line_number=2 + n) for n, c in enumerate(columns)]
    records.sort(key=lambda r: (r.started_at, r.line_number))
    with transaction.atomic():
        events, _ = RatingRun(source="HOSTNET").rate(records)
        transaction.set_rollback(True)
    for event in events:
        if event.rating_status != "rated":
            assert event.retail_amount is None and event.wholesale_amount is None
            continue
        rating = event._rating
        left = event.charged_units - event.covered_units
        assert left >= 0
        assert sum(quantity for _, quantity in rating.draws) == event.covered_units
        # Overage charges the uncovered units past the cap; throttling marks every unit past
        # the cap, of which only the uncovered ones go without a charge (R13).
        past_cap = min(event.fair_use_units, left) if event.throttled else event.fair_use_units
        at_rate = left - past_cap
        assert at_rate >= 0
        assert event.covered_units + at_rate + past_cap == event.charged_units
        row = RateRow.objects.get(pk=event.rate_row_id)
        expected = Decimal(0)
        if at_rate:
            expected += max(price_of(at_rate, row.price, UNIT_SIZE[row.unit]), row.minimum_charge)
        if event.fair_use_units and not event.throttled:
            policy = FairUsePolicy.objects.get(pk=rating.fair_use[0][0])
            assert policy.action == FairUseAction.OVERAGE
            size = UNIT_SIZE[policy.overage_unit]
            expected += price_of(event.fair_use_units, policy.overage_price, size)
        if event.charged_units:
            expected += row.connection_fee
        assert event.retail_amount == quantize_rated(expected)
        assert event.retail_amount.as_tuple().exponent == -6
        assert event.wholesale_amount.as_tuple().exponent == -6


# --- R16, R17 ---------------------------------------------------------------------------------

BAD_LINES = {
    "BAD_FIELD_COUNT": lambda rid: cdr_line(rid) + ",extra",
    "BAD_RECORD_TYPE": lambda rid: cdr_line(rid, "XYZ"),
    "BAD_NUMBER": lambda rid: cdr_line(rid, duration="-5"),
    "BAD_TIME": lambda rid: cdr_line(rid, event_time="20261340100000"),
    "NO_SUBSCRIBER_ID": lambda rid: cdr_line(rid, served_msisdn=""),
    "BAD_FIELD": lambda rid: cdr_line(rid, visited_plmn="1"),
}
KINDS = ["good", "good", "good", "unknown", "empty", *BAD_LINES]


@EXAMPLES
@given(
    kinds=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=5)), max_size=20
    ),
    columns=st.lists(usage([TARGETS["A"]]), min_size=20, max_size=20),
)
def test_every_line_of_a_file_is_an_event_a_reject_or_a_duplicate(world, kinds, columns):
    lines, expected, seen = [], {}, set()
    duplicates = 0
    for index, (kind, id_number) in enumerate(kinds):
        line_number = index + 2
        record_id = f"ID{id_number}"  # few ids: repeats are duplicates of accepted lines
        if kind == "empty":
            lines.append("")
            continue
        if kind in BAD_LINES:
            lines.append(BAD_LINES[kind](record_id))
            expected[line_number] = kind
            continue
        values = dict(columns[index])
        if kind == "unknown":
            values["served_msisdn"] = UNKNOWN
        lines.append(line_of(record_id, values))
        if record_id in seen:
            duplicates += 1
        else:
            seen.add(record_id)
            expected[line_number] = "UNKNOWN_SUBSCRIBER" if kind == "unknown" else "event"
    with transaction.atomic():
        usage_file = usage_file_ingest(name=file_name(1), content=cdr_file(lines))
        event_lines = list(
            UsageEvent.objects.filter(usage_file=usage_file).values_list("line_number", flat=True)
        )
        rejects = dict(
            RejectedRecord.objects.filter(usage_file=usage_file).values_list(
                "line_number", "reason"
            )
        )
        transaction.set_rollback(True)
    read = sum(1 for line in lines if line)
    assert usage_file.records_read == read
    assert read == (
        usage_file.records_accepted + usage_file.records_rejected + usage_file.records_duplicate
    )
    assert usage_file.records_duplicate == duplicates
    assert len(event_lines) == len(set(event_lines)) == usage_file.records_accepted
    assert len(rejects) == usage_file.records_rejected
    assert not set(event_lines) & set(rejects)
    outcomes = {**dict.fromkeys(event_lines, "event"), **rejects}
    # Rejects for inactive subscriptions depend on the generated time: A is active from 1 Oct,
    # and every generated time is later, so each good line of a first id is an event.
    assert outcomes == expected
