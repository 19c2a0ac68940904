"""Console forms of the catalogue: they validate input; the catalogue services decide and save.

Model forms give the console their fields, choices and uniqueness checks; the views hand their
``cleaned_data`` to ``catalog.services``, whose refusals come back onto the form.
"""

import datetime as dt
import re

from django import forms
from django.conf import settings
from django.utils import timezone

from catalog.models import (
    AddOn,
    Allowance,
    Brand,
    FairUsePolicy,
    HostNetwork,
    Plan,
    PlanVersion,
    Promotion,
    RateCard,
    RateCardKind,
    RateRow,
    Service,
    Status,
    TaxCategory,
    TaxRegion,
    TimeBandSet,
    Zone,
    ZoneKind,
    ZoneTable,
    ZoneType,
)

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_NUMBERS = {name.lower(): number for number, name in enumerate(DAY_NAMES, start=1)}
FULL_DAY_NAMES = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 7,
}
BAND_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_\-\.]*$")
BAND_LINE = re.compile(r"^(?P<code>[^\s:(]+)\s*(?:\((?P<name>[^)]*)\))?\s*:\s*(?P<spec>.*)$")
WINDOW_SPEC = re.compile(r"^(?P<days>.+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")
REST_WORDS = {"rest", "rest of the week", "the rest", "else"}
EVERY_DAY_WORDS = {"daily", "every day", "all", "mon-sun"}


def datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def currency_field(**kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=[(code, code) for code in settings.CURRENCIES],
        initial=settings.DEFAULT_CURRENCY,
        **kwargs,
    )


def split_values(text: str) -> list[str]:
    """Split prefixes or network codes written one per line or separated by commas/spaces."""
    return [value for value in re.split(r"[\s,;]+", text or "") if value]


def zone_choices(zone_table, zone_type: str):
    """Return the zones of one type of a table (none when the owner has no table)."""
    if zone_table is None:
        return Zone.objects.none()
    return Zone.objects.filter(table=zone_table, zone_type=zone_type).order_by("code")


def multi_select(size: int = 6) -> forms.SelectMultiple:
    return forms.SelectMultiple(attrs={"size": size})


# --- brands and tax --------------------------------------------------------------------------


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = ["code", "name", "parent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["parent"].queryset = Brand.objects.exclude(pk=self.instance.pk)


class TaxCategoryForm(forms.ModelForm):
    class Meta:
        model = TaxCategory
        fields = ["code", "name"]


class TaxRegionForm(forms.ModelForm):
    class Meta:
        model = TaxRegion
        fields = ["code", "name", "prepaid_tax_point"]


class TaxRateForm(forms.Form):
    """The rate of a category in a region from a date on (a later date starts a new rate)."""

    category = forms.ModelChoiceField(queryset=TaxCategory.objects.order_by("code"))
    rate = forms.DecimalField(max_digits=7, decimal_places=5, help_text="a fraction: 0.19 for 19 %")
    valid_from = forms.DateField(widget=date_input())


# --- zones -----------------------------------------------------------------------------------


class ZoneTableForm(forms.ModelForm):
    class Meta:
        model = ZoneTable
        fields = ["code", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ZoneForm(forms.ModelForm):
    """A zone and its prefixes (destination) or networks (roaming), one per line or by commas."""

    members = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="one per line or separated by commas; only for a zone of listed members",
    )

    class Meta:
        model = Zone
        fields = ["code", "name", "kind", "members"]

    def __init__(self, *args, zone_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = {
            ZoneType.DESTINATION: (ZoneKind.LISTED, ZoneKind.REST, ZoneKind.INCOMING),
            ZoneType.ROAMING: (ZoneKind.LISTED, ZoneKind.REST, ZoneKind.HOME),
        }[zone_type]
        self.fields["kind"].choices = [(kind.value, kind.label) for kind in allowed]
        self.fields["members"].label = (
            "Prefixes" if zone_type == ZoneType.DESTINATION else "Networks (MCC or MCC+MNC)"
        )
        if self.instance.pk:
            self.initial["members"] = "\n".join(
                self.instance.members.order_by("value").values_list("value", flat=True)
            )

    def clean_members(self) -> list[str]:
        return split_values(self.cleaned_data.get("members", ""))


class ZoneLookupForm(forms.Form):
    """Find the zone of a number or of a visited network, as the rating engine would (R7a)."""

    number = forms.CharField(
        required=False, label="Number", help_text="international format, e.g. 4930901820"
    )
    network = forms.CharField(
        required=False, label="Visited network", help_text="MCC+MNC, e.g. 20408"
    )
    host_network = forms.ModelChoiceField(
        queryset=HostNetwork.objects.order_by("code"),
        required=False,
        label="Host network",
        help_text="the network that sent the record: its own networks are HOME",
    )

    def clean_number(self) -> str:
        number = re.sub(r"[\s\-/().]", "", self.cleaned_data.get("number", ""))
        if number.startswith("+"):
            number = number[1:]
        elif number.startswith("00"):
            number = number[2:]
        if number and not number.isdigit():
            raise forms.ValidationError("digits only (a leading + or 00 is dropped)")
        return number

    def clean_network(self) -> str:
        network = self.cleaned_data.get("network", "").strip()
        if network and (not network.isdigit() or len(network) not in (5, 6)):
            raise forms.ValidationError("an MCC+MNC of 5 or 6 digits")
        return network


# --- time bands -----------------------------------------------------------------------------

BANDS_HELP = (
    "One line per window: CODE (Name): days HH:MM-HH:MM, for example "
    "“PEAK (Peak): Mon-Fri 08:00-20:00”. Days are Mon … Sun, ranges (Mon-Fri) and lists "
    "(Sat,Sun); 24:00 ends the day. A band may have several lines. “OFFPEAK: rest” makes a "
    "band cover every minute no other band covers. Windows may not overlap and the week must "
    "be covered."
)


def _parse_days(text: str) -> list[int]:
    text = text.strip().lower()
    if text in EVERY_DAY_WORDS:
        return list(range(1, 8))
    days: list[int] = []
    for token in (part.strip() for part in text.split(",")):
        if not token:
            raise forms.ValidationError("an empty day in the list")
        ends = [end.strip() for end in token.split("-")]
        if len(ends) > 2:
            raise forms.ValidationError(f"{token!r} is not a day or a range of days")
        numbers = []
        for end in ends:
            number = DAY_NUMBERS.get(end) or FULL_DAY_NAMES.get(end)
            if number is None:
                raise forms.ValidationError(f"unknown day {end!r} (use {', '.join(DAY_NAMES)})")
            numbers.append(number)
        if len(numbers) == 2:
            first, last = numbers
            if last < first:
                raise forms.ValidationError(
                    f"the range {token!r} runs backwards: write it as two parts, "
                    f"e.g. {DAY_NAMES[first - 1]}-Sun,Mon-{DAY_NAMES[last - 1]}"
                )
            days.extend(range(first, last + 1))
        else:
            days.extend(numbers)
    return sorted(set(days))


def _parse_time(text: str, *, is_end: bool) -> dt.time:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise forms.ValidationError(f"{text} is not a time of day")
    if hours == 24:
        if not is_end:
            raise forms.ValidationError("a window starts at 23:59 at the latest")
        return dt.time(0)
    return dt.time(hours, minutes)


def parse_band_lines(text: str) -> tuple[list[dict], list[dict]]:
    """Parse the textual band format into the bands of ``services.time_band_set_save``.

    Returns the bands and, in the same order, where each came from:
    ``{"line": first line, "windows": [line of each window]}`` so that a refusal of the
    service can name the line it is about. Raises one error per bad line.
    """
    bands: dict[str, dict] = {}
    origins: dict[str, dict] = {}
    errors = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = BAND_LINE.match(line)
        if match is None:
            errors.append(f"line {number}: write “CODE: days HH:MM-HH:MM” or “CODE: rest”")
            continue
        code = match["code"].upper()
        if not BAND_CODE.match(code):
            errors.append(
                f"line {number}: band code {match['code']!r} may use letters, digits, "
                "'_', '-' and '.' only"
            )
            continue
        band = bands.setdefault(code, {"code": code, "name": "", "is_rest": False, "windows": []})
        origin = origins.setdefault(code, {"line": number, "windows": []})
        name = (match["name"] or "").strip()
        if name:
            if band["name"] and band["name"] != name:
                errors.append(
                    f"line {number}: band {code} is called {band['name']!r} on line "
                    f"{origin['line']}"
                )
                continue
            band["name"] = name
        spec = match["spec"].strip()
        if spec.lower() in REST_WORDS:
            band["is_rest"] = True
            continue
        window = WINDOW_SPEC.match(spec)
        if window is None:
            errors.append(
                f"line {number}: {spec!r} is neither “rest” nor days and times such as "
                "“Mon-Fri 08:00-20:00”"
            )
            continue
        try:
            days = _parse_days(window["days"])
            start = _parse_time(window["start"], is_end=False)
            end = _parse_time(window["end"], is_end=True)
        except forms.ValidationError as error:
            errors.append(f"line {number}: {error.messages[0]}")
            continue
        if (end.hour * 60 + end.minute or 1440) <= start.hour * 60 + start.minute:
            errors.append(
                f"line {number}: the window ends before it starts; a window runs within one "
                "day, so split a night window at 24:00 (e.g. 20:00-24:00 and 00:00-08:00)"
            )
            continue
        band["windows"].append({"days": days, "start_time": start, "end_time": end})
        origin["windows"].append(number)
    if errors:
        raise forms.ValidationError(errors)
    if not bands:
        raise forms.ValidationError("name at least one band")
    return list(bands.values()), [origins[code] for code in bands]


def _format_days(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) == 1:
            parts.append(DAY_NAMES[run[0] - 1])
        elif len(run) == 2:
            parts.append(f"{DAY_NAMES[run[0] - 1]},{DAY_NAMES[run[1] - 1]}")
        else:
            parts.append(f"{DAY_NAMES[run[0] - 1]}-{DAY_NAMES[run[-1] - 1]}")
    return ",".join(parts)


def format_window(window) -> str:
    """Write a window as ``Mon-Fri 08:00-20:00`` (24:00 for the end of the day)."""
    end = "24:00" if window.end_minute == 1440 else f"{window.end_time:%H:%M}"
    return f"{_format_days(window.days)} {window.start_time:%H:%M}-{end}"


def format_band_lines(band_set: TimeBandSet) -> str:
    """Write a band set in the textual format that ``parse_band_lines`` reads."""
    lines = []
    bands = sorted(band_set.bands.prefetch_related("windows"), key=lambda band: band.is_rest)
    for band in bands:
        label = f"{band.code} ({band.name})" if band.name else band.code
        lines.extend(f"{label}: {format_window(window)}" for window in band.windows.all())
        if band.is_rest:
            lines.append(f"{label}: rest")
    return "\n".join(lines)


class TimeBandSetForm(forms.ModelForm):
    bands = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}), help_text=BANDS_HELP
    )

    class Meta:
        model = TimeBandSet
        fields = ["code", "name", "timezone", "bands"]
        help_texts = {"timezone": "IANA name, e.g. Europe/Berlin"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.band_origins: list[dict] = []
        if self.instance.pk and "bands" not in self.initial:
            self.initial["bands"] = format_band_lines(self.instance)

    def clean_bands(self) -> list[dict]:
        bands, self.band_origins = parse_band_lines(self.cleaned_data["bands"])
        return bands


# --- rate cards -----------------------------------------------------------------------------


class RateCardForm(forms.ModelForm):
    currency = currency_field()

    class Meta:
        model = RateCard
        fields = ["code", "name", "kind", "currency", "zone_table", "time_band_set"]


class ZoneTableCloneForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="the code of the new, editable table")
    name = forms.CharField(max_length=200, required=False, help_text="empty: the same name")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if ZoneTable.objects.filter(code=code).exists():
            raise forms.ValidationError(f"a zone table {code} exists already")
        return code


class RateCardCloneForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="the code of the new draft card")
    name = forms.CharField(max_length=200, required=False, help_text="empty: the same name")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if RateCard.objects.filter(code=code).exists():
            raise forms.ValidationError(f"a rate card {code} exists already")
        return code


class RateRowForm(forms.ModelForm):
    """A row of a draft card; zones and bands are those of the card's table and band set."""

    class Meta:
        model = RateRow
        fields = [
            "service",
            "destination_zones",
            "roaming_zones",
            "time_band",
            "price",
            "unit",
            "increment_first",
            "increment_next",
            "connection_fee",
            "minimum_charge",
            "tax_category",
            "description",
        ]
        widgets = {"destination_zones": multi_select(), "roaming_zones": multi_select()}
        help_texts = {
            "destination_zones": "none selected: any destination",
            "roaming_zones": "none selected: anywhere",
            "time_band": "empty: any time",
            "increment_first": "seconds for voice, bytes for data; 1 for messages and events",
            "increment_next": "seconds for voice, bytes for data; 1 for messages and events",
        }

    def __init__(self, *args, rate_card: RateCard, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination_zones"].queryset = zone_choices(
            rate_card.zone_table, ZoneType.DESTINATION
        )
        self.fields["roaming_zones"].queryset = zone_choices(rate_card.zone_table, ZoneType.ROAMING)
        band_field = self.fields["time_band"]
        if rate_card.time_band_set_id:
            band_field.queryset = rate_card.time_band_set.bands.order_by("code")
        else:
            band_field.queryset = band_field.queryset.none()
            band_field.help_text = "the card has no band set"


# --- host networks --------------------------------------------------------------------------


class HostNetworkForm(forms.ModelForm):
    plmn_codes = forms.CharField(
        label="PLMN codes", help_text="MCC+MNC codes of this network, separated by commas"
    )

    class Meta:
        model = HostNetwork
        fields = ["code", "name", "plmn_codes", "country_code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["plmn_codes"] = ", ".join(self.instance.plmn_codes)

    def clean_plmn_codes(self) -> list[str]:
        return split_values(self.cleaned_data["plmn_codes"])


class HostNetworkTariffForm(forms.Form):
    rate_card = forms.ModelChoiceField(
        queryset=RateCard.objects.filter(
            kind=RateCardKind.WHOLESALE, status=Status.PUBLISHED
        ).order_by("code"),
        help_text="a published wholesale card",
    )
    effective_from = forms.DateTimeField(widget=datetime_input())
    sim_fee = forms.DecimalField(
        required=False, min_value=0, max_digits=18, decimal_places=6, initial=0,
        help_text="per subscription active on any day of the month (R31)",
    )  # fmt: skip
    platform_fee = forms.DecimalField(
        required=False, min_value=0, max_digits=18, decimal_places=6, initial=0,
        help_text="a fixed fee a month",
    )  # fmt: skip
    minimum_commitment = forms.DecimalField(
        required=False, min_value=0, max_digits=18, decimal_places=6, initial=0,
        help_text="the least a month costs; a shortfall is charged",
    )  # fmt: skip


# --- plans ----------------------------------------------------------------------------------


class PlanForm(forms.ModelForm):
    currency = currency_field()

    class Meta:
        model = Plan
        fields = ["code", "name", "brand", "payment_model", "currency", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class PlanVersionForm(forms.ModelForm):
    class Meta:
        model = PlanVersion
        fields = [
            "effective_from",
            "rate_card",
            "recurring_fee",
            "fee_period",
            "fee_timing",
            "activation_fee",
            "tax_inclusive",
            "tax_category",
            "notes",
        ]
        widgets = {
            "effective_from": datetime_input(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        zone_name = timezone.get_current_timezone_name()
        self.fields["effective_from"].help_text = f"in the console's time zone ({zone_name})"
        cards = RateCard.objects.filter(kind=RateCardKind.RETAIL, currency=plan.currency)
        # A retired card is offered no more, except to the version that already has it.
        cards = cards.exclude(status=Status.RETIRED) | cards.filter(pk=self.instance.rate_card_id)
        self.fields["rate_card"].queryset = cards.order_by("code")


class PlanVersionCloneForm(forms.Form):
    effective_from = forms.DateTimeField(
        widget=datetime_input(),
        help_text="when the new version takes effect: after every published version",
    )


class ServicesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=Service.choices, **kwargs)


class AllowanceForm(forms.ModelForm):
    services = ServicesField()

    class Meta:
        model = Allowance
        fields = [
            "name",
            "services",
            "quantity",
            "unit",
            "destination_zones",
            "roaming_zones",
            "shared",
        ]
        widgets = {"destination_zones": multi_select(), "roaming_zones": multi_select()}
        help_texts = {
            "destination_zones": "none selected: any destination",
            "roaming_zones": "none selected: anywhere",
            "shared": "one bucket for all subscriptions of a billing account on this plan",
        }

    def __init__(self, *args, zone_table, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination_zones"].queryset = zone_choices(zone_table, ZoneType.DESTINATION)
        self.fields["roaming_zones"].queryset = zone_choices(zone_table, ZoneType.ROAMING)


class FairUsePolicyForm(forms.ModelForm):
    services = ServicesField()

    class Meta:
        model = FairUsePolicy
        fields = [
            "name",
            "services",
            "destination_zones",
            "roaming_zones",
            "cap_quantity",
            "cap_unit",
            "action",
            "overage_price",
            "overage_unit",
        ]
        widgets = {"destination_zones": multi_select(), "roaming_zones": multi_select()}
        help_texts = {
            "overage_price": "only for an overage policy: the price per overage unit",
        }

    def __init__(self, *args, zone_table, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination_zones"].queryset = zone_choices(zone_table, ZoneType.DESTINATION)
        self.fields["roaming_zones"].queryset = zone_choices(zone_table, ZoneType.ROAMING)


# --- add-ons and promotions -------------------------------------------------------------------


class AddOnForm(forms.ModelForm):
    currency = currency_field()

    class Meta:
        model = AddOn
        fields = [
            "code",
            "name",
            "kind",
            "currency",
            "price",
            "validity_days",
            "tax_inclusive",
            "tax_category",
            "zone_table",
            "eligible_plans",
            "description",
        ]
        widgets = {
            "eligible_plans": multi_select(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }


class AddOnCloneForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="the code of the new draft add-on")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if AddOn.objects.filter(code=code).exists():
            raise forms.ValidationError(f"an add-on {code} exists already")
        return code


class PromotionForm(forms.ModelForm):
    currency = currency_field()

    class Meta:
        model = Promotion
        fields = [
            "code",
            "name",
            "discount_type",
            "value",
            "currency",
            "periods",
            "eligible_plans",
            "available_from",
            "available_until",
            "description",
        ]
        widgets = {
            "eligible_plans": multi_select(),
            "available_from": datetime_input(),
            "available_until": datetime_input(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
