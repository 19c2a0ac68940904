"""What the console's search box finds in charging: usage files by name, records by id."""

from django.urls import reverse

from charging.models import RejectedRecord, UsageFile
from charging.views.base import usage_events_visible_to
from core.console.formats import local_text
from core.console.search import SearchHit
from subscribers.selectors import brands_of


def search_charging(*, user, query: str) -> list[SearchHit]:
    """Find usage files by name and usage records or rejects by record id."""
    if " " in query:
        return []
    hits: list[SearchHit] = []
    every_brand = brands_of(user) is None
    if user.has_perm("charging.view_usagefile") and every_brand:
        for usage_file in UsageFile.objects.filter(name__icontains=query).order_by("-id")[:20]:
            hits.append(
                SearchHit(
                    "Usage file",
                    usage_file.name,
                    usage_file.get_absolute_url(),
                    f"{usage_file.get_status_display()} · received "
                    f"{local_text(usage_file.received_at)}",
                )
            )
    if user.has_perm("charging.view_usageevent"):
        events = usage_events_visible_to(user).filter(record_id=query)
        for event in events.order_by("-started_at")[:20]:
            hits.append(
                SearchHit(
                    "Usage record",
                    f"{event.source} {event.record_id}",
                    event.get_absolute_url(),
                    f"+{event.msisdn} · {event.get_service_display()} · "
                    f"{event.get_rating_status_display()}",
                )
            )
    if user.has_perm("charging.view_rejectedrecord") and every_brand:
        rejects = RejectedRecord.objects.filter(record_id=query).select_related("usage_file")
        for reject in rejects.order_by("-id")[:20]:
            hits.append(
                SearchHit(
                    "Rejected record",
                    f"{reject.usage_file.source} {reject.record_id}",
                    reverse("charging:rejectedrecord-detail", args=[reject.pk]),
                    f"{reject.get_reason_display()} · {reject.usage_file.name} "
                    f"line {reject.line_number}",
                )
            )
    return hits
