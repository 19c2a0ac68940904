"""Half-open periods [start, end), calendar days and time zones (billing-rules R6, R24).

Instants are aware UTC datetimes; an account's timezone is used only to find its calendar days
and the boundaries of its periods.
"""

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

UTC = dt.UTC


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    """Return a ZoneInfo for an IANA name (or the ZoneInfo itself)."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def require_aware(instant: dt.datetime) -> dt.datetime:
    """Refuse a naive datetime: every stored instant is aware (R6)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("naive datetime: every instant must carry its timezone (R6)")
    return instant


def local_midnight(day: dt.date, tz: str | ZoneInfo) -> dt.datetime:
    """Return 00:00 of a calendar day in a timezone, as an aware UTC instant."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone(tz)).astimezone(UTC)


def local_date(instant: dt.datetime, tz: str | ZoneInfo) -> dt.date:
    """Return the calendar day of an instant in a timezone."""
    return require_aware(instant).astimezone(zone(tz)).date()


def _cycle_date(year: int, month: int, cycle_day: int) -> dt.date:
    """Return the bill cycle day of a month, clamped to the month's last day."""
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(cycle_day, last))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Period:
    """A billing period: calendar days [start_date, end_date) in a timezone."""

    start_date: dt.date
    end_date: dt.date
    tz: str

    def __post_init__(self) -> None:
        if self.end_date <= self.start_date:
            raise ValueError("a period ends after it starts")

    @cached_property
    def start(self) -> dt.datetime:
        """The first instant of the period (aware UTC)."""
        return local_midnight(self.start_date, self.tz)

    @cached_property
    def end(self) -> dt.datetime:
        """The first instant after the period (aware UTC)."""
        return local_midnight(self.end_date, self.tz)

    @property
    def days(self) -> int:
        """Calendar days in the period; a daylight-saving change does not alter it (R24)."""
        return (self.end_date - self.start_date).days

    def contains(self, instant: dt.datetime) -> bool:
        """Tell whether an instant lies in [start, end)."""
        return self.start <= require_aware(instant) < self.end

    def days_between(self, first: dt.date, stop: dt.date) -> int:
        """Count the period's days in [first, stop): first included, stop excluded (R24)."""
        first = max(first, self.start_date)
        stop = min(stop, self.end_date)
        return max((stop - first).days, 0)

    def next(self, cycle_day: int | None = None) -> "Period":
        """Return the billing period that follows this one."""
        day = cycle_day or self.start_date.day
        year, month = _add_months(self.end_date.year, self.end_date.month, 1)
        return Period(self.end_date, _cycle_date(year, month, day), self.tz)


def billing_period(*, year: int, month: int, tz: str, cycle_day: int = 1) -> Period:
    """Return the period that starts on the bill cycle day of the given month."""
    if not 1 <= cycle_day <= 31:
        raise ValueError("the bill cycle day lies between 1 and 31")
    start = _cycle_date(year, month, cycle_day)
    next_year, next_month = _add_months(year, month, 1)
    return Period(start, _cycle_date(next_year, next_month, cycle_day), tz)


def billing_period_containing(instant: dt.datetime, *, tz: str, cycle_day: int = 1) -> Period:
    """Return the billing period that contains an instant."""
    day = local_date(instant, tz)
    period = billing_period(year=day.year, month=day.month, tz=tz, cycle_day=cycle_day)
    if day < period.start_date:
        year, month = _add_months(day.year, day.month, -1)
        period = billing_period(year=year, month=month, tz=tz, cycle_day=cycle_day)
    return period
