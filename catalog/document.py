"""The catalogue as a document: export to, and import from, a versioned YAML or JSON file.

The format is described in docs/catalog-format.md. In short: a mapping with ``format:
mvno-billing/catalog``, ``version: 1`` and one list per kind of object (brands, tax categories
and regions, zone tables, time band sets, rate cards, host networks, plans, add-ons,
promotions). Objects refer to each other by code, never by database id.

Import semantics (``catalog_import``):

- The whole document is checked first: its shape (types, required and unknown keys) and its
  references (codes that must exist in the document or in the database). Every problem is
  reported at once, with its path (``rate_cards[1].rows[5].price``).
- Then every object goes through catalog.services, in one transaction: the first refusal of a
  service is reported with its path and nothing is kept.
- Objects are matched by code (tax rates by region, category and date; tariffs by network and
  instant; plan versions by plan and number). What the document lists is created when
  missing, updated when different and left alone when identical; import never deletes.
- Rate cards, plan versions, add-ons and promotions have a status. A draft is updated to match
  the document; a published or retired one that differs from the document is an error (it
  never changes: give the change a new code, or add it as the plan's next version). A status
  only moves forward: draft, published, retired.
"""

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import yaml
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch

from catalog import services
from catalog.models import (
    AddOn,
    AddOnKind,
    Allowance,
    Brand,
    DiscountType,
    FairUseAction,
    FairUsePolicy,
    FeePeriod,
    FeeTiming,
    HostNetwork,
    HostNetworkTariff,
    PaymentModel,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    RateCardKind,
    RateRow,
    Service,
    Status,
    TaxCategory,
    TaxRate,
    TaxRegion,
    TimeBand,
    TimeBandSet,
    TimeBandWindow,
    Unit,
    Zone,
    ZoneKind,
    ZoneMember,
    ZoneTable,
    ZoneType,
)
from catalog.selectors import require_every_brand

FORMAT = "mvno-billing/catalog"
VERSION = 1
# Who may import (operators and admins, core.roles) and who may export (every role reads).
IMPORT_PERMISSION = "catalog.add_plan"
EXPORT_PERMISSION = "catalog.view_plan"
FORMATS = ("yaml", "json")
MEDIA_TYPES = {"yaml": "application/yaml", "json": "application/json"}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

STATUS_ORDER = {Status.DRAFT: 0, Status.PUBLISHED: 1, Status.RETIRED: 2}


class CatalogDocumentError(Exception):
    """A document that cannot be imported; ``errors`` is a list of (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = list(errors)
        super().__init__(self.text())

    def text(self) -> str:
        return "\n".join(f"{path}: {message}" if path else message for path, message in self.errors)

    def as_dict(self) -> dict[str, list[str]]:
        """Return the errors keyed by path, as the API's ``fieldErrors``."""
        result: dict[str, list[str]] = {}
        for path, message in self.errors:
            result.setdefault(path or "document", []).append(message)
        return result


# --- the shape of a document ----------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """What one key of the document holds; ``kind`` names the check in ``_normalize``."""

    kind: str
    required: bool = False
    default: object = None
    nullable: bool = False
    choices: tuple[str, ...] = ()
    item: "Field | None" = None
    fields: "dict[str, Field] | None" = None
    minimum: int | None = None
    maximum: int | None = None


def _code() -> Field:
    return Field("text", required=True)


def _text(required: bool = False) -> Field:
    return Field("text", required=required, default="")


def _ref(nullable: bool = False, required: bool = True) -> Field:
    return Field("text", required=required and not nullable, nullable=nullable)


def _choice(choices, default=None) -> Field:
    return Field("choice", required=default is None, default=default, choices=tuple(choices))


def _decimal(default: str | None = None, nullable: bool = False) -> Field:
    return Field(
        "decimal", required=default is None and not nullable, default=default, nullable=nullable
    )


def _int(default=None, minimum: int | None = 0, maximum=None, nullable=False) -> Field:
    return Field(
        "int",
        required=default is None and not nullable,
        default=default,
        minimum=minimum,
        maximum=maximum,
        nullable=nullable,
    )


def _list(item: Field, required: bool = False) -> Field:
    return Field("list", required=required, default=(), item=item)


def _object(**fields: Field) -> Field:
    return Field("object", required=True, fields=fields)


CURRENCY = Field("currency", default="EUR")
STATUS = _choice(Status.values, Status.DRAFT)
ZONE_REFS = _list(_ref())
SERVICES = _list(_choice(Service.values), required=True)

BRAND = _object(code=_code(), name=_text(True), parent=_ref(nullable=True))
TAX_CATEGORY = _object(code=_code(), name=_text(True))
TAX_RATE = _object(category=_ref(), rate=_decimal(), valid_from=Field("date", required=True))
TAX_REGION = _object(code=_code(), name=_text(True), rates=_list(TAX_RATE))
DESTINATION_ZONE = _object(
    code=_code(),
    name=_text(),
    kind=_choice((ZoneKind.LISTED, ZoneKind.REST, ZoneKind.INCOMING), ZoneKind.LISTED),
    prefixes=_list(Field("digits")),
)
ROAMING_ZONE = _object(
    code=_code(),
    name=_text(),
    kind=_choice((ZoneKind.LISTED, ZoneKind.REST, ZoneKind.HOME), ZoneKind.LISTED),
    networks=_list(Field("digits")),
)
ZONE_TABLE = _object(
    code=_code(),
    name=_text(True),
    description=_text(),
    destination_zones=_list(DESTINATION_ZONE),
    roaming_zones=_list(ROAMING_ZONE),
)
WINDOW = _object(
    days=_list(_int(minimum=1, maximum=7), required=True),
    start=Field("time", required=True),
    end=Field("time", required=True),
)
BAND = _object(
    code=_code(),
    name=_text(),
    is_rest=Field("bool", default=False),
    windows=_list(WINDOW),
)
TIME_BAND_SET = _object(
    code=_code(), name=_text(True), timezone=_text(True), bands=_list(BAND, required=True)
)
RATE_ROW = _object(
    service=_choice(Service.values),
    destination_zones=ZONE_REFS,
    roaming_zones=ZONE_REFS,
    time_band=_ref(nullable=True),
    price=_decimal(),
    unit=_choice(Unit.values),
    increment_first=_int(1, minimum=1),
    increment_next=_int(1, minimum=1),
    connection_fee=_decimal("0.00"),
    minimum_charge=_decimal("0.00"),
    tax_category=_ref(nullable=True),
    description=_text(),
)
RATE_CARD = _object(
    code=_code(),
    name=_text(True),
    kind=_choice(RateCardKind.values),
    currency=CURRENCY,
    zone_table=_ref(),
    time_band_set=_ref(nullable=True),
    status=STATUS,
    rows=_list(RATE_ROW),
)
TARIFF = _object(
    rate_card=_ref(),
    effective_from=Field("datetime", required=True),
    # Recurring wholesale fees of the same terms (R31); optional, so older documents still load.
    sim_fee=_decimal("0.00"),
    platform_fee=_decimal("0.00"),
    minimum_commitment=_decimal("0.00"),
)
HOST_NETWORK = _object(
    code=_code(),
    name=_text(True),
    plmn_codes=_list(Field("digits"), required=True),
    country_code=Field("digits", required=True),
    tariffs=_list(TARIFF),
)
ALLOWANCE = _object(
    name=_text(True),
    services=SERVICES,
    quantity=_int(),
    unit=_choice(Unit.values),
    destination_zones=ZONE_REFS,
    roaming_zones=ZONE_REFS,
    shared=Field("bool", default=False),
)
FAIR_USE_POLICY = _object(
    name=_text(True),
    services=SERVICES,
    destination_zones=ZONE_REFS,
    roaming_zones=ZONE_REFS,
    cap_quantity=_int(),
    cap_unit=_choice(Unit.values),
    action=_choice(FairUseAction.values),
    overage_price=_decimal(nullable=True),
    overage_unit=Field("choice", nullable=True, choices=tuple(Unit.values)),
)
PLAN_VERSION = _object(
    version=_int(minimum=1),
    status=STATUS,
    effective_from=Field("datetime", required=True),
    rate_card=_ref(),
    recurring_fee=_decimal("0.00"),
    fee_period=_choice(FeePeriod.values, FeePeriod.MONTH),
    fee_timing=_choice(FeeTiming.values, FeeTiming.IN_ADVANCE),
    activation_fee=_decimal("0.00"),
    tax_inclusive=Field("bool", default=False),
    tax_category=_ref(nullable=True),
    notes=_text(),
    allowances=_list(ALLOWANCE),
    fair_use_policies=_list(FAIR_USE_POLICY),
)
PLAN = _object(
    code=_code(),
    name=_text(True),
    brand=_ref(),
    payment_model=_choice(PaymentModel.values),
    currency=CURRENCY,
    description=_text(),
    versions=_list(PLAN_VERSION),
)
ADD_ON = _object(
    code=_code(),
    name=_text(True),
    kind=_choice(AddOnKind.values),
    status=STATUS,
    currency=CURRENCY,
    price=_decimal("0.00"),
    validity_days=_int(nullable=True),
    tax_inclusive=Field("bool", default=False),
    tax_category=_ref(nullable=True),
    zone_table=_ref(nullable=True),
    eligible_plans=_list(_ref()),
    description=_text(),
    allowances=_list(ALLOWANCE),
)
PROMOTION = _object(
    code=_code(),
    name=_text(True),
    status=STATUS,
    discount_type=_choice(DiscountType.values),
    value=_decimal(),
    currency=CURRENCY,
    periods=_int(minimum=1),
    eligible_plans=_list(_ref()),
    available_from=Field("datetime", nullable=True),
    available_until=Field("datetime", nullable=True),
    description=_text(),
)
SECTIONS = {
    "brands": BRAND,
    "tax_categories": TAX_CATEGORY,
    "tax_regions": TAX_REGION,
    "zone_tables": ZONE_TABLE,
    "time_band_sets": TIME_BAND_SET,
    "rate_cards": RATE_CARD,
    "host_networks": HOST_NETWORK,
    "plans": PLAN,
    "add_ons": ADD_ON,
    "promotions": PROMOTION,
}
DOCUMENT = _object(
    format=Field("text", required=True),
    version=Field("int", required=True),
    **{name: _list(spec) for name, spec in SECTIONS.items()},
)

_TIME = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def decimal_text(value: Decimal) -> str:
    """Write a decimal exactly, without trailing zeros beyond two places ("0.09", "0.0199")."""
    if value == 0:
        value = Decimal(0)
    whole, _, fraction = format(value, "f").partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def datetime_text(value: dt.datetime) -> str:
    """Write an aware instant in UTC: ``2026-09-30T22:00:00Z``."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _as_text(value) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _normalize(value, spec: Field, path: str, errors: list) -> object:
    """Check ``value`` against ``spec``; return its canonical form and add problems to errors."""
    if value is None:
        if spec.nullable:
            return None
        if spec.kind == "text" and not spec.required:
            return ""
        errors.append((path, "must not be empty"))
        return None
    kind = spec.kind
    if kind == "object":
        if not isinstance(value, dict):
            errors.append((path, "must be a mapping of keys to values"))
            return None
        for key in value:
            if key not in spec.fields:
                errors.append(
                    (_join(path, str(key)), f"unknown key (known: {', '.join(spec.fields)})")
                )
        result = {}
        for name, item in spec.fields.items():
            if name in value:
                result[name] = _normalize(value[name], item, _join(path, name), errors)
            elif item.required:
                errors.append((_join(path, name), "required"))
            else:
                result[name] = list(item.default) if item.kind == "list" else item.default
        return result
    if kind == "list":
        if not isinstance(value, list | tuple):
            errors.append((path, "must be a list"))
            return []
        return [_normalize(item, spec.item, f"{path}[{i}]", errors) for i, item in enumerate(value)]
    if kind == "text":
        text = _as_text(value)
        if text is None:
            errors.append((path, "must be text"))
        elif spec.required and not text:
            errors.append((path, "must not be empty"))
        return text
    if kind == "currency":
        text = _as_text(value)
        if text is None or not _CURRENCY.match(text):
            errors.append((path, "must be an ISO 4217 currency code such as EUR"))
        return text
    if kind == "choice":
        text = _as_text(value)
        if text not in spec.choices:
            errors.append((path, f"must be one of {', '.join(spec.choices)}"))
        return text
    if kind == "digits":
        text = _as_text(value)
        if text is None or not text.isdigit() or (isinstance(value, int) and value < 0):
            errors.append((path, "must be digits, written as text ('4915')"))
        return text
    if kind == "bool":
        if not isinstance(value, bool):
            errors.append((path, "must be true or false"))
        return value
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append((path, "must be a whole number"))
            return value
        if spec.minimum is not None and value < spec.minimum:
            errors.append((path, f"must be ≥ {spec.minimum}"))
        if spec.maximum is not None and value > spec.maximum:
            errors.append((path, f"must be ≤ {spec.maximum}"))
        return value
    if kind == "decimal":
        return _normalize_decimal(value, path, errors)
    if kind == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            errors.append((path, "must be a date YYYY-MM-DD"))
            return None
    if kind == "datetime":
        return _normalize_datetime(value, path, errors)
    if kind == "time":
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
        match = _TIME.match(str(value)) if isinstance(value, str) else None
        if match is None or (match.group(1) == "24" and match.group(2) != "00"):
            errors.append((path, "must be a time HH:MM (24:00 or 00:00 as an end: midnight)"))
            return None
        return "00:00" if value == "24:00" else value
    raise AssertionError(f"unknown kind {kind}")


def _normalize_decimal(value, path: str, errors: list) -> str | None:
    if isinstance(value, float):
        errors.append((path, "write decimals as text ('0.09'): a binary float is not exact"))
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        errors.append((path, "must be a decimal number, such as '0.09'"))
        return None
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        errors.append((path, "must be a decimal number, such as '0.09'"))
        return None
    if not number.is_finite():
        errors.append((path, "must be a finite number"))
        return None
    return decimal_text(number)


def _normalize_datetime(value, path: str, errors: list) -> str | None:
    if isinstance(value, dt.datetime):
        instant = value
    else:
        try:
            instant = dt.datetime.fromisoformat(str(value))
        except ValueError:
            errors.append((path, "must be an instant such as 2026-10-01T00:00:00+02:00"))
            return None
    if instant.tzinfo is None or instant.utcoffset() is None:
        errors.append((path, "needs a UTC offset (Z or +02:00): an instant is never local"))
        return None
    return datetime_text(instant)


def document_normalize(document) -> dict:
    """Check the shape of a document and return it in canonical form, every default filled in.

    Raise ``CatalogDocumentError`` with every problem at once.
    """
    if not isinstance(document, dict):
        raise CatalogDocumentError(
            [("document", "a catalogue document is a mapping with format, version and lists")]
        )
    errors: list[tuple[str, str]] = []
    if document.get("format") != FORMAT:
        errors.append(("format", f"must be {FORMAT}"))
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        errors.append(("version", f"this system reads version {VERSION} of the format"))
    if errors:
        raise CatalogDocumentError(errors)
    canonical = _normalize(document, DOCUMENT, "", errors)
    if errors:
        raise CatalogDocumentError(errors)
    return canonical


def _compact(value, spec: Field):
    """Drop keys holding their default, so that an export reads like a hand-written file."""
    if spec.kind == "object" and isinstance(value, dict):
        result = {}
        for name, item in spec.fields.items():
            entry = value.get(name)
            if not item.required:
                default = list(item.default) if item.kind == "list" else item.default
                if entry == default:
                    continue
            result[name] = _compact(entry, item)
        return result
    if spec.kind == "list" and isinstance(value, list):
        return [_compact(item, spec.item) for item in value]
    return value


def _comparable(value):
    """Compare documents regardless of list order: no list of the format is ordered."""
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_comparable(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _difference(stored, wanted, path: str):
    """Return (path, stored, wanted) of the first difference, or None."""
    if _comparable(stored) == _comparable(wanted):
        return None
    if isinstance(stored, dict) and isinstance(wanted, dict):
        for key in wanted:
            found = _difference(stored.get(key), wanted[key], _join(path, key))
            if found:
                return found
    if isinstance(stored, list) and isinstance(wanted, list):
        if len(stored) != len(wanted):
            return (path, f"{len(stored)} entries", f"{len(wanted)} entries")
        for index, (first, second) in enumerate(zip(stored, wanted, strict=True)):
            found = _difference(first, second, f"{path}[{index}]")
            if found:
                return found
    return (path, stored, wanted)


# --- text: YAML and JSON --------------------------------------------------------------------

_PLAIN_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


class _DocumentLoader(yaml.SafeLoader):
    """YAML without its traps: numbers stay exact, ``NO`` stays text, no aliases, no twins.

    Decimals become ``Decimal`` from their text (never a binary float); only ``true`` and
    ``false`` are booleans (YAML 1.1 reads ``NO``, Norway, as false); ``08:00`` and ``20:00``
    stay text (YAML 1.1 reads ``20:00`` as 1200); ``0049`` stays text (not octal); dates and
    instants stay text and are checked by the format; a key given twice is an error.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a catalogue", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key_node.value!r} given twice", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    return int(text.replace("_", "")) if _PLAIN_INT.match(text) else text


def _construct_float(loader, node):
    text = loader.construct_scalar(node)
    if ":" in text:
        return text
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    try:
        return Decimal(special.get(text.lower(), text.replace("_", "")))
    except InvalidOperation:
        return text


def _construct_bool(loader, node):
    text = loader.construct_scalar(node)
    return {"true": True, "false": False}.get(text.lower(), text)


def _construct_text(loader, node):
    return loader.construct_scalar(node)


_DocumentLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_DocumentLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_DocumentLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_DocumentLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)


class _DocumentDumper(yaml.SafeDumper):
    """Block mappings, short lists of codes on one line, lists indented under their key."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_list(dumper, value):
    scalars = all(not isinstance(item, dict | list | tuple) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=scalars)


def _represent_dict(dumper, value):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)


_DocumentDumper.add_representer(list, _represent_list)
_DocumentDumper.add_representer(tuple, _represent_list)
_DocumentDumper.add_representer(dict, _represent_dict)
_DocumentDumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_str(decimal_text(value))
)


def _json_object(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} given twice")
        result[key] = value
    return result


def format_of(name: str | None = None, content_type: str | None = None) -> str | None:
    """Guess the format of a file from its name or its media type; None if it does not say."""
    name = (name or "").lower()
    media = (content_type or "").split(";")[0].strip().lower()
    if name.endswith(".json") or media in ("application/json", "text/json"):
        return "json"
    if name.endswith((".yaml", ".yml")) or "yaml" in media:
        return "yaml"
    return None


def document_load(text: str | bytes, *, format: str | None = None) -> dict:
    """Read a document from YAML or JSON text; ``format`` None reads either (YAML holds JSON).

    Decimals are read exactly. Raise ``CatalogDocumentError`` at path ``document`` when the
    text is not a document.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise CatalogDocumentError(
                [("document", f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")]
            )
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise CatalogDocumentError([("document", "is not UTF-8 text")]) from error
    if format not in (None, *FORMATS):
        raise CatalogDocumentError([("document", f"unknown format {format!r}: yaml or json")])
    if not text.strip():
        raise CatalogDocumentError([("document", "is empty")])
    if format == "json":
        try:
            document = json.loads(
                text,
                parse_float=Decimal,
                parse_constant=Decimal,
                object_pairs_hook=_json_object,
            )
        except json.JSONDecodeError as error:
            raise CatalogDocumentError(
                [("document", f"line {error.lineno}, column {error.colno}: {error.msg}")]
            ) from error
        except ValueError as error:
            raise CatalogDocumentError([("document", str(error))]) from error
    else:
        try:
            document = yaml.load(text, Loader=_DocumentLoader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            raise CatalogDocumentError(
                [("document", f"{where}{error.problem or error.context}")]
            ) from error
        except yaml.YAMLError as error:
            raise CatalogDocumentError([("document", str(error))]) from error
    if not isinstance(document, dict):
        raise CatalogDocumentError(
            [("document", "a catalogue document is a mapping with format, version and lists")]
        )
    return document


def document_dump(document: dict, format: str = "yaml") -> str:
    """Write a document (or any plain mapping) as YAML or JSON text."""
    if format == "json":
        return json.dumps(document, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    if format != "yaml":
        raise ValueError(f"unknown format {format!r}")
    return yaml.dump(
        document,
        Dumper=_DocumentDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def _json_default(value):
    if isinstance(value, Decimal):
        return decimal_text(value)
    raise TypeError(f"{type(value).__name__} is not part of a document")


# --- export ---------------------------------------------------------------------------------


def _codes_by_id(zones) -> list[str]:
    """Zone codes in the order the zones were made (the order of their table in the file)."""
    return [zone.code for zone in sorted(zones, key=lambda zone: zone.pk)]


def _brand_entry(brand: Brand) -> dict:
    return {
        "code": brand.code,
        "name": brand.name,
        "parent": brand.parent.code if brand.parent_id else None,
    }


def _tax_region_entry(region: TaxRegion, categories: set[int] | None = None) -> dict:
    rates = [
        {
            "category": rate.category.code,
            "rate": decimal_text(rate.rate),
            "valid_from": rate.valid_from.isoformat(),
        }
        for rate in region.rates.select_related("category").order_by("category__code", "valid_from")
        if categories is None or rate.category_id in categories
    ]
    return {"code": region.code, "name": region.name, "rates": rates}


def _zone_entry(zone: Zone, members: list[str]) -> dict:
    key = "prefixes" if zone.zone_type == ZoneType.DESTINATION else "networks"
    return {"code": zone.code, "name": zone.name, "kind": zone.kind, key: sorted(members)}


def _zone_table_entry(table: ZoneTable) -> dict:
    members: dict[int, list[str]] = {}
    for zone_id, value in ZoneMember.objects.filter(table=table).values_list("zone_id", "value"):
        members.setdefault(zone_id, []).append(value)
    zones = list(table.zones.order_by("id"))
    return {
        "code": table.code,
        "name": table.name,
        "description": table.description,
        "destination_zones": [
            _zone_entry(zone, members.get(zone.pk, []))
            for zone in zones
            if zone.zone_type == ZoneType.DESTINATION
        ],
        "roaming_zones": [
            _zone_entry(zone, members.get(zone.pk, []))
            for zone in zones
            if zone.zone_type == ZoneType.ROAMING
        ],
    }


def _time_band_set_entry(band_set: TimeBandSet) -> dict:
    bands = band_set.bands.order_by("id").prefetch_related(
        Prefetch("windows", queryset=TimeBandWindow.objects.order_by("id"))
    )
    return {
        "code": band_set.code,
        "name": band_set.name,
        "timezone": band_set.timezone,
        "bands": [
            {
                "code": band.code,
                "name": band.name,
                "is_rest": band.is_rest,
                "windows": [
                    {
                        "days": list(window.days),
                        "start": window.start_time.strftime("%H:%M"),
                        "end": window.end_time.strftime("%H:%M"),
                    }
                    for window in band.windows.all()
                ],
            }
            for band in bands
        ],
    }


def _rate_card_entry(card: RateCard) -> dict:
    rows = (
        card.rows.order_by("id")
        .select_related("time_band", "tax_category")
        .prefetch_related("destination_zones", "roaming_zones")
    )
    return {
        "code": card.code,
        "name": card.name,
        "kind": card.kind,
        "currency": card.currency,
        "zone_table": card.zone_table.code,
        "time_band_set": card.time_band_set.code if card.time_band_set_id else None,
        "status": card.status,
        "rows": [
            {
                "service": row.service,
                "destination_zones": _codes_by_id(row.destination_zones.all()),
                "roaming_zones": _codes_by_id(row.roaming_zones.all()),
                "time_band": row.time_band.code if row.time_band_id else None,
                "price": decimal_text(row.price),
                "unit": row.unit,
                "increment_first": row.increment_first,
                "increment_next": row.increment_next,
                "connection_fee": decimal_text(row.connection_fee),
                "minimum_charge": decimal_text(row.minimum_charge),
                "tax_category": row.tax_category.code if row.tax_category_id else None,
                "description": row.description,
            }
            for row in rows
        ],
    }


def _tariff_entry(tariff: HostNetworkTariff) -> dict:
    return {
        "rate_card": tariff.rate_card.code,
        "effective_from": datetime_text(tariff.effective_from),
        "sim_fee": decimal_text(tariff.sim_fee),
        "platform_fee": decimal_text(tariff.platform_fee),
        "minimum_commitment": decimal_text(tariff.minimum_commitment),
    }


def _host_network_entry(network: HostNetwork) -> dict:
    return {
        "code": network.code,
        "name": network.name,
        "plmn_codes": list(network.plmn_codes),
        "country_code": network.country_code,
        "tariffs": [
            _tariff_entry(tariff)
            for tariff in network.tariffs.select_related("rate_card").order_by("effective_from")
        ],
    }


def _allowance_entry(allowance: Allowance) -> dict:
    return {
        "name": allowance.name,
        "services": list(allowance.services),
        "quantity": allowance.quantity,
        "unit": allowance.unit,
        "destination_zones": _codes_by_id(allowance.destination_zones.all()),
        "roaming_zones": _codes_by_id(allowance.roaming_zones.all()),
        "shared": allowance.shared,
    }


def _policy_entry(policy: FairUsePolicy) -> dict:
    return {
        "name": policy.name,
        "services": list(policy.services),
        "destination_zones": _codes_by_id(policy.destination_zones.all()),
        "roaming_zones": _codes_by_id(policy.roaming_zones.all()),
        "cap_quantity": policy.cap_quantity,
        "cap_unit": policy.cap_unit,
        "action": policy.action,
        "overage_price": (
            decimal_text(policy.overage_price) if policy.overage_price is not None else None
        ),
        "overage_unit": policy.overage_unit or None,
    }


_ZONE_SETS = ("destination_zones", "roaming_zones")


def _version_entry(version: PlanVersion) -> dict:
    allowances = version.allowances.order_by("id").prefetch_related(*_ZONE_SETS)
    policies = version.fair_use_policies.order_by("id").prefetch_related(*_ZONE_SETS)
    return {
        "version": version.version,
        "status": version.status,
        "effective_from": datetime_text(version.effective_from),
        "rate_card": version.rate_card.code,
        "recurring_fee": decimal_text(version.recurring_fee),
        "fee_period": version.fee_period,
        "fee_timing": version.fee_timing,
        "activation_fee": decimal_text(version.activation_fee),
        "tax_inclusive": version.tax_inclusive,
        "tax_category": version.tax_category.code if version.tax_category_id else None,
        "notes": version.notes,
        "allowances": [_allowance_entry(allowance) for allowance in allowances],
        "fair_use_policies": [_policy_entry(policy) for policy in policies],
    }


def _plan_header(plan: Plan) -> dict:
    return {
        "code": plan.code,
        "name": plan.name,
        "brand": plan.brand.code,
        "payment_model": plan.payment_model,
        "currency": plan.currency,
        "description": plan.description,
    }


def _plan_entry(plan: Plan) -> dict:
    versions = plan.versions.order_by("version").select_related("rate_card", "tax_category")
    return {**_plan_header(plan), "versions": [_version_entry(version) for version in versions]}


def _add_on_entry(add_on: AddOn) -> dict:
    allowances = add_on.allowances.order_by("id").prefetch_related(*_ZONE_SETS)
    return {
        "code": add_on.code,
        "name": add_on.name,
        "kind": add_on.kind,
        "status": add_on.status,
        "currency": add_on.currency,
        "price": decimal_text(add_on.price),
        "validity_days": add_on.validity_days,
        "tax_inclusive": add_on.tax_inclusive,
        "tax_category": add_on.tax_category.code if add_on.tax_category_id else None,
        "zone_table": add_on.zone_table.code if add_on.zone_table_id else None,
        "eligible_plans": sorted(plan.code for plan in add_on.eligible_plans.all()),
        "description": add_on.description,
        "allowances": [_allowance_entry(allowance) for allowance in allowances],
    }


def _promotion_entry(promotion: Promotion) -> dict:
    return {
        "code": promotion.code,
        "name": promotion.name,
        "status": promotion.status,
        "discount_type": promotion.discount_type,
        "value": decimal_text(promotion.value),
        "currency": promotion.currency,
        "periods": promotion.periods,
        "eligible_plans": sorted(plan.code for plan in promotion.eligible_plans.all()),
        "available_from": (
            datetime_text(promotion.available_from) if promotion.available_from else None
        ),
        "available_until": (
            datetime_text(promotion.available_until) if promotion.available_until else None
        ),
        "description": promotion.description,
    }


def _brand_chain(brands: Iterable[Brand]) -> set[int]:
    ids: set[int] = set()
    for brand in brands:
        while brand is not None and brand.pk not in ids:
            ids.add(brand.pk)
            brand = brand.parent
    return ids


def _plans_selection(plans) -> dict:
    """Return the querysets of what an export of some plans holds (see docs/catalog-format.md)."""
    chosen = []
    for plan in plans:
        if isinstance(plan, Plan):
            chosen.append(plan)
            continue
        found = Plan.objects.filter(code=plan).first()
        if found is None:
            raise Plan.DoesNotExist(f"no plan with code {plan!r}")
        chosen.append(found)
    plan_ids = {plan.pk for plan in chosen}
    versions = PlanVersion.objects.filter(plan_id__in=plan_ids)
    card_ids = set(versions.values_list("rate_card_id", flat=True))
    cards = RateCard.objects.filter(pk__in=card_ids)

    def eligible_only_for_chosen(model):
        selected = []
        for item in model.objects.prefetch_related("eligible_plans"):
            eligible = {plan.pk for plan in item.eligible_plans.all()}
            if eligible and eligible <= plan_ids:
                selected.append(item.pk)
        return model.objects.filter(pk__in=selected)

    add_ons = eligible_only_for_chosen(AddOn)
    category_ids = (
        set(versions.values_list("tax_category_id", flat=True))
        | set(RateRow.objects.filter(rate_card__in=cards).values_list("tax_category_id", flat=True))
        | set(add_ons.values_list("tax_category_id", flat=True))
    ) - {None}
    table_ids = set(cards.values_list("zone_table_id", flat=True)) | (
        set(add_ons.values_list("zone_table_id", flat=True)) - {None}
    )
    return {
        "brands": Brand.objects.filter(
            pk__in=_brand_chain(Brand.objects.filter(plans__in=plan_ids).distinct())
        ),
        "tax_categories": TaxCategory.objects.filter(pk__in=category_ids),
        "tax_regions": TaxRegion.objects.filter(rates__category_id__in=category_ids).distinct(),
        "category_ids": category_ids,
        "zone_tables": ZoneTable.objects.filter(pk__in=table_ids),
        "time_band_sets": TimeBandSet.objects.filter(
            pk__in=set(cards.values_list("time_band_set_id", flat=True)) - {None}
        ),
        "rate_cards": cards,
        "host_networks": HostNetwork.objects.none(),
        "plans": Plan.objects.filter(pk__in=plan_ids),
        "add_ons": add_ons,
        "promotions": eligible_only_for_chosen(Promotion),
    }


def catalog_export(*, plans=None) -> dict:
    """Return the whole catalogue, or some plans with what they need, as a document.

    ``plans`` are plan codes (or plans). A plan's export holds its versions and everything
    they name: brand, tax categories (with their rates), zone table, band set, rate cards, and
    the add-ons and promotions offered only to exported plans. Raise ``Plan.DoesNotExist`` for
    an unknown code.
    """
    if plans is None:
        selection = {
            "brands": Brand.objects.all(),
            "tax_categories": TaxCategory.objects.all(),
            "tax_regions": TaxRegion.objects.all(),
            "category_ids": None,
            "zone_tables": ZoneTable.objects.all(),
            "time_band_sets": TimeBandSet.objects.all(),
            "rate_cards": RateCard.objects.all(),
            "host_networks": HostNetwork.objects.all(),
            "plans": Plan.objects.all(),
            "add_ons": AddOn.objects.all(),
            "promotions": Promotion.objects.all(),
        }
    else:
        selection = _plans_selection(plans)
    canonical = {
        "format": FORMAT,
        "version": VERSION,
        "brands": [
            _brand_entry(brand)
            for brand in selection["brands"].select_related("parent").order_by("code")
        ],
        "tax_categories": [
            {"code": category.code, "name": category.name}
            for category in selection["tax_categories"].order_by("code")
        ],
        "tax_regions": [
            _tax_region_entry(region, selection["category_ids"])
            for region in selection["tax_regions"].order_by("code")
        ],
        "zone_tables": [_zone_table_entry(t) for t in selection["zone_tables"].order_by("code")],
        "time_band_sets": [
            _time_band_set_entry(band_set)
            for band_set in selection["time_band_sets"].order_by("code")
        ],
        "rate_cards": [
            _rate_card_entry(card)
            for card in selection["rate_cards"]
            .select_related("zone_table", "time_band_set")
            .order_by("code")
        ],
        "host_networks": [
            _host_network_entry(network) for network in selection["host_networks"].order_by("code")
        ],
        "plans": [
            _plan_entry(plan)
            for plan in selection["plans"].select_related("brand").order_by("code")
        ],
        "add_ons": [
            _add_on_entry(add_on)
            for add_on in selection["add_ons"]
            .select_related("tax_category", "zone_table")
            .prefetch_related("eligible_plans")
            .order_by("code")
        ],
        "promotions": [
            _promotion_entry(promotion)
            for promotion in selection["promotions"]
            .prefetch_related("eligible_plans")
            .order_by("code")
        ],
    }
    return _compact(canonical, DOCUMENT)


# --- import ---------------------------------------------------------------------------------

ACTIONS = ("created", "updated", "unchanged", "published", "retired")


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do): one entry per object."""

    dry_run: bool = False
    actions: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, action: str, kind: str, label: str) -> None:
        self.actions.append((action, kind, label))

    def counts(self) -> dict[str, int]:
        counter = Counter(action for action, _, _ in self.actions)
        return {action: counter.get(action, 0) for action in ACTIONS}

    @property
    def changed(self) -> list[tuple[str, str, str]]:
        return [entry for entry in self.actions if entry[0] != "unchanged"]

    def __str__(self) -> str:
        text = ", ".join(f"{action} {count}" for action, count in self.counts().items())
        return f"{text} (dry run: nothing saved)" if self.dry_run else text

    def as_dict(self) -> dict:
        """Return the summary for the API (camelCase)."""
        return {
            "dryRun": self.dry_run,
            "counts": self.counts(),
            "actions": [
                {"action": action, "kind": kind, "name": label}
                for action, kind, label in self.actions
            ],
        }


# Model field names that the document spells differently.
_RENAMED = {"start_time": "start", "end_time": "end"}


def _error_paths(error: ValidationError, path: str, renamed=None) -> list[tuple[str, str]]:
    renamed = {**_RENAMED, **(renamed or {})}
    if not hasattr(error, "error_dict"):
        return [(path, message) for message in error.messages]
    found = []
    for key, messages in error.message_dict.items():
        where = path if key == NON_FIELD_ERRORS else _join(path, renamed.get(key, key))
        found.extend((where, message) for message in messages)
    return found


@contextmanager
def _at(path: str, renamed: dict | None = None):
    """Report a refusal of a service (or of the database) at a path of the document."""
    try:
        yield
    except ValidationError as error:
        raise CatalogDocumentError(_error_paths(error, path, renamed)) from error
    except IntegrityError as error:
        raise CatalogDocumentError([(path, f"refused by the database: {error}")]) from error


def _path(section: str, index: int, *rest) -> str:
    text = f"{section}[{index}]"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _duplicates(errors: list, entries: Iterable[tuple[str, object]], what: str) -> None:
    """Report every (path, value) whose value an earlier entry already has."""
    first: dict = {}
    for path, value in entries:
        if value in first:
            errors.append((path, f"{what} {value} is listed twice (first at {first[value]})"))
        else:
            first[value] = path


_AMBIGUOUS = re.compile(r"^rows\[(\d+)\] and rows\[(\d+)\] (.*)$")


class _Importer:
    """One import: checks the references of a canonical document, then writes in order."""

    def __init__(self, document: dict, acting_user, summary: ImportSummary):
        self.doc = document
        self.user = acting_user
        self.summary = summary
        self.to_retire: list[tuple[str, str, object, str]] = []
        self.zones: dict[tuple[str, str, str], Zone] = {}
        self.bands: dict[tuple[str, str], TimeBand] = {}
        self.errors: list[tuple[str, str]] = []

    @contextmanager
    def _entry(self):
        """Write one entry in a savepoint; keep its refusal and go on to the next entry.

        Every refusal of the document is reported at once: an entry refused by a service is
        rolled back to its savepoint and the import goes on, so that the operator reads all the
        problems in one answer. An entry that names one refused earlier cannot be written or
        checked: it is passed over, since it is no problem of its own (the count of errors is
        the count of problems to fix). Nothing is kept when any entry is refused.
        """
        try:
            with transaction.atomic():
                yield
        except CatalogDocumentError as error:
            self.errors.extend(error.errors)
        except ObjectDoesNotExist:
            if not self.errors:
                raise

    # -- references, all reported at once --

    def check(self) -> None:
        errors: list[tuple[str, str]] = []
        doc = self.doc
        for section in SECTIONS:
            entries = [(_path(section, i, "code"), e["code"]) for i, e in enumerate(doc[section])]
            _duplicates(errors, entries, "code")
        brands = {e["code"] for e in doc["brands"]}
        brands |= set(Brand.objects.values_list("code", flat=True))
        categories = {e["code"] for e in doc["tax_categories"]}
        categories |= set(TaxCategory.objects.values_list("code", flat=True))
        plans = {e["code"] for e in doc["plans"]} | set(Plan.objects.values_list("code", flat=True))
        zones: dict[str, dict[str, set[str]]] = {
            code: {ZoneType.DESTINATION: set(), ZoneType.ROAMING: set()}
            for code in ZoneTable.objects.values_list("code", flat=True)
        }
        for table, zone_type, code in Zone.objects.values_list("table__code", "zone_type", "code"):
            zones.setdefault(table, {ZoneType.DESTINATION: set(), ZoneType.ROAMING: set()})
            zones[table][zone_type].add(code)
        for entry in doc["zone_tables"]:
            table = zones.setdefault(
                entry["code"], {ZoneType.DESTINATION: set(), ZoneType.ROAMING: set()}
            )
            table[ZoneType.DESTINATION] |= {z["code"] for z in entry["destination_zones"]}
            table[ZoneType.ROAMING] |= {z["code"] for z in entry["roaming_zones"]}
        bands: dict[str, set[str]] = {
            code: set() for code in TimeBandSet.objects.values_list("code", flat=True)
        }
        for band_set, code in TimeBand.objects.values_list("band_set__code", "code"):
            bands.setdefault(band_set, set()).add(code)
        bands.update({e["code"]: {b["code"] for b in e["bands"]} for e in doc["time_band_sets"]})
        cards = dict(RateCard.objects.values_list("code", "zone_table__code"))
        cards.update({e["code"]: e["zone_table"] for e in doc["rate_cards"]})

        def known(path: str, value, names, what: str, where: str = "") -> bool:
            if value is not None and value not in names:
                errors.append((path, f"no {what} {value}{where}"))
                return False
            return True

        def zone_refs(path: str, entry: dict, table: str | None) -> None:
            for name, zone_type in (
                ("destination_zones", ZoneType.DESTINATION),
                ("roaming_zones", ZoneType.ROAMING),
            ):
                for index, code in enumerate(entry[name]):
                    if table is None:
                        errors.append((f"{path}.{name}[{index}]", "names a zone but no zone table"))
                    elif table in zones:
                        known(
                            f"{path}.{name}[{index}]",
                            code,
                            zones[table][zone_type],
                            f"{zone_type} zone",
                            f" in zone table {table}",
                        )

        parents = {e["code"]: e["parent"] for e in doc["brands"]}
        for index, entry in enumerate(doc["brands"]):
            path = _path("brands", index, "parent")
            if known(path, entry["parent"], brands, "brand"):
                seen, parent = {entry["code"]}, entry["parent"]
                while parent is not None and parent in parents:
                    if parent in seen:
                        errors.append((path, "a brand is not its own parent, not even indirectly"))
                        break
                    seen.add(parent)
                    parent = parents[parent]
        for index, region in enumerate(doc["tax_regions"]):
            rates = []
            for r, rate in enumerate(region["rates"]):
                path = _path("tax_regions", index, "rates", r)
                known(f"{path}.category", rate["category"], categories, "tax category")
                rates.append((path, f"{rate['category']} from {rate['valid_from']}"))
            _duplicates(errors, rates, "rate")
        for index, table in enumerate(doc["zone_tables"]):
            self._check_zone_table(index, table, errors)
        for index, band_set in enumerate(doc["time_band_sets"]):
            entries = [
                (_path("time_band_sets", index, "bands", b, "code"), band["code"])
                for b, band in enumerate(band_set["bands"])
            ]
            _duplicates(errors, entries, "band")
        for index, card in enumerate(doc["rate_cards"]):
            path = _path("rate_cards", index)
            known(f"{path}.zone_table", card["zone_table"], zones, "zone table")
            known(f"{path}.time_band_set", card["time_band_set"], bands, "time band set")
            card_bands = bands.get(card["time_band_set"], set())
            for r, row in enumerate(card["rows"]):
                row_path = f"{path}.rows[{r}]"
                zone_refs(row_path, row, card["zone_table"])
                known(f"{row_path}.tax_category", row["tax_category"], categories, "tax category")
                if row["time_band"] is not None and card["time_band_set"] is None:
                    errors.append((f"{row_path}.time_band", "the card has no time band set"))
                else:
                    known(
                        f"{row_path}.time_band",
                        row["time_band"],
                        card_bands,
                        "time band",
                        f" in {card['time_band_set']}",
                    )
            self._check_ambiguity(index, card, errors)
        for index, network in enumerate(doc["host_networks"]):
            instants = []
            for t, tariff in enumerate(network["tariffs"]):
                path = _path("host_networks", index, "tariffs", t)
                known(f"{path}.rate_card", tariff["rate_card"], cards, "rate card")
                instants.append((f"{path}.effective_from", tariff["effective_from"]))
            _duplicates(errors, instants, "a tariff from")
        for index, plan in enumerate(doc["plans"]):
            known(_path("plans", index, "brand"), plan["brand"], brands, "brand")
            numbers = []
            for v, version in enumerate(plan["versions"]):
                path = _path("plans", index, "versions", v)
                numbers.append((f"{path}.version", version["version"]))
                known(f"{path}.tax_category", version["tax_category"], categories, "tax category")
                if known(f"{path}.rate_card", version["rate_card"], cards, "rate card"):
                    for name in ("allowances", "fair_use_policies"):
                        for a, item in enumerate(version[name]):
                            zone_refs(f"{path}.{name}[{a}]", item, cards[version["rate_card"]])
            _duplicates(errors, numbers, "version")
        for index, add_on in enumerate(doc["add_ons"]):
            path = _path("add_ons", index)
            known(f"{path}.tax_category", add_on["tax_category"], categories, "tax category")
            if known(f"{path}.zone_table", add_on["zone_table"], zones, "zone table"):
                for a, allowance in enumerate(add_on["allowances"]):
                    zone_refs(f"{path}.allowances[{a}]", allowance, add_on["zone_table"])
            for p, code in enumerate(add_on["eligible_plans"]):
                known(f"{path}.eligible_plans[{p}]", code, plans, "plan")
        for index, promotion in enumerate(doc["promotions"]):
            for p, code in enumerate(promotion["eligible_plans"]):
                known(_path("promotions", index, "eligible_plans", p), code, plans, "plan")
        if errors:
            raise CatalogDocumentError(errors)

    def _check_zone_table(self, index: int, table: dict, errors: list) -> None:
        for name, key in (("destination_zones", "prefixes"), ("roaming_zones", "networks")):
            codes = [
                (_path("zone_tables", index, name, z, "code"), zone["code"])
                for z, zone in enumerate(table[name])
            ]
            _duplicates(errors, codes, "zone")
            owner: dict[str, str] = {}
            for z, zone in enumerate(table[name]):
                path = _path("zone_tables", index, name, z, key)
                if zone["kind"] != ZoneKind.LISTED and zone[key]:
                    errors.append((path, f"a zone of kind {zone['kind']} lists no {key}"))
                for m, value in enumerate(zone[key]):
                    if value in owner:
                        errors.append((f"{path}[{m}]", f"{value} is also in zone {owner[value]}"))
                    else:
                        owner[value] = zone["code"]

    def _check_ambiguity(self, index: int, card: dict, errors: list) -> None:
        """Refuse rows equally specific for the same events (R7), naming them by index."""
        rows = [
            {
                "label": f"rows[{r}]",
                "service": row["service"],
                "destination_zones": frozenset(row["destination_zones"]),
                "roaming_zones": frozenset(row["roaming_zones"]),
                "time_band": row["time_band"],
            }
            for r, row in enumerate(card["rows"])
        ]
        try:
            services.rate_rows_check(rows)
        except ValidationError as error:
            for message in error.messages:
                match = _AMBIGUOUS.match(message)
                if match:
                    first, second, rest = match.groups()
                    path = _path("rate_cards", index, "rows", int(second))
                    errors.append((path, f"rows[{first}] and this row {rest}"))
                else:
                    errors.append((_path("rate_cards", index, "rows"), message))

    # -- writes, in the order of dependencies --

    def run(self) -> None:
        self.check()
        self.brands()
        self.tax()
        self.zone_tables()
        self.time_band_sets()
        self.rate_cards()
        self.host_networks()
        self.plans()
        self.add_ons()
        self.promotions()
        if not self.errors:
            self.retire()
        if self.errors:
            raise CatalogDocumentError(self.errors)

    def _same(self, stored: dict, wanted: dict) -> bool:
        return _comparable(stored) == _comparable(wanted)

    def _record(self, existing, stored: dict | None, wanted: dict, kind: str, label: str) -> bool:
        """Record created/updated/unchanged; return whether a write is needed."""
        if existing is None:
            self.summary.add("created", kind, label)
            return True
        if self._same(stored, wanted):
            self.summary.add("unchanged", kind, label)
            return False
        self.summary.add("updated", kind, label)
        return True

    def brands(self) -> None:
        pending = list(enumerate(self.doc["brands"]))
        done = set()
        in_document = {entry["code"] for _, entry in pending}
        while pending:
            ready = [
                (index, entry)
                for index, entry in pending
                if entry["parent"] is None
                or entry["parent"] in done
                or entry["parent"] not in in_document
            ]
            for index, entry in ready:
                with self._entry():
                    existing = Brand.objects.select_related("parent")
                    existing = existing.filter(code=entry["code"]).first()
                    stored = _brand_entry(existing) if existing else None
                    if self._record(existing, stored, entry, "brand", entry["code"]):
                        parent = (
                            Brand.objects.get(code=entry["parent"]) if entry["parent"] else None
                        )
                        with _at(_path("brands", index)):
                            services.brand_save(
                                code=entry["code"],
                                name=entry["name"],
                                parent=parent,
                                brand=existing,
                                acting_user=self.user,
                            )
                done.add(entry["code"])
            if not ready:
                raise CatalogDocumentError([("brands", "the parents of brands form a cycle")])
            pending = [item for item in pending if item not in ready]

    def tax(self) -> None:
        for index, entry in enumerate(self.doc["tax_categories"]):
            with self._entry():
                existing = TaxCategory.objects.filter(code=entry["code"]).first()
                stored = {"code": existing.code, "name": existing.name} if existing else None
                if self._record(existing, stored, entry, "tax category", entry["code"]):
                    with _at(_path("tax_categories", index)):
                        services.tax_category_save(
                            code=entry["code"],
                            name=entry["name"],
                            category=existing,
                            acting_user=self.user,
                        )
        for index, entry in enumerate(self.doc["tax_regions"]):
            with self._entry():
                existing = TaxRegion.objects.filter(code=entry["code"]).first()
                header = {"code": entry["code"], "name": entry["name"]}
                stored = {"code": existing.code, "name": existing.name} if existing else None
                region = existing
                if self._record(existing, stored, header, "tax region", entry["code"]):
                    with _at(_path("tax_regions", index)):
                        region = services.tax_region_save(
                            code=entry["code"],
                            name=entry["name"],
                            region=existing,
                            acting_user=self.user,
                        )
                for r, rate in enumerate(entry["rates"]):
                    category = TaxCategory.objects.get(code=rate["category"])
                    valid_from = dt.date.fromisoformat(rate["valid_from"])
                    current = TaxRate.objects.filter(
                        region=region, category=category, valid_from=valid_from
                    ).first()
                    label = f"{entry['code']}/{rate['category']} from {rate['valid_from']}"
                    stored_rate = {**rate, "rate": decimal_text(current.rate)} if current else None
                    if self._record(current, stored_rate, rate, "tax rate", label):
                        with _at(_path("tax_regions", index, "rates", r)):
                            services.tax_rate_set(
                                region=region,
                                category=category,
                                rate=Decimal(rate["rate"]),
                                valid_from=valid_from,
                                acting_user=self.user,
                            )

    def zone_tables(self) -> None:
        for index, entry in enumerate(self.doc["zone_tables"]):
            with self._entry():
                path = _path("zone_tables", index)
                existing = ZoneTable.objects.filter(code=entry["code"]).first()
                stored = _zone_table_entry(existing) if existing else None
                if stored is not None:
                    # Zones the document does not list are kept (import never deletes).
                    listed = {z["code"] for z in entry["destination_zones"]}
                    stored["destination_zones"] = [
                        z for z in stored["destination_zones"] if z["code"] in listed
                    ]
                    listed = {z["code"] for z in entry["roaming_zones"]}
                    stored["roaming_zones"] = [
                        z for z in stored["roaming_zones"] if z["code"] in listed
                    ]
                if not self._record(existing, stored, entry, "zone table", entry["code"]):
                    continue
                table = existing
                header = ("code", "name", "description")
                if existing is None or any(stored[key] != entry[key] for key in header):
                    with _at(path):
                        table = services.zone_table_save(
                            code=entry["code"],
                            name=entry["name"],
                            description=entry["description"],
                            table=existing,
                            acting_user=self.user,
                        )
                self._zones(table, path, entry)
        for zone in Zone.objects.select_related("table"):
            self.zones[(zone.table.code, zone.zone_type, zone.code)] = zone

    def _zones(self, table: ZoneTable, path: str, entry: dict) -> None:
        """Save the zones of a table; members moving between zones are released first."""
        plan = []
        for name, key, zone_type in (
            ("destination_zones", "prefixes", ZoneType.DESTINATION),
            ("roaming_zones", "networks", ZoneType.ROAMING),
        ):
            for z, zone_entry in enumerate(entry[name]):
                zone = Zone.objects.filter(
                    table=table, zone_type=zone_type, code=zone_entry["code"]
                ).first()
                members = sorted(zone.members.values_list("value", flat=True)) if zone else []
                stored = _zone_entry(zone, members) if zone else None
                if stored is None or not self._same(stored, zone_entry):
                    plan.append((f"{path}.{name}[{z}]", key, zone_type, zone_entry, zone, members))
        for zone_path, key, zone_type, zone_entry, zone, members in plan:
            kept = [value for value in members if value in set(zone_entry[key])]
            if zone is not None and len(kept) < len(members):
                with _at(zone_path, {"members": key}):
                    services.zone_save(
                        table=table,
                        zone_type=zone_type,
                        code=zone.code,
                        name=zone.name,
                        kind=zone.kind,
                        members=kept,
                        zone=zone,
                        acting_user=self.user,
                    )
        for zone_path, key, zone_type, zone_entry, zone, _ in plan:
            with _at(zone_path, {"members": key}):
                services.zone_save(
                    table=table,
                    zone_type=zone_type,
                    code=zone_entry["code"],
                    name=zone_entry["name"],
                    kind=zone_entry["kind"],
                    members=zone_entry[key],
                    zone=zone,
                    acting_user=self.user,
                )

    def time_band_sets(self) -> None:
        for index, entry in enumerate(self.doc["time_band_sets"]):
            with self._entry():
                existing = TimeBandSet.objects.filter(code=entry["code"]).first()
                stored = _time_band_set_entry(existing) if existing else None
                if self._record(existing, stored, entry, "time band set", entry["code"]):
                    bands = [
                        {
                            "code": band["code"],
                            "name": band["name"],
                            "is_rest": band["is_rest"],
                            "windows": [
                                {
                                    "days": window["days"],
                                    "start_time": dt.time.fromisoformat(window["start"]),
                                    "end_time": dt.time.fromisoformat(window["end"]),
                                }
                                for window in band["windows"]
                            ],
                        }
                        for band in entry["bands"]
                    ]
                    with _at(_path("time_band_sets", index)):
                        services.time_band_set_save(
                            code=entry["code"],
                            name=entry["name"],
                            timezone_name=entry["timezone"],
                            bands=bands,
                            band_set=existing,
                            acting_user=self.user,
                        )
        for band in TimeBand.objects.select_related("band_set"):
            self.bands[(band.band_set.code, band.code)] = band

    def _versioned(self, existing, stored, entry: dict, path: str, kind: str, label: str, advice):
        """Decide for an object with a status; return whether its draft must be written."""
        if existing is None:
            self.summary.add("created", kind, label)
            return True
        content = {key: value for key, value in entry.items() if key != "status"}
        stored_content = {key: value for key, value in stored.items() if key != "status"}
        if existing.status == Status.DRAFT:
            if self._same(stored_content, content):
                self.summary.add("unchanged", kind, label)
                return False
            self.summary.add("updated", kind, label)
            return True
        found = _difference(stored_content, content, path)
        if found is not None:
            where, was, wanted = found
            raise CatalogDocumentError(
                [
                    (
                        where,
                        f"{kind} {label} is {existing.status} and never changes (it has "
                        f"{_show(was)}, the document {_show(wanted)}): {advice}",
                    )
                ]
            )
        if STATUS_ORDER[entry["status"]] < STATUS_ORDER[existing.status]:
            raise CatalogDocumentError(
                [(f"{path}.status", f"{kind} {label} is {existing.status}: it never goes back")]
            )
        self.summary.add("unchanged", kind, label)
        return False

    def _advance(self, obj, entry: dict, path: str, kind: str, label: str, publish) -> None:
        """Publish what the document says is published or retired; retire at the very end."""
        if entry["status"] != Status.DRAFT and obj.status == Status.DRAFT:
            with _at(path):
                publish()
            self.summary.add("published", kind, label)
        if entry["status"] == Status.RETIRED:
            self.to_retire.append((path, kind, obj, label))

    def _row_data(self, card: dict, row: dict) -> dict:
        table, band_set = card["zone_table"], card["time_band_set"]
        return {
            "service": row["service"],
            **self._zone_data(table, row),
            "time_band": self.bands[(band_set, row["time_band"])] if row["time_band"] else None,
            "price": Decimal(row["price"]),
            "unit": row["unit"],
            "increment_first": row["increment_first"],
            "increment_next": row["increment_next"],
            "connection_fee": Decimal(row["connection_fee"]),
            "minimum_charge": Decimal(row["minimum_charge"]),
            "tax_category": self._category(row["tax_category"]),
            "description": row["description"],
        }

    def _category(self, code: str | None):
        return TaxCategory.objects.get(code=code) if code else None

    def rate_cards(self) -> None:
        for index, entry in enumerate(self.doc["rate_cards"]):
            with self._entry():
                path = _path("rate_cards", index)
                existing = RateCard.objects.select_related("zone_table", "time_band_set").filter(
                    code=entry["code"]
                )
                existing = existing.first()
                stored = _rate_card_entry(existing) if existing else None
                card = existing
                advice = "import the change as a new rate card, with another code"
                if self._versioned(
                    existing, stored, entry, path, "rate card", entry["code"], advice
                ):
                    if existing is not None:
                        for row in existing.rows.all():
                            with _at(path):
                                services.rate_row_delete(row=row, acting_user=self.user)
                    with _at(path):
                        card = services.rate_card_save(
                            code=entry["code"],
                            name=entry["name"],
                            kind=entry["kind"],
                            currency=entry["currency"],
                            zone_table=ZoneTable.objects.get(code=entry["zone_table"]),
                            time_band_set=(
                                TimeBandSet.objects.get(code=entry["time_band_set"])
                                if entry["time_band_set"]
                                else None
                            ),
                            rate_card=existing,
                            acting_user=self.user,
                        )
                    for r, row in enumerate(entry["rows"]):
                        with _at(_path("rate_cards", index, "rows", r)):
                            services.rate_row_save(
                                rate_card=card,
                                data=self._row_data(entry, row),
                                acting_user=self.user,
                            )
                self._advance(
                    card,
                    entry,
                    path,
                    "rate card",
                    entry["code"],
                    lambda c=card: services.rate_card_publish(rate_card=c, acting_user=self.user),
                )

    def host_networks(self) -> None:
        for index, entry in enumerate(self.doc["host_networks"]):
            with self._entry():
                path = _path("host_networks", index)
                existing = HostNetwork.objects.filter(code=entry["code"]).first()
                header = {key: value for key, value in entry.items() if key != "tariffs"}
                stored = None
                if existing is not None:
                    stored = _host_network_entry(existing)
                    stored.pop("tariffs")
                network = existing
                if self._record(existing, stored, header, "host network", entry["code"]):
                    with _at(path):
                        network = services.host_network_save(
                            code=entry["code"],
                            name=entry["name"],
                            plmn_codes=entry["plmn_codes"],
                            country_code=entry["country_code"],
                            host_network=existing,
                            acting_user=self.user,
                        )
                for t, tariff in enumerate(entry["tariffs"]):
                    effective_from = dt.datetime.fromisoformat(tariff["effective_from"])
                    current = (
                        HostNetworkTariff.objects.filter(
                            host_network=network, effective_from=effective_from
                        )
                        .select_related("rate_card")
                        .first()
                    )
                    stored_tariff = (
                        {**_tariff_entry(current), "effective_from": tariff["effective_from"]}
                        if current
                        else None
                    )
                    label = f"{entry['code']} from {tariff['effective_from']}"
                    if self._record(current, stored_tariff, tariff, "tariff", label):
                        with _at(_path("host_networks", index, "tariffs", t)):
                            services.host_network_tariff_set(
                                host_network=network,
                                rate_card=RateCard.objects.get(code=tariff["rate_card"]),
                                effective_from=effective_from,
                                sim_fee=Decimal(tariff["sim_fee"]),
                                platform_fee=Decimal(tariff["platform_fee"]),
                                minimum_commitment=Decimal(tariff["minimum_commitment"]),
                                acting_user=self.user,
                            )

    def _zone_data(self, table: str | None, entry: dict) -> dict:
        """Return the zones an entry names, as Zone objects of its zone table."""
        return {
            "destination_zones": [
                self.zones[(table, ZoneType.DESTINATION, code)]
                for code in entry["destination_zones"]
            ],
            "roaming_zones": [
                self.zones[(table, ZoneType.ROAMING, code)] for code in entry["roaming_zones"]
            ],
        }

    def _allowance_data(self, table: str | None, allowance: dict) -> dict:
        return {
            "name": allowance["name"],
            "services": allowance["services"],
            "quantity": allowance["quantity"],
            "unit": allowance["unit"],
            **self._zone_data(table, allowance),
            "shared": allowance["shared"],
        }

    def plans(self) -> None:
        for index, entry in enumerate(self.doc["plans"]):
            with self._entry():
                path = _path("plans", index)
                existing = Plan.objects.select_related("brand").filter(code=entry["code"]).first()
                header = {key: value for key, value in entry.items() if key != "versions"}
                stored = _plan_header(existing) if existing else None
                plan = existing
                if self._record(existing, stored, header, "plan", entry["code"]):
                    with _at(path):
                        plan = services.plan_save(
                            code=entry["code"],
                            name=entry["name"],
                            brand=Brand.objects.get(code=entry["brand"]),
                            payment_model=entry["payment_model"],
                            currency=entry["currency"],
                            description=entry["description"],
                            plan=existing,
                            acting_user=self.user,
                        )
                ordered = sorted(enumerate(entry["versions"]), key=lambda item: item[1]["version"])
                for v, version_entry in ordered:
                    self._version(plan, _path("plans", index, "versions", v), version_entry)

    def _version(self, plan: Plan, path: str, entry: dict) -> None:
        existing = (
            PlanVersion.objects.select_related("rate_card", "tax_category")
            .filter(plan=plan, version=entry["version"])
            .first()
        )
        stored = _version_entry(existing) if existing else None
        label = f"{plan.code} v{entry['version']}"
        last = plan.versions.order_by("-version").values_list("version", flat=True).first()
        following = (last or 0) + 1
        advice = f"add the change as version {following}"
        version = existing
        if self._versioned(existing, stored, entry, path, "plan version", label, advice):
            card = RateCard.objects.select_related("zone_table").get(code=entry["rate_card"])
            data = {
                "effective_from": dt.datetime.fromisoformat(entry["effective_from"]),
                "rate_card": card,
                "recurring_fee": Decimal(entry["recurring_fee"]),
                "fee_period": entry["fee_period"],
                "fee_timing": entry["fee_timing"],
                "activation_fee": Decimal(entry["activation_fee"]),
                "tax_inclusive": entry["tax_inclusive"],
                "tax_category": self._category(entry["tax_category"]),
                "notes": entry["notes"],
            }
            if existing is None:
                if entry["version"] != following:
                    raise CatalogDocumentError(
                        [(f"{path}.version", f"the next version of {plan.code} is {following}")]
                    )
                with _at(path):
                    version = services.plan_version_create(
                        plan=plan, data=data, acting_user=self.user
                    )
            else:
                with _at(path):
                    for allowance in existing.allowances.all():
                        services.allowance_delete(allowance=allowance, acting_user=self.user)
                    for policy in existing.fair_use_policies.all():
                        services.fair_use_policy_delete(policy=policy, acting_user=self.user)
                    version = services.plan_version_update(
                        version=existing, data=data, acting_user=self.user
                    )
            table = card.zone_table.code
            for a, allowance in enumerate(entry["allowances"]):
                with _at(f"{path}.allowances[{a}]"):
                    services.allowance_save(
                        owner=version,
                        data=self._allowance_data(table, allowance),
                        acting_user=self.user,
                    )
            for p, policy in enumerate(entry["fair_use_policies"]):
                data = {
                    "name": policy["name"],
                    "services": policy["services"],
                    **self._zone_data(table, policy),
                    "cap_quantity": policy["cap_quantity"],
                    "cap_unit": policy["cap_unit"],
                    "action": policy["action"],
                    "overage_price": (
                        Decimal(policy["overage_price"])
                        if policy["overage_price"] is not None
                        else None
                    ),
                    "overage_unit": policy["overage_unit"] or "",
                }
                with _at(f"{path}.fair_use_policies[{p}]"):
                    services.fair_use_policy_save(version=version, data=data, acting_user=self.user)
        self._advance(
            version,
            entry,
            path,
            "plan version",
            label,
            lambda: services.plan_version_publish(version=version, acting_user=self.user),
        )

    def add_ons(self) -> None:
        for index, entry in enumerate(self.doc["add_ons"]):
            with self._entry():
                path = _path("add_ons", index)
                existing = AddOn.objects.filter(code=entry["code"]).first()
                stored = _add_on_entry(existing) if existing else None
                add_on = existing
                advice = "import the change as a new add-on, with another code"
                if self._versioned(existing, stored, entry, path, "add-on", entry["code"], advice):
                    data = {
                        "code": entry["code"],
                        "name": entry["name"],
                        "kind": entry["kind"],
                        "currency": entry["currency"],
                        "price": Decimal(entry["price"]),
                        "validity_days": entry["validity_days"],
                        "tax_inclusive": entry["tax_inclusive"],
                        "tax_category": self._category(entry["tax_category"]),
                        "zone_table": (
                            ZoneTable.objects.get(code=entry["zone_table"])
                            if entry["zone_table"]
                            else None
                        ),
                        "description": entry["description"],
                        "eligible_plans": list(
                            Plan.objects.filter(code__in=entry["eligible_plans"])
                        ),
                    }
                    with _at(path):
                        if existing is not None:
                            for allowance in existing.allowances.all():
                                services.allowance_delete(
                                    allowance=allowance, acting_user=self.user
                                )
                        add_on = services.add_on_save(
                            data=data, add_on=existing, acting_user=self.user
                        )
                    for a, allowance in enumerate(entry["allowances"]):
                        with _at(f"{path}.allowances[{a}]"):
                            services.allowance_save(
                                owner=add_on,
                                data=self._allowance_data(entry["zone_table"], allowance),
                                acting_user=self.user,
                            )
                self._advance(
                    add_on,
                    entry,
                    path,
                    "add-on",
                    entry["code"],
                    lambda a=add_on: services.add_on_publish(add_on=a, acting_user=self.user),
                )

    def promotions(self) -> None:
        for index, entry in enumerate(self.doc["promotions"]):
            with self._entry():
                path = _path("promotions", index)
                existing = Promotion.objects.filter(code=entry["code"]).first()
                stored = _promotion_entry(existing) if existing else None
                promotion = existing
                advice = "import the change as a new promotion, with another code"
                if self._versioned(
                    existing, stored, entry, path, "promotion", entry["code"], advice
                ):
                    data = {
                        "code": entry["code"],
                        "name": entry["name"],
                        "discount_type": entry["discount_type"],
                        "value": Decimal(entry["value"]),
                        "currency": entry["currency"],
                        "periods": entry["periods"],
                        "available_from": _instant(entry["available_from"]),
                        "available_until": _instant(entry["available_until"]),
                        "description": entry["description"],
                        "eligible_plans": list(
                            Plan.objects.filter(code__in=entry["eligible_plans"])
                        ),
                    }
                    with _at(path):
                        promotion = services.promotion_save(
                            data=data, promotion=existing, acting_user=self.user
                        )
                self._advance(
                    promotion,
                    entry,
                    path,
                    "promotion",
                    entry["code"],
                    lambda p=promotion: services.promotion_publish(
                        promotion=p, acting_user=self.user
                    ),
                )

    def retire(self) -> None:
        retire = {
            "rate card": lambda obj: services.rate_card_retire(
                rate_card=obj, acting_user=self.user
            ),
            "plan version": lambda obj: services.plan_version_retire(
                version=obj, acting_user=self.user
            ),
            "add-on": lambda obj: services.add_on_retire(add_on=obj, acting_user=self.user),
            "promotion": lambda obj: services.promotion_retire(
                promotion=obj, acting_user=self.user
            ),
        }
        for path, kind, obj, label in self.to_retire:
            obj.refresh_from_db(fields=["status"])
            if obj.status == Status.PUBLISHED:
                with _at(path):
                    retire[kind](obj)
                self.summary.add("retired", kind, label)


def _instant(text: str | None):
    return dt.datetime.fromisoformat(text) if text else None


def _show(value) -> str:
    return "nothing" if value in (None, "") else repr(value)


def catalog_import(*, document: dict, acting_user=None, dry_run: bool = False) -> ImportSummary:
    """Load a catalogue document through the catalogue services, all or nothing.

    Raise ``CatalogDocumentError`` with every shape and reference problem at once, or with the
    first refusal of a service; nothing is kept then. A dry run does everything and then rolls
    back, so its summary says what an import would do.
    """
    require_every_brand(acting_user, "a catalogue document")
    canonical = document_normalize(document)
    summary = ImportSummary(dry_run=dry_run)
    with transaction.atomic():
        _Importer(canonical, acting_user, summary).run()
        if dry_run:
            transaction.set_rollback(True)
    return summary
