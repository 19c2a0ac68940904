"""Filters of the assurance console."""

import django_filters

from assurance.models import Finding, FindingKind, FindingState
from core.console.filters import ConsoleFilter


class FindingFilter(ConsoleFilter):
    kind = django_filters.ChoiceFilter(choices=FindingKind.choices, label="Check")
    state = django_filters.ChoiceFilter(choices=FindingState.choices)
    period_start_date = django_filters.DateFilter(label="Period (first day)")

    class Meta:
        model = Finding
        fields = ["kind", "state", "period_start_date"]
