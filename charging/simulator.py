"""The rating simulator, and "how was this priced": a rating taken apart step by step (R7-R14).

The simulator rates one event as a subscriber of any plan version — drafts included — would be
rated, with that version's allowances full (or as much of each left as the operator says), and
writes nothing. The explanation reads a rating (a stored usage event's or a simulated one) and
says, line by line, which record, instant, zones, band, plan version, rate row, increments,
allowances, fair-use cap, retail price, wholesale cost and margin made the amounts.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Sum
from django.urls import reverse

from catalog.models import (
    COUNTED_SERVICES,
    UNIT_SIZE,
    FairUseAction,
    HostNetwork,
    PlanVersion,
    RateRow,
    Service,
    ZoneMember,
    ZoneType,
)
from catalog.selectors import host_network_tariff_at, tax_rate_at
from charging.cdr import HEADER, READ_ERRORS, UsageRecord, open_lines
from charging.engine import (
    INCOMING,
    AccountInfo,
    BucketState,
    CatalogCache,
    FairUseCounter,
    Rating,
    RatingEngine,
    price_of,
)
from charging.models import RatingStatus, RerateChange, UsageEvent
from charging.rating import usage_event_build
from core.periods import Period, billing_period_containing, local_date
from subscribers.models import BucketMovement

BASE_UNITS = {
    Service.VOICE_OUT: "s",
    Service.VOICE_IN: "s",
    Service.DATA: "B",
    Service.SMS_OUT: "SMS",
    Service.SMS_IN: "SMS",
    Service.EVENT: "events",
}
BUCKET_UNITS = {"SECOND": "s", "BYTE": "B", "MESSAGE": "SMS", "EVENT": "events"}
ALLOWANCE_BASE_UNITS = {
    "SECOND": "s",
    "MINUTE": "s",
    "BYTE": "B",
    "KB": "B",
    "MB": "B",
    "GB": "B",
    "MESSAGE": "SMS",
    "EVENT": "events",
}
VOICE = (Service.VOICE_OUT, Service.VOICE_IN)
SIMULATED_ACCOUNT = 0
SIMULATED_SUBSCRIPTION = 0


# --- display helpers ------------------------------------------------------------------------


def quantity_text(quantity: int | None, unit: str) -> str:
    """Show a quantity in a base unit with thousands separators: ``5,820 s``, ``1 SMS``."""
    if quantity is None:
        return "—"
    return f"{quantity:,} {unit}"


def decimal_text(value: Decimal | None, *, digits: int = 12) -> str:
    """Show an exact Decimal as written, its trailing zeros dropped, cut (not rounded) after
    ``digits`` decimals with an ellipsis: the operator sees the exact value before R2 rounding.
    """
    if value is None:
        return "—"
    text = f"{value:f}"
    if "." in text:
        whole, decimals = text.split(".", 1)
        decimals = decimals.rstrip("0")
        if len(decimals) > digits:
            return f"{whole}.{decimals[:digits]}…"
        return f"{whole}.{decimals}" if decimals else whole
    return text


def price_text(value: Decimal | None) -> str:
    """Show a catalogue price without its padding zeros, keeping at least cents."""
    if value is None:
        return "—"
    text = decimal_text(value, digits=8)
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _offset_zone(utc_offset: str) -> dt.timezone:
    sign = -1 if utc_offset.startswith("-") else 1
    delta = dt.timedelta(hours=int(utc_offset[1:3]), minutes=int(utc_offset[3:5]))
    return dt.timezone(sign * delta)


def event_time_as_received(started_at: dt.datetime, utc_offset: str) -> str:
    """Return the record's ``event_time`` field as the network wrote it (local to its offset)."""
    return started_at.astimezone(_offset_zone(utc_offset)).strftime("%Y%m%d%H%M%S")


def usage_file_line(usage_file, line_number: int) -> str | None:
    """Return one line of a usage file as received (plain or gzip), or None if unreadable."""
    if usage_file is None or not line_number or not usage_file.content:
        return None
    try:
        with usage_file.content.open("rb") as handle:
            for number, line in enumerate(open_lines(handle.file), start=1):
                if number == line_number:
                    return line.rstrip("\r\n")
    except (*READ_ERRORS, ValueError):
        return None
    return None


# --- the simulator --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimulatedTerm:
    """The term of a subscriber that does not exist: on the chosen version's plan."""

    plan_id: int
    subscription_id: int = SIMULATED_SUBSCRIPTION
    billing_account_id: int = SIMULATED_ACCOUNT


@dataclass
class SimulatedBucket:
    """A plan allowance as the simulated subscriber holds it for the event's period."""

    allowance: object
    full: int
    before: int
    drawn: int = 0
    input: str = ""

    @property
    def after(self) -> int:
        return self.before - self.drawn

    @property
    def full_text(self) -> str:
        return quantity_text(self.full, self.unit)

    @property
    def drawn_text(self) -> str:
        return quantity_text(self.drawn, self.unit)

    @property
    def after_text(self) -> str:
        return quantity_text(self.after, self.unit)

    @property
    def unit(self) -> str:
        return ALLOWANCE_BASE_UNITS.get(self.allowance.unit, self.allowance.unit)


@dataclass
class Simulation:
    """One simulated rating: the inputs, the buckets before and after, and the explanation."""

    record: UsageRecord
    plan_version: PlanVersion
    host_network: HostNetwork
    timezone: str
    period: Period
    buckets: list[SimulatedBucket]
    rating: Rating
    event: UsageEvent
    explanation: "Explanation"


def usage_simulate(
    *,
    plan_version: PlanVersion,
    record: UsageRecord,
    host_network: HostNetwork,
    timezone: str,
    cycle_day: int = 1,
    remaining: dict[int, int] | None = None,
    tax_region=None,
) -> Simulation:
    """Rate one record on a plan version, any status, as a fresh subscriber would be rated.

    The subscriber holds the version's allowances for the billing period of the event, full
    unless ``remaining`` (allowance id → units left, in the base unit) says otherwise; it has
    no add-on and has used nothing towards a fair-use cap. Nothing is written (R23: the same
    engine as mediation and online charging).
    """
    period = billing_period_containing(record.started_at, tz=timezone, cycle_day=cycle_day)
    remaining = remaining or {}
    cache = CatalogCache()
    version = cache.version(plan_version)
    held: dict[int, SimulatedBucket] = {}
    states = []
    allowances = plan_version.allowances.prefetch_related(
        "destination_zones", "roaming_zones"
    ).order_by("id")
    for allowance in allowances:
        full = allowance.quantity_base
        before = max(0, min(full, remaining.get(allowance.pk, full)))
        held[allowance.pk] = SimulatedBucket(allowance=allowance, full=full, before=before)
        states.append(
            BucketState(
                id=allowance.pk,
                subscription_id=SIMULATED_SUBSCRIPTION,
                billing_account_id=SIMULATED_ACCOUNT,
                shared=allowance.shared,
                from_plan=True,
                plan_id=plan_version.plan_id,
                services=frozenset(allowance.services),
                destination_zones=frozenset(z.code for z in allowance.destination_zones.all()),
                roaming_zones=frozenset(z.code for z in allowance.roaming_zones.all()),
                valid_from=period.start,
                valid_to=period.end,
                remaining=before,
            )
        )
    rating = RatingEngine(cache).rate(
        record,
        term=SimulatedTerm(plan_id=plan_version.plan_id),
        account=AccountInfo(timezone, cycle_day),
        source=host_network.code,
        buckets=states,
        fair_use=FairUseCounter(),
        version=version,
    )
    for bucket_id, quantity in rating.draws:
        held[bucket_id].drawn += quantity
    event = usage_event_build(record, rating, source=host_network.code)
    draws = [
        Draw(name=bucket.allowance.name, quantity=bucket.drawn, unit=bucket.unit)
        for bucket in held.values()
        if bucket.drawn
    ]
    explanation = usage_event_explain(
        event=event, timezone=timezone, tax_region=tax_region, draws=draws, raw_line=record.raw
    )
    return Simulation(
        record=record,
        plan_version=plan_version,
        host_network=host_network,
        timezone=timezone,
        period=period,
        buckets=list(held.values()),
        rating=rating,
        event=event,
        explanation=explanation,
    )


# --- the explanation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    """Units an event took from one bucket (R11)."""

    name: str
    quantity: int
    unit: str
    url: str = ""

    @property
    def text(self) -> str:
        return quantity_text(self.quantity, self.unit)


@dataclass(frozen=True)
class Term:
    """One term of an amount: what, how it is computed, how much (exact)."""

    label: str
    formula: str
    amount: Decimal

    @property
    def amount_text(self) -> str:
        return decimal_text(self.amount)


@dataclass
class Explanation:
    """Everything that made an event's amounts, in the order the engine applied it."""

    event: UsageEvent
    record_fields: list[tuple[str, str]]
    raw_line: str | None
    # when (R6, R8)
    started_utc: dt.datetime
    started_local: dt.datetime
    timezone: str
    band_set: object = None
    # where (R7a)
    zone_table: object = None
    destination_note: str = ""
    roaming_note: str = ""
    # which price (R7)
    plan_version: object = None
    rate_card: object = None
    rate_row: object = None
    rate_row_zones: str = ""
    # how many units (R9), allowances (R11, R12), fair use (R13)
    unit: str = ""
    increments_note: str = ""
    draws: list[Draw] = field(default_factory=list)
    left_units: int = 0
    fair_use_policy: object = None
    overage_units: int = 0
    # amounts (R2, R14)
    retail_terms: list[Term] = field(default_factory=list)
    retail_exact: Decimal | None = None
    wholesale_card: object = None
    wholesale_row: object = None
    wholesale_terms: list[Term] = field(default_factory=list)
    wholesale_exact: Decimal | None = None
    tax_rate: Decimal | None = None
    retail_net: Decimal | None = None
    margin: Decimal | None = None
    margin_note: str = ""
    rerates: list = field(default_factory=list)

    @property
    def started_utc_text(self) -> str:
        return self.started_utc.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def started_local_text(self) -> str:
        return self.started_local.strftime("%A %Y-%m-%d %H:%M:%S")

    @property
    def rated(self) -> bool:
        return self.event.rating_status == RatingStatus.RATED

    @property
    def counted(self) -> bool:
        return self.event.service in COUNTED_SERVICES

    def units_text(self, quantity) -> str:
        return quantity_text(quantity, self.unit)

    @property
    def units(self) -> str:
        return self.units_text(self.event.units)

    @property
    def charged(self) -> str:
        return self.units_text(self.event.charged_units)

    @property
    def covered(self) -> str:
        return self.units_text(self.event.covered_units)

    @property
    def left(self) -> str:
        return self.units_text(self.left_units)

    @property
    def fair_use_units(self) -> str:
        return self.units_text(self.event.fair_use_units)

    @property
    def wholesale_units(self) -> str:
        return self.units_text(self.event.wholesale_units)

    @property
    def retail_exact_text(self) -> str:
        return decimal_text(self.retail_exact)

    @property
    def wholesale_exact_text(self) -> str:
        return decimal_text(self.wholesale_exact)

    @property
    def retail_net_text(self) -> str:
        return self._exact_or_stored(self.retail_net)

    @property
    def margin_text(self) -> str:
        return self._exact_or_stored(self.margin)

    def _exact_or_stored(self, value: Decimal | None) -> str:
        """Amounts of a net plan are exact to 6 places (R2): show them as stored."""
        if value is not None and not self.event.tax_inclusive:
            return f"{value:f}"
        return decimal_text(value)

    @property
    def rate_price_text(self) -> str:
        return price_text(self.rate_row.price) if self.rate_row else "—"

    @property
    def connection_fee_text(self) -> str:
        return price_text(self.rate_row.connection_fee) if self.rate_row else "—"

    @property
    def minimum_charge_text(self) -> str:
        return price_text(self.rate_row.minimum_charge) if self.rate_row else "—"

    @property
    def wholesale_price_text(self) -> str:
        return price_text(self.wholesale_row.price) if self.wholesale_row else "—"

    @property
    def wholesale_row_zones(self) -> str:
        return _zones_text(self.wholesale_row) if self.wholesale_row else ""

    @property
    def tax_rate_text(self) -> str:
        return decimal_text(self.tax_rate * 100) + " %" if self.tax_rate is not None else "—"


def usage_event_draws(event: UsageEvent) -> list[Draw]:
    """Return what a stored event draws from each bucket now (R11), net of rerating take-backs."""
    rows = (
        BucketMovement.objects.filter(usage_event_id=event.pk)
        .values("bucket_id", "bucket__name", "bucket__unit", "bucket__subscription_id")
        .annotate(total=Sum("quantity"))
        .order_by("bucket_id")
    )
    draws = []
    for row in rows:
        if not row["total"]:
            continue
        url = ""
        if row["bucket__subscription_id"]:
            url = reverse("subscribers:subscription-detail", args=[row["bucket__subscription_id"]])
        draws.append(
            Draw(
                name=row["bucket__name"],
                quantity=-row["total"],
                unit=BUCKET_UNITS.get(row["bucket__unit"], row["bucket__unit"]),
                url=url,
            )
        )
    return draws


def usage_event_explain(
    *,
    event: UsageEvent,
    timezone: str,
    tax_region=None,
    draws: list[Draw] | None = None,
    raw_line: str | None = None,
) -> Explanation:
    """Take an event's rating apart, line by line ("how was this priced")."""
    unit = BASE_UNITS.get(event.service, "units")
    explanation = Explanation(
        event=event,
        record_fields=_record_fields(event),
        raw_line=raw_line,
        started_utc=event.started_at.astimezone(dt.UTC),
        started_local=event.started_at.astimezone(ZoneInfo(timezone)),
        timezone=timezone,
        unit=unit,
        draws=draws if draws is not None else (usage_event_draws(event) if event.pk else []),
    )
    if event.plan_version_id:
        explanation.plan_version = PlanVersion.objects.select_related("plan", "tax_category").get(
            pk=event.plan_version_id
        )
        card = explanation.plan_version.rate_card
        explanation.rate_card = card
        explanation.zone_table = card.zone_table
        explanation.band_set = card.time_band_set
        network = HostNetwork.objects.filter(code=event.source).first()
        explanation.destination_note = _destination_note(event, card.zone_table)
        explanation.roaming_note = _roaming_note(event, card.zone_table, network)
    if event.rate_row_id:
        _explain_retail(explanation)
    if event.wholesale_rate_row_id:
        _explain_wholesale(explanation)
    if event.retail_amount is not None and event.wholesale_amount is not None:
        _explain_margin(explanation, tax_region)
    if event.pk:
        explanation.rerates = list(
            RerateChange.objects.filter(usage_event=event).select_related("job").order_by("id")
        )
    return explanation


def _record_fields(event: UsageEvent) -> list[tuple[str, str]]:
    values = {
        "record_id": event.record_id,
        "record_type": event.record_type,
        "served_msisdn": event.msisdn,
        "served_imsi": event.imsi,
        "event_time": event_time_as_received(event.started_at, event.utc_offset),
        "utc_offset": event.utc_offset,
        "duration": str(event.duration) if event.service in VOICE else "",
        "other_party": event.other_party,
        "volume_uplink": str(event.volume_uplink) if event.service == Service.DATA else "",
        "volume_downlink": str(event.volume_downlink) if event.service == Service.DATA else "",
        "apn": event.apn,
        "visited_plmn": event.visited_plmn,
        "cause_for_termination": event.cause,
        "charging_id": event.charging_id,
    }
    return [(name, values[name]) for name in HEADER.split(",")]


def _destination_note(event: UsageEvent, table) -> str:
    if event.service == Service.DATA:
        return "data has no destination zone (R7a)"
    if event.service in INCOMING:
        return "a received call or SMS is in the INCOMING zone (R7a)"
    number = event.other_party
    if not number:
        return "no other party"
    prefixes = [number[:length] for length in range(1, len(number) + 1)]
    member = (
        ZoneMember.objects.filter(table=table, zone_type=ZoneType.DESTINATION, value__in=prefixes)
        .select_related("zone")
        .order_by()
    )
    best = max(member, key=lambda m: len(m.value), default=None)
    if best is not None:
        return f"+{number} starts with {best.value}, the longest listed prefix: {best.zone.code}"
    if event.destination_zone:
        return f"+{number} has no listed prefix: the table's zone for the rest"
    return f"+{number} is in no zone of {table.code}"


def _roaming_note(event: UsageEvent, table, network) -> str:
    plmn = event.visited_plmn
    if network is not None and plmn in network.plmn_codes:
        return f"{plmn} is one of {network.code}'s own networks: home (R7a)"
    members = {
        m.value: m.zone.code
        for m in ZoneMember.objects.filter(
            table=table, zone_type=ZoneType.ROAMING, value__in=[plmn, plmn[:3]]
        ).select_related("zone")
    }
    if plmn in members:
        return f"network {plmn} is listed in {members[plmn]}"
    if plmn[:3] in members:
        return f"country (MCC) {plmn[:3]} of network {plmn} is listed in {members[plmn[:3]]}"
    if event.roaming_zone:
        return f"network {plmn} is not listed: the table's zone for the rest"
    return f"network {plmn} is in no roaming zone of {table.code}"


def _zones_text(row: RateRow) -> str:
    destinations = ", ".join(z.code for z in row.destination_zones.all()) or "any destination"
    roamings = ", ".join(z.code for z in row.roaming_zones.all()) or "anywhere"
    band = row.time_band.code if row.time_band_id else "any band"
    return f"{destinations} · {roamings} · {band}"


def _increments_note(row: RateRow, unit: str) -> str:
    if row.service in COUNTED_SERVICES:
        return "messages and events are counted: no increments (R9)"
    first, step = row.increment_first, row.increment_next
    if row.service == Service.DATA:
        if first == step:
            return f"the session's volume is rounded up to steps of {first:,} B (R9)"
        return f"at least {first:,} B, then steps of {step:,} B (R9)"
    if first == step == 1:
        return "1/1: exact seconds (R9)"
    return f"{first}/{step}: at least {first} s, then steps of {step} s (R9)"


def _unit_formula(units: int, unit: str, row: RateRow) -> str:
    size = UNIT_SIZE[row.unit]
    per = row.get_unit_display()
    if size == 1:
        return f"{units:,} {unit} × {price_text(row.price)} per {per}"
    return f"{units:,} {unit} × {price_text(row.price)} per {per} ({size:,} {unit})"


def _explain_retail(explanation: Explanation) -> None:
    event = explanation.event
    row = (
        RateRow.objects.select_related("time_band", "rate_card")
        .prefetch_related("destination_zones", "roaming_zones")
        .get(pk=event.rate_row_id)
    )
    explanation.rate_row = row
    explanation.rate_row_zones = _zones_text(row)
    explanation.increments_note = _increments_note(row, explanation.unit)
    charged = event.charged_units
    left = charged - event.covered_units
    explanation.left_units = left
    policy = None
    if event.fair_use_units and explanation.plan_version is not None:
        spec = CatalogCache().version(explanation.plan_version)
        policy_spec = next(
            (
                p
                for p in spec.policies
                if p.applies(event.service, event.destination_zone or None, event.roaming_zone)
            ),
            None,
        )
        if policy_spec is not None:
            policy = explanation.plan_version.fair_use_policies.get(pk=policy_spec.id)
    explanation.fair_use_policy = policy
    overage = min(event.fair_use_units, left) if policy is not None else 0
    explanation.overage_units = overage
    terms = []
    priced_units = left - overage
    if priced_units:
        priced = price_of(priced_units, row.price, UNIT_SIZE[row.unit])
        terms.append(
            Term("at the rate", _unit_formula(priced_units, explanation.unit, row), priced)
        )
        if row.minimum_charge and priced < row.minimum_charge:
            terms[-1] = Term(
                "minimum charge of the rate",
                f"{decimal_text(priced)} is below the minimum {price_text(row.minimum_charge)}",
                row.minimum_charge,
            )
    if overage and policy is not None and policy.action == FairUseAction.OVERAGE:
        size = UNIT_SIZE.get(policy.overage_unit, 1)
        terms.append(
            Term(
                f"overage past the cap of {policy.name} (R13)",
                f"{overage:,} {explanation.unit} × {price_text(policy.overage_price)} per "
                f"{policy.overage_unit.lower()}"
                + (f" ({size:,} {explanation.unit})" if size > 1 else ""),
                price_of(overage, policy.overage_price, size),
            )
        )
    if charged and row.connection_fee:
        terms.append(Term("connection fee", "once per event (R9, R12)", row.connection_fee))
    explanation.retail_terms = terms
    explanation.retail_exact = sum((term.amount for term in terms), Decimal("0"))


def _explain_wholesale(explanation: Explanation) -> None:
    event = explanation.event
    row = (
        RateRow.objects.select_related("time_band", "rate_card")
        .prefetch_related("destination_zones", "roaming_zones")
        .get(pk=event.wholesale_rate_row_id)
    )
    explanation.wholesale_row = row
    explanation.wholesale_card = row.rate_card
    network = HostNetwork.objects.filter(code=event.source).first()
    if network is not None:
        tariff = host_network_tariff_at(host_network=network, instant=event.started_at)
        if tariff is not None:
            explanation.wholesale_card = tariff.rate_card
    terms = []
    units = event.wholesale_units
    if units:
        terms.append(
            Term(
                "at the partner's rate",
                _unit_formula(units, explanation.unit, row),
                price_of(units, row.price, UNIT_SIZE[row.unit]),
            )
        )
        if row.connection_fee:
            terms.append(Term("connection fee", "once per event", row.connection_fee))
    explanation.wholesale_terms = terms
    explanation.wholesale_exact = sum((term.amount for term in terms), Decimal("0"))


def _explain_margin(explanation: Explanation, tax_region) -> None:
    """R14: margin = net retail − wholesale; a tax-inclusive charge is gross / (1 + rate)."""
    event = explanation.event
    if not event.tax_inclusive:
        explanation.retail_net = event.retail_amount
        explanation.margin = event.retail_amount - event.wholesale_amount
        explanation.margin_note = "prices of this plan are net"
        return
    category = None
    if explanation.rate_row is not None and explanation.rate_row.tax_category_id:
        category = explanation.rate_row.tax_category
    elif explanation.plan_version is not None:
        category = explanation.plan_version.tax_category
    if tax_region is None:
        explanation.margin_note = "gross: name a tax region to take the tax out (R14)"
        return
    if category is None:
        explanation.margin_note = "gross: the plan version names no tax category"
        return
    day = local_date(event.started_at, explanation.timezone)
    try:
        rate = tax_rate_at(region=tax_region, category=category, day=day)
    except ObjectDoesNotExist:
        explanation.margin_note = f"gross: no {category} tax rate in {tax_region} on {day}"
        return
    explanation.tax_rate = rate
    explanation.retail_net = event.retail_amount / (1 + rate)
    explanation.margin = explanation.retail_net - event.wholesale_amount
    explanation.margin_note = (
        f"the charge is gross: net = {price_text(event.retail_amount)} / "
        f"(1 + {decimal_text(rate)}), unrounded"
    )
