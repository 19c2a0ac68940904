"""Billing periods, calendar days and time zones (R6, R24)."""

import datetime as dt

import pytest

from core.periods import Period, billing_period, billing_period_containing, local_date

BERLIN = "Europe/Berlin"


def test_october_2026_in_berlin_is_31_days_despite_the_dst_change():
    period = billing_period(year=2026, month=10, tz=BERLIN)
    assert period.days == 31
    assert period.start == dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)
    assert period.end - period.start == dt.timedelta(days=31, hours=1)


def test_period_is_half_open():
    period = billing_period(year=2026, month=10, tz=BERLIN)
    assert period.contains(period.start)
    assert not period.contains(period.end)
    assert period.contains(period.end - dt.timedelta(microseconds=1))


def test_days_used_count_activation_day_and_exclude_termination_day():
    period = billing_period(year=2026, month=10, tz=BERLIN)
    assert period.days_between(dt.date(2026, 10, 15), period.end_date) == 17
    assert period.days_between(period.start_date, dt.date(2026, 10, 20)) == 19


def test_cycle_day_is_clamped_to_short_months():
    period = billing_period(year=2026, month=1, tz=BERLIN, cycle_day=31)
    assert period.start_date == dt.date(2026, 1, 31)
    assert period.end_date == dt.date(2026, 2, 28)


def test_period_containing_an_instant_before_the_cycle_day_is_the_previous_one():
    instant = dt.datetime(2026, 10, 3, 12, tzinfo=dt.UTC)
    period = billing_period_containing(instant, tz=BERLIN, cycle_day=15)
    assert (period.start_date, period.end_date) == (dt.date(2026, 9, 15), dt.date(2026, 10, 15))


def test_local_date_uses_the_account_timezone():
    late_evening_utc = dt.datetime(2026, 10, 19, 22, 30, tzinfo=dt.UTC)
    assert local_date(late_evening_utc, BERLIN) == dt.date(2026, 10, 20)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        local_date(dt.datetime(2026, 10, 1), BERLIN)
    with pytest.raises(ValueError):
        Period(dt.date(2026, 10, 2), dt.date(2026, 10, 1), BERLIN)
