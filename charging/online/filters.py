"""The filters of the live sessions list."""

import django_filters

from catalog.models import Service
from charging.online.models import ChargingSession, SessionStatus
from core.console.filters import ConsoleFilter


class ChargingSessionFilter(ConsoleFilter):
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    service = django_filters.ChoiceFilter(choices=Service.choices)
    msisdn = django_filters.CharFilter(label="MSISDN")
    subscription = django_filters.NumberFilter(field_name="subscription_id")

    class Meta:
        model = ChargingSession
        fields = ["status", "service", "msisdn", "subscription"]
