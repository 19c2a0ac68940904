"""What every console page of charging shares."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q, QuerySet

from charging.models import RerateJob, UsageEvent
from subscribers.selectors import (
    billing_accounts_visible_to,
    brands_of,
    subscriptions_visible_to,
)


def add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: on the field it names, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, errors in error.error_dict.items():
        texts = [text for item in errors for text in item.messages]
        if field != NON_FIELD_ERRORS and field in form.fields:
            form.add_error(field, texts)
        else:
            form.add_error(None, texts)


def usage_events_visible_to(user) -> QuerySet[UsageEvent]:
    """Return the usage events a user may see: those of the subscriptions of their brands."""
    events = UsageEvent.objects.all()
    if brands_of(user) is None:
        return events
    return events.filter(subscription_id__in=subscriptions_visible_to(user).values("pk"))


def rerate_jobs_visible_to(user) -> QuerySet[RerateJob]:
    """Return the rerating jobs a user may see: every-subscriber jobs and their brands' own."""
    jobs = RerateJob.objects.select_related("subscription", "billing_account", "created_by")
    if brands_of(user) is None:
        return jobs
    return jobs.filter(
        Q(subscription__isnull=True, billing_account__isnull=True)
        | Q(subscription_id__in=subscriptions_visible_to(user).values("pk"))
        | Q(billing_account_id__in=billing_accounts_visible_to(user).values("pk"))
    )
