"""Rerating (R15): repeat the rating of a window of usage after a catalogue correction.

Each billing account is rerated in its own transaction, its events in order of event time: the
bucket draws and fair-use counts of those events are taken back by compensating rows (never
edited), the events are rated again with the catalogue as it is now, and every event whose
amounts changed gets a RerateChange with the amounts before and after. Invoicing turns the
changes of already-invoiced events into a credit note or an adjustment; an issued invoice is
never edited.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from charging.cdr import UsageRecord
from charging.models import (
    FairUseCount,
    RatingStatus,
    RerateChange,
    RerateJob,
    RerateScope,
    RerateStatus,
    UsageEvent,
)
from charging.rating import RatingRun, write_side_effects
from charging.selectors import usage_of_account
from core.periods import require_aware
from subscribers.models import BucketMovement, BucketMovementKind
from subscribers.selectors import brands_of, require_subscriber_change

logger = logging.getLogger(__name__)

RATING_FIELDS = (
    "rating_status",
    "rating_error",
    "rating_detail",
    "destination_zone",
    "roaming_zone",
    "time_band",
    "plan_version_id",
    "rate_row_id",
    "charged_units",
    "covered_units",
    "currency",
    "retail_amount",
    "tax_inclusive",
    "throttled",
    "fair_use_units",
    "wholesale_rate_row_id",
    "wholesale_units",
    "wholesale_amount",
    "rated_at",
)


def rerate_job_create(
    *,
    scope: str,
    start,
    end,
    reason: str,
    subscription=None,
    billing_account=None,
    errors_only: bool = False,
    acting_user=None,
    run_now: bool = False,
) -> RerateJob:
    """Queue a rerating of ``[start, end)`` for a subscription, an account or everyone."""
    require_aware(start)
    require_aware(end)
    if end <= start:
        raise ValidationError({"end": "the window ends after it starts"})
    if not reason:
        raise ValidationError({"reason": "say which correction this rerating applies"})
    if scope == RerateScope.SUBSCRIPTION and subscription is None:
        raise ValidationError({"subscription": "name the subscription to rerate"})
    if scope == RerateScope.ACCOUNT and billing_account is None:
        raise ValidationError({"billing_account": "name the billing account to rerate"})
    _require_window_of_user(scope, subscription, billing_account, acting_user)
    job = RerateJob.objects.create(
        scope=scope,
        start=start,
        end=end,
        reason=reason,
        subscription=subscription if scope == RerateScope.SUBSCRIPTION else None,
        billing_account=billing_account if scope == RerateScope.ACCOUNT else None,
        errors_only=errors_only,
        created_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
    )
    if run_now:
        return rerate_job_run(job=job)
    from charging.tasks import rerate_job_run_task

    transaction.on_commit(lambda: rerate_job_run_task.delay(job.pk))
    return job


def _require_window_of_user(scope, subscription, billing_account, acting_user) -> None:
    """Refuse a brand-limited user a rerating of every subscriber or of another brand's."""
    if acting_user is None or brands_of(acting_user) is None:
        return
    if scope == RerateScope.SUBSCRIPTION:
        target = subscription
    elif scope == RerateScope.ACCOUNT:
        target = billing_account
    else:
        raise PermissionDenied("you are limited to some brands: rerate one product or account")
    require_subscriber_change(target, acting_user)


def _events_of(job: RerateJob):
    events = UsageEvent.objects.filter(started_at__gte=job.start, started_at__lt=job.end)
    if job.scope == RerateScope.SUBSCRIPTION:
        events = events.filter(subscription_id=job.subscription_id)
    elif job.scope == RerateScope.ACCOUNT:
        events = usage_of_account(events, job.billing_account_id)
    if job.errors_only:
        events = events.filter(rating_status=RatingStatus.ERROR)
    return events


def rerate_job_run(*, job: RerateJob) -> RerateJob:
    """Run a queued job, one billing account at a time, recording progress as it goes."""
    claimed = RerateJob.objects.filter(pk=job.pk, status=RerateStatus.QUEUED).update(
        status=RerateStatus.RUNNING, started_at=timezone.now()
    )
    job.refresh_from_db()
    if not claimed:
        return job
    events = _events_of(job)
    job.events_total = events.count()
    job.save(update_fields=["events_total"])
    accounts = list(
        events.order_by("billing_account_id")
        .values_list("billing_account_id", flat=True)
        .distinct()
    )
    try:
        for account_id in accounts:
            _rerate_account(job, usage_of_account(events, account_id))
    except Exception as error:
        RerateJob.objects.filter(pk=job.pk).update(
            status=RerateStatus.FAILED, status_detail=str(error)[:1000],
            finished_at=timezone.now(),
        )  # fmt: skip
        logger.exception("rerate job %s failed", job.pk)
        raise
    RerateJob.objects.filter(pk=job.pk).update(status=RerateStatus.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _record_of(event: UsageEvent) -> UsageRecord:
    return UsageRecord(
        line_number=event.line_number or 0,
        raw="",
        record_id=event.record_id,
        record_type=event.record_type,
        service=event.service,
        msisdn=event.msisdn,
        imsi=event.imsi,
        started_at=event.started_at,
        utc_offset=event.utc_offset,
        duration=event.duration,
        volume_uplink=event.volume_uplink,
        volume_downlink=event.volume_downlink,
        units=event.units,
        other_party=event.other_party,
        apn=event.apn,
        visited_plmn=event.visited_plmn,
        cause=event.cause,
        charging_id=event.charging_id,
        source=event.source,
    )


def _rerate_account(job: RerateJob, events_query) -> None:
    with transaction.atomic():
        events = list(events_query.select_for_update().order_by("started_at", "id"))
        if not events:
            return
        _take_back(job, events)
        run = RatingRun(source=events[0].source)
        records = [_record_of(event) for event in events]
        rated, rejects = run.rate(records)
        new_by_id = {item.record_id + "\x00" + item.source: item for item in rated}
        now = timezone.now()
        changes, updated = [], []
        for event, record in zip(events, records, strict=True):
            fresh = new_by_id.get(event.record_id + "\x00" + event.source)
            if fresh is None:
                reject = next(r for r in rejects if r.record_id == record.record_id)
                fresh = _inactive(event, reject.detail, now)
            before = (event.rating_status, event.retail_amount, event.wholesale_amount)
            old_plan, old_row = event.plan_version_id, event.rate_row_id
            for name in RATING_FIELDS:
                setattr(event, name, getattr(fresh, name))
            event._rating = fresh._rating
            updated.append(event)
            after = (event.rating_status, event.retail_amount, event.wholesale_amount)
            if before != after:
                changes.append(
                    RerateChange(
                        job=job, usage_event=event, status_before=before[0],
                        status_after=after[0], retail_before=before[1], retail_after=after[1],
                        wholesale_before=before[2], wholesale_after=after[2],
                        plan_version_before=old_plan, rate_row_before=old_row,
                    )
                )  # fmt: skip
        UsageEvent.objects.bulk_update(updated, RATING_FIELDS)
        write_side_effects(updated)
        RerateChange.objects.bulk_create(changes)
        RerateJob.objects.filter(pk=job.pk).update(
            events_done=F("events_done") + len(events),
            events_changed=F("events_changed") + len(changes),
            retail_before=F("retail_before") + sum(c.retail_before or 0 for c in changes),
            retail_after=F("retail_after") + sum(c.retail_after or 0 for c in changes),
            wholesale_before=F("wholesale_before") + sum(c.wholesale_before or 0 for c in changes),
            wholesale_after=F("wholesale_after") + sum(c.wholesale_after or 0 for c in changes),
        )


def _take_back(job: RerateJob, events: list[UsageEvent]) -> None:
    """Compensate the bucket draws and fair-use counts of events about to be rerated."""
    drawn = (
        BucketMovement.objects.filter(usage_event_id__in=[event.pk for event in events])
        .values("bucket_id", "usage_event_id")
        .annotate(total=Sum("quantity"))
    )
    BucketMovement.objects.bulk_create(
        BucketMovement(
            bucket_id=row["bucket_id"], kind=BucketMovementKind.USAGE, quantity=-row["total"],
            reason=f"rerate job {job.pk}: draw taken back",
            usage_event_id=row["usage_event_id"],
        )
        for row in drawn
        if row["total"]
    )  # fmt: skip
    counted = (
        FairUseCount.objects.filter(usage_event__in=events)
        .values("usage_event_id", "subscription_id", "policy_id", "period_start")
        .annotate(total=Sum("quantity"))
    )
    FairUseCount.objects.bulk_create(
        FairUseCount(
            usage_event_id=row["usage_event_id"], subscription_id=row["subscription_id"],
            policy_id=row["policy_id"], period_start=row["period_start"], quantity=-row["total"],
        )
        for row in counted
        if row["total"]
    )  # fmt: skip


def _inactive(event: UsageEvent, detail: str, now) -> UsageEvent:
    """The rating of an event whose subscription is, on rerating, not active at its time."""
    from charging.engine import Rating

    fresh = UsageEvent(
        rating_status=RatingStatus.ERROR,
        rating_error="INACTIVE_SUBSCRIPTION",
        rating_detail=detail,
        currency=event.currency,
    )
    fresh._rating = Rating(status="error", error="INACTIVE_SUBSCRIPTION")
    return fresh
