"""Reads of online charging, scoped by brand like every console and API read."""

from django.db.models import DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from charging.online.models import (
    ChargingNotification,
    ChargingSession,
    Reservation,
    ReservationStatus,
)
from subscribers.selectors import (
    billing_accounts_visible_to,
    brands_of,
    subscriptions_visible_to,
)


def charging_sessions_visible_to(user) -> QuerySet[ChargingSession]:
    """Sessions of the subscriptions of the user's brands, with what each holds now (R21).

    A session refused before its subscriber was known has no brand: only users of every brand
    see it.
    """
    held = Reservation.objects.filter(session=OuterRef("pk"), status=ReservationStatus.HELD)
    sessions = ChargingSession.objects.select_related(
        "subscription", "billing_account", "host_network"
    ).annotate(
        reserved_amount=Coalesce(
            Subquery(held.values("amount")[:1]),
            Value(0),
            output_field=DecimalField(max_digits=20, decimal_places=6),
        ),
        reserved_units=Coalesce(
            Subquery(held.values("units")[:1]), Value(0), output_field=IntegerField()
        ),
    )
    if brands_of(user) is None:
        return sessions
    return sessions.filter(subscription_id__in=subscriptions_visible_to(user).values("pk"))


def reservations_visible_to(user) -> QuerySet[Reservation]:
    """Reservations of the sessions the user may see."""
    return Reservation.objects.filter(
        session__in=charging_sessions_visible_to(user).values("pk")
    ).select_related("session")


def charging_notifications_visible_to(user) -> QuerySet[ChargingNotification]:
    """Notifications of the billing accounts of the user's brands."""
    told = ChargingNotification.objects.select_related("subscription", "billing_account")
    if brands_of(user) is None:
        return told
    return told.filter(billing_account_id__in=billing_accounts_visible_to(user).values("pk"))
