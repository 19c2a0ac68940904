"""Filters of the payments console."""

import django_filters

from core.console.filters import ConsoleFilter
from invoicing.models import Invoice
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    LineStatus,
    Payment,
    PaymentMethod,
    SepaMandate,
    StatementFormat,
)


class PaymentFilter(ConsoleFilter):
    account = django_filters.CharFilter(
        field_name="billing_account__number", lookup_expr="iexact", label="Account number"
    )
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    reference = django_filters.CharFilter(lookup_expr="icontains", label="Reference contains")
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_until = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    unallocated = django_filters.BooleanFilter(method="with_credit", label="Holds credit")

    class Meta:
        model = Payment
        fields = ["account", "method", "reference", "received_from", "received_until",
                  "currency", "unallocated"]  # fmt: skip

    def with_credit(self, queryset, name, value):
        return queryset.filter(remaining__gt=0) if value else queryset.filter(remaining__lte=0)


class StatementLineFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=LineStatus.choices)
    remittance = django_filters.CharFilter(lookup_expr="icontains", label="Reference contains")

    class Meta:
        model = BankStatementLine
        fields = ["status", "remittance"]


class MandateFilter(ConsoleFilter):
    account = django_filters.CharFilter(
        field_name="billing_account__number", lookup_expr="iexact", label="Account number"
    )
    reference = django_filters.CharFilter(lookup_expr="icontains")
    active = django_filters.BooleanFilter(field_name="revoked_on", lookup_expr="isnull")

    class Meta:
        model = SepaMandate
        fields = ["account", "reference", "active"]


class StatementFilter(ConsoleFilter):
    format = django_filters.ChoiceFilter(choices=StatementFormat.choices)
    file_name = django_filters.CharFilter(lookup_expr="icontains", label="File name contains")

    class Meta:
        model = BankStatement
        fields = ["format", "file_name"]


class ReceivableFilter(ConsoleFilter):
    """The drill-down's own narrowing; bucket, currency and account come from the report."""

    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in ("issued", "partially_paid", "overdue")]
    )

    class Meta:
        model = Invoice
        fields = ["status"]
