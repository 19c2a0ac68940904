"""What online charging shows on a subscription's page: its live sessions and holds."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Sum
from django.urls import reverse

from charging.online.models import SessionStatus
from charging.online.selectors import charging_sessions_visible_to
from core.console.dashboard import Figure, Panel


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
                    f"{(totals['money'] or Decimal('0')):f}",
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
        )
    ]
