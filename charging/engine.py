"""The rating engine: one engine for prepaid and postpaid, retail and wholesale (R23).

Given a normalised usage record, the subscription term in force at its start, the catalogue
(through a CatalogCache) and the state of the subscriber's buckets and fair-use counters, it
computes the retail charge and the wholesale cost (R7-R14) and what was applied, without any
database write. Callers (mediation, the simulator, online charging, rerating) persist results.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Context, Decimal

from catalog.lookup import BandIndex, RateData, RateIndex, ZoneIndex
from catalog.models import (
    UNIT_SIZE,
    FairUseAction,
    HostNetwork,
    HostNetworkTariff,
    PlanVersion,
    RateCard,
    Service,
    TimeBandSet,
    ZoneTable,
)
from core.money import quantize_rated
from core.periods import Period, billing_period_containing

ZERO = Decimal("0")
# Enough digits that no product or quotient of a price is ever rounded before R2's one rounding.
_EXACT = Context(prec=50)
OUTGOING = (Service.VOICE_OUT, Service.SMS_OUT, Service.EVENT)
INCOMING = frozenset((Service.VOICE_IN.value, Service.SMS_IN.value))
_DATA = Service.DATA.value


class RatingFailure(Exception):
    """An event that cannot be rated: it goes to the error queue with this code (R7)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def charged_units(units: int, rate: RateData) -> int:
    """Apply a rate's increments ``first/next`` to a raw quantity (R9, R10).

    >>> from decimal import Decimal
    >>> voice = RateData(1, "VOICE_OUT", frozenset(), frozenset(), None, Decimal("0.09"),
    ...                  "MINUTE", 60, 60, Decimal(0), Decimal(0))
    >>> charged_units(61, voice), charged_units(0, voice), charged_units(60, voice)
    (120, 0, 60)
    """
    if units <= 0:
        return 0
    if rate.counted:
        return units
    first, step = rate.increment_first, rate.increment_next
    if units <= first:
        return first
    return first + -(-(units - first) // step) * step


def price_of(units: int, price: Decimal, unit_size: int) -> Decimal:
    """Return ``units × price per unit`` exactly (rounding happens once, at the end, R2)."""
    if units == 0:
        return ZERO
    product = _EXACT.multiply(units, price)
    return product if unit_size == 1 else _EXACT.divide(product, unit_size)


@dataclass(slots=True)
class BucketState:
    """A bucket as the engine draws it (R11): what it covers and what is left."""

    id: int
    subscription_id: int | None
    billing_account_id: int
    shared: bool
    from_plan: bool
    plan_id: int | None
    services: frozenset
    destination_zones: frozenset
    roaming_zones: frozenset
    valid_from: dt.datetime
    valid_to: dt.datetime
    remaining: int

    def sort_key(self):
        """Expires first, then the plan's own bundle before add-ons (R11)."""
        return (self.valid_to, 0 if self.from_plan else 1, self.id)

    def covers(self, *, term, service, destination, roaming, instant) -> bool:
        if self.remaining <= 0 or service not in self.services:
            return False
        if not self.valid_from <= instant < self.valid_to:
            return False
        if self.shared:
            if self.billing_account_id != term.billing_account_id:
                return False
            if self.from_plan and self.plan_id != term.plan_id:
                return False
        elif self.subscription_id != term.subscription_id:
            return False
        if self.destination_zones and destination not in self.destination_zones:
            return False
        return not self.roaming_zones or roaming in self.roaming_zones


@dataclass(frozen=True, slots=True)
class PolicySpec:
    id: int
    services: frozenset
    destination_zones: frozenset
    roaming_zones: frozenset
    cap: int
    action: str
    overage_price: Decimal | None
    overage_unit_size: int

    def applies(self, service, destination, roaming) -> bool:
        return (
            service in self.services
            and (not self.destination_zones or destination in self.destination_zones)
            and (not self.roaming_zones or roaming in self.roaming_zones)
        )


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """What the engine needs of a plan version."""

    id: int
    plan_id: int
    rate_card_id: int
    currency: str
    tax_inclusive: bool
    policies: tuple[PolicySpec, ...]


@dataclass(slots=True)
class Rating:
    """The outcome of rating one event: amounts and everything applied to reach them."""

    status: str = "rated"
    error: str = ""
    detail: str = ""
    destination_zone: str = ""
    roaming_zone: str = ""
    time_band: str = ""
    plan_version_id: int | None = None
    rate_row_id: int | None = None
    charged_units: int = 0
    covered_units: int = 0
    draws: list = field(default_factory=list)
    retail_amount: Decimal | None = None
    currency: str = ""
    tax_inclusive: bool = False
    fair_use_units: int = 0
    throttled: bool = False
    fair_use: list = field(default_factory=list)
    notify_fair_use: bool = False
    wholesale_rate_row_id: int | None = None
    wholesale_units: int = 0
    wholesale_amount: Decimal | None = None

    @classmethod
    def failed(cls, failure: RatingFailure, **known) -> "Rating":
        return cls(status="error", error=failure.code, detail=failure.detail[:300], **known)


class CatalogCache:
    """Catalogue indexes loaded once per run and shared by every event of it."""

    def __init__(self) -> None:
        self._versions: dict[int, VersionSpec] = {}
        self._rates: dict[int, RateIndex] = {}
        self._zones: dict[int, ZoneIndex] = {}
        self._bands: dict[int, BandIndex] = {}
        self._cards: dict[int, RateCard] = {}
        self._networks: dict[str, HostNetwork | None] = {}
        self._tariffs: dict[int, list[HostNetworkTariff]] = {}
        self._plan_versions: dict[int, list[PlanVersion]] = {}
        # The last answer per plan (and per network) with the window it holds for: events come
        # in time order, so nearly every look-up is one comparison (issue 14).
        self._version_hits: dict[int, tuple] = {}
        self._tariff_hits: dict[int, tuple] = {}
        self._pricing: dict[int, tuple] = {}
        self._shared: dict[tuple[int, int], tuple[bool, bool]] = {}

    # -- plans
    def load_plans(self, plan_ids) -> None:
        """Load the versions in force of many plans at once."""
        from catalog.models import Status

        missing = set(plan_ids) - set(self._plan_versions)
        if not missing:
            return
        for plan_id in missing:
            self._plan_versions[plan_id] = []
        versions = PlanVersion.objects.filter(
            plan_id__in=missing, status__in=(Status.PUBLISHED, Status.RETIRED)
        ).order_by("effective_from")
        for version in versions:
            self._plan_versions[version.plan_id].append(version)

    def version_at(self, plan_id: int, instant: dt.datetime) -> VersionSpec | None:
        """Return the plan version in force at an instant (catalog.selectors.plan_version_at)."""
        hit = self._version_hits.get(plan_id)
        if hit is not None and hit[0] <= instant and (hit[1] is None or instant < hit[1]):
            return hit[2]
        versions = self._plan_versions.get(plan_id)
        if versions is None:
            self.load_plans([plan_id])
            versions = self._plan_versions[plan_id]
        found = following = None
        for version in versions:
            if version.effective_from <= instant:
                found = version
            else:
                following = version.effective_from
                break
        if found is None:
            return None
        spec = self.version(found)
        self._version_hits[plan_id] = (found.effective_from, following, spec)
        return spec

    def version(self, version: PlanVersion) -> VersionSpec:
        spec = self._versions.get(version.pk)
        if spec is None:
            policies = tuple(
                PolicySpec(
                    id=policy.pk,
                    services=frozenset(policy.services),
                    destination_zones=frozenset(z.code for z in policy.destination_zones.all()),
                    roaming_zones=frozenset(z.code for z in policy.roaming_zones.all()),
                    cap=policy.cap_base,
                    action=policy.action,
                    overage_price=policy.overage_price,
                    overage_unit_size=UNIT_SIZE.get(policy.overage_unit, 1),
                )
                for policy in version.fair_use_policies.prefetch_related(
                    "destination_zones", "roaming_zones"
                ).order_by("id")
            )
            spec = self._versions[version.pk] = VersionSpec(
                id=version.pk,
                plan_id=version.plan_id,
                rate_card_id=version.rate_card_id,
                currency=version.plan.currency,
                tax_inclusive=version.tax_inclusive,
                policies=policies,
            )
        return spec

    # -- rate cards, zones, bands
    def card(self, card_id: int) -> RateCard:
        card = self._cards.get(card_id)
        if card is None:
            card = self._cards[card_id] = RateCard.objects.select_related(
                "zone_table", "time_band_set"
            ).get(pk=card_id)
        return card

    def pricing(self, card_id: int) -> tuple:
        """A card with its indexes: ``(card, zones, bands or None, rates)``, built once."""
        found = self._pricing.get(card_id)
        if found is None:
            card = self.card(card_id)
            band_set = card.time_band_set_id
            found = self._pricing[card_id] = (
                card,
                self.zones(card.zone_table_id),
                None if band_set is None else self.bands(band_set),
                self.rates(card_id),
            )
        return found

    def shared(self, retail: RateCard, wholesale: RateCard) -> tuple[bool, bool]:
        """Whether two cards use the same zone table and the same band set, asked once."""
        key = (retail.pk, wholesale.pk)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = (
                retail.zone_table_id == wholesale.zone_table_id,
                retail.time_band_set_id == wholesale.time_band_set_id,
            )
        return found

    def rates(self, card_id: int) -> RateIndex:
        index = self._rates.get(card_id)
        if index is None:
            index = self._rates[card_id] = RateIndex.from_card(self.card(card_id))
        return index

    def zones(self, table_id: int) -> ZoneIndex:
        index = self._zones.get(table_id)
        if index is None:
            index = self._zones[table_id] = ZoneIndex.from_table(ZoneTable.objects.get(pk=table_id))
        return index

    def bands(self, band_set_id: int) -> BandIndex:
        index = self._bands.get(band_set_id)
        if index is None:
            index = self._bands[band_set_id] = BandIndex.from_set(
                TimeBandSet.objects.get(pk=band_set_id)
            )
        return index

    # -- host networks
    def network(self, source: str) -> HostNetwork | None:
        if source not in self._networks:
            self._networks[source] = HostNetwork.objects.filter(code=source).first()
        return self._networks[source]

    def tariff_card_at(self, network: HostNetwork, instant: dt.datetime) -> int | None:
        hit = self._tariff_hits.get(network.pk)
        if hit is not None and hit[0] <= instant and (hit[1] is None or instant < hit[1]):
            return hit[2]
        tariffs = self._tariffs.get(network.pk)
        if tariffs is None:
            tariffs = self._tariffs[network.pk] = list(
                HostNetworkTariff.objects.filter(host_network=network).order_by("effective_from")
            )
        found = start = following = None
        for tariff in tariffs:
            if tariff.effective_from <= instant:
                found, start = tariff.rate_card_id, tariff.effective_from
            else:
                following = tariff.effective_from
                break
        if found is not None:
            self._tariff_hits[network.pk] = (start, following, found)
        return found


@dataclass
class AccountInfo:
    """What the engine needs of a billing account: its timezone and bill cycle (R6, R8)."""

    timezone: str
    cycle_day: int
    _period: Period | None = field(default=None, repr=False, compare=False)

    def period_at(self, instant: dt.datetime) -> Period:
        """The billing period containing an instant; the last one is kept (events come in order)."""
        period = self._period
        if period is None or not period.start <= instant < period.end:
            period = self._period = billing_period_containing(
                instant, tz=self.timezone, cycle_day=self.cycle_day
            )
        return period


class FairUseCounter:
    """Units counted per (subscription, policy, period start) in rating order (R13)."""

    def __init__(self, counts: dict | None = None, notified: set | None = None) -> None:
        self.counts = counts or {}
        self.notified = notified or set()


class RatingEngine:
    """Rate usage records; state (buckets, fair-use counts) is held by the caller's objects."""

    def __init__(self, cache: CatalogCache | None = None) -> None:
        self.cache = cache or CatalogCache()

    def _zones_for(self, zones: ZoneIndex, record, home_plmns) -> tuple[str | None, str | None]:
        service = record.service
        if service == _DATA:
            destination = None
        elif service in INCOMING:
            destination = zones.incoming
            if destination is None:
                raise RatingFailure("NO_ZONE", f"zone table {zones.code} has no INCOMING zone")
        else:
            destination = zones.destination(record.other_party)
            if destination is None:
                raise RatingFailure(
                    "NO_ZONE", f"+{record.other_party} is in no zone of {zones.code}"
                )
        roaming = zones.roaming(record.visited_plmn, home_plmns)
        if roaming is None:
            raise RatingFailure("NO_ZONE", f"network {record.visited_plmn} is in no roaming zone")
        return destination, roaming

    def rate(
        self,
        record,
        *,
        term,
        account: AccountInfo,
        source: str,
        buckets: list[BucketState],
        fair_use: FairUseCounter,
        version: VersionSpec | None = None,
        buckets_sorted: bool = False,
    ) -> Rating:
        """Rate one record retail (the plan in force, R7-R13) and wholesale (R14).

        ``buckets`` (the subscriber's own and its account's shared ones, in drawing order when
        ``buckets_sorted``, BucketState.sort_key) are drawn in place
        (their ``remaining`` goes down) and ``fair_use`` counts go up, so that the next record
        of the same subscriber sees them (R11b).
        """
        rating = Rating()
        cache = self.cache
        instant = record.started_at
        try:
            network = cache.network(source)
            if network is None:
                raise RatingFailure("NO_WHOLESALE_TARIFF", f"no host network {source}")
            home = network.plmn_codes
            if version is None:
                version = cache.version_at(term.plan_id, instant)
            if version is None:
                raise RatingFailure("NO_PLAN", "no version of the plan in force then")
            rating.plan_version_id = version.id
            rating.currency = version.currency
            rating.tax_inclusive = version.tax_inclusive
            card, zones, bands, rates = cache.pricing(version.rate_card_id)
            destination, roaming = self._zones_for(zones, record, home)
            rating.destination_zone, rating.roaming_zone = destination or "", roaming
            band = None if bands is None else bands.band_at(instant, account.timezone)
            rating.time_band = band or ""
            row = rates.match(record.service, destination, roaming, band)
            if row is None:
                raise RatingFailure(
                    "NO_RATE",
                    f"no {record.service} rate for {destination or '-'} / {roaming} / "
                    f"{band or 'any band'} in {card.code}",
                )
            wholesale_row, wholesale_units, wholesale_amount = self._wholesale(
                record, network, account, known=(card, destination, roaming, band)
            )
        except RatingFailure as failure:
            return Rating.failed(
                failure,
                plan_version_id=rating.plan_version_id,
                destination_zone=rating.destination_zone,
                roaming_zone=rating.roaming_zone,
                time_band=rating.time_band,
                currency=rating.currency,
            )
        rating.rate_row_id = row.id
        charged = charged_units(record.units, row)
        rating.charged_units = charged
        # R11, R12: allowances first, in expiry order; increments were applied once above.
        left = charged
        if charged:
            for bucket in buckets if buckets_sorted else sorted(buckets, key=BucketState.sort_key):
                if not left:
                    break
                if bucket.covers(
                    term=term,
                    service=record.service,
                    destination=destination,
                    roaming=roaming,
                    instant=record.started_at,
                ):
                    take = min(bucket.remaining, left)
                    bucket.remaining -= take
                    left -= take
                    rating.draws.append((bucket.id, take))
        rating.covered_units = charged - left
        amount = ZERO
        overage_units = 0
        policy = None
        for candidate in version.policies:
            if candidate.applies(record.service, destination, roaming):
                policy = candidate
                break
        if policy is not None and charged:
            # R13: the cap counts charged units, covered ones included, in rating order.
            period = account.period_at(record.started_at)
            key = (term.subscription_id, policy.id, period.start)
            before = fair_use.counts.get(key, 0)
            fair_use.counts[key] = before + charged
            rating.fair_use.append((policy.id, period.start, charged))
            past_cap = min(charged, max(0, before + charged - policy.cap))
            if past_cap:
                # The covered units come first, so the uncovered ones past the cap are the
                # last ``overage_units``. Fair-use units are those "charged at overage or
                # throttled": throttling slows every unit past the cap, covered or not;
                # overage charges only the ones no allowance covered.
                overage_units = min(past_cap, left)
                rating.fair_use_units = overage_units
                if policy.action == FairUseAction.THROTTLE:
                    rating.fair_use_units = past_cap
                    rating.throttled = True
                    if key not in fair_use.notified:
                        fair_use.notified.add(key)
                        rating.notify_fair_use = True
                else:
                    amount += price_of(
                        overage_units, policy.overage_price, policy.overage_unit_size
                    )
        priced_units = left - overage_units
        if priced_units:
            priced = price_of(priced_units, row.price, row.unit_size)
            amount += max(priced, row.minimum_charge)
        if charged and row.connection_fee:
            amount += row.connection_fee
        rating.retail_amount = quantize_rated(amount)
        rating.wholesale_rate_row_id = wholesale_row.id
        rating.wholesale_units = wholesale_units
        rating.wholesale_amount = wholesale_amount
        return rating

    def _wholesale(self, record, network: HostNetwork, account: AccountInfo, known=None):
        """Rate an event on the host network's wholesale card, on the raw units (R14).

        ``known``: the retail card and the zones and band found with it; a wholesale card on
        the same zone table (or band set) would find the same ones, so they are reused.
        """
        card_id = self.cache.tariff_card_at(network, record.started_at)
        if card_id is None:
            raise RatingFailure("NO_WHOLESALE_TARIFF", f"{network.code} has no wholesale card then")
        card, zones, bands, rates = self.cache.pricing(card_id)
        retail = known[0] if known else None
        same_zones, same_bands = (
            (False, False) if retail is None else self.cache.shared(retail, card)
        )
        if same_zones:
            destination, roaming = known[1], known[2]
        else:
            destination, roaming = self._zones_for(zones, record, network.plmn_codes)
        if same_bands:
            band = known[3]
        elif bands is None:
            band = None
        else:
            band = bands.band_at(record.started_at, account.timezone)
        row = rates.match(record.service, destination, roaming, band)
        if row is None:
            raise RatingFailure(
                "NO_WHOLESALE_RATE",
                f"no wholesale {record.service} rate for {roaming} in {card.code}",
            )
        units = charged_units(record.units, row)
        amount = price_of(units, row.price, row.unit_size)
        if units and row.connection_fee:
            amount += row.connection_fee
        return row, units, quantize_rated(amount)
