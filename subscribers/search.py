"""What the console's search box finds among subscribers (core.console.search).

Numbers are matched the way operators type them: an MSISDN in E.164 with or without ``+`` or
``00``, in the national format of PHONE_REGION (``0151 1234 0001``), with spaces or dashes; an
IMSI (15 digits), an ICCID (18 to 22 digits); customer and account numbers; names.
"""

from urllib.parse import urlencode

import phonenumbers
from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from core.console.search import SearchHit, digits_of
from subscribers.models import Sim
from subscribers.selectors import (
    billing_accounts_visible_to,
    brands_of,
    customers_visible_to,
    subscriptions_visible_to,
)

MIN_PARTIAL_DIGITS = 6  # fewer digits than this match too many numbers to be a search


def msisdn_candidates(query: str) -> list[str]:
    """Return the E.164 digits (no ``+``) a typed number can stand for."""
    digits = digits_of(query)
    if not digits:
        return []
    candidates = []
    if digits.startswith("00"):
        candidates.append(digits[2:])
    elif digits.startswith("0"):
        try:
            parsed = phonenumbers.parse(query, settings.PHONE_REGION)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None:
            candidates.append(f"{parsed.country_code}{parsed.national_number}")
    else:
        candidates.append(digits)
    return candidates


def search_subscribers(*, user, query: str) -> list[SearchHit]:
    """Find subscriptions, SIMs, customers and accounts matching a typed text."""
    hits: list[SearchHit] = []
    if user.has_perm("subscribers.view_subscription"):
        hits += _subscriptions(user, query)
    if user.has_perm("subscribers.view_sim"):
        hits += _sims(user, query)
    if user.has_perm("subscribers.view_customer"):
        hits += _customers(user, query)
    if user.has_perm("subscribers.view_billingaccount"):
        hits += _accounts(user, query)
    return hits


def _subscription_hit(subscription, why: str = "") -> SearchHit:
    customer = subscription.billing_account.customer
    return SearchHit(
        kind="Subscription",
        label=f"+{subscription.msisdn}",
        url=subscription.get_absolute_url(),
        detail=" · ".join(
            part
            for part in (
                customer.display_name,
                subscription.plan.code,
                subscription.get_status_display(),
                why,
            )
            if part
        ),  # fmt: skip
    )


def _subscriptions(user, query: str) -> list[SearchHit]:
    candidates = msisdn_candidates(query)
    if not candidates:
        return _subscriptions_by_user(user, query)
    visible = subscriptions_visible_to(user)
    exact = list(visible.filter(msisdn__in=candidates).order_by("-id")[:20])
    if exact:
        return [_subscription_hit(s) for s in exact]
    digits = digits_of(query).lstrip("0")
    if len(digits) < MIN_PARTIAL_DIGITS:
        return []
    partial = visible.filter(msisdn__contains=digits).order_by("msisdn")[:20]
    return [_subscription_hit(s, "number contains the digits") for s in partial]


def _subscriptions_by_user(user, query: str) -> list[SearchHit]:
    """Subscriptions whose line is used by a person of that name (not the account holder)."""
    words = [word for word in query.split() if len(word) > 1]
    if not words:
        return []
    condition = Q()
    for word in words:
        condition &= Q(user_name__icontains=word)
    found = subscriptions_visible_to(user).filter(condition).order_by("user_name", "msisdn")[:20]
    return [_subscription_hit(s, f"used by {s.user_name}") for s in found]


def _sims(user, query: str) -> list[SearchHit]:
    digits = digits_of(query)
    if not digits or not (len(digits) == 15 or 18 <= len(digits) <= 22):
        return []
    sims = Sim.objects.filter(Q(imsi=digits) | Q(iccid=digits))
    brands = brands_of(user)
    visible = subscriptions_visible_to(user)
    hits = []
    for sim in sims[:20]:
        subscription = visible.filter(sim=sim).order_by("-id").first()
        if subscription is not None:
            hit = _subscription_hit(subscription, f"SIM {sim.iccid}")
            hits.append(SearchHit("SIM", f"IMSI {sim.imsi}", hit.url, f"+{hit.label[1:]} · "
                                  f"{hit.detail}"))  # fmt: skip
        elif brands is None:  # a SIM on no subscription belongs to no brand yet
            url = f"{reverse('subscribers:sim-list')}?{urlencode({'q': digits})}"
            hits.append(SearchHit("SIM", f"IMSI {sim.imsi}", url,
                                  f"ICCID {sim.iccid} · {sim.get_status_display()}"))  # fmt: skip
    return hits


def _customers(user, query: str) -> list[SearchHit]:
    visible = customers_visible_to(user).select_related("brand")
    by_number = list(visible.filter(number__iexact=query)[:1])
    if by_number:
        found = by_number
    else:
        words = [word for word in query.split() if len(word) > 1]
        if not words or digits_of(query):
            return []
        condition = Q()
        for word in words:
            condition &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company_name__icontains=word)
                | Q(email__iexact=word)
            )
        found = list(visible.filter(condition).order_by("last_name", "first_name", "id")[:20])
    return [
        SearchHit(
            "Customer",
            c.display_name,
            c.get_absolute_url(),
            " · ".join(p for p in (c.number, c.brand.code, c.city) if p),
        )  # fmt: skip
        for c in found
    ]


def _accounts(user, query: str) -> list[SearchHit]:
    visible = billing_accounts_visible_to(user)
    found = visible.filter(number__iexact=query)[:1]
    return [
        SearchHit(
            "Billing account",
            f"{a.number} {a.name}",
            a.get_absolute_url(),
            f"{a.customer.display_name} · {a.get_payment_model_display()}",
        )  # fmt: skip
        for a in found
    ]
