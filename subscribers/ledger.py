"""A subscription's ledger as an operator reads it: every balance and bucket movement with what
caused it (a usage event, a top-up, a renewal, a session's hold, an invoice), linked.

A movement names its cause in ``reference`` as ``<kind>:<id>`` (``usage:42``, ``online:7``,
``renewal:3``, ``invoice:9``). Subscribers resolve their own kinds; later apps name theirs in
``AppConfig.ledger_references`` (``{"usage": "charging.links.usage_event_link"}``: a function
``(ids) -> {id: (label, url)}``), so that this app never imports them.
"""

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Q
from django.urls import reverse
from django.utils.module_loading import import_string

from core.periods import local_date
from subscribers.models import (
    BalanceMovement,
    Bucket,
    BucketMovement,
    MovementKind,
    PlanRenewal,
    Subscription,
    TopUp,
)

LEDGER_ROWS = 200


@dataclass
class LedgerRow:
    """One movement with its cause."""

    movement: object
    cause: str
    url: str | None
    bucket: Bucket | None = None
    quantity_text: str = ""


def _resolvers() -> dict:
    found = {"renewal": renewal_links}
    for config in apps.get_app_configs():
        for prefix, dotted in getattr(config, "ledger_references", {}).items():
            found[prefix] = import_string(dotted)
    return found


def renewal_links(ids) -> dict[str, tuple[str, str]]:
    """Name and link the renewals of some ids (the subscription page's renewals)."""
    links = {}
    renewals = PlanRenewal.objects.filter(pk__in=[i for i in ids if i.isdigit()]).select_related(
        "billing_account"
    )
    for renewal in renewals:
        url = reverse("subscribers:subscription-detail", args=[renewal.subscription_id])
        first = local_date(renewal.period_start, renewal.billing_account.timezone)
        links[str(renewal.pk)] = (f"renewal of the period from {first:%Y-%m-%d}", f"{url}#renewals")
    return links


def _top_up_links(movement_ids) -> dict[int, tuple[str, str]]:
    links = {}
    for top_up in TopUp.objects.filter(movement_id__in=movement_ids):
        url = reverse("subscribers:topup-list") + "?" + urlencode({"q": top_up.reference})
        links[top_up.movement_id] = (f"top-up {top_up.reference}", url)
    return links


def _reference(movement) -> str:
    """The cause a movement names: a bucket draw names its usage event by id, others by text."""
    event_id = getattr(movement, "usage_event_id", None)
    return f"usage:{event_id}" if event_id else movement.reference


def ledger_rows(movements) -> list[LedgerRow]:
    """Attach its cause, linked where the causing app can show it, to each movement."""
    by_prefix: dict[str, set] = defaultdict(set)
    for movement in movements:
        prefix, _, ident = _reference(movement).partition(":")
        if ident:
            by_prefix[prefix].add(ident)
    resolved: dict[tuple[str, str], tuple[str, str]] = {}
    resolvers = _resolvers()
    for prefix, ids in by_prefix.items():
        resolver = resolvers.get(prefix)
        if resolver is None:
            continue
        for ident, link in resolver(sorted(ids)).items():
            resolved[(prefix, ident)] = link
    top_ups = _top_up_links(
        [m.pk for m in movements if getattr(m, "kind", "") == MovementKind.TOPUP]
    )
    rows = []
    for movement in movements:
        prefix, _, ident = _reference(movement).partition(":")
        if isinstance(movement, BalanceMovement) and movement.pk in top_ups:
            label, url = top_ups[movement.pk]
        elif (prefix, ident) in resolved:
            label, url = resolved[(prefix, ident)]
        elif movement.kind == "adjustment" and not movement.reference:
            label, url = "manual adjustment", None
        else:
            label, url = _reference(movement) or "—", None
        rows.append(
            LedgerRow(
                movement=movement,
                cause=label,
                url=url,
                bucket=getattr(movement, "bucket", None),
            )
        )
    return rows


def subscription_ledger(subscription: Subscription, *, limit: int = LEDGER_ROWS) -> dict:
    """The latest balance movements of a subscription's account and bucket movements of its
    buckets (its own and its account's shared pools), newest first, with their causes."""
    balance = list(
        BalanceMovement.objects.filter(billing_account_id=subscription.billing_account_id)
        .select_related("created_by")
        .order_by("-id")[:limit]
    )
    buckets = list(
        BucketMovement.objects.filter(
            Q(bucket__subscription=subscription)
            | Q(bucket__shared=True, bucket__billing_account_id=subscription.billing_account_id)
        )
        .select_related("bucket", "created_by")
        .order_by("-id")[:limit]
    )
    return {
        "balance_rows": ledger_rows(balance),
        "bucket_rows": ledger_rows(buckets),
        "limit": limit,
    }
