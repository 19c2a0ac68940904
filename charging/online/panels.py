"""What online charging shows on a subscription's page: its live sessions and holds."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from charging.online.models import ChargingNotification, SessionStatus
from charging.online.selectors import charging_sessions_visible_to
from core.console.dashboard import Figure, Panel
from core.console.formats import rated_text


def subscription_sessions(*, obj, user, now: dt.datetime) -> list[Panel]:
    """A subscription's online charging: live sessions, what they hold, every session."""
    if not user.has_perm("charging.view_chargingsession"):
        return []
    sessions = charging_sessions_visible_to(user).filter(subscription=obj)
    live = sessions.filter(status=SessionStatus.ACTIVE)
    totals = live.aggregate(count=Count("id"), money=Sum("reserved_amount"))
    base = reverse("charging:chargingsession-list")
    live_url = f"{base}?{urlencode({'subscription': obj.pk, 'status': 'active'})}"
    return [
        Panel(
            "Online charging",
            order=40,
            figures=[
                Figure("Live sessions", totals["count"], live_url),
                Figure(
                    "Money held by reservations",
                    rated_text(totals["money"] or Decimal("0"), obj.billing_account.currency),
                    live_url,
                ),
                Figure(
                    "All sessions",
                    sessions.count(),
                    f"{base}?{urlencode({'subscription': obj.pk})}",
                ),  # fmt: skip
            ],
            note="Reservations hold money and allowance units until committed or released "
            "(R20-R22).",
        ),
        *_notifications_panel(obj, base),
    ]


def _notifications_panel(subscription, base: str) -> list[Panel]:
    """The thresholds told for a subscription (allowances, fair use, balance), newest first."""
    told = ChargingNotification.objects.filter(subscription=subscription)[:10]
    if not told:
        return []
    url = f"{base}?{urlencode({'subscription': subscription.pk})}"
    return [
        Panel(
            "Charging notifications",
            order=41,
            figures=[
                Figure(n.detail, timezone.localtime(n.created_at).strftime("%Y-%m-%d %H:%M"), url)
                for n in told
            ],
            note="Each is told once per period, as a signed webhook (docs/webhooks.md).",
        )
    ]
