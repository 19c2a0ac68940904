"""What the console's search box finds in charging: usage files by name, records by id."""

from django.urls import reverse

from charging.selectors import (
    record_keys_named,
    rejected_records_visible_to,
    usage_files_visible_to,
)
from charging.views.base import usage_events_visible_to
from core.console.formats import local_text
from core.console.search import SearchHit


def search_charging(*, user, query: str) -> list[SearchHit]:
    """Find usage files by name and usage records or rejects by record id."""
    if " " in query:
        return []
    hits: list[SearchHit] = []
    if user.has_perm("charging.view_usagefile"):
        files = usage_files_visible_to(user).filter(name__icontains=query)
        for usage_file in files.order_by("-id")[:20]:
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
        events = usage_events_visible_to(user).filter(pk__in=record_keys_named(query))
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
    if user.has_perm("charging.view_rejectedrecord"):
        rejects = rejected_records_visible_to(user).filter(record_id=query)
        rejects = rejects.select_related("usage_file")
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
