"""Filters of the charging lists; the same filters drive each list's CSV export."""

import django_filters

from catalog.models import HostNetwork, Service, Zone, ZoneType
from charging.forms import msisdn_digits
from charging.models import (
    FileOrigin,
    FileStatus,
    RatingError,
    RatingStatus,
    RejectedRecord,
    RejectReason,
    RejectStatus,
    RerateJob,
    RerateScope,
    RerateStatus,
    SequenceGap,
    UsageEvent,
    UsageFile,
)
from charging.selectors import record_keys_named, usage_of_account
from core.console.filters import ConsoleFilter


def date_range(label: str) -> dict:
    """A from/to pair of day inputs; the last day is included (console timezone)."""
    return {
        "label": label,
        "widget": django_filters.widgets.DateRangeWidget(attrs={"type": "date"}),
    }


def source_choices():
    codes = HostNetwork.objects.order_by("code").values_list("code", flat=True)
    return [(code, code) for code in codes]


def zone_choices(zone_type: str):
    """Zone codes of every zone table, once each (events store the code)."""
    codes = (
        Zone.objects.filter(zone_type=zone_type)
        .order_by("code")
        .values_list("code", flat=True)
        .distinct()
    )
    return [(code, code) for code in codes]


class UsageFileFilter(ConsoleFilter):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    status = django_filters.ChoiceFilter(choices=FileStatus.choices)
    source = django_filters.ChoiceFilter(choices=source_choices)
    origin = django_filters.ChoiceFilter(choices=FileOrigin.choices)
    received_at = django_filters.DateFromToRangeFilter(**date_range("Received between"))

    class Meta:
        model = UsageFile
        fields = ["name", "status", "source", "origin", "received_at"]


class RejectedRecordFilter(ConsoleFilter):
    reason = django_filters.ChoiceFilter(choices=RejectReason.choices)
    status = django_filters.ChoiceFilter(choices=RejectStatus.choices)
    source = django_filters.ChoiceFilter(field_name="usage_file__source", choices=source_choices)
    file_name = django_filters.CharFilter(
        field_name="usage_file__name", lookup_expr="icontains", label="File name contains"
    )
    usage_file = django_filters.NumberFilter(field_name="usage_file_id", label="File number")
    record_id = django_filters.CharFilter(label="Record id")

    class Meta:
        model = RejectedRecord
        fields = ["reason", "status", "source", "file_name", "usage_file", "record_id"]


class UsageEventFilter(ConsoleFilter):
    msisdn = django_filters.CharFilter(method="filter_msisdn", label="MSISDN")
    service = django_filters.ChoiceFilter(choices=Service.choices)
    destination_zone = django_filters.ChoiceFilter(
        choices=lambda: zone_choices(ZoneType.DESTINATION), label="Destination zone"
    )
    roaming_zone = django_filters.ChoiceFilter(
        choices=lambda: zone_choices(ZoneType.ROAMING), label="Roaming zone"
    )
    rating_status = django_filters.ChoiceFilter(choices=RatingStatus.choices, label="Rating")
    started_at = django_filters.DateFromToRangeFilter(**date_range("Started between"))
    source = django_filters.ChoiceFilter(choices=source_choices)
    usage_file = django_filters.NumberFilter(field_name="usage_file_id", label="File number")
    subscription = django_filters.NumberFilter(
        field_name="subscription_id", label="Subscription number"
    )
    billing_account = django_filters.NumberFilter(
        method="filter_billing_account", label="Billing account number"
    )
    record_id = django_filters.CharFilter(method="filter_record_id", label="Record id")
    # The events a plan's figure sums (the assurance's plan margins link here with a period).
    plan = django_filters.NumberFilter(field_name="plan_version__plan_id", label="Plan number")

    class Meta:
        model = UsageEvent
        fields = [
            "msisdn",
            "service",
            "destination_zone",
            "roaming_zone",
            "rating_status",
            "started_at",
            "source",
            "usage_file",
            "subscription",
            "billing_account",
            "record_id",
            "plan",
        ]

    def filter_msisdn(self, queryset, name, value):
        digits = msisdn_digits(value)
        return queryset.filter(msisdn=digits) if digits else queryset.none()

    def filter_record_id(self, queryset, name, value):
        """Through the R17 keys: the usage store has no index on the record id."""
        return queryset.filter(pk__in=record_keys_named(value))

    def filter_billing_account(self, queryset, name, value):
        """Through the account's subscriptions: the usage store has no (account, time) index."""
        return usage_of_account(queryset, int(value))


class ErrorQueueFilter(ConsoleFilter):
    rating_error = django_filters.ChoiceFilter(choices=RatingError.choices, label="Error code")
    started_at = django_filters.DateFromToRangeFilter(**date_range("Started between"))
    source = django_filters.ChoiceFilter(choices=source_choices)
    msisdn = django_filters.CharFilter(method="filter_msisdn", label="MSISDN")
    usage_file = django_filters.NumberFilter(field_name="usage_file_id", label="File number")

    class Meta:
        model = UsageEvent
        fields = ["rating_error", "started_at", "source", "msisdn", "usage_file"]

    def filter_msisdn(self, queryset, name, value):
        digits = msisdn_digits(value)
        return queryset.filter(msisdn=digits) if digits else queryset.none()


class RerateJobFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=RerateStatus.choices)
    scope = django_filters.ChoiceFilter(choices=RerateScope.choices)
    reason = django_filters.CharFilter(lookup_expr="icontains", label="Reason contains")

    class Meta:
        model = RerateJob
        fields = ["status", "scope", "reason"]


class SequenceGapFilter(ConsoleFilter):
    state = django_filters.ChoiceFilter(
        choices=[("open", "still missing"), ("resolved", "arrived later")],
        method="filter_state",
        label="State",
    )
    source = django_filters.ChoiceFilter(choices=source_choices)

    class Meta:
        model = SequenceGap
        fields = ["state", "source"]

    def filter_state(self, queryset, name, value):
        return queryset.filter(resolved_at__isnull=value == "open")
