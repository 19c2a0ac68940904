"""Filters of the settlement console."""

import django_filters

from catalog.models import Service
from charging.models import UsageEvent
from core.console.filters import ConsoleFilter
from settlement.models import (
    Agreement,
    AgreementKind,
    DisputeItem,
    DisputeStatus,
    Partner,
    PartnerKind,
    Reconciliation,
    RunStatus,
    SettlementRun,
    Statement,
    StatementStatus,
)


class PartnerFilter(ConsoleFilter):
    code = django_filters.CharFilter(lookup_expr="icontains", label="Code contains")
    kind = django_filters.ChoiceFilter(choices=PartnerKind.choices)

    class Meta:
        model = Partner
        fields = ["code", "kind"]


class AgreementFilter(ConsoleFilter):
    kind = django_filters.ChoiceFilter(choices=AgreementKind.choices)
    partner = django_filters.CharFilter(field_name="partner__code", lookup_expr="iexact")

    class Meta:
        model = Agreement
        fields = ["kind", "partner"]


class RunFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    period_year = django_filters.NumberFilter(label="Year")
    period_month = django_filters.NumberFilter(label="Month")
    partner = django_filters.CharFilter(field_name="partner__code", lookup_expr="iexact")

    class Meta:
        model = SettlementRun
        fields = ["status", "period_year", "period_month", "partner"]


class StatementFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=StatementStatus.choices)
    partner = django_filters.CharFilter(field_name="partner__code", lookup_expr="iexact")
    year = django_filters.NumberFilter(field_name="run__period_year", label="Year")
    month = django_filters.NumberFilter(field_name="run__period_month", label="Month")

    class Meta:
        model = Statement
        fields = ["status", "partner", "year", "month"]


class ReconciliationFilter(ConsoleFilter):
    partner = django_filters.CharFilter(field_name="partner__code", lookup_expr="iexact")
    period_year = django_filters.NumberFilter(label="Year")
    period_month = django_filters.NumberFilter(label="Month")

    class Meta:
        model = Reconciliation
        fields = ["partner", "period_year", "period_month"]


class EventFilter(ConsoleFilter):
    service = django_filters.ChoiceFilter(choices=Service.choices)
    roaming_zone = django_filters.CharFilter(lookup_expr="iexact", label="Roaming zone")

    class Meta:
        model = UsageEvent
        fields = ["service", "roaming_zone"]


class DisputeFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=DisputeStatus.choices)
    partner = django_filters.CharFilter(field_name="partner__code", lookup_expr="iexact")
    service = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = DisputeItem
        fields = ["status", "partner", "service"]
