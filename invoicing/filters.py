"""Filters of the invoicing console."""

import django_filters

from core.console.filters import ConsoleFilter
from invoicing.models import (
    ArchiveStatus,
    BillCycle,
    BillRun,
    BillRunStatus,
    DunningAction,
    DunningCase,
    DunningCaseStatus,
    DunningHold,
    DunningPolicy,
    Invoice,
    InvoiceArchive,
    InvoiceKind,
    InvoiceStatus,
)
from subscribers.filters import visible_brands


class BillCycleFilter(ConsoleFilter):
    # Only the brands the user may see: another brand's code never shows in the choices.
    brand = django_filters.ModelChoiceFilter(queryset=visible_brands)

    class Meta:
        model = BillCycle
        fields = ["brand"]


class BillRunFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=BillRunStatus.choices)
    period_year = django_filters.NumberFilter(label="Year")
    period_month = django_filters.NumberFilter(label="Month")

    class Meta:
        model = BillRun
        fields = ["status", "period_year", "period_month"]


class InvoiceFilter(ConsoleFilter):
    number = django_filters.CharFilter(lookup_expr="icontains", label="Number contains")
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices)
    account = django_filters.CharFilter(
        field_name="billing_account__number", lookup_expr="iexact", label="Account number"
    )
    customer = django_filters.CharFilter(
        field_name="customer_name", lookup_expr="icontains", label="Customer contains"
    )
    customer_number = django_filters.CharFilter(
        field_name="billing_account__customer__number",
        lookup_expr="iexact",
        label="Customer number",
    )
    period = django_filters.DateFilter(field_name="period_start_date", label="Period starts on")
    issued_from = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    issued_until = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    bill_run = django_filters.NumberFilter(field_name="bill_run_id", label="Bill run")

    class Meta:
        model = Invoice
        fields = ["number", "status", "kind", "account", "customer", "customer_number", "period",
                  "issued_from", "issued_until", "currency", "bill_run"]  # fmt: skip


class DunningCaseFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=DunningCaseStatus.choices)
    invoice = django_filters.CharFilter(
        field_name="invoice__number", lookup_expr="icontains", label="Invoice number contains"
    )
    account = django_filters.CharFilter(
        field_name="billing_account__number", lookup_expr="iexact", label="Account number"
    )
    current_step = django_filters.ChoiceFilter(
        field_name="last_step__action", choices=DunningAction.choices, label="Current step"
    )
    next_step = django_filters.ChoiceFilter(
        field_name="next_step__action", choices=DunningAction.choices, label="Next step"
    )
    next_step_until = django_filters.DateFilter(
        field_name="next_step_date", lookup_expr="lte", label="Next step on or before"
    )
    policy = django_filters.CharFilter(field_name="policy__code", lookup_expr="iexact")
    paused = django_filters.BooleanFilter(method="by_paused", label="Account paused")
    brand = django_filters.ModelChoiceFilter(queryset=visible_brands)

    class Meta:
        model = DunningCase
        fields = ["status", "invoice", "account", "current_step", "next_step", "next_step_until",
                  "policy", "paused", "brand"]  # fmt: skip

    def by_paused(self, queryset, name, value):
        held = DunningHold.objects.filter(resumed_at__isnull=True).values("billing_account_id")
        if value:
            return queryset.filter(billing_account_id__in=held)
        return queryset.exclude(billing_account_id__in=held)


class DunningPolicyFilter(ConsoleFilter):
    brand = django_filters.ModelChoiceFilter(queryset=visible_brands)

    class Meta:
        model = DunningPolicy
        fields = ["brand"]


class DunningHoldFilter(ConsoleFilter):
    account = django_filters.CharFilter(
        field_name="billing_account__number", lookup_expr="iexact", label="Account number"
    )
    open = django_filters.BooleanFilter(
        field_name="resumed_at", lookup_expr="isnull", label="Still paused"
    )

    class Meta:
        model = DunningHold
        fields = ["account", "open"]


class InvoiceArchiveFilter(ConsoleFilter):
    brand = django_filters.ModelChoiceFilter(queryset=visible_brands)
    status = django_filters.ChoiceFilter(choices=ArchiveStatus.choices)
    period_year = django_filters.NumberFilter(label="Year")
    period_month = django_filters.NumberFilter(label="Month")

    class Meta:
        model = InvoiceArchive
        fields = ["brand", "status", "period_year", "period_month"]
