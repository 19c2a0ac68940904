"""What charging tells a subscription's ledger and page: the causes of movements it wrote
(usage events, session holds) and the reservations a subscription holds now (R20-R22)."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from charging.models import UsageEvent
from charging.online.models import Reservation, ReservationStatus
from charging.online.selectors import charging_sessions_visible_to
from core.console.dashboard import Figure, Panel
from core.console.formats import readable_quantity

RESERVATIONS_SHOWN = 10


def _ids(values) -> list[int]:
    return [int(value) for value in values if value.isdigit()]


def usage_event_links(ids) -> dict[str, tuple[str, str]]:
    """Name and link the usage events behind ``usage:<id>`` movements."""
    rows = UsageEvent.objects.filter(pk__in=_ids(ids)).values_list(
        "pk", "service", "started_at", "source", "record_id"
    )
    return {
        str(pk): (
            f"{service} event {source}/{record_id} at {started:%Y-%m-%d %H:%M}",
            reverse("charging:usageevent-detail", args=[pk]),
        )
        for pk, service, started, source, record_id in rows
    }


def reservation_links(ids) -> dict[str, tuple[str, str]]:
    """Name and link the session holds behind ``online:<reservation id>`` movements."""
    rows = Reservation.objects.filter(pk__in=_ids(ids)).values_list(
        "pk", "request_number", "session_id", "session__service", "session__reference"
    )
    return {
        str(pk): (
            f"{service} session {reference[:8]}, request {number}",
            reverse("charging:chargingsession-detail", args=[session_id]),
        )
        for pk, number, session_id, service, reference in rows
    }


def subscription_reservations(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The reservations a subscription's sessions hold now, each linked to its session."""
    if not user.has_perm("charging.view_chargingsession"):
        return []
    sessions = charging_sessions_visible_to(user).filter(subscription=obj)
    held = (
        Reservation.objects.filter(session__in=sessions, status=ReservationStatus.HELD)
        .select_related("session")
        .order_by("valid_until", "pk")[:RESERVATIONS_SHOWN]
    )
    figures = []
    for r in held:
        service = r.session.service
        unit = "B" if service == "DATA" else "s" if service.startswith("VOICE") else ""
        late = r.valid_until <= now
        figures.append(
            Figure(
                f"{service} {r.session.reference[:8]} #{r.request_number}: "
                f"{r.amount:f} {r.currency or ''} held until "
                f"{timezone.localtime(r.valid_until):%H:%M:%S}"
                + (" (past its validity, R22)" if late else ""),
                readable_quantity(r.units, unit),
                reverse("charging:chargingsession-detail", args=[r.session_id]),
                tone="warn" if late else "",
            )
        )
    if not figures:
        return []
    return [
        Panel(
            "Reservations held",
            order=39,
            figures=figures,
            note="Money and units held by live sessions, released on commit, on expiry (R22) "
            "or by a force-release on the session's page.",
        )
    ]
