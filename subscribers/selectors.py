"""Reads of the subscribers app that are more than one ORM call."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from catalog.selectors import (  # noqa: F401 - named here too
    brands_of,
    brands_visible_to,
    require_every_brand,
)
from core.periods import require_aware
from subscribers.models import (
    RATABLE_STATUSES,
    BillingAccount,
    Customer,
    Sim,
    Subscription,
    SubscriptionStatus,
    SubscriptionTerm,
    TopUp,
    VoucherBatch,
)


class LookupResult:
    """Why a subscriber lookup found nothing (R19 reason codes)."""

    UNKNOWN_SUBSCRIBER = "UNKNOWN_SUBSCRIBER"
    INACTIVE_SUBSCRIPTION = "INACTIVE_SUBSCRIPTION"


@dataclass(frozen=True, slots=True)
class TermData:
    """A subscription term as the rating engine needs it: plain values."""

    subscription_id: int
    billing_account_id: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    msisdn: str
    imsi: str
    plan_id: int
    status: str

    def covers(self, instant: dt.datetime) -> bool:
        return self.valid_from <= instant and (self.valid_to is None or instant < self.valid_to)

    @property
    def ratable(self) -> bool:
        return self.status in RATABLE_STATUSES


def _term_values(queryset) -> list[TermData]:
    return [
        TermData(*row)
        for row in queryset.values_list(
            "subscription_id",
            "subscription__billing_account_id",
            "valid_from",
            "valid_to",
            "msisdn",
            "imsi",
            "plan_id",
            "status",
        )
    ]


class TermIndex:
    """Answer "whose was this number (or IMSI) at instant T, and was it active" (R19).

    Built once per batch of usage with one query over every number and IMSI the batch names;
    then each look-up is a dictionary access and a scan of that number's few terms.
    """

    def __init__(self, terms: list[TermData]) -> None:
        self._by_msisdn: dict[str, list[TermData]] = {}
        self._by_imsi: dict[str, list[TermData]] = {}
        self._held: set[tuple] = set()
        self._msisdns: set[str] = set()
        self._imsis: set[str] = set()
        self.add(terms)

    def add(self, terms) -> None:
        """Add terms to the index; a term held already is skipped."""
        for term in terms:
            key = (term.subscription_id, term.valid_from)
            if key in self._held:
                continue
            self._held.add(key)
            self._by_msisdn.setdefault(term.msisdn, []).append(term)
            if term.imsi:
                self._by_imsi.setdefault(term.imsi, []).append(term)

    def extend(self, *, msisdns=(), imsis=()) -> None:
        """Load the terms of the numbers and IMSIs not asked for before (a run that grows)."""
        msisdns = set(msisdns) - {""} - self._msisdns
        imsis = set(imsis) - {""} - self._imsis
        if not msisdns and not imsis:
            return
        self._msisdns |= msisdns
        self._imsis |= imsis
        self.add(TermIndex.load(msisdns=msisdns, imsis=imsis)._all())

    def _all(self):
        for terms in self._by_msisdn.values():
            yield from terms

    @classmethod
    def load(cls, *, msisdns=(), imsis=()) -> "TermIndex":
        """Load every term of the given numbers and IMSIs (one query)."""
        msisdns, imsis = set(msisdns) - {""}, set(imsis) - {""}
        if not msisdns and not imsis:
            return cls([])
        query = Q(msisdn__in=msisdns) | Q(imsi__in=imsis)
        # No ORDER BY: the model's default order sorts by the subscription's number through a
        # join, and the index does not need any order.
        return cls(_term_values(SubscriptionTerm.objects.filter(query).order_by()))

    @staticmethod
    def _at(terms: list[TermData] | None, instant: dt.datetime) -> TermData | None:
        """Return the term in force at an instant; a live holder wins over a terminated one.

        A terminated subscription's last term stays open, so once its number is given to a new
        subscription both cover the instants after that: the new holder's term is the answer.
        """
        terminated = None
        for term in terms or ():
            if term.covers(instant):
                if term.status != SubscriptionStatus.TERMINATED:
                    return term
                terminated = terminated or term
        return terminated

    def resolve(
        self, *, msisdn: str = "", imsi: str = "", instant: dt.datetime
    ) -> tuple[TermData | None, str | None]:
        """Return (the ratable term, None) or (None, reason code) for a usage record (R19).

        The subscriber is found by MSISDN, or by IMSI when the MSISDN is empty; when both are
        given they must belong to the same subscription. A number known at another time but not
        ratable at the instant is INACTIVE_SUBSCRIPTION; one never known, UNKNOWN_SUBSCRIBER.
        """
        key_terms = self._by_msisdn.get(msisdn) if msisdn else self._by_imsi.get(imsi)
        if not key_terms:
            return None, LookupResult.UNKNOWN_SUBSCRIBER
        term = self._at(key_terms, instant)
        if term is None:
            return None, LookupResult.INACTIVE_SUBSCRIPTION
        if msisdn and imsi:
            by_imsi = self._at(self._by_imsi.get(imsi), instant)
            if by_imsi is None or by_imsi.subscription_id != term.subscription_id:
                return None, LookupResult.UNKNOWN_SUBSCRIBER
        if not term.ratable:
            return None, LookupResult.INACTIVE_SUBSCRIPTION
        return term, None


def subscription_term_at(
    *, msisdn: str = "", imsi: str = "", instant: dt.datetime
) -> tuple[TermData | None, str | None]:
    """Resolve one record's subscriber (R19): one indexed query, then TermIndex.resolve."""
    require_aware(instant)
    return TermIndex.load(msisdns=[msisdn], imsis=[imsi]).resolve(
        msisdn=msisdn, imsi=imsi, instant=instant
    )


def term_at(*, subscription: Subscription, instant: dt.datetime) -> SubscriptionTerm | None:
    """Return the term of a subscription in force at an instant."""
    require_aware(instant)
    return (
        subscription.terms.filter(valid_from__lte=instant)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=instant))
        .select_related("plan", "sim")
        .first()
    )


# --- brand scoping --------------------------------------------------------------------------


def customers_visible_to(user) -> QuerySet[Customer]:
    """Return the customers a user may see (brand scoping)."""
    brands = brands_of(user)
    customers = Customer.objects.all()
    return customers if brands is None else customers.filter(brand_id__in=brands)


def billing_accounts_visible_to(user) -> QuerySet[BillingAccount]:
    """Return the billing accounts a user may see (brand scoping)."""
    brands = brands_of(user)
    accounts = BillingAccount.objects.select_related("customer")
    return accounts if brands is None else accounts.filter(customer__brand_id__in=brands)


def subscriptions_visible_to(user) -> QuerySet[Subscription]:
    """Return the subscriptions a user may see (brand scoping)."""
    brands = brands_of(user)
    subscriptions = Subscription.objects.select_related("billing_account__customer", "plan")
    if brands is None:
        return subscriptions
    return subscriptions.filter(billing_account__customer__brand_id__in=brands)


def sims_visible_to(user) -> QuerySet[Sim]:
    """Return the SIMs a user may see: the stock, less SIMs used by another brand's numbers."""
    brands = brands_of(user)
    sims = Sim.objects.select_related("batch", "host_network")
    if brands is None:
        return sims
    used_elsewhere = (
        SubscriptionTerm.objects.filter(sim__isnull=False)
        .exclude(subscription__billing_account__customer__brand_id__in=brands)
        .values("sim_id")
    )
    return sims.exclude(pk__in=used_elsewhere)


def top_ups_visible_to(user) -> QuerySet[TopUp]:
    """Return the top-ups a user may see (brand scoping)."""
    brands = brands_of(user)
    top_ups = TopUp.objects.select_related("billing_account__customer", "created_by")
    if brands is None:
        return top_ups
    return top_ups.filter(billing_account__customer__brand_id__in=brands)


def voucher_batches_visible_to(user) -> QuerySet[VoucherBatch]:
    """Return the voucher batches a user may see (brand scoping)."""
    brands = brands_of(user)
    batches = VoucherBatch.objects.select_related("brand", "created_by")
    return batches if brands is None else batches.filter(brand_id__in=brands)


def _brands_of_subscriber_object(obj) -> set[int] | None:
    """Return the brands an object of the subscribers app belongs to, or None for SIM stock."""
    if isinstance(obj, Customer):
        stored = Customer.objects.filter(pk=obj.pk).values_list("brand_id", flat=True).first()
        return {obj.brand_id} | ({stored} if stored else set())
    if isinstance(obj, VoucherBatch):
        return {obj.brand_id}
    if isinstance(obj, BillingAccount):
        return {Customer.objects.values_list("brand_id", flat=True).get(pk=obj.customer_id)}
    for relation in ("billing_account", "subscription", "bucket"):
        related = getattr(obj, f"{relation}_id", None)
        if related is not None:
            return _brands_of_subscriber_object(getattr(obj, relation))
    return None


def require_subscriber_change(obj, user) -> None:
    """Refuse (PermissionDenied) a user limited to some brands a change of another brand's object.

    SIM stock is shared: such a user changes only the SIMs they may see (sims_visible_to).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return
    brands = brands_of(user)
    if brands is None:
        return
    owners = _brands_of_subscriber_object(obj)
    if owners is None:
        allowed = isinstance(obj, Sim) and (
            obj.pk is None or sims_visible_to(user).filter(pk=obj.pk).exists()
        )
    else:
        allowed = owners <= set(brands)
    if not allowed:
        raise PermissionDenied(
            f"you are limited to some brands: {obj._meta.verbose_name} {obj} is not theirs"
        )
