"""Console forms of charging: they validate input; the services decide and write.

Subscriptions and accounts named in a form are looked up through the brand-scoping selectors,
so a user limited to some brands cannot name another brand's subscriber.
"""

import datetime as dt
import zoneinfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from catalog.models import HostNetwork, PlanVersion, TaxRegion
from charging.cdr import CdrError, parse_fields, parse_file_name, parse_line
from charging.models import RerateScope
from core.periods import local_date, local_midnight
from subscribers.selectors import (
    billing_accounts_visible_to,
    brands_of,
    subscriptions_visible_to,
)

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
SIMULATED_RECORD_ID = "SIMULATED"
SIMULATED_MSISDN = "0"
RECORD_TYPES = [
    ("MOC", "MOC — outgoing call"),
    ("MTC", "MTC — received call"),
    ("SMSO", "SMSO — outgoing SMS"),
    ("SMST", "SMST — received SMS"),
    ("PGW", "PGW — data session"),
]


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def msisdn_digits(text: str) -> str:
    """Reduce a typed number (+49 151 …, 0049…) to the digits an MSISDN is stored with."""
    digits = "".join(character for character in text if character.isdigit())
    return digits[2:] if text.strip().startswith("00") else digits


def local_window(first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Return ``[first_day 00:00, the day after last_day 00:00)`` in the console's timezone."""
    tz = settings.TIME_ZONE
    return local_midnight(first_day, tz), local_midnight(last_day + dt.timedelta(days=1), tz)


class DayWindowForm(forms.Form):
    """A window of whole days, both included, in the console's timezone."""

    first_day = forms.DateField(widget=date_input())
    last_day = forms.DateField(widget=date_input(), help_text="included")

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last:
            if last < first:
                self.add_error("last_day", "the last day is on or after the first day")
            else:
                data["start"], data["end"] = local_window(first, last)
        return data


# --- usage files ----------------------------------------------------------------------------


class UsageFileUploadForm(forms.Form):
    """A host network's usage file, plain or gzip, named as the CDR format says."""

    file = forms.FileField(
        help_text="CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv, or the same name ending in .csv.gz",
        # An empty file is received and quarantined (R18), as on every other door: never lost.
        allow_empty_file=True,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if parse_file_name(name) is None:
            raise ValidationError(
                "The name %(name)s does not follow "
                "CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv[.gz]; rename the file as the host "
                "network sent it.",
                params={"name": name},
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                "The file is larger than %(limit)s MB: drop it in the inbox directory instead.",
                params={"limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
            )
        upload.clean_name = name
        return upload


# --- rejected records -----------------------------------------------------------------------


class RejectedRecordReprocessForm(forms.Form):
    """The record's line, corrected or as it was; empty means "as it was"."""

    corrected_raw = forms.CharField(
        required=False,
        strip=True,
        label="Corrected line",
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"}),
        help_text="One CSV line of 14 fields, as in the file; leave as is to reprocess unchanged.",
    )

    def clean_corrected_raw(self):
        text = self.cleaned_data["corrected_raw"]
        if "\n" in text or "\r" in text:
            raise ValidationError("One line only: a record is one line of the file.")
        return text


class RejectedRecordDiscardForm(forms.Form):
    reason = forms.CharField(
        max_length=280,
        label="Why is it discarded?",
        help_text="Test traffic, a network error, … — kept with the record.",
    )


# --- rerating -------------------------------------------------------------------------------


class RerateJobForm(DayWindowForm):
    """What to rerate (R15): one subscription, one billing account or every subscriber."""

    scope = forms.ChoiceField(choices=RerateScope.choices, initial=RerateScope.SUBSCRIPTION)
    msisdn = forms.CharField(
        required=False, label="MSISDN", help_text="for one subscription: its number"
    )
    account_number = forms.CharField(
        required=False, label="Billing account number", help_text="for one billing account"
    )
    reason = forms.CharField(
        max_length=300, help_text="which catalogue correction this rerating applies"
    )
    errors_only = forms.BooleanField(
        required=False, label="Only events waiting in the rating error queue"
    )
    field_order = ["scope", "msisdn", "account_number", "first_day", "last_day", "reason"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        data["subscription"] = data["billing_account"] = None
        if scope == RerateScope.SUBSCRIPTION:
            digits = msisdn_digits(data.get("msisdn", ""))
            if not digits:
                self.add_error("msisdn", "give the number of the subscription to rerate")
            else:
                found = list(
                    subscriptions_visible_to(self.user).filter(msisdn=digits).order_by("-id")
                )
                if not found:
                    self.add_error("msisdn", f"no subscription has the number +{digits}")
                else:
                    data["subscription"] = found[0]
        elif scope == RerateScope.ACCOUNT:
            number = data.get("account_number", "").strip()
            account = billing_accounts_visible_to(self.user).filter(number=number).first()
            if not number:
                self.add_error("account_number", "give the number of the account to rerate")
            elif account is None:
                self.add_error("account_number", f"no billing account has the number {number}")
            else:
                data["billing_account"] = account
        elif scope == RerateScope.PERIOD and brands_of(self.user) is not None:
            self.add_error(
                "scope",
                "you are limited to some brands: rerate one subscription or one account",
            )
        return data


class ErrorQueueRerateForm(DayWindowForm):
    """Rate again every event of a window waiting in the error queue (R7, R15)."""

    reason = forms.CharField(
        max_length=300,
        help_text="what was corrected (a missing rate, a zone, a wholesale card)",
    )


# --- the rating simulator -------------------------------------------------------------------


def plan_version_label(version: PlanVersion) -> str:
    since = f"{local_date(version.effective_from, settings.TIME_ZONE):%Y-%m-%d}"
    return f"{version.plan.code} v{version.version} ({version.status}, from {since})"


class SimulatorForm(forms.Form):
    """One event to rate: typed field by field, or pasted as a CDR line."""

    plan_version = forms.ModelChoiceField(
        queryset=PlanVersion.objects.none(), help_text="any version, drafts included"
    )
    host_network = forms.ModelChoiceField(
        queryset=HostNetwork.objects.order_by("code"),
        label="Source host network",
        help_text="the network that sends the record: its wholesale card prices the cost, "
        "and its own networks are HOME",
    )
    cdr_line = forms.CharField(
        required=False,
        label="Pasted CDR line",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono", "spellcheck": "false"}),
        help_text="one record line of a usage file; when given, the fields below are not used",
    )
    record_type = forms.ChoiceField(choices=RECORD_TYPES, required=False, initial="MOC")
    other_party = forms.CharField(
        required=False, help_text="digits, country code first (49301234567)"
    )
    visited_plmn = forms.CharField(
        required=False, initial="26203", label="Visited PLMN", help_text="MCC+MNC, 5 or 6 digits"
    )
    start = forms.DateTimeField(
        required=False,
        label="Start",
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S"
        ),
        input_formats=[
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ],  # fmt: skip
        help_text="local time in the timezone below",
    )
    timezone = forms.CharField(
        initial=settings.TIME_ZONE,
        help_text="the subscriber's account timezone (IANA name): it places the time band",
    )
    duration = forms.IntegerField(
        required=False, min_value=0, label="Duration (s)", help_text="calls"
    )
    volume = forms.IntegerField(
        required=False,
        min_value=0,
        label="Volume (bytes)",
        help_text="data: uplink + downlink; 1 MB = 1,000,000 B",
    )
    bill_cycle_day = forms.IntegerField(min_value=1, max_value=28, initial=1)
    tax_region = forms.ModelChoiceField(
        queryset=TaxRegion.objects.order_by("code"),
        required=False,
        help_text="for the margin of a tax-inclusive plan (R14)",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        versions = PlanVersion.objects.select_related("plan").order_by("plan__code", "version")
        brands = brands_of(user) if user is not None else None
        if brands is not None:
            versions = versions.filter(plan__brand_id__in=brands)
        self.fields["plan_version"].queryset = versions
        self.fields["plan_version"].label_from_instance = plan_version_label
        self.remaining: dict[int, int] = {}
        self.remaining_inputs: dict[int, str] = {}

    def clean_timezone(self):
        name = self.cleaned_data["timezone"].strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError(f"{name!r} is not an IANA timezone (Europe/Berlin)") from error
        return name

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if data.get("cdr_line"):
                if "\n" in data["cdr_line"]:
                    raise ValidationError({"cdr_line": "paste one record line only"})
                data["record"] = self._pasted(data["cdr_line"])
            else:
                data["record"] = self._typed(data)
        except ValidationError as error:
            self._put(error)
            return data
        self._clean_remaining(data["plan_version"])
        return data

    def _put(self, error: ValidationError) -> None:
        for field, messages in error.error_dict.items():
            self.add_error(field if field in self.fields else None, messages)

    def _pasted(self, line: str):
        try:
            return parse_line(line, line_number=1)
        except CdrError as error:
            raise ValidationError(
                {"cdr_line": f"{error.reason}: {error.detail or 'the line is refused'}"}
            ) from error

    def _typed(self, data):
        errors = {}
        record_type = data.get("record_type")
        if not record_type:
            errors["record_type"] = "choose the kind of event"
        start = data.get("start")
        if start is None:
            errors["start"] = "give the start of the event"
        if errors:
            raise ValidationError(errors)
        local = start.replace(tzinfo=None).replace(tzinfo=zoneinfo.ZoneInfo(data["timezone"]))
        offset = local.utcoffset()
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        utc_offset = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        duration = data.get("duration") or 0
        volume = data.get("volume") or 0
        if record_type in ("MOC", "MTC") and data.get("duration") is None:
            raise ValidationError({"duration": "give the call's duration in seconds"})
        if record_type == "PGW" and data.get("volume") is None:
            raise ValidationError({"volume": "give the session's volume in bytes"})
        fields = [
            SIMULATED_RECORD_ID,
            record_type,
            SIMULATED_MSISDN,
            "",
            local.strftime("%Y%m%d%H%M%S"),
            utc_offset,
            str(duration) if record_type in ("MOC", "MTC") else "",
            data.get("other_party", "").strip().lstrip("+"),
            "",
            str(volume) if record_type == "PGW" else "",
            "internet" if record_type == "PGW" else "",
            data.get("visited_plmn", "").strip(),
            "NORMAL",
            "",
        ]
        try:
            return parse_fields(fields, line_number=0, raw=",".join(fields))
        except CdrError as error:
            raise ValidationError({_field_of(error): f"{error.reason}: {error.detail}"}) from error

    def _clean_remaining(self, version: PlanVersion) -> None:
        """Read ``remaining_<allowance id>`` inputs: units left, in the allowance's base unit."""
        for allowance in version.allowances.order_by("id"):
            text = (self.data.get(f"remaining_{allowance.pk}") or "").strip().replace(",", "")
            if not text:
                continue
            self.remaining_inputs[allowance.pk] = text
            if not text.isdigit():
                self.add_error(
                    None,
                    f"{allowance.name}: what is left is a whole number of base units "
                    "(seconds, bytes, messages)",
                )
                continue
            left = int(text)
            if left > allowance.quantity_base:
                self.add_error(
                    None,
                    f"{allowance.name}: {left:,} left is more than the "
                    f"{allowance.quantity_base:,} it grants",
                )
                continue
            self.remaining[allowance.pk] = left


def _field_of(error: CdrError) -> str:
    detail = error.detail
    for prefix, field in (
        ("other_party", "other_party"),
        ("visited_plmn", "visited_plmn"),
        ("event_time", "start"),
        ("utc_offset", "start"),
        ("duration", "duration"),
        ("volume", "volume"),
    ):
        if detail.startswith(prefix):
            return field
    return "__all__"
