"""Query filters of the charging API lists, named like the JSON fields they filter.

Related resources are named by id (``?product=3``, ``?usageFile=7``); a number may be written as
E.164 with or without '+' or '00' (``?msisdn=+4915112340001``); instants are ISO 8601 with their
UTC offset and windows are half-open: ``startDateTime`` included, ``endDateTime`` excluded (R6).
Every list sorts with ``?ordering=`` on the names given in its ``ordering`` filter.
"""

import django_filters as filters

from catalog.models import Service
from charging.api.serializers import USAGE_STATUS_VALUES
from charging.models import (
    FileOrigin,
    FileStatus,
    RatingError,
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
from charging.online.models import ChargingNotification, ChargingSession
from charging.selectors import record_keys_named, usage_of_account
from core.api.filters import InstantFilter
from subscribers.api.filters import code_filter, digits, id_filter


def instant_filter(field_name: str, lookup_expr: str, label: str) -> InstantFilter:
    return InstantFilter(field_name=field_name, lookup_expr=lookup_expr, label=label)


class UsageFileFilter(filters.FilterSet):
    name = filters.CharFilter(field_name="name", lookup_expr="icontains", label="part of the name")
    source = code_filter("source", "code of the sending network")
    status = filters.ChoiceFilter(choices=FileStatus.choices)
    origin = filters.ChoiceFilter(choices=FileOrigin.choices)
    sequence = filters.NumberFilter(field_name="sequence")
    receivedFrom = instant_filter("received_at", "gte", "received at or after (ISO 8601)")
    receivedBefore = instant_filter("received_at", "lt", "received before (ISO 8601)")
    fileTimeFrom = instant_filter("file_time", "gte", "named with a time at or after")
    fileTimeBefore = instant_filter("file_time", "lt", "named with a time before")
    ordering = filters.OrderingFilter(
        fields=(("received_at", "receivedAt"), ("name", "name"), ("sequence", "sequence"),
                ("file_time", "fileTime"), ("id", "id"))
    )  # fmt: skip

    class Meta:
        model = UsageFile
        fields: list = []


class SequenceGapFilter(filters.FilterSet):
    source = code_filter("source", "code of the sending network")
    status = filters.ChoiceFilter(
        choices=[("open", "open"), ("resolved", "resolved")],
        method="filter_status",
        label="open: still missing; resolved: the file came later",
    )
    ordering = filters.OrderingFilter(
        fields=(("detected_at", "detectedAt"), ("missing_from", "missingFrom"), ("id", "id"))
    )

    class Meta:
        model = SequenceGap
        fields: list = []

    def filter_status(self, queryset, name, value):
        return queryset.filter(resolved_at__isnull=value == "open")


class UsageFilter(filters.FilterSet):
    msisdn = filters.CharFilter(method="filter_msisdn", label="the number, E.164")
    product = id_filter("subscription_id", "id of the product (subscription)")
    billingAccount = filters.NumberFilter(
        method="filter_billing_account", label="id of the billing account"
    )
    usageType = filters.ChoiceFilter(field_name="service", choices=Service.choices)
    status = filters.ChoiceFilter(
        choices=[(value, value) for value in USAGE_STATUS_VALUES],
        method="filter_status",
        label="rated, or ratingError (waiting in the error queue)",
    )
    ratingError = filters.ChoiceFilter(field_name="rating_error", choices=RatingError.choices)
    startDateTime = instant_filter("started_at", "gte", "usage starting at or after (ISO 8601)")
    endDateTime = instant_filter("started_at", "lt", "usage starting before (ISO 8601)")
    usageFile = id_filter("usage_file_id", "id of the usage file")
    source = code_filter("source", "code of the sending network")
    recordId = filters.CharFilter(method="filter_record_id")
    ordering = filters.OrderingFilter(
        fields=(("started_at", "usageDate"), ("id", "id"), ("retail_amount", "retailAmount"))
    )

    class Meta:
        model = UsageEvent
        fields: list = []

    def filter_msisdn(self, queryset, name, value):
        return queryset.filter(msisdn=digits(value))

    def filter_status(self, queryset, name, value):
        return queryset.filter(rating_status=USAGE_STATUS_VALUES[value])

    def filter_billing_account(self, queryset, name, value):
        return usage_of_account(queryset, value)

    def filter_record_id(self, queryset, name, value):
        """Through the R17 keys: the usage store has no index on the record id."""
        return queryset.filter(pk__in=record_keys_named(value))


class RatingErrorFilter(filters.FilterSet):
    code = filters.ChoiceFilter(field_name="rating_error", choices=RatingError.choices)
    usageType = filters.ChoiceFilter(field_name="service", choices=Service.choices)
    msisdn = filters.CharFilter(method="filter_msisdn", label="the number, E.164")
    startDateTime = instant_filter("started_at", "gte", "usage starting at or after (ISO 8601)")
    endDateTime = instant_filter("started_at", "lt", "usage starting before (ISO 8601)")
    usageFile = id_filter("usage_file_id", "id of the usage file")
    source = code_filter("source", "code of the sending network")
    ordering = filters.OrderingFilter(fields=(("started_at", "usageDate"), ("id", "id")))

    class Meta:
        model = UsageEvent
        fields: list = []

    def filter_msisdn(self, queryset, name, value):
        return queryset.filter(msisdn=digits(value))


class RejectedRecordFilter(filters.FilterSet):
    reason = filters.ChoiceFilter(choices=RejectReason.choices)
    status = filters.ChoiceFilter(choices=RejectStatus.choices)
    usageFile = id_filter("usage_file_id", "id of the usage file")
    source = code_filter("usage_file__source", "code of the sending network")
    recordId = filters.CharFilter(field_name="record_id")
    receivedFrom = instant_filter(
        "usage_file__received_at", "gte", "its file received at or after (ISO 8601)"
    )
    receivedBefore = instant_filter(
        "usage_file__received_at", "lt", "its file received before (ISO 8601)"
    )
    ordering = filters.OrderingFilter(
        fields=(("usage_file__received_at", "receivedAt"), ("line_number", "lineNumber"),
                ("id", "id"))
    )  # fmt: skip

    class Meta:
        model = RejectedRecord
        fields: list = []


class RerateJobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RerateStatus.choices)
    scope = filters.ChoiceFilter(choices=RerateScope.choices)
    product = id_filter("subscription_id", "id of the product (subscription)")
    billingAccount = id_filter("billing_account_id", "id of the billing account")
    errorsOnly = filters.BooleanFilter(field_name="errors_only")
    ordering = filters.OrderingFilter(fields=(("created_at", "createdAt"), ("id", "id")))

    class Meta:
        model = RerateJob
        fields: list = []


class ChargingSessionFilter(filters.FilterSet):
    status = filters.CharFilter(help_text="active, terminated, expired, released, refused")
    service = filters.CharFilter()
    msisdn = filters.CharFilter()
    product = filters.NumberFilter(field_name="subscription_id", label="subscription id")
    ordering = filters.OrderingFilter(
        fields=(("started_at", "startedAt"), ("expires_at", "expiresAt"), ("id", "id"))
    )

    class Meta:
        model = ChargingSession
        fields = ["status", "service", "msisdn", "product"]


class ChargingNotificationFilter(filters.FilterSet):
    kind = filters.CharFilter(help_text="allowance_80, allowance_100, fair_use_cap, low_balance")
    product = filters.NumberFilter(field_name="subscription_id", label="subscription id")

    class Meta:
        model = ChargingNotification
        fields = ["kind", "product"]
