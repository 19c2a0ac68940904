"""Celery tasks of the subscribers: thin wrappers around their services."""

from celery import shared_task


@shared_task(name="subscribers.prepaid_renewals_run", acks_late=True, reject_on_worker_lost=True)
def prepaid_renewals_run_task() -> dict:
    """Renew the prepaid plans whose period began (idempotent: once per period, R24, R29)."""
    from subscribers.prepaid import prepaid_renewals_run

    return prepaid_renewals_run()


@shared_task(name="subscribers.prepaid_renewals_retry", acks_late=True, reject_on_worker_lost=True)
def prepaid_renewals_retry_task(billing_account_id: int) -> int:
    """Renew what waited for money on an account, after a top-up."""
    from subscribers.prepaid import prepaid_renewals_retry

    return prepaid_renewals_retry(billing_account_id=billing_account_id)


@shared_task(name="subscribers.buckets_expire", acks_late=True, reject_on_worker_lost=True)
def buckets_expire_task() -> int:
    """Write off what is left of expired buckets (R12)."""
    from subscribers.prepaid import buckets_expire

    return buckets_expire()
