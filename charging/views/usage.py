"""Usage events: the browser per subscription, "how was this priced", the rating error queue."""

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views import generic

from catalog.models import HostNetwork
from charging.filters import ErrorQueueFilter, UsageEventFilter
from charging.forms import ErrorQueueRerateForm, msisdn_digits
from charging.models import RatingStatus, RerateJob, RerateScope, UsageEvent
from charging.rerating import rerate_job_create
from charging.simulator import usage_event_explain, usage_file_line
from charging.tables import ErrorQueueTable, UsageEventTable
from charging.views.base import usage_events_visible_to
from core.console.views import ConsoleDetailView, ConsoleListView, ModelPermissionMixin
from subscribers.selectors import brands_of, subscriptions_visible_to


class UsageEventListView(ConsoleListView):
    """Usage events with filters; ``?msisdn=`` makes it the usage of one subscription."""

    model = UsageEvent
    table_class = UsageEventTable
    filterset_class = UsageEventFilter
    template_name = "charging/usageevent_list.html"
    title = "Usage"

    def get_queryset(self):
        return usage_events_visible_to(self.request.user).order_by("-started_at", "-id")

    def subscriptions(self):
        """The visible subscriptions that held the filtered number (usage of one subscriber)."""
        digits = msisdn_digits(self.request.GET.get("msisdn", ""))
        if not digits:
            return []
        return list(
            subscriptions_visible_to(self.request.user).filter(msisdn=digits).order_by("id")
        )

    def get_title(self) -> str:
        digits = msisdn_digits(self.request.GET.get("msisdn", ""))
        return f"Usage of +{digits}" if digits else self.title

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subscriptions"] = self.subscriptions()
        return context


class UsageEventDetailView(ConsoleDetailView):
    """One event and, line by line, how it was priced (R7-R14)."""

    model = UsageEvent
    template_name = "charging/usageevent_detail.html"

    def get_queryset(self):
        return usage_events_visible_to(self.request.user).select_related(
            "usage_file", "subscription", "billing_account__tax_region", "plan_version__plan"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.object
        account = event.billing_account
        reject = getattr(event, "from_reject", None) if event.pk else None
        raw_line = None
        if reject is not None:
            raw_line = reject.corrected_raw or reject.raw
        elif event.usage_file_id:
            raw_line = usage_file_line(event.usage_file, event.line_number)
        context.update(
            title=f"Usage event {event}",
            explanation=usage_event_explain(
                event=event,
                timezone=account.timezone,
                tax_region=account.tax_region,
                raw_line=raw_line,
            ),
            account=account,
            reject=reject,
            simulate_url=self.simulate_url(event),
        )
        return context

    def simulate_url(self, event: UsageEvent) -> str:
        """The simulator, filled in with this event on the version that rated it."""
        account = event.billing_account
        params = {
            "plan_version": event.plan_version_id or "",
            "record_type": event.record_type,
            "other_party": event.other_party,
            "visited_plmn": event.visited_plmn,
            "timezone": account.timezone,
            "start": event.started_at.astimezone(ZoneInfo(account.timezone)).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "duration": event.duration,
            "volume": event.volume_uplink + event.volume_downlink,
            "bill_cycle_day": account.bill_cycle_day,
            "tax_region": account.tax_region_id,
        }
        network = HostNetwork.objects.filter(code=event.source).values_list("pk", flat=True)
        if network:
            params["host_network"] = network[0]
        return f"{reverse('charging:simulator')}?{urlencode(params)}"


class ErrorQueueView(ConsoleListView):
    """Accepted events the engine could not rate (R7): each waits here with its reason."""

    model = UsageEvent
    table_class = ErrorQueueTable
    filterset_class = ErrorQueueFilter
    template_name = "charging/errorqueue.html"
    title = "Rating errors"
    export_name = "rating-errors"

    def get_queryset(self):
        return (
            usage_events_visible_to(self.request.user)
            .filter(rating_status=RatingStatus.ERROR)
            .select_related("usage_file")
            .order_by("started_at", "id")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        may_rerate = user.has_perm("charging.add_reratejob") and brands_of(user) is None
        context["rerate_form"] = (
            kwargs.get("rerate_form") or ErrorQueueRerateForm() if may_rerate else None
        )
        return context


class ErrorQueueRerateView(ModelPermissionMixin, generic.FormView):
    """Rate again every event of a window waiting in the error queue (after a correction)."""

    model = RerateJob
    permission_action = "add"
    form_class = ErrorQueueRerateForm
    template_name = "charging/form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and brands_of(request.user) is not None:
            raise PermissionDenied("limited to some brands: rerate one account or subscription")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Rerate the rating error queue",
            intro=(
                "Every event of the window that waits in the error queue is rated again with "
                "the catalogue as it is now (R15); events rated this time leave the queue."
            ),
            submit_label="Rerate the error queue",
            cancel_url=reverse("charging:usageevent-errors"),
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            job = rerate_job_create(
                scope=RerateScope.PERIOD,
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
                errors_only=True,
                acting_user=self.request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            return self.form_invalid(form)
        messages.success(self.request, f"Rerating job {job.pk} queued for the error queue.")
        return HttpResponseRedirect(job.get_absolute_url())
