"""In-memory indexes the rating engine calls per event: zones (R7a), bands (R8), rates (R7).

Each index is built once from the database (or from plain data, for the simulator and tests) and
then answers without any query. They are immutable, so one index may serve many events.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from catalog.models import (
    COUNTED_SERVICES,
    UNIT_SIZE,
    RateCard,
    TimeBandSet,
    ZoneKind,
    ZoneTable,
    ZoneType,
)

MINUTES_PER_WEEK = 7 * 1440
_NO_OFFSET = dt.timedelta(0)
_FOUND_MAX = 100_000


class ZoneIndex:
    """Answer "which zone is this number / this network" for one zone table (R7a).

    Destination: the longest listed prefix of the other party's number wins, else the table's
    "rest" zone, else None (a rating error). Roaming: a visited network among the host
    network's own PLMN codes is HOME; otherwise the zone listing its MCC+MNC, then its MCC, then
    the "rest" zone, else None.
    """

    __slots__ = (
        "code",
        "_prefixes",
        "_lengths",
        "_dest_rest",
        "incoming",
        "_networks",
        "_roam_rest",
        "home",
        "_found",
    )

    def __init__(
        self,
        *,
        code: str,
        prefixes: dict[str, str],
        networks: dict[str, str],
        destination_rest: str | None = None,
        incoming: str | None = None,
        roaming_rest: str | None = None,
        home: str | None = None,
    ) -> None:
        self.code = code
        self._prefixes = dict(prefixes)
        self._lengths = tuple(sorted({len(prefix) for prefix in prefixes}, reverse=True))
        self._dest_rest = destination_rest
        self.incoming = incoming
        self._networks = dict(networks)
        self._roam_rest = roaming_rest
        self.home = home
        # Numbers looked up already and their zone: calls go to the same numbers again and again.
        # Bounded (emptied when full), so memory stays flat however many numbers a run meets.
        self._found: dict[str, str | None] = {}

    @classmethod
    def from_table(cls, table: ZoneTable) -> "ZoneIndex":
        """Build the index of a zone table with two queries."""
        special = {}
        for zone in table.zones.exclude(kind=ZoneKind.LISTED):
            special[(zone.zone_type, zone.kind)] = zone.code
        prefixes: dict[str, str] = {}
        networks: dict[str, str] = {}
        for zone_type, value, zone_code in table.members.values_list(
            "zone_type", "value", "zone__code"
        ):
            (prefixes if zone_type == ZoneType.DESTINATION else networks)[value] = zone_code
        return cls(
            code=table.code,
            prefixes=prefixes,
            networks=networks,
            destination_rest=special.get((ZoneType.DESTINATION, ZoneKind.REST)),
            incoming=special.get((ZoneType.DESTINATION, ZoneKind.INCOMING)),
            roaming_rest=special.get((ZoneType.ROAMING, ZoneKind.REST)),
            home=special.get((ZoneType.ROAMING, ZoneKind.HOME)),
        )

    def destination(self, number: str) -> str | None:
        """Return the destination zone of a number by its longest listed prefix.

        No length check: a slice longer than the number is the whole number, which, when it is
        listed, is its longest prefix indeed (benchmarks.zones).
        """
        found = self._found
        try:
            return found[number]
        except KeyError:
            pass
        prefixes = self._prefixes
        zone = self._dest_rest
        for length in self._lengths:
            listed = prefixes.get(number[:length])
            if listed is not None:
                zone = listed
                break
        if len(found) >= _FOUND_MAX:
            found.clear()
        found[number] = zone
        return zone

    def roaming(self, visited_plmn: str, home_plmns) -> str | None:
        """Return the roaming zone of a visited network; HOME on the sender's own network."""
        if visited_plmn in home_plmns:
            return self.home
        zone = self._networks.get(visited_plmn)
        if zone is None:
            zone = self._networks.get(visited_plmn[:3])
        return zone if zone is not None else self._roam_rest


class BandIndex:
    """Answer "which time band is this instant in" for one band set (R8), per minute of week."""

    __slots__ = ("code", "timezone", "_slots", "_zones", "_windows")

    def __init__(self, *, code: str, timezone: str, slots: list[str]) -> None:
        if len(slots) != MINUTES_PER_WEEK:
            raise ValueError("a band index needs one band per minute of the week")
        self.code = code
        self.timezone = timezone
        self._slots = tuple(slots)
        self._zones: dict[str, ZoneInfo] = {}
        # Per timezone, the last UTC hour seen and its offset there: events come in time order,
        # so nearly every look-up is a comparison and an addition, no ``astimezone`` (issue 14).
        self._windows: dict[str, tuple] = {}

    @classmethod
    def from_set(cls, band_set: TimeBandSet) -> "BandIndex":
        """Build the index of a band set (validated by catalog.services before it is saved)."""
        from catalog.services import band_set_coverage

        slots = band_set_coverage(band_set)
        missing = [minute for minute, band in enumerate(slots) if band is None]
        if missing:
            raise ValueError(f"band set {band_set.code} leaves minutes uncovered")
        return cls(code=band_set.code, timezone=band_set.timezone, slots=slots)

    def band_at(self, instant: dt.datetime, timezone: str | None = None) -> str:
        """Return the band of an instant's start, in the account's timezone if given (R8)."""
        name = timezone or self.timezone
        window = self._windows.get(name)
        if window is None or not window[0] <= instant < window[1]:
            window = self._window(name, instant)
        # The wall time there: the UTC instant plus the hour's offset, or the long way.
        local = instant + window[2] if window else instant.astimezone(self._tz(name))
        return self._slots[local.weekday() * 1440 + local.hour * 60 + local.minute]

    def _tz(self, name: str) -> ZoneInfo:
        tz = self._zones.get(name)
        if tz is None:
            tz = self._zones[name] = ZoneInfo(name)
        return tz

    def _window(self, name: str, instant: dt.datetime):
        """The UTC hour of an instant and the offset of ``name`` in it, when one offset holds
        for the whole hour (kept for the next look-ups); None otherwise (a change of offset
        inside the hour, or an instant not in UTC), to be converted the long way."""
        if instant.utcoffset() != _NO_OFFSET:  # an instant in UTC only (also not naive)
            return None
        start = instant.replace(minute=0, second=0, microsecond=0)
        tz = self._tz(name)
        offset = start.astimezone(tz).utcoffset()
        end = start + dt.timedelta(hours=1)
        if (end - dt.timedelta(microseconds=1)).astimezone(tz).utcoffset() != offset:
            return None
        window = self._windows[name] = (start, end, offset)
        return window


@dataclass(frozen=True, slots=True)
class RateData:
    """A rate row as the engine needs it: plain values, no ORM."""

    id: int
    service: str
    destination_zones: frozenset[str]
    roaming_zones: frozenset[str]
    time_band: str | None
    price: Decimal
    unit: str
    increment_first: int
    increment_next: int
    connection_fee: Decimal
    minimum_charge: Decimal
    tax_category: str | None = None
    # Derived once from the fields above, not per event (issue 14).
    unit_size: int = field(init=False, repr=False, compare=False)
    counted: bool = field(init=False, repr=False, compare=False)  # messages and events: per count
    specificity: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "unit_size", UNIT_SIZE[self.unit])
        set_(self, "counted", self.service in COUNTED_SERVICES)
        # How many of (destination, roaming, band) the row names (R7: most specific wins).
        set_(
            self,
            "specificity",
            bool(self.destination_zones) + bool(self.roaming_zones) + (self.time_band is not None),
        )

    def matches(self, service: str, destination: str | None, roaming: str | None, band) -> bool:
        return (
            self.service == service
            and (not self.destination_zones or destination in self.destination_zones)
            and (not self.roaming_zones or roaming in self.roaming_zones)
            and (self.time_band is None or self.time_band == band)
        )


@dataclass
class RateIndex:
    """Match an event to exactly one row of a rate card (R7), memoising each case."""

    code: str
    kind: str
    currency: str
    zone_table: str
    time_band_set: str | None
    rows: tuple[RateData, ...]
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_card(cls, card: RateCard) -> "RateIndex":
        """Build the index of a rate card with two queries."""
        rows = []
        for row in card.rows.select_related("time_band", "tax_category").prefetch_related(
            "destination_zones", "roaming_zones"
        ):
            rows.append(
                RateData(
                    id=row.pk,
                    service=row.service,
                    destination_zones=frozenset(z.code for z in row.destination_zones.all()),
                    roaming_zones=frozenset(z.code for z in row.roaming_zones.all()),
                    time_band=row.time_band.code if row.time_band_id else None,
                    price=row.price,
                    unit=row.unit,
                    increment_first=row.increment_first,
                    increment_next=row.increment_next,
                    connection_fee=row.connection_fee,
                    minimum_charge=row.minimum_charge,
                    tax_category=row.tax_category.code if row.tax_category_id else None,
                )
            )
        return cls(
            code=card.code,
            kind=card.kind,
            currency=card.currency,
            zone_table=card.zone_table.code,
            time_band_set=card.time_band_set.code if card.time_band_set_id else None,
            rows=tuple(rows),
        )

    @property
    def uses_bands(self) -> bool:
        return any(row.time_band is not None for row in self.rows)

    def match(
        self, service: str, destination: str | None, roaming: str | None, band: str | None
    ) -> RateData | None:
        """Return the most specific row for the case, or None (a rating error, R7)."""
        key = (service, destination, roaming, band)
        try:
            return self._cache[key]
        except KeyError:
            pass
        best = None
        for row in self.rows:
            if row.matches(service, destination, roaming, band) and (
                best is None or row.specificity > best.specificity
            ):
                best = row
        self._cache[key] = best
        return best
