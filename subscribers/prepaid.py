"""Prepaid life: plan renewals paid from the balance, suspension when short, bucket expiry.

Rules: R12 (allowances granted in full per period, no carry-over), R21 (never below zero),
R24 (a fee prorated by calendar days in the account's timezone), R29 (prepaid accounts pay from
their balance, no payable invoice).

A prepaid subscription's plan is renewed at the start of each billing period of its account:
the recurring fee is taken from the balance (a RENEWAL movement) and the period's allowances are
granted as buckets. When the balance is short, the renewal waits (PENDING) and the subscription
is suspended; the next top-up renews it, prorated from that day (R24), and lifts the
suspension. A period that ends unpaid lapses. The UNIQUE (subscription, period start) of
``PlanRenewal`` makes every run after the first change nothing.

The money balance itself does not expire: no rule names an expiry for it (R29 speaks of
receipts and tax only), and several regulators forbid forfeiting prepaid credit. Buckets do:
what is left when their validity ends is written off by an EXPIRY movement with its reason (R12).
"""

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import PaymentModel
from catalog.selectors import plan_version_at
from core.money import prorate
from core.periods import Period, billing_period_containing, local_date, require_aware
from subscribers.models import (
    BalanceMovement,
    BillingAccount,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    MovementKind,
    PlanRenewal,
    RenewalStatus,
    Subscription,
    SubscriptionStatus,
)
from subscribers.services import (
    balance_of,
    buckets_grant_for_period,
    subscription_reactivate,
    subscription_suspend,
)

logger = logging.getLogger(__name__)

SHORT_BALANCE = "prepaid renewal: balance short"
# Statuses whose plan renews; a subscription suspended by its renewal waits for a top-up.
RENEWING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.BARRED)
EXPIRY_REASON = "expired unused at the end of its validity (R12: allowances do not carry over)"
# An expired bucket is looked at again for a day: a reservation released after the expiry
# (R22) gives units back, and they are written off too.
EXPIRY_LOOKBACK = dt.timedelta(days=1)


def renewal_period(account: BillingAccount, instant: dt.datetime) -> Period:
    """Return the billing period of an account that contains an instant (R6)."""
    return billing_period_containing(instant, tz=account.timezone, cycle_day=account.bill_cycle_day)


def _renewable():
    """Prepaid subscriptions whose plan renews: live, or suspended by a pending renewal."""
    pending = PlanRenewal.objects.filter(
        subscription_id=OuterRef("pk"),
        status__in=[RenewalStatus.PENDING, RenewalStatus.LAPSED],
        suspended=True,
    )
    return Subscription.objects.filter(
        billing_account__payment_model=PaymentModel.PREPAID, activated_at__isnull=False
    ).filter(Q(status__in=RENEWING) | Q(status=SubscriptionStatus.SUSPENDED) & Exists(pending))


def prepaid_renewals_run(*, now: dt.datetime | None = None) -> dict:
    """Renew every prepaid subscription whose period began (once per period; R24, R29).

    Pending renewals of periods that ended lapse first. Each subscription is renewed in its own
    transaction, so one failure does not stop the others; returns the counts.
    """
    now = require_aware(now or timezone.now())
    lapsed = PlanRenewal.objects.filter(status=RenewalStatus.PENDING, period_end__lte=now).update(
        status=RenewalStatus.LAPSED
    )
    counts = {"renewed": 0, "pending": 0, "unchanged": 0, "lapsed": lapsed, "failed": 0}
    # Lines renewed for the period they are in are left alone: a run between period starts
    # reads one indexed query and writes nothing.
    renewed_now = PlanRenewal.objects.filter(
        subscription_id=OuterRef("pk"),
        status=RenewalStatus.RENEWED,
        period_start__lte=now,
        period_end__gt=now,
    )
    due = _renewable().filter(~Exists(renewed_now)).order_by("pk")
    for subscription_id in due.values_list("pk", flat=True):
        try:
            outcome = subscription_renew(subscription_id=subscription_id, now=now)
        except Exception:  # one subscription's trouble is logged; the rest renew
            logger.exception("prepaid renewal of subscription %s failed", subscription_id)
            counts["failed"] += 1
            continue
        counts[outcome] += 1
    return counts


def subscription_renew(*, subscription_id: int, now: dt.datetime) -> str:
    """Renew one prepaid subscription for the period containing ``now``.

    Returns "renewed", "pending" (balance short: suspended) or "unchanged" (renewed already,
    or not renewable). The account is locked first (the order online charging and top-ups
    use), so a renewal and a session never both spend the same money (R21).
    """
    with transaction.atomic():
        subscription = Subscription.objects.select_related("billing_account", "plan").get(
            pk=subscription_id
        )
        account = BillingAccount.objects.select_for_update().get(pk=subscription.billing_account_id)
        subscription.refresh_from_db()
        if account.payment_model != PaymentModel.PREPAID or subscription.activated_at is None:
            return "unchanged"
        if subscription.activated_at > now:
            return "unchanged"
        period = renewal_period(account, now)
        renewal = (
            PlanRenewal.objects.select_for_update()
            .filter(subscription=subscription, period_start=period.start)
            .first()
        )
        if renewal is None:
            if subscription.status not in RENEWING and not _suspended_by_renewal(subscription):
                return "unchanged"
            renewal = _renewal_create(subscription, account, period, now)
            if renewal is None:
                return "unchanged"
        elif renewal.status != RenewalStatus.PENDING:
            return "unchanged"
        return _renewal_attempt(renewal, subscription, account, period, now, first=True)


def _suspended_by_renewal(subscription: Subscription) -> bool:
    """Whether a suspended subscription waits for money: its latest renewal suspended it."""
    if subscription.status != SubscriptionStatus.SUSPENDED:
        return False
    last = subscription.renewals.order_by("-period_start").first()
    return last is not None and last.suspended and last.status != RenewalStatus.RENEWED


def _renewal_create(subscription, account, period: Period, now) -> PlanRenewal | None:
    start = max(period.start, subscription.activated_at)
    version = plan_version_at(plan=subscription.plan_id, instant=start)
    if version is None:
        logger.warning("plan %s has no version at %s", subscription.plan_id, start)
        return None
    suspended_before = _suspended_by_renewal(subscription)
    try:
        with transaction.atomic():
            return PlanRenewal.objects.create(
                subscription=subscription,
                billing_account=account,
                plan_version=version,
                period_start=period.start,
                period_end=period.end,
                status=RenewalStatus.PENDING,
                fee=version.recurring_fee,
                currency=account.currency,
                days_in_period=period.days,
                # Still suspended by the last period's short balance: this one lifts it.
                suspended=suspended_before,
                created_at=now,
            )
    except IntegrityError:
        # A concurrent run created it; the account lock makes this rare, the key makes it safe.
        return None


def _renewal_attempt(renewal, subscription, account, period: Period, now, *, first: bool) -> str:
    """Charge a pending renewal when the balance pays it; else suspend the subscription."""
    if renewal.suspended or not first:
        # Renewed late (after a suspension): the days from today on (R24).
        start_date = max(local_date(now, account.timezone), period.start_date)
    else:
        start_date = max(local_date(subscription.activated_at, account.timezone),
                         period.start_date)  # fmt: skip
    days = (period.end_date - start_date).days
    amount = prorate(
        renewal.fee, days_used=days, days_in_period=period.days, currency=account.currency
    )
    if balance_of(account) < amount:
        if subscription.status in RENEWING:
            subscription_suspend(subscription=subscription, effective_at=now, reason=SHORT_BALANCE)
            renewal.suspended = True
            renewal.save(update_fields=["suspended"])
        return "pending"
    if amount:
        renewal.movement = BalanceMovement.objects.create(
            billing_account=account,
            kind=MovementKind.RENEWAL,
            amount=-amount,
            currency=account.currency,
            reason=f"{subscription.plan.code} renewal, {days}/{period.days} days from "
            f"{start_date:%Y-%m-%d}",
            reference=f"renewal:{renewal.pk}",
        )
    renewal.status = RenewalStatus.RENEWED
    renewal.amount = amount
    renewal.days = days
    renewal.renewed_at = now
    renewal.save()
    buckets_grant_for_period(
        subscription=subscription, period_start=period.start, period_end=period.end
    )
    if renewal.suspended and subscription.status == SubscriptionStatus.SUSPENDED:
        subscription_reactivate(subscription=subscription, effective_at=now)
    return "renewed"


def prepaid_renewals_retry(*, billing_account_id: int, now: dt.datetime | None = None) -> int:
    """Renew what waits for money on an account (after a top-up); return how many renewed."""
    now = require_aware(now or timezone.now())
    waiting = (
        PlanRenewal.objects.filter(
            billing_account_id=billing_account_id,
            status=RenewalStatus.PENDING,
            period_start__lte=now,
            period_end__gt=now,
        )
        .order_by("pk")
        .values_list("subscription_id", flat=True)
    )
    renewed = 0
    for subscription_id in list(waiting):
        with transaction.atomic():
            account = BillingAccount.objects.select_for_update().get(pk=billing_account_id)
            subscription = Subscription.objects.select_related("plan").get(pk=subscription_id)
            period = renewal_period(account, now)
            renewal = (
                PlanRenewal.objects.select_for_update()
                .filter(subscription_id=subscription_id, period_start=period.start)
                .first()
            )
            if renewal is None or renewal.status != RenewalStatus.PENDING:
                continue
            outcome = _renewal_attempt(renewal, subscription, account, period, now, first=False)
            renewed += outcome == "renewed"
    # A subscription suspended in an earlier, lapsed period renews for this one.
    for subscription_id in (
        _renewable()
        .filter(billing_account_id=billing_account_id, status=SubscriptionStatus.SUSPENDED)
        .values_list("pk", flat=True)
    ):
        renewed += subscription_renew(subscription_id=subscription_id, now=now) == "renewed"
    return renewed


# --- bucket expiry ---------------------------------------------------------------------------


def buckets_expire(*, now: dt.datetime | None = None, chunk: int = 1000) -> int:
    """Write off what is left of buckets whose validity ended (R12); return how many.

    Set-based: one query finds the expired buckets with units left, they are locked in id
    order (the order mediation and online charging lock them), their remainder read again
    under the lock, and one EXPIRY movement each written in bulk. Running it twice writes
    nothing the second time (nothing is left).
    """
    now = require_aware(now or timezone.now())
    expired_before = BucketMovement.objects.filter(
        bucket_id=OuterRef("pk"), kind=BucketMovementKind.EXPIRY
    )
    candidates = (
        Bucket.objects.filter(valid_to__lte=now)
        .filter(Q(valid_to__gt=now - EXPIRY_LOOKBACK) | ~Exists(expired_before))
        .annotate(
            left=F("initial")
            + Coalesce(Sum("movements__quantity"), Value(0), output_field=BigIntegerField())
        )
        .filter(left__gt=0)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = list(candidates)
    written = 0
    for index in range(0, len(ids), chunk):
        part = ids[index : index + chunk]
        with transaction.atomic():
            locked = list(
                Bucket.objects.select_for_update()
                .filter(pk__in=part)
                .order_by("pk")
                .values_list("pk", "initial")
            )
            moved = dict(
                BucketMovement.objects.filter(bucket_id__in=part)
                .values("bucket_id")
                .annotate(total=Sum("quantity"))
                .values_list("bucket_id", "total")
            )
            rows = []
            for pk, initial in locked:
                left = initial + (moved.get(pk) or 0)
                if left > 0:
                    rows.append(
                        BucketMovement(
                            bucket_id=pk,
                            kind=BucketMovementKind.EXPIRY,
                            quantity=-left,
                            reason=EXPIRY_REASON,
                            reference=f"expiry:{pk}",
                        )
                    )
            BucketMovement.objects.bulk_create(rows)
            written += len(rows)
    return written
