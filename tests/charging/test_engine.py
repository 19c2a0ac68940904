"""The rating engine at unit level (R7-R14): one record, a term, buckets and fair-use counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from charging.engine import FairUseCounter, RatingEngine
from tests.charging.factories import (
    BERLIN_ACCOUNT,
    GB,
    NOVEMBER_START,
    OCTOBER_START,
    bucket_state,
    build_rating_catalogue,
    data_record,
    record,
    term_on,
)

pytestmark = pytest.mark.django_db

NATIONAL_EU = ("NAT_MOBILE", "NAT_FIXED", "EU")


@pytest.fixture(scope="module")
def catalogue(django_db_setup, django_db_blocker):
    """The rating catalogue, built once for this module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_rating_catalogue()
        transaction.set_rollback(True)


def rate(catalogue, usage, *, plan="SMART-10", buckets=(), fair_use=None, term=None,
         source="HOSTNET"):  # fmt: skip
    return RatingEngine().rate(
        usage,
        term=term or term_on(catalogue.plans[plan]),
        account=BERLIN_ACCOUNT,
        source=source,
        buckets=list(buckets),
        fair_use=fair_use if fair_use is not None else FairUseCounter(),
    )


def amounts(rating):
    return rating.charged_units, rating.covered_units, rating.retail_amount


# --- R9 increments, R10 zero events --------------------------------------------------------


def test_60_60_rounds_a_61_s_call_up_to_two_minutes(catalogue):
    rating = rate(catalogue, record("V1", duration="61"))
    assert (rating.status, rating.destination_zone, rating.roaming_zone, rating.time_band) == (
        "rated", "NAT_MOBILE", "HOME", "PEAK")  # fmt: skip
    assert amounts(rating) == (120, 0, Decimal("0.180000"))
    assert rate(catalogue, record("V2", duration="60")).retail_amount == Decimal("0.090000")


def test_60_1_charges_a_first_minute_then_seconds(catalogue):
    eu_call = {"other_party": "33612345678"}
    long_call = rate(catalogue, record("V1", duration="61", **eu_call))
    assert amounts(long_call) == (61, 0, Decimal("0.193167"))  # 0.19 × 61/60
    short_call = rate(catalogue, record("V2", duration="10", **eu_call))
    assert amounts(short_call) == (60, 0, Decimal("0.190000"))


def test_1_1_charges_exact_seconds(catalogue):
    free_call = rate(catalogue, record("V1", duration="61", other_party="498001234567"))
    assert (free_call.destination_zone, free_call.charged_units) == ("FREE", 61)
    assert free_call.retail_amount == Decimal("0.000000")
    received = rate(catalogue, record("V2", "MTC", duration="61"))
    assert received.charged_units == 61


def test_data_rounds_the_session_volume_up_to_whole_kilobytes(catalogue):
    cases = {1: 1_000, 1_000: 1_000, 1_000_001: 1_001_000}
    for volume, charged in cases.items():
        rating = rate(catalogue, data_record("D1", volume))
        assert (rating.destination_zone, rating.charged_units) == ("", charged)
    rating = rate(catalogue, data_record("D2", 1_000_001))
    assert rating.retail_amount == Decimal("0.001992")  # 1.99/GB × 1,001,000 B
    uplink_and_downlink = record("D3", "PGW", volume_uplink="600", volume_downlink="500")
    assert rate(catalogue, uplink_and_downlink).charged_units == 2_000


def test_data_on_a_10_kb_increment_rounds_up_to_10_kb(catalogue):
    roaming_us = {"visited_plmn": "310260", "utc_offset": "-0400"}
    rating = rate(catalogue, data_record("D1", 10_001, **roaming_us))
    assert (rating.roaming_zone, rating.charged_units) == ("WORLD1", 20_000)
    assert rating.retail_amount == Decimal("0.000398")  # 0.0199/MB × 0.02 MB
    assert rate(catalogue, data_record("D2", 9_999, **roaming_us)).charged_units == 10_000


def test_a_zero_second_call_is_rated_at_zero_without_connection_fee(catalogue):
    world = {"other_party": "12125550100"}
    rating = rate(catalogue, record("Z1", duration="0", **world))
    assert (rating.status, rating.destination_zone) == ("rated", "WORLD")
    assert amounts(rating) == (0, 0, Decimal("0.000000"))
    assert (rating.wholesale_units, rating.wholesale_amount) == (0, Decimal("0.000000"))
    # The same rate charges its connection fee on a call that lasted.
    assert rate(catalogue, record("Z2", duration="30", **world)).retail_amount == Decimal(
        "1.140000"
    )


def test_a_zero_byte_session_is_rated_at_zero(catalogue):
    rating = rate(catalogue, data_record("Z3", 0))
    assert (rating.status, rating.rate_row_id is not None) == ("rated", True)
    assert amounts(rating) == (0, 0, Decimal("0.000000"))
    assert rating.draws == []


def test_a_zero_length_event_draws_no_bucket(catalogue):
    bucket = bucket_state(1, services=["DATA"], remaining=GB)
    rate(catalogue, data_record("Z4", 0), buckets=[bucket])
    assert bucket.remaining == GB


# --- R7, R8 --------------------------------------------------------------------------------


def test_the_time_band_is_decided_by_the_start_of_the_call(catalogue):
    # Friday 2026-10-30 19:59:30 Berlin, two minutes: peak for the whole call.
    rating = rate(catalogue, record("T1", event_time="20261030195930", utc_offset="+0100",
                                    duration="120"))  # fmt: skip
    assert (rating.time_band, rating.retail_amount) == ("PEAK", Decimal("0.180000"))
    saturday = rate(catalogue, record("T2", event_time="20261031100000", utc_offset="+0100"))
    assert (saturday.time_band, saturday.retail_amount) == ("OFFPEAK", Decimal("0.050000"))


def test_an_event_without_a_rate_is_an_error_never_a_zero_charge(catalogue):
    rating = rate(catalogue, record("E1", visited_plmn="44010", utc_offset="+0900"))
    assert (rating.status, rating.error, rating.roaming_zone) == ("error", "NO_RATE", "WORLD2")
    assert rating.retail_amount is None and rating.wholesale_amount is None


def test_received_calls_and_sms_have_the_incoming_zone(catalogue):
    at_home = rate(catalogue, record("I1", "MTC", duration="45"))
    assert (at_home.destination_zone, at_home.retail_amount) == ("INCOMING", Decimal("0.000000"))
    assert at_home.wholesale_amount == Decimal("0.003000")  # 45 s at 0.004/min, 1/1
    in_us = rate(catalogue, record("I2", "MTC", duration="45", visited_plmn="310260",
                                   utc_offset="-0400"))  # fmt: skip
    assert (in_us.destination_zone, in_us.roaming_zone) == ("INCOMING", "WORLD1")
    assert (in_us.charged_units, in_us.retail_amount) == (60, Decimal("0.490000"))
    assert (in_us.wholesale_units, in_us.wholesale_amount) == (45, Decimal("0.262500"))
    sms = rate(catalogue, record("I3", "SMST", other_party="818012345678"))
    assert (sms.destination_zone, sms.charged_units) == ("INCOMING", 1)


def test_home_is_the_network_that_sent_the_record(catalogue):
    # 20801 is OTHERNET's own PLMN: home for its records, roaming EU for HOSTNET's.
    french = {"visited_plmn": "20801", "event_time": "20261016090000"}
    from_other = rate(catalogue, record("H1", **french), source="OTHERNET")
    assert (from_other.status, from_other.roaming_zone) == ("rated", "HOME")
    assert from_other.wholesale_amount == Decimal("0.004000")
    from_host = rate(catalogue, record("H2", **french), source="HOSTNET")
    assert from_host.roaming_zone == "EU"
    assert from_host.wholesale_amount == Decimal("0.022000")
    assert from_other.retail_amount == from_host.retail_amount == Decimal("0.090000")


def test_an_event_before_the_plans_first_version_is_no_plan(catalogue):
    rating = rate(catalogue, record("P1"), plan="LATE")
    assert (rating.status, rating.error, rating.plan_version_id) == ("error", "NO_PLAN", None)
    assert rating.retail_amount is None and rating.wholesale_amount is None
    november = rate(catalogue, record("P2", event_time="20261102090000", utc_offset="+0100"),
                    plan="LATE")  # fmt: skip
    assert (november.status, november.plan_version_id) == ("rated", catalogue.versions["LATE"].pk)


def test_a_tax_inclusive_plans_event_is_stored_gross(catalogue):
    world_sms = record("G1", "SMSO", other_party="818012345678")
    gross = rate(catalogue, world_sms, plan="GROSS")
    assert (gross.retail_amount, gross.tax_inclusive) == (Decimal("0.290000"), True)
    net = rate(catalogue, world_sms)
    assert (net.retail_amount, net.tax_inclusive) == (Decimal("0.290000"), False)


# --- R14 wholesale -------------------------------------------------------------------------


def test_wholesale_applies_the_partners_own_increments_to_raw_units(catalogue):
    call = rate(catalogue, record("W1", duration="61"))
    assert (call.charged_units, call.wholesale_units) == (120, 61)
    assert call.wholesale_amount == Decimal("0.004067")  # 0.004/min × 61 s, 1/1
    roaming_us = {"visited_plmn": "310260", "utc_offset": "-0400"}
    session = rate(catalogue, data_record("W2", 10_001, **roaming_us))
    assert (session.charged_units, session.wholesale_units) == (20_000, 11_000)
    assert session.wholesale_amount == Decimal("0.000044")  # 0.004/MB × 11,000 B


def test_wholesale_is_rated_even_when_an_allowance_covers_the_retail_units(catalogue):
    bucket = bucket_state(1, destination_zones=NATIONAL_EU)
    rating = rate(catalogue, record("W3", duration="61"), buckets=[bucket])
    assert (rating.retail_amount, rating.wholesale_amount) == (
        Decimal("0.000000"), Decimal("0.004067"))  # fmt: skip


def test_a_network_without_a_wholesale_card_then_is_no_wholesale_tariff(catalogue):
    # OTHERNET is priced from 2026-10-15 on.
    at_home = {"event_time": "20261010090000", "visited_plmn": "20801"}
    early = rate(catalogue, record("W4", **at_home), source="OTHERNET")
    assert (early.status, early.error) == ("error", "NO_WHOLESALE_TARIFF")
    assert early.retail_amount is None and early.wholesale_amount is None
    unknown = rate(catalogue, record("W5"), source="NOWHERE")
    assert (unknown.status, unknown.error) == ("error", "NO_WHOLESALE_TARIFF")


def test_no_wholesale_row_is_no_wholesale_rate(catalogue):
    # An SMS received in Japan: the retail card prices it (0.00), HOSTNET's card does not.
    rating = rate(catalogue, record("W6", "SMST", visited_plmn="44010", utc_offset="+0900"))
    assert (rating.status, rating.error, rating.roaming_zone) == (
        "error", "NO_WHOLESALE_RATE", "WORLD2")  # fmt: skip
    assert rating.retail_amount is None and rating.wholesale_amount is None


# --- R11, R12 allowances -------------------------------------------------------------------


def test_a_connection_fee_is_charged_even_when_an_allowance_covers_the_units(catalogue):
    world_minutes = bucket_state(1, from_plan=False, destination_zones=["WORLD"])
    rating = rate(catalogue, record("B1", duration="30", other_party="12125550100"),
                  buckets=[world_minutes])  # fmt: skip
    assert amounts(rating) == (60, 60, Decimal("0.150000"))
    assert world_minutes.remaining == 6_000 - 60


def test_an_allowance_covers_what_it_has_left_and_the_rest_is_charged_pro_rata(catalogue):
    # R12: a 61 s call on 60/60 uses 120 s; 100 s covered, 20 s at 0.09/60 per second.
    bucket = bucket_state(1, remaining=100, destination_zones=NATIONAL_EU)
    rating = rate(catalogue, record("B2", duration="61"), buckets=[bucket])
    assert amounts(rating) == (120, 100, Decimal("0.030000"))
    assert (bucket.remaining, rating.draws) == (0, [(1, 100)])


def test_the_bucket_that_expires_first_is_drawn_first(catalogue):
    plan = bucket_state(1)
    add_on = bucket_state(2, from_plan=False, valid_to=dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    rating = rate(catalogue, record("B3", duration="61"), buckets=[plan, add_on])
    assert rating.draws == [(2, 120)]
    assert (plan.remaining, add_on.remaining) == (6_000, 5_880)


def test_on_a_tie_the_plans_bundle_is_drawn_before_an_add_on(catalogue):
    add_on = bucket_state(1, from_plan=False)
    plan = bucket_state(2)
    rating = rate(catalogue, record("B4", duration="61"), buckets=[add_on, plan])
    assert rating.draws == [(2, 120)]


def test_one_event_draws_several_buckets_in_turn_and_pays_the_rest(catalogue):
    plan = bucket_state(1, remaining=50)
    add_on = bucket_state(2, remaining=30, from_plan=False)
    rating = rate(catalogue, record("B5", duration="61"), buckets=[add_on, plan])
    assert rating.draws == [(1, 50), (2, 30)]
    assert amounts(rating) == (120, 80, Decimal("0.060000"))  # 40 s at 0.09/min


def test_a_bucket_covers_only_the_services_and_zones_it_names(catalogue):
    def drawn(usage):
        bucket = bucket_state(1, destination_zones=NATIONAL_EU, roaming_zones=["HOME", "EU"])
        rate(catalogue, usage, buckets=[bucket])
        return bucket.remaining < 6_000

    assert drawn(record("Z1"))
    assert drawn(record("Z2", visited_plmn="20801"))  # a national call from France (EU)
    assert not drawn(record("Z3", other_party="12125550100"))  # to WORLD
    assert not drawn(record("Z4", visited_plmn="310260", utc_offset="-0400"))  # from the US
    assert not drawn(record("Z5", "SMSO"))  # a message, not a call
    assert not drawn(record("Z6", "MTC"))  # a received call


def test_a_bucket_applies_to_events_starting_inside_its_validity(catalogue):
    start = dt.datetime(2026, 10, 5, 7, tzinfo=dt.UTC)  # the record's start, 09:00 Berlin
    from_then = bucket_state(1, valid_from=start)
    assert rate(catalogue, record("V1"), buckets=[from_then]).covered_units == 60
    until_then = bucket_state(2, valid_to=start)
    assert rate(catalogue, record("V2"), buckets=[until_then]).covered_units == 0
    later = bucket_state(3, valid_from=start + dt.timedelta(seconds=1))
    assert rate(catalogue, record("V3"), buckets=[later]).covered_units == 0


def test_a_shared_pool_is_drawn_only_by_subscriptions_on_the_plan_that_grants_it(catalogue):
    family = catalogue.plans["FAMILY"]
    session = data_record("S1", GB)

    def covered(term):
        pool = bucket_state(1, services=["DATA"], remaining=5 * GB, shared=True, plan=family)
        return rate(catalogue, session, term=term, buckets=[pool]).covered_units

    assert covered(term_on(family, subscription_id=1)) == GB
    assert covered(term_on(family, subscription_id=2)) == GB
    assert covered(term_on(catalogue.plans["SMART-10"], subscription_id=3)) == 0
    assert covered(term_on(family, subscription_id=4, account_id=920_002)) == 0


def test_a_shared_add_on_pool_serves_every_subscription_of_its_account(catalogue):
    session = data_record("S2", GB)
    pool = bucket_state(1, services=["DATA"], remaining=5 * GB, shared=True, from_plan=False)
    rating = rate(catalogue, session, term=term_on(catalogue.plans["FAIR-O"]), buckets=[pool])
    assert amounts(rating) == (GB, GB, Decimal("0.000000"))


def test_a_personal_bucket_serves_only_its_subscription(catalogue):
    bucket = bucket_state(1, subscription_id=777)
    assert rate(catalogue, record("S3"), buckets=[bucket]).covered_units == 0


# --- R13 fair use --------------------------------------------------------------------------


def test_fair_use_throttles_past_the_cap_and_notifies_once_per_period(catalogue):
    # FAIR-T: 1 GB included, then throttled past 2 GB a period; covered units count (R13).
    counter = FairUseCounter()
    included = bucket_state(1, services=["DATA"], remaining=GB, plan=catalogue.plans["FAIR-T"])

    def session(record_id, volume, day="12"):
        usage = data_record(record_id, volume, event_time=f"202610{day}090000")
        return rate(catalogue, usage, plan="FAIR-T", buckets=[included], fair_use=counter)

    first = session("F1", 1_500_000_000)
    assert amounts(first) == (1_500_000_000, GB, Decimal("0.995000"))
    assert (first.throttled, first.fair_use_units, first.notify_fair_use) == (False, 0, False)
    crossing = session("F2", GB, day="13")
    # 0.5 GB up to the cap at the plan's 1.99/GB, 0.5 GB past it throttled: no charge.
    assert amounts(crossing) == (GB, 0, Decimal("0.995000"))
    assert (crossing.throttled, crossing.fair_use_units, crossing.notify_fair_use) == (
        True, 500_000_000, True)  # fmt: skip
    past = session("F3", 200_000_000, day="14")
    assert amounts(past) == (200_000_000, 0, Decimal("0.000000"))
    assert (past.throttled, past.fair_use_units, past.notify_fair_use) == (
        True, 200_000_000, False)  # fmt: skip
    assert past.wholesale_amount == Decimal("0.080000")  # throttled events keep their cost
    november = rate(catalogue, data_record("F4", GB, event_time="20261102090000",
                                           utc_offset="+0100"),
                    plan="FAIR-T", fair_use=counter)  # fmt: skip
    assert (november.throttled, november.retail_amount) == (False, Decimal("1.990000"))


def test_units_past_a_throttling_cap_are_throttled_even_when_covered(catalogue):
    # 2.5 GB in the US, where FAIR-T includes nothing, passes the 2 GB cap; then 0.3 GB at
    # home is covered by the 1 GB included, and throttled all the same.
    counter = FairUseCounter()
    included = bucket_state(1, services=["DATA"], remaining=GB, plan=catalogue.plans["FAIR-T"],
                            roaming_zones=["HOME", "EU"])  # fmt: skip
    in_us = data_record("F5", 2_500_000_000, visited_plmn="310260", utc_offset="-0400")
    crossing = rate(catalogue, in_us, plan="FAIR-T", buckets=[included], fair_use=counter)
    assert (crossing.covered_units, crossing.fair_use_units, crossing.throttled) == (
        0, 500_000_000, True)  # fmt: skip
    assert crossing.retail_amount == Decimal("39.800000")  # 2 GB at 0.0199/MB
    at_home = rate(catalogue, data_record("F6", 300_000_000, event_time="20261006090000"),
                   plan="FAIR-T", buckets=[included], fair_use=counter)  # fmt: skip
    assert (at_home.covered_units, at_home.fair_use_units, at_home.throttled) == (
        300_000_000, 300_000_000, True)  # fmt: skip
    assert (at_home.retail_amount, at_home.notify_fair_use) == (Decimal("0.000000"), False)


def test_fair_use_overage_charges_the_crossing_event_pro_rata(catalogue):
    # FAIR-O: no allowance, a 1 GB cap, then 5.00 per GB.
    counter = FairUseCounter()

    def session(record_id, volume):
        return rate(catalogue, data_record(record_id, volume), plan="FAIR-O", fair_use=counter)

    assert session("O1", 600_000_000).retail_amount == Decimal("1.194000")
    crossing = session("O2", 600_000_000)
    # 0.4 GB at 1.99 + 0.2 GB at 5.00, with no second rounding to increments.
    assert (crossing.retail_amount, crossing.fair_use_units) == (Decimal("1.796000"), 200_000_000)
    assert crossing.throttled is False
    assert session("O3", 100_000_000).retail_amount == Decimal("0.500000")


def test_covered_units_count_towards_the_cap_but_are_not_charged_past_it(catalogue):
    counter = FairUseCounter()
    big_bucket = bucket_state(1, services=["DATA"], remaining=10 * GB, from_plan=False)
    rating = rate(catalogue, data_record("C1", 1_500_000_000), plan="FAIR-O",
                  buckets=[big_bucket], fair_use=counter)  # fmt: skip
    # Past the 1 GB cap, but an allowance covered every unit: nothing at overage.
    assert amounts(rating) == (1_500_000_000, 1_500_000_000, Decimal("0.000000"))
    assert rating.fair_use_units == 0
    after = rate(catalogue, data_record("C2", 100_000_000), plan="FAIR-O", fair_use=counter)
    assert (after.retail_amount, after.fair_use_units) == (Decimal("0.500000"), 100_000_000)


def test_the_fair_use_cap_counts_per_subscription(catalogue):
    counter = FairUseCounter()
    fair_o = catalogue.plans["FAIR-O"]
    rate(catalogue, data_record("C3", GB), term=term_on(fair_o, subscription_id=1),
         fair_use=counter)  # fmt: skip
    other = rate(catalogue, data_record("C4", GB), term=term_on(fair_o, subscription_id=2),
                 fair_use=counter)  # fmt: skip
    assert (other.retail_amount, other.fair_use_units) == (Decimal("1.990000"), 0)


def test_fair_use_counts_per_billing_period_of_the_accounts_timezone(catalogue):
    counter = FairUseCounter()
    policy = catalogue.versions["FAIR-O"].fair_use_policies.get().pk
    # 2026-10-31 23:30 UTC is already 1 November in Berlin: the next period's count.
    late = data_record("C6", GB, event_time="20261031233000", utc_offset="+0000")
    for usage in (data_record("C5", GB), late):
        rate(catalogue, usage, plan="FAIR-O", fair_use=counter)
    assert counter.counts == {
        (910_001, policy, OCTOBER_START): GB,
        (910_001, policy, NOVEMBER_START): GB,
    }
