"""Reads of the usage store that go through the indexes it keeps (issue 14)."""

from charging.models import UsageRecordKey
from subscribers.models import Subscription


def usage_of_account(events, account_id: int):
    """Narrow usage events to a billing account's, through its subscriptions' index.

    The usage store keeps no (account, time) index: a subscription never changes account, so
    an account's events are its subscriptions' events, served by (subscription, time).
    """
    return events.filter(
        subscription_id__in=Subscription.objects.filter(billing_account_id=account_id).values("pk"),
        billing_account_id=account_id,
    )


def record_keys_named(record_id: str, source: str | None = None):
    """The ids of the events holding a record id (of one source, when given): the R17 keys."""
    keys = UsageRecordKey.objects.filter(record_id=record_id)
    if source is not None:
        keys = keys.filter(source=source)
    return keys.values("usage_event_id")
