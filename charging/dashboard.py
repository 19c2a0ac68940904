"""Charging's panels on the console home page (core.console.dashboard): what waits for action,
what came in today, and the usage of the last 30 days. Every figure links to its records."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse

from catalog.models import Service
from charging.models import FileStatus, RatingStatus, RejectStatus
from charging.selectors import (
    rejected_records_visible_to,
    sequence_gaps_visible_to,
    usage_files_visible_to,
    usage_of_account,
)
from charging.views.base import usage_events_visible_to
from core.console.dashboard import Chart, Figure, Panel
from core.console.formats import money_text
from core.periods import billing_period_containing
from subscribers.selectors import billing_accounts_visible_to

CHART_DAYS = 30


def _url(name: str, **filters) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(filters)}" if filters else url


def charging_panels(*, user, now: dt.datetime) -> list[Panel]:
    """Return the charging panels this user may open."""
    panels = []
    zone = ZoneInfo(settings.TIME_ZONE)
    today = now.astimezone(zone).date()
    if user.has_perm("charging.view_usagefile"):
        panels.append(_waiting(user))
        panels.append(_files_today(user, today, zone))
    if user.has_perm("charging.view_usageevent"):
        panels.append(_usage_chart(user, today, zone))
    return panels


def _waiting(user) -> Panel:
    rejects = rejected_records_visible_to(user).filter(status=RejectStatus.OPEN).count()
    errors = usage_events_visible_to(user).filter(rating_status=RatingStatus.ERROR).count()
    gaps = sequence_gaps_visible_to(user).filter(resolved_at__isnull=True).count()
    held = (
        usage_files_visible_to(user)
        .filter(status__in=(FileStatus.QUARANTINED, FileStatus.FAILED))
        .count()
    )

    def tone(value):
        return "warn" if value else "ok"

    return Panel("Waiting for action", order=5, figures=[
        Figure("Rejected records to correct", rejects,
               _url("charging:rejectedrecord-list", status=RejectStatus.OPEN), tone(rejects)),
        Figure("Rating errors", errors, _url("charging:usageevent-errors"), tone(errors)),
        Figure("Missing files (sequence gaps)", gaps,
               _url("charging:sequencegap-list", state="open"), tone(gaps)),
        Figure("Files quarantined or failed", held,
               _url("charging:usagefile-list", status=FileStatus.QUARANTINED), tone(held)),
    ])  # fmt: skip


def _files_today(user, today: dt.date, zone) -> Panel:
    start = dt.datetime.combine(today, dt.time(), zone)
    files = usage_files_visible_to(user).filter(received_at__gte=start)
    totals = files.aggregate(
        received=Count("id"),
        processed=Count("id", filter=Q(status=FileStatus.PROCESSED)),
        read=Sum("records_read", default=0),
        accepted=Sum("records_accepted", default=0),
        rejected=Sum("records_rejected", default=0),
        duplicates=Sum("records_duplicate", default=0),
    )
    day = today.isoformat()
    listed = {"received_at_after": day, "received_at_before": day}
    return Panel(f"Usage files received today ({day})", order=10, figures=[
        Figure("Files received", totals["received"], _url("charging:usagefile-list", **listed)),
        Figure("Processed", totals["processed"],
               _url("charging:usagefile-list", status=FileStatus.PROCESSED, **listed)),
        Figure("Records read", totals["read"], _url("charging:usagefile-list", **listed)),
        Figure("Accepted", totals["accepted"], _url("charging:usagefile-list", **listed)),
        Figure("Rejected", totals["rejected"],
               _url("charging:rejectedrecord-list", status=RejectStatus.OPEN),
               "warn" if totals["rejected"] else ""),
        Figure("Duplicates", totals["duplicates"], _url("charging:usagefile-list", **listed)),
    ])  # fmt: skip


def _usage_chart(user, today: dt.date, zone) -> Panel:
    """Events per service and day over the last 30 days (or the 30 up to the last usage)."""
    events = usage_events_visible_to(user)
    end = today
    note = ""
    window_start = dt.datetime.combine(end - dt.timedelta(days=CHART_DAYS - 1), dt.time(), zone)
    if not events.filter(started_at__gte=window_start).exists():
        last = events.filter(started_at__lt=window_start).order_by("-started_at").first()
        if last is not None:
            end = last.started_at.astimezone(zone).date()
            note = f"No usage in the last {CHART_DAYS} days: the {CHART_DAYS} days up to the last."
    first = end - dt.timedelta(days=CHART_DAYS - 1)
    days = [first + dt.timedelta(days=n) for n in range(CHART_DAYS)]
    rows = (
        events.filter(
            started_at__gte=dt.datetime.combine(first, dt.time(), zone),
            started_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone),
        )
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day", "service")
        .annotate(events=Count("id"))
    )
    counts = {(row["day"], row["service"]): row["events"] for row in rows}
    series = []
    for service, label in Service.choices:
        values = [counts.get((day, service), 0) for day in days]
        if any(values):
            links = [
                _url("charging:usageevent-list", service=service,
                     started_at_after=day.isoformat(), started_at_before=day.isoformat())
                for day in days
            ]  # fmt: skip
            series.append({"label": label, "values": values, "links": links})
    title = f"Usage by service, {first:%d %b} – {end:%d %b %Y} ({settings.TIME_ZONE})"
    chart = Chart(title=title, labels=[f"{day:%d %b}" for day in days], series=series,
                  unit="events", note=note)  # fmt: skip
    return Panel("Usage", order=30, charts=[chart],
                 note="" if series else "No usage yet.")  # fmt: skip


def _period_label(period) -> str:
    last = period.end_date - dt.timedelta(days=1)
    return f"{period.start_date:%d %b} – {last:%d %b %Y}"


def _usage_panels(*, events, account, filters: dict, now: dt.datetime, title: str) -> list[Panel]:
    """Usage of the current billing period, and of the latest period with usage if another."""
    current = billing_period_containing(now, tz=account.timezone, cycle_day=account.bill_cycle_day)
    periods = [current]
    latest = events.order_by("-started_at").only("started_at").first()
    if latest is not None and not current.contains(latest.started_at):
        periods.append(
            billing_period_containing(
                latest.started_at, tz=account.timezone, cycle_day=account.bill_cycle_day
            )
        )
    figures = []
    for period in periods:
        totals = events.filter(started_at__gte=period.start, started_at__lt=period.end).aggregate(
            count=Count("id"),
            retail=Sum("retail_amount", default=Decimal("0")),
            errors=Count("id", filter=Q(rating_status=RatingStatus.ERROR)),
        )
        label = _period_label(period)
        listed = {
            **filters,
            "started_at_after": period.start_date.isoformat(),
            "started_at_before": (period.end_date - dt.timedelta(days=1)).isoformat(),
        }
        figures += [
            Figure(f"Events, {label}", totals["count"], _url("charging:usageevent-list", **listed)),
            Figure(f"Usage charges, {label}", money_text(totals["retail"], account.currency),
                   _url("charging:usageevent-list", **listed)),
        ]  # fmt: skip
        if totals["errors"]:
            figures.append(
                Figure(f"Rating errors, {label}", totals["errors"],
                       _url("charging:usageevent-list", rating_status=RatingStatus.ERROR, **listed),
                       "warn")
            )  # fmt: skip
    note = (
        "Usage charges are the sum of the rated events before invoicing rounds each line "
        f"(billing periods in {account.timezone})."
    )
    return [Panel(title, figures=figures, note=note, order=20)]


def subscription_usage(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The usage of a subscription, on its page."""
    if not user.has_perm("charging.view_usageevent"):
        return []
    events = usage_events_visible_to(user).filter(subscription=obj)
    return _usage_panels(events=events, account=obj.billing_account, now=now,
                         filters={"subscription": obj.pk}, title="Usage")  # fmt: skip


def billing_account_usage(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The usage of every subscription of a billing account, on its page."""
    if not user.has_perm("charging.view_usageevent"):
        return []
    events = usage_of_account(usage_events_visible_to(user), obj.pk)
    return _usage_panels(
        events=events,
        account=obj,
        now=now,
        filters={"billing_account": obj.pk},
        title="Usage of the account",
    )


CUSTOMER_ACCOUNTS_SHOWN = 5


def customer_usage(*, obj, user, now: dt.datetime) -> list[Panel]:
    """The usage of a customer's billing accounts, on the customer's page: a panel an account.

    A business customer with many accounts shows its first accounts by number; each panel's
    figures link to that account's events, and the account pages hold the rest.
    """
    if not user.has_perm("charging.view_usageevent"):
        return []
    accounts = billing_accounts_visible_to(user).filter(customer=obj).order_by("number")
    panels = []
    for account in accounts[:CUSTOMER_ACCOUNTS_SHOWN]:
        events = usage_of_account(usage_events_visible_to(user), account.pk)
        panels += _usage_panels(
            events=events,
            account=account,
            now=now,
            filters={"billing_account": account.pk},
            title=f"Usage of account {account.number}",
        )
    return panels
