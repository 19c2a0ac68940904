"""Thresholds told once: 80 % and 100 % of an allowance, the fair-use cap (R13), a low balance.

Each is a ChargingNotification row, unique per (account, kind, key), and an outbox event
published in the same transaction (core.outbox: signed webhooks); a threshold crossed again in
the same period is not told again.
"""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from charging.online.models import ChargingNotification, NotificationKind
from core.api.fields import money
from core.outbox import publish
from core.periods import billing_period_containing
from subscribers.models import Bucket, BucketMovement, BucketMovementKind

EVENT_TYPES = {
    "allowance.threshold_reached": "80 % or 100 % of an allowance (a bucket) was used.",
    "fair_use.cap_reached": "A subscription passed a fair-use cap in a period (R13).",
    "balance.low": "A prepaid or hybrid balance fell below the low-balance mark.",
}
EVENT_OF = {
    NotificationKind.ALLOWANCE_80: "allowance.threshold_reached",
    NotificationKind.ALLOWANCE_100: "allowance.threshold_reached",
    NotificationKind.FAIR_USE_CAP: "fair_use.cap_reached",
    NotificationKind.LOW_BALANCE: "balance.low",
}


# The shares of an allowance told when reached, the largest first.
ALLOWANCE_MARKS = (
    (Decimal(1), NotificationKind.ALLOWANCE_100),
    (Decimal("0.8"), NotificationKind.ALLOWANCE_80),
)


def bucket_key(bucket_id: int) -> str:
    """The key an allowance notification is told once under, per bucket."""
    return f"bucket:{bucket_id}"


def low_balance_key(period_start) -> str:
    """The key a low-balance notification is told once under: the account's billing period."""
    return f"period:{period_start:%Y-%m-%d}"


def low_balance_mark() -> Decimal:
    """The balance under which a low-balance notification goes out (ONLINE_LOW_BALANCE)."""
    return Decimal(str(getattr(settings, "ONLINE_LOW_BALANCE", "2.00")))


def _notify(*, account, subscription, kind, key, detail, payload, now) -> bool:
    """Write the notification and publish its event, once; return whether it is new."""
    try:
        with transaction.atomic():
            ChargingNotification.objects.create(
                billing_account=account, subscription=subscription, kind=kind, key=key,
                detail=detail[:200], created_at=now,
            )  # fmt: skip
    except IntegrityError:
        return False
    publish(
        event_type=EVENT_OF[kind],
        payload={"kind": kind, "detail": detail, "billingAccount": account.number,
                 "msisdn": subscription.msisdn if subscription else "", **payload},
        brand=account.customer.brand,
        subject=subscription.msisdn if subscription else account.number,
    )  # fmt: skip
    return True


def notifications_after_usage(*, account, subscription, rating, balance, now) -> None:
    """Tell the thresholds a committed event crossed (allowances, fair use, balance)."""
    bucket_ids = [bucket_id for bucket_id, _ in rating.draws]
    if bucket_ids:
        used = dict(
            BucketMovement.objects.filter(bucket_id__in=bucket_ids, kind=BucketMovementKind.USAGE)
            .values("bucket_id")
            .annotate(total=Sum("quantity"))
            .values_list("bucket_id", "total")
        )
        for bucket in Bucket.objects.filter(pk__in=bucket_ids).order_by("pk"):
            share = Decimal(-(used.get(bucket.pk) or 0)) / bucket.initial if bucket.initial else 0
            for mark, kind in ALLOWANCE_MARKS:
                if share >= mark:
                    _notify(
                        account=account, subscription=subscription, kind=kind,
                        key=bucket_key(bucket.pk),
                        detail=f"{bucket.name}: {share * 100:.0f} % used",
                        payload={"bucket": bucket.name, "percent": int(mark * 100),
                                 "validTo": bucket.valid_to},
                        now=now,
                    )  # fmt: skip
    if rating.notify_fair_use:
        for policy_id, period_start, _ in rating.fair_use:
            _notify(
                account=account, subscription=subscription, kind=NotificationKind.FAIR_USE_CAP,
                key=f"policy:{policy_id}:{period_start:%Y-%m-%d}",
                detail=f"fair-use cap reached for the period from {period_start:%Y-%m-%d}",
                payload={"policy": policy_id, "periodStart": period_start,
                         "throttled": rating.throttled},
                now=now,
            )  # fmt: skip
    if balance is not None and balance < low_balance_mark():
        period = billing_period_containing(
            now, tz=account.timezone, cycle_day=account.bill_cycle_day
        )
        _notify(
            account=account, subscription=subscription, kind=NotificationKind.LOW_BALANCE,
            key=low_balance_key(period.start),
            detail=f"balance {balance:.2f} {account.currency} below {low_balance_mark()}",
            payload={"balance": money(balance, account.currency), "periodStart": period.start},
            now=now,
        )  # fmt: skip
