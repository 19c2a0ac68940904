"""Writes of the catalogue: one function per business action, each owning its transaction.

Every refusal is a ``ValidationError`` naming the field it is about, so the console puts it on
the form, the API returns it as a 400 with field errors and the import reports it with its path.
"""

import itertools
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, update_change_reason

from catalog.models import (
    COUNTED_SERVICES,
    DEFAULT_DATA_INCREMENT,
    SERVICE_UNITS,
    AddOn,
    Allowance,
    BrandScope,
    DiscountType,
    FairUseAction,
    FairUsePolicy,
    HostNetwork,
    HostNetworkTariff,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    RateCardKind,
    RateRow,
    Service,
    Status,
    TimeBand,
    TimeBandSet,
    TimeBandWindow,
    Zone,
    ZoneKind,
    ZoneMember,
    ZoneTable,
    ZoneType,
)
from catalog.selectors import (
    band_set_frozen,
    require_catalog_change,
    require_every_brand,
    require_plans_of_user,
    zone_table_frozen,
)

MINUTES_PER_WEEK = 7 * 1440
WEEKDAYS = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}


def _audit(obj, acting_user, reason: str | None = None):
    """Tell django-simple-history who acts and why, for the next save of ``obj``.

    Every write of the catalogue passes here first, so here a user limited to some brands is
    refused a change of another brand's object or of a shared one (PermissionDenied).
    """
    require_catalog_change(obj, acting_user)
    if acting_user is not None and getattr(acting_user, "is_authenticated", False):
        obj._history_user = acting_user
    if reason:
        obj._change_reason = reason
    return obj


def _save(obj, acting_user, reason: str | None = None):
    obj.full_clean()
    _audit(obj, acting_user, reason)
    obj.save()
    return obj


def _require_draft(obj, what: str) -> None:
    """Refuse to change ``obj`` unless the database (not a stale copy in memory) says draft.

    Inside a transaction the row stays locked until the change commits, so a concurrent
    publish cannot slip in between this check and the change.
    """
    if obj.pk is not None:
        rows = type(obj).objects.filter(pk=obj.pk)
        if not transaction.get_connection().get_autocommit():
            rows = rows.select_for_update()
        obj.status = rows.values_list("status", flat=True).first() or obj.status
    if obj.status != Status.DRAFT:
        raise ValidationError(
            f"{what} is {obj.status}: a published or retired {what} never changes; "
            "clone it to make a new draft."
        )


def check_timezone(name: str) -> str:
    """Refuse a timezone that is not an IANA name."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError({"timezone": f"unknown timezone {name!r}"}) from error
    return name


# --- brands and tax categories ----------------------------------------------------------------


def brand_save(*, code: str, name: str, parent=None, brand=None, acting_user=None):
    """Create or update a brand."""
    from catalog.models import Brand

    brand = brand or Brand()
    if parent is not None and brand.pk and parent.pk == brand.pk:
        raise ValidationError({"parent": "a brand is not its own parent"})
    brand.code, brand.name, brand.parent = code, name, parent
    with transaction.atomic():
        return _save(brand, acting_user)


def tax_category_save(*, code: str, name: str, category=None, acting_user=None):
    """Create or update a tax category."""
    from catalog.models import TaxCategory

    category = category or TaxCategory()
    category.code, category.name = code, name
    with transaction.atomic():
        return _save(category, acting_user)


def tax_region_save(
    *, code: str, name: str, prepaid_tax_point: str = "", region=None, acting_user=None
):
    """Create or update a tax region (its prepaid tax point, R29, when given)."""
    from catalog.models import TaxRegion

    region = region or TaxRegion()
    region.code, region.name = code, name
    if prepaid_tax_point:
        region.prepaid_tax_point = prepaid_tax_point
    with transaction.atomic():
        return _save(region, acting_user)


def zone_table_save(*, code: str, name: str, description: str = "", table=None, acting_user=None):
    """Create or update a zone table."""
    table = table or ZoneTable()
    table.code, table.name, table.description = code, name, description
    with transaction.atomic():
        return _save(table, acting_user)


# --- zones ----------------------------------------------------------------------------------


def _check_member(zone_type: str, value: str) -> str:
    value = str(value).strip()
    if not value.isdigit():
        raise ValidationError(f"{value!r} is not made of digits")
    if zone_type == ZoneType.DESTINATION and not 1 <= len(value) <= 15:
        raise ValidationError(f"prefix {value!r} must have 1 to 15 digits")
    if zone_type == ZoneType.ROAMING and len(value) not in (3, 5, 6):
        raise ValidationError(
            f"network {value!r} must be an MCC (3 digits) or an MCC+MNC (5 or 6 digits)"
        )
    return value


def zone_save(
    *,
    table: ZoneTable,
    zone_type: str,
    code: str,
    name: str = "",
    kind: str = ZoneKind.LISTED,
    members: Iterable[str] = (),
    zone: Zone | None = None,
    acting_user=None,
) -> Zone:
    """Create or update a zone and replace its prefixes or networks.

    A prefix or network already listed by another zone of the same table is refused (R7a: one
    zone per prefix; the longest prefix decides between zones).
    """
    values = []
    errors = []
    for index, value in enumerate(members):
        try:
            values.append(_check_member(zone_type, value))
        except ValidationError as error:
            errors.append(f"members[{index}]: {error.messages[0]}")
    if errors:
        raise ValidationError({"members": errors})
    if len(set(values)) != len(values):
        duplicates = sorted({v for v in values if values.count(v) > 1})
        raise ValidationError({"members": f"listed twice: {', '.join(duplicates)}"})
    if kind != ZoneKind.LISTED and values:
        raise ValidationError({"members": f"a zone of kind '{kind}' lists no prefix or network"})
    with transaction.atomic():
        _require_table_editable(table)
        if zone is None:
            zone = Zone(table=table, zone_type=zone_type)
        elif zone.zone_type != zone_type or zone.table_id != table.pk:
            raise ValidationError("a zone keeps its table and type")
        zone.code, zone.name, zone.kind = code, name, kind
        allowed = {
            ZoneType.DESTINATION: {ZoneKind.LISTED, ZoneKind.REST, ZoneKind.INCOMING},
            ZoneType.ROAMING: {ZoneKind.LISTED, ZoneKind.REST, ZoneKind.HOME},
        }
        if kind not in allowed.get(zone_type, set()):
            raise ValidationError({"kind": f"a {zone_type} zone cannot be of kind '{kind}'"})
        other = (
            Zone.objects.filter(table=table, zone_type=zone_type, kind=kind)
            .exclude(pk=zone.pk)
            .first()
        )
        if kind != ZoneKind.LISTED and other is not None:
            raise ValidationError(
                {"kind": f"{table.code} already has a {kind} {zone_type} zone: {other.code}"}
            )
        try:
            zone.validate_constraints()
        except ValidationError as error:
            raise ValidationError({"code": error.messages}) from error
        _save(zone, acting_user)
        taken = dict(
            ZoneMember.objects.filter(table=table, zone_type=zone_type, value__in=values)
            .exclude(zone=zone)
            .values_list("value", "zone__code")
        )
        if taken:
            listed = ", ".join(f"{value} (in {code})" for value, code in sorted(taken.items()))
            raise ValidationError({"members": f"already in another zone: {listed}"})
        existing = {m.value: m for m in zone.members.all()}
        for value, member in existing.items():
            if value not in values:
                _audit(member, acting_user)
                member.delete()
        bulk_create_with_history(
            [
                ZoneMember(table=table, zone=zone, zone_type=zone_type, value=value)
                for value in values
                if value not in existing
            ],
            ZoneMember,
            default_user=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        )
    return zone


def zone_table_clone(*, table: ZoneTable, code: str, name: str = "", acting_user=None):
    """Copy a zone table with its zones and members into a new, editable table.

    The way to correct zones that published cards price with (R7a): clone, change the copy,
    make new cards and plan versions on it, then rerate (R15).
    """
    with transaction.atomic():
        clone = zone_table_save(
            code=code,
            name=name or table.name,
            description=table.description,
            acting_user=acting_user,
        )
        _audit(clone, acting_user, f"cloned from {table.code}")
        for zone in table.zones.prefetch_related("members").order_by("zone_type", "code"):
            zone_save(
                table=clone,
                zone_type=zone.zone_type,
                code=zone.code,
                name=zone.name,
                kind=zone.kind,
                members=[member.value for member in zone.members.all()],
                acting_user=acting_user,
            )
    return clone


def _require_table_editable(table: ZoneTable) -> None:
    """Refuse changing the zones of a table that published rate cards price with (R7a).

    A changed prefix would silently reprice published plans; a correction is a new zone table,
    new cards and new plan versions, and a rerating of the usage it concerns (R15).
    """
    if zone_table_frozen(table):
        raise ValidationError(
            f"published rate cards use zone table {table.code}: its zones never change; "
            "make a new zone table for new cards"
        )


def zone_delete(*, zone: Zone, acting_user=None) -> None:
    """Delete a zone that no rate row, allowance or policy names."""
    from django.db.models import Q

    _require_table_editable(zone.table)
    used = (
        RateRow.objects.filter(Q(destination_zones=zone) | Q(roaming_zones=zone)).exists()
        or Allowance.objects.filter(Q(destination_zones=zone) | Q(roaming_zones=zone)).exists()
        or FairUsePolicy.objects.filter(Q(destination_zones=zone) | Q(roaming_zones=zone)).exists()
    )
    if used:
        raise ValidationError(f"zone {zone.code} is named by rates or allowances; keep it")
    _audit(zone, acting_user)
    zone.delete()


# --- time bands -----------------------------------------------------------------------------


def band_set_coverage(band_set: TimeBandSet, bands=None) -> list[str | None]:
    """Return the band code of every minute of the week (ISO Monday 00:00 first).

    ``bands`` may be given as plain dicts ``{"code", "is_rest", "windows": [{"days",
    "start_minute", "end_minute"}]}`` to check a set before it is saved; overlaps raise.
    """
    if bands is None:
        bands = [
            {
                "code": band.code,
                "is_rest": band.is_rest,
                "windows": [
                    {
                        "days": window.days,
                        "start_minute": window.start_minute,
                        "end_minute": window.end_minute,
                    }
                    for window in band.windows.all()
                ],
            }
            for band in band_set.bands.prefetch_related("windows")
        ]
    slots: list[str | None] = [None] * MINUTES_PER_WEEK
    errors = []
    rest = None
    for band in bands:
        if band["is_rest"]:
            rest = band["code"]
        for window in band["windows"]:
            for day in window["days"]:
                base = (day - 1) * 1440
                for minute in range(window["start_minute"], window["end_minute"]):
                    other = slots[base + minute]
                    if (
                        other is not None
                        and len(errors) < 5
                        and not any(e.startswith(WEEKDAYS[day]) for e in errors)
                    ):
                        errors.append(
                            f"{WEEKDAYS[day]} {minute // 60:02d}:{minute % 60:02d} is in "
                            f"both {other} and {band['code']}"
                        )
                    slots[base + minute] = band["code"]
    if errors:
        raise ValidationError({"bands": [f"overlap: {error}" for error in errors]})
    if rest is not None:
        slots = [slot if slot is not None else rest for slot in slots]
    return slots


def _describe_gap(slots: list[str | None]) -> str:
    first = slots.index(None)
    day, minute = divmod(first, 1440)
    return f"{WEEKDAYS[day + 1]} {minute // 60:02d}:{minute % 60:02d}"


def _window_minutes(window: dict, path: str) -> dict:
    days = window.get("days") or []
    if not days or any(not isinstance(day, int) or not 1 <= day <= 7 for day in days):
        raise ValidationError({f"{path}.days": "ISO weekdays 1 (Monday) to 7 (Sunday)"})
    start, end = window.get("start_time"), window.get("end_time")
    if not all(hasattr(value, "hour") for value in (start, end)):
        raise ValidationError({path: "a window has a start and an end time"})
    if start.second or end.second or start.microsecond or end.microsecond:
        raise ValidationError({path: "windows start and end on whole minutes"})
    start_minute = start.hour * 60 + start.minute
    end_minute = end.hour * 60 + end.minute or 1440
    if end_minute <= start_minute:
        raise ValidationError({path: "a window ends after it starts (00:00 ends the day)"})
    return {"days": sorted(set(days)), "start_minute": start_minute, "end_minute": end_minute}


def time_band_set_save(
    *,
    code: str,
    name: str,
    timezone_name: str,
    bands: list[dict],
    band_set: TimeBandSet | None = None,
    acting_user=None,
) -> TimeBandSet:
    """Create or replace a band set and its bands; overlaps and gaps are refused (R8).

    ``bands``: ``[{"code", "name", "is_rest", "windows": [{"days": [1..7], "start_time",
    "end_time"}]}]`` with ``datetime.time`` values; an end of 00:00 is midnight.
    """
    check_timezone(timezone_name)
    if not bands:
        raise ValidationError({"bands": "a band set has at least one band"})
    codes = [band["code"] for band in bands]
    if len(set(codes)) != len(codes):
        raise ValidationError({"bands": "band codes must differ"})
    if sum(1 for band in bands if band.get("is_rest")) > 1:
        raise ValidationError({"bands": "at most one band covers the rest of the week"})
    plain = []
    for index, band in enumerate(bands):
        windows = [
            _window_minutes(window, f"bands[{index}].windows[{w}]")
            for w, window in enumerate(band.get("windows", []))
        ]
        if not windows and not band.get("is_rest"):
            raise ValidationError({f"bands[{index}]": "a band has windows or covers the rest"})
        plain.append(
            {"code": band["code"], "is_rest": bool(band.get("is_rest")), "windows": windows}
        )
    slots = band_set_coverage(None, plain)
    if None in slots:
        raise ValidationError(
            {"bands": f"gap: {_describe_gap(slots)} is in no band (add windows or a rest band)"}
        )
    with transaction.atomic():
        if band_set is None:
            band_set = TimeBandSet()
        elif band_set_frozen(band_set):
            raise ValidationError(
                "published rate cards use this band set: make a new band set and a new card"
            )
        band_set.code, band_set.name, band_set.timezone = code, name, timezone_name
        _save(band_set, acting_user)
        kept = {}
        for band in band_set.bands.all():
            if band.code in codes:
                kept[band.code] = band
            elif RateRow.objects.filter(time_band=band).exists():
                raise ValidationError(
                    {"bands": f"rate rows of draft cards name band {band.code}: keep it"}
                )
            else:
                _audit(band, acting_user)
                band.delete()
        # The rest band is saved last, so moving "the rest" from one band to another never
        # holds two rest bands at once (one_rest_band_per_set).
        for band_data, windows in sorted(
            zip(bands, plain, strict=True), key=lambda pair: pair[1]["is_rest"]
        ):
            band = kept.get(band_data["code"]) or TimeBand(band_set=band_set)
            band.code = band_data["code"]
            band.name = band_data.get("name", "")
            band.is_rest = bool(band_data.get("is_rest"))
            _save(band, acting_user)
            for old_window in band.windows.all():
                _audit(old_window, acting_user)
                old_window.delete()
            for raw, window in zip(band_data.get("windows", []), windows["windows"], strict=True):
                _save(
                    TimeBandWindow(
                        band=band,
                        days=window["days"],
                        start_time=raw["start_time"],
                        end_time=raw["end_time"],
                    ),
                    acting_user,
                )
    return band_set


# --- rate cards -----------------------------------------------------------------------------


def _zone_codes(zones) -> frozenset[str]:
    return frozenset(zone.code for zone in zones)


def _sets_meet(first: frozenset, second: frozenset) -> bool:
    """Two zone conditions can hold at once: either is "any", or they share a zone."""
    return not first or not second or bool(first & second)


def rate_rows_check(rows: list[dict]) -> None:
    """Refuse two rows equally specific for one case (R7: one event, one tariff row).

    Each row is ``{"label", "service", "destination_zones", "roaming_zones", "time_band"}``
    with frozensets of zone codes.
    """
    errors = []
    for first, second in itertools.combinations(rows, 2):
        if first["service"] != second["service"]:
            continue
        specificity = [
            bool(row["destination_zones"]) + bool(row["roaming_zones"]) + bool(row["time_band"])
            for row in (first, second)
        ]
        if specificity[0] != specificity[1]:
            continue
        bands_meet = (
            not first["time_band"]
            or not second["time_band"]
            or first["time_band"] == second["time_band"]
        )
        if (
            bands_meet
            and _sets_meet(first["destination_zones"], second["destination_zones"])
            and _sets_meet(first["roaming_zones"], second["roaming_zones"])
        ):
            errors.append(
                f"{first['label']} and {second['label']} are equally specific for the same "
                "events: make one of them name a zone or band the other does not"
            )
    if errors:
        raise ValidationError({"rows": errors})


def _check_row(card: RateCard, data: dict) -> None:
    """Check one row's own fields against its card."""
    service = data["service"]
    if service not in Service.values:
        raise ValidationError({"service": f"unknown service {service!r}"})
    if data["unit"] not in SERVICE_UNITS[service]:
        allowed = ", ".join(sorted(SERVICE_UNITS[service]))
        raise ValidationError({"unit": f"{service} is priced per {allowed}"})
    if data["price"] < 0:
        raise ValidationError({"price": "must be ≥ 0"})
    for name in ("connection_fee", "minimum_charge"):
        if data.get(name, Decimal("0")) < 0:
            raise ValidationError({name: "must be ≥ 0"})
    if data.get("increment_first", 1) < 1 or data.get("increment_next", 1) < 1:
        raise ValidationError({"increment_first": "increments are at least 1"})
    if service in COUNTED_SERVICES and (
        data.get("increment_first", 1) != 1 or data.get("increment_next", 1) != 1
    ):
        raise ValidationError({"increment_first": "messages and events have no increments"})
    for name, zone_type in (
        ("destination_zones", ZoneType.DESTINATION),
        ("roaming_zones", ZoneType.ROAMING),
    ):
        for zone in data.get(name, []):
            if zone.table_id != card.zone_table_id or zone.zone_type != zone_type:
                raise ValidationError(
                    {name: f"{zone.code} is not a {zone_type} zone of {card.zone_table.code}"}
                )
    if service == Service.DATA and data.get("destination_zones"):
        raise ValidationError({"destination_zones": "data has no destination zone (R7a)"})
    band = data.get("time_band")
    if band is not None and band.band_set_id != card.time_band_set_id:
        raise ValidationError({"time_band": f"{band.code} is not a band of the card's band set"})


def rate_card_check(card: RateCard, current: RateRow | None = None) -> None:
    """Refuse ambiguous rows of a saved card; ``current`` is called "this row" in errors."""
    rows = [
        {
            "label": "this row"
            if current is not None and row.pk == current.pk
            else f"row {row.pk} ({row.get_service_display()}, {row.price}/{row.unit})",
            "service": row.service,
            "destination_zones": _zone_codes(row.destination_zones.all()),
            "roaming_zones": _zone_codes(row.roaming_zones.all()),
            "time_band": row.time_band.code if row.time_band_id else None,
        }
        for row in card.rows.select_related("time_band").prefetch_related(
            "destination_zones", "roaming_zones"
        )
    ]
    rate_rows_check(rows)


def rate_card_save(
    *,
    code: str,
    name: str,
    kind: str,
    currency: str,
    zone_table: ZoneTable,
    time_band_set: TimeBandSet | None,
    rate_card: RateCard | None = None,
    acting_user=None,
) -> RateCard:
    """Create a draft rate card or change a draft one's header."""
    with transaction.atomic():
        if rate_card is not None and rate_card.pk is not None:
            _require_draft(rate_card, "rate card")
            stored = RateCard.objects.values("zone_table_id", "time_band_set_id").get(
                pk=rate_card.pk
            )
            if rate_card.rows.exists() and (
                stored["zone_table_id"] != zone_table.pk
                or stored["time_band_set_id"] != (time_band_set.pk if time_band_set else None)
            ):
                raise ValidationError(
                    {
                        "zone_table": "the card has rows: its zone table and band set stay "
                        "as they are"
                    }
                )
        card = rate_card or RateCard()
        card.code, card.name, card.kind, card.currency = code, name, kind, currency
        card.zone_table, card.time_band_set = zone_table, time_band_set
        return _save(card, acting_user)


ROW_FIELDS = (
    "service",
    "price",
    "unit",
    "increment_first",
    "increment_next",
    "connection_fee",
    "minimum_charge",
    "time_band",
    "tax_category",
    "description",
)


def rate_row_save(
    *, rate_card: RateCard, data: dict, row: RateRow | None = None, acting_user=None
) -> RateRow:
    """Add or change a row of a draft card; the whole card is checked for ambiguity (R7)."""
    if row is not None and row.rate_card_id != rate_card.pk:
        raise ValidationError("the row belongs to another rate card")
    if data.get("service") == Service.DATA and row is None:
        # R9: data rounds to the rate's increment, 1 KB unless the row says otherwise.
        data = {
            "increment_first": DEFAULT_DATA_INCREMENT,
            "increment_next": DEFAULT_DATA_INCREMENT,
            **data,
        }
    _check_row(rate_card, data)
    with transaction.atomic():
        _require_draft(rate_card, "rate card")
        row = row or RateRow(rate_card=rate_card)
        for name in ROW_FIELDS:
            if name in data:
                setattr(row, name, data[name])
        _save(row, acting_user)
        row.destination_zones.set(data.get("destination_zones", []))
        row.roaming_zones.set(data.get("roaming_zones", []))
        rate_card_check(rate_card, current=row)
    return row


def rate_row_delete(*, row: RateRow, acting_user=None) -> None:
    """Remove a row of a draft card."""
    with transaction.atomic():
        _require_draft(row.rate_card, "rate card")
        _audit(row, acting_user)
        row.delete()


def rate_card_publish(*, rate_card: RateCard, acting_user=None) -> RateCard:
    """Publish a draft card: from now on it never changes."""
    with transaction.atomic():
        card = RateCard.objects.select_for_update().get(pk=rate_card.pk)
        _require_draft(card, "rate card")
        if not card.rows.exists():
            raise ValidationError("a rate card without rows prices nothing: add rows first")
        rate_card_check(card)
        if card.rows.filter(time_band__isnull=False).exists() and card.time_band_set is None:
            raise ValidationError("rows name time bands but the card has no band set")
        card.status = Status.PUBLISHED
        card.published_at = timezone.now()
        return _save(card, acting_user, "published")


def rate_card_retire(*, rate_card: RateCard, acting_user=None) -> RateCard:
    """Retire a published card; plan versions that use it keep rating with it."""
    with transaction.atomic():
        card = RateCard.objects.select_for_update().get(pk=rate_card.pk)
        if card.status != Status.PUBLISHED:
            raise ValidationError("only a published rate card can be retired")
        card.status = Status.RETIRED
        return _save(card, acting_user, "retired")


def rate_card_clone(*, rate_card: RateCard, code: str, name: str = "", acting_user=None):
    """Copy a card and its rows into a new draft card."""
    with transaction.atomic():
        clone = RateCard(
            code=code,
            name=name or rate_card.name,
            kind=rate_card.kind,
            currency=rate_card.currency,
            zone_table=rate_card.zone_table,
            time_band_set=rate_card.time_band_set,
        )
        _save(clone, acting_user, f"cloned from {rate_card.code}")
        for row in rate_card.rows.prefetch_related("destination_zones", "roaming_zones"):
            destinations, roamings = (
                list(row.destination_zones.all()),
                list(row.roaming_zones.all()),
            )
            copy = RateRow(rate_card=clone, **{name: getattr(row, name) for name in ROW_FIELDS})
            _save(copy, acting_user)
            copy.destination_zones.set(destinations)
            copy.roaming_zones.set(roamings)
    return clone


# --- host networks --------------------------------------------------------------------------


def host_network_save(
    *,
    code: str,
    name: str,
    plmn_codes: list[str],
    country_code: str,
    host_network: HostNetwork | None = None,
    acting_user=None,
) -> HostNetwork:
    """Create or update a host network."""
    codes = [str(plmn).strip() for plmn in plmn_codes]
    bad = [plmn for plmn in codes if not plmn.isdigit() or len(plmn) not in (5, 6)]
    if bad or not codes:
        raise ValidationError({"plmn_codes": "one or more MCC+MNC codes of 5 or 6 digits"})
    network = host_network or HostNetwork()
    if network.pk and code != network.code and _usage_came_from(network.code):
        raise ValidationError(
            {
                "code": f"usage files came from {network.code}: the code names their source and "
                "keeps record ids unique per source (R17), so it cannot change"
            }
        )
    network.code, network.name = code, name
    network.plmn_codes, network.country_code = codes, country_code
    with transaction.atomic():
        return _save(network, acting_user)


def _usage_came_from(source: str) -> bool:
    """Tell whether any usage file was received from a source (charging, looked up lazily:
    charging builds on the catalogue, not the other way round)."""
    from django.apps import apps

    return apps.get_model("charging", "UsageFile").objects.filter(source=source).exists()


def host_network_tariff_set(
    *,
    host_network: HostNetwork,
    rate_card: RateCard,
    effective_from,
    sim_fee: Decimal = Decimal("0"),
    platform_fee: Decimal = Decimal("0"),
    minimum_commitment: Decimal = Decimal("0"),
    acting_user=None,
) -> HostNetworkTariff:
    """Put a published wholesale card in force for a host network from an instant on (R14),
    with the recurring fees of the same terms (R31: per active SIM, per month, a minimum
    commitment)."""
    fees = {
        "sim_fee": Decimal(sim_fee),
        "platform_fee": Decimal(platform_fee),
        "minimum_commitment": Decimal(minimum_commitment),
    }
    negative = {name: "must not be negative" for name, value in fees.items() if value < 0}
    if negative:
        raise ValidationError(negative)
    if rate_card.kind != RateCardKind.WHOLESALE:
        raise ValidationError({"rate_card": "a host network is priced by a wholesale card"})
    if rate_card.status != Status.PUBLISHED:
        raise ValidationError({"rate_card": "publish the wholesale card first"})
    require_catalog_change(host_network, acting_user)
    with transaction.atomic():
        tariff, _ = HostNetworkTariff.objects.update_or_create(
            host_network=host_network,
            effective_from=effective_from,
            defaults={"rate_card": rate_card, **fees},
        )
        return tariff


# --- plans ----------------------------------------------------------------------------------


def plan_save(
    *,
    code: str,
    name: str,
    brand,
    payment_model: str,
    currency: str,
    description: str = "",
    plan: Plan | None = None,
    acting_user=None,
) -> Plan:
    """Create a plan or change its name; payment model and currency stay once published."""
    stored = (
        Plan.objects.filter(pk=plan.pk).values_list("payment_model", "currency").first()
        if plan is not None and plan.pk is not None
        else None
    )
    if (
        stored is not None
        and plan.versions.exclude(status=Status.DRAFT).exists()
        and stored != (payment_model, currency)
    ):
        raise ValidationError(
            {"payment_model": "the plan has published versions: payment model and currency stay"}
        )
    plan = plan or Plan()
    plan.code, plan.name, plan.brand = code, name, brand
    plan.payment_model, plan.currency, plan.description = payment_model, currency, description
    with transaction.atomic():
        return _save(plan, acting_user)


VERSION_FIELDS = (
    "effective_from",
    "rate_card",
    "recurring_fee",
    "fee_period",
    "fee_timing",
    "activation_fee",
    "tax_inclusive",
    "tax_category",
    "notes",
)


def _check_version(plan: Plan, data: dict) -> None:
    card = data.get("rate_card")
    if card is not None:
        if card.kind != RateCardKind.RETAIL:
            raise ValidationError({"rate_card": "a plan is priced by a retail rate card"})
        if card.currency != plan.currency:
            raise ValidationError(
                {"rate_card": f"the card is in {card.currency}, the plan in {plan.currency}"}
            )
    for name in ("recurring_fee", "activation_fee"):
        if data.get(name, Decimal("0")) < 0:
            raise ValidationError({name: "must be ≥ 0"})


def plan_version_create(*, plan: Plan, data: dict, acting_user=None) -> PlanVersion:
    """Add a draft version to a plan, numbered after the last one."""
    _check_version(plan, data)
    with transaction.atomic():
        Plan.objects.select_for_update().get(pk=plan.pk)
        last = plan.versions.order_by("-version").values_list("version", flat=True).first()
        version = PlanVersion(plan=plan, version=(last or 0) + 1)
        for name in VERSION_FIELDS:
            if name in data:
                setattr(version, name, data[name])
        return _save(version, acting_user)


def plan_version_update(*, version: PlanVersion, data: dict, acting_user=None) -> PlanVersion:
    """Change a draft version; a published one is immutable."""
    _check_version(version.plan, data)
    with transaction.atomic():
        _require_draft(version, "plan version")
        card = data.get("rate_card")
        stored_table = (
            PlanVersion.objects.filter(pk=version.pk)
            .values_list("rate_card__zone_table_id", flat=True)
            .first()
        )
        if (
            card is not None
            and card.zone_table_id != stored_table
            and (version.allowances.exists() or version.fair_use_policies.exists())
        ):
            raise ValidationError(
                {"rate_card": "allowances and policies name zones of the current card's table"}
            )
        for name in VERSION_FIELDS:
            if name in data:
                setattr(version, name, data[name])
        return _save(version, acting_user)


def _check_allowance_zones(zone_table, data: dict) -> None:
    for name, zone_type in (
        ("destination_zones", ZoneType.DESTINATION),
        ("roaming_zones", ZoneType.ROAMING),
    ):
        for zone in data.get(name, []):
            if zone_table is None or zone.table_id != zone_table.pk or zone.zone_type != zone_type:
                table = zone_table.code if zone_table else "no zone table"
                raise ValidationError({name: f"{zone.code} is not a {zone_type} zone of {table}"})
    if Service.DATA in data.get("services", ()) and data.get("destination_zones"):
        raise ValidationError({"destination_zones": "data has no destination zone (R7a)"})


def _check_services(
    services, unit: str, field: str = "services", unit_field: str = "unit"
) -> list[str]:
    if not services or any(service not in Service.values for service in services):
        raise ValidationError({field: f"one or more of {', '.join(Service.values)}"})
    for service in services:
        if unit not in SERVICE_UNITS[service]:
            raise ValidationError({unit_field: f"{unit or 'no unit'} is not a unit of {service}"})
    return list(dict.fromkeys(services))


def allowance_save(
    *,
    owner: PlanVersion | AddOn,
    data: dict,
    allowance: Allowance | None = None,
    acting_user=None,
) -> Allowance:
    """Add or change an allowance of a draft plan version or add-on (R11)."""
    is_version = isinstance(owner, PlanVersion)
    zone_table = owner.rate_card.zone_table if is_version else owner.zone_table
    if allowance is not None and (
        (allowance.plan_version_id if is_version else allowance.add_on_id) != owner.pk
    ):
        raise ValidationError("the allowance belongs to another plan version or add-on")
    services = _check_services(data["services"], data["unit"])
    _check_allowance_zones(zone_table, data)
    with transaction.atomic():
        _require_draft(owner, "plan version" if is_version else "add-on")
        allowance = allowance or Allowance(
            plan_version=owner if isinstance(owner, PlanVersion) else None,
            add_on=owner if isinstance(owner, AddOn) else None,
        )
        allowance.name = data["name"]
        allowance.services = services
        allowance.quantity = data["quantity"]
        allowance.unit = data["unit"]
        allowance.shared = bool(data.get("shared", False))
        _save(allowance, acting_user)
        allowance.destination_zones.set(data.get("destination_zones", []))
        allowance.roaming_zones.set(data.get("roaming_zones", []))
    return allowance


def allowance_delete(*, allowance: Allowance, acting_user=None) -> None:
    """Remove an allowance of a draft plan version or add-on."""
    owner = allowance.plan_version or allowance.add_on
    with transaction.atomic():
        _require_draft(owner, "plan version" if allowance.plan_version_id else "add-on")
        _audit(allowance, acting_user)
        allowance.delete()


def fair_use_policy_save(
    *, version: PlanVersion, data: dict, policy: FairUsePolicy | None = None, acting_user=None
) -> FairUsePolicy:
    """Add or change a fair-use policy of a draft plan version (R13)."""
    if policy is not None and policy.plan_version_id != version.pk:
        raise ValidationError("the policy belongs to another plan version")
    services = _check_services(data["services"], data["cap_unit"], unit_field="cap_unit")
    _check_allowance_zones(version.rate_card.zone_table, data)
    overage = data["action"] == FairUseAction.OVERAGE
    if overage:
        if data.get("overage_price") is None or data["overage_price"] < 0:
            raise ValidationError({"overage_price": "an overage policy names a price ≥ 0"})
        _check_services(services, data.get("overage_unit") or "", unit_field="overage_unit")
    with transaction.atomic():
        _require_draft(version, "plan version")
        policy = policy or FairUsePolicy(plan_version=version)
        policy.name = data["name"]
        policy.services = services
        policy.cap_quantity, policy.cap_unit = data["cap_quantity"], data["cap_unit"]
        policy.action = data["action"]
        policy.overage_price = data.get("overage_price") if overage else None
        policy.overage_unit = (data.get("overage_unit") or "") if overage else ""
        _save(policy, acting_user)
        policy.destination_zones.set(data.get("destination_zones", []))
        policy.roaming_zones.set(data.get("roaming_zones", []))
    return policy


def fair_use_policy_delete(*, policy: FairUsePolicy, acting_user=None) -> None:
    """Remove a fair-use policy of a draft plan version."""
    with transaction.atomic():
        _require_draft(policy.plan_version, "plan version")
        _audit(policy, acting_user)
        policy.delete()


def plan_version_publish(*, version: PlanVersion, acting_user=None) -> PlanVersion:
    """Publish a draft version: immutable from now on, in force from its effective date.

    Its rate card must be published, and it must take effect after every version already
    published, so the version in force at any instant is never in doubt.
    """
    with transaction.atomic():
        Plan.objects.select_for_update().get(pk=version.plan_id)
        version = PlanVersion.objects.select_related("plan", "rate_card").get(pk=version.pk)
        _require_draft(version, "plan version")
        if version.rate_card.status != Status.PUBLISHED:
            raise ValidationError({"rate_card": f"publish rate card {version.rate_card} first"})
        _check_version(version.plan, {"rate_card": version.rate_card})
        later = (
            PlanVersion.objects.filter(plan_id=version.plan_id)
            .exclude(status=Status.DRAFT)
            .filter(effective_from__gte=version.effective_from)
            .order_by("-effective_from")
            .first()
        )
        if later is not None:
            raise ValidationError(
                {
                    "effective_from": f"v{later.version} takes effect "
                    f"{later.effective_from:%Y-%m-%d %H:%M %Z}; a new version takes effect after it"
                }
            )
        version.status = Status.PUBLISHED
        version.published_at = timezone.now()
        return _save(version, acting_user, "published")


def plan_version_retire(*, version: PlanVersion, acting_user=None) -> PlanVersion:
    """Stop selling a published version; usage in its time still rates on it."""
    with transaction.atomic():
        version = PlanVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != Status.PUBLISHED:
            raise ValidationError("only a published version can be retired")
        version.status = Status.RETIRED
        return _save(version, acting_user, "retired")


def plan_version_clone(*, version: PlanVersion, effective_from=None, acting_user=None):
    """Start the next draft version of a plan as a copy of ``version``."""
    with transaction.atomic():
        data = {name: getattr(version, name) for name in VERSION_FIELDS}
        if effective_from is not None:
            data["effective_from"] = effective_from
        clone = plan_version_create(plan=version.plan, data=data, acting_user=acting_user)
        update_change_reason(clone, f"cloned from v{version.version}")
        for allowance in version.allowances.prefetch_related("destination_zones", "roaming_zones"):
            copy = Allowance(
                plan_version=clone,
                name=allowance.name,
                services=allowance.services,
                quantity=allowance.quantity,
                unit=allowance.unit,
                shared=allowance.shared,
            )
            _save(copy, acting_user)
            copy.destination_zones.set(allowance.destination_zones.all())
            copy.roaming_zones.set(allowance.roaming_zones.all())
        for policy in version.fair_use_policies.prefetch_related(
            "destination_zones", "roaming_zones"
        ):
            copy = FairUsePolicy(
                plan_version=clone,
                name=policy.name,
                services=policy.services,
                cap_quantity=policy.cap_quantity,
                cap_unit=policy.cap_unit,
                action=policy.action,
                overage_price=policy.overage_price,
                overage_unit=policy.overage_unit,
            )
            _save(copy, acting_user)
            copy.destination_zones.set(policy.destination_zones.all())
            copy.roaming_zones.set(policy.roaming_zones.all())
    return clone


# --- add-ons and promotions -----------------------------------------------------------------

ADDON_FIELDS = (
    "code",
    "name",
    "kind",
    "currency",
    "price",
    "validity_days",
    "tax_inclusive",
    "tax_category",
    "zone_table",
    "description",
)


def add_on_save(*, data: dict, add_on: AddOn | None = None, acting_user=None) -> AddOn:
    """Create a draft add-on or change a draft one."""
    if data.get("price", Decimal("0")) < 0:
        raise ValidationError({"price": "must be ≥ 0"})
    with transaction.atomic():
        if add_on is not None and add_on.pk is not None:
            _require_draft(add_on, "add-on")
            stored_table = AddOn.objects.values_list("zone_table_id", flat=True).get(pk=add_on.pk)
            new_table = data["zone_table"].pk if data.get("zone_table") else None
            if (
                "zone_table" in data
                and new_table != stored_table
                and Allowance.objects.filter(add_on=add_on)
                .filter(Q(destination_zones__isnull=False) | Q(roaming_zones__isnull=False))
                .exists()
            ):
                raise ValidationError(
                    {"zone_table": "its allowances name zones of the current zone table"}
                )
        add_on = add_on or AddOn()
        for name in ADDON_FIELDS:
            if name in data:
                setattr(add_on, name, data[name])
        _save(add_on, acting_user)
        if "eligible_plans" in data:
            add_on.eligible_plans.set(data["eligible_plans"])
        require_plans_of_user(add_on.eligible_plans.all(), acting_user)
    return add_on


def _publish(model, obj, acting_user, what: str):
    with transaction.atomic():
        obj = model.objects.select_for_update().get(pk=obj.pk)
        _require_draft(obj, what)
        obj.status = Status.PUBLISHED
        obj.published_at = timezone.now()
        return _save(obj, acting_user, "published")


def _retire(model, obj, acting_user, what: str):
    with transaction.atomic():
        obj = model.objects.select_for_update().get(pk=obj.pk)
        if obj.status != Status.PUBLISHED:
            raise ValidationError(f"only a published {what} can be retired")
        obj.status = Status.RETIRED
        return _save(obj, acting_user, "retired")


def add_on_publish(*, add_on: AddOn, acting_user=None) -> AddOn:
    """Publish a draft add-on: it can be sold and never changes again."""
    if not add_on.allowances.exists() and add_on.price == 0:
        raise ValidationError("an add-on grants an allowance or costs something")
    return _publish(AddOn, add_on, acting_user, "add-on")


def add_on_retire(*, add_on: AddOn, acting_user=None) -> AddOn:
    """Stop selling an add-on; subscriptions that have it keep it."""
    return _retire(AddOn, add_on, acting_user, "add-on")


def add_on_clone(*, add_on: AddOn, code: str, acting_user=None) -> AddOn:
    """Copy an add-on and its allowances into a new draft."""
    with transaction.atomic():
        data = {name: getattr(add_on, name) for name in ADDON_FIELDS}
        data.update(code=code, eligible_plans=list(add_on.eligible_plans.all()))
        clone = add_on_save(data=data, acting_user=acting_user)
        for allowance in add_on.allowances.prefetch_related("destination_zones", "roaming_zones"):
            copy = Allowance(
                add_on=clone,
                name=allowance.name,
                services=allowance.services,
                quantity=allowance.quantity,
                unit=allowance.unit,
                shared=allowance.shared,
            )
            _save(copy, acting_user)
            copy.destination_zones.set(allowance.destination_zones.all())
            copy.roaming_zones.set(allowance.roaming_zones.all())
    return clone


PROMOTION_FIELDS = (
    "code",
    "name",
    "discount_type",
    "value",
    "currency",
    "periods",
    "available_from",
    "available_until",
    "description",
)


def promotion_save(*, data: dict, promotion: Promotion | None = None, acting_user=None):
    """Create a draft promotion or change a draft one (R35)."""
    if data.get("periods", 1) < 1:
        raise ValidationError({"periods": "a promotion lasts at least one period"})
    if (
        data.get("available_from")
        and data.get("available_until")
        and data["available_until"] <= data["available_from"]
    ):
        raise ValidationError({"available_until": "ends after it starts"})
    with transaction.atomic():
        if promotion is not None and promotion.pk is not None:
            _require_draft(promotion, "promotion")
        promotion = promotion or Promotion()
        for name in PROMOTION_FIELDS:
            if name in data:
                setattr(promotion, name, data[name])
        if (
            promotion.discount_type == DiscountType.PERCENT
            and promotion.value is not None
            and promotion.value > 100
        ):
            raise ValidationError({"value": "a percentage is at most 100"})
        _save(promotion, acting_user)
        if "eligible_plans" in data:
            promotion.eligible_plans.set(data["eligible_plans"])
        require_plans_of_user(promotion.eligible_plans.all(), acting_user)
    return promotion


def promotion_publish(*, promotion: Promotion, acting_user=None) -> Promotion:
    """Publish a draft promotion: it can be granted and never changes again."""
    if not promotion.eligible_plans.exists():
        raise ValidationError({"eligible_plans": "name at least one plan"})
    return _publish(Promotion, promotion, acting_user, "promotion")


def promotion_retire(*, promotion: Promotion, acting_user=None) -> Promotion:
    """Stop granting a promotion; subscriptions that have it keep it for its periods."""
    return _retire(Promotion, promotion, acting_user, "promotion")


# --- tax ------------------------------------------------------------------------------------


def tax_rate_set(*, region, category, rate: Decimal, valid_from, acting_user=None):
    """Set the rate of a category in a region from a date on."""
    if rate < 0 or rate >= 1:
        raise ValidationError({"rate": "a rate is a fraction from 0 to below 1 (0.19 for 19 %)"})
    from catalog.models import TaxRate

    with transaction.atomic():
        tax_rate = TaxRate.objects.filter(
            region=region, category=category, valid_from=valid_from
        ).first() or TaxRate(region=region, category=category, valid_from=valid_from)
        tax_rate.rate = rate
        return _save(tax_rate, acting_user)


# --- people: the brands a user is limited to ------------------------------------------------


def user_brands_set(*, user, brands, acting_user=None) -> list[BrandScope]:
    """Limit a user to some brands (none: every brand); each added or removed brand is audited.

    Only a user who sees every brand changes brand scopes, so nobody widens their own.
    """
    require_every_brand(acting_user, "who sees which brand")
    wanted = {brand.pk for brand in brands}
    with transaction.atomic():
        type(user).objects.select_for_update().get(pk=user.pk)
        current = {scope.brand_id: scope for scope in BrandScope.objects.filter(user=user)}
        for brand_id in sorted(set(current) - wanted):
            scope = current.pop(brand_id)
            _audit(scope, acting_user, "brand removed")
            scope.delete()
        for brand_id in sorted(wanted - set(current)):
            scope = BrandScope(user=user, brand_id=brand_id)
            _audit(scope, acting_user, "brand added")
            scope.save()
            current[brand_id] = scope
    return [current[brand_id] for brand_id in sorted(current)]
