"""Rerating jobs (R15): ask for one, follow its progress, read what it changed."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.views import generic
from django_tables2 import RequestConfig

from charging.filters import RerateJobFilter
from charging.forms import RerateJobForm
from charging.models import RerateChange, RerateJob, RerateScope, RerateStatus
from charging.rerating import rerate_job_create
from charging.tables import RerateChangeTable, RerateJobTable, target_of
from charging.views.base import add_service_errors, rerate_jobs_visible_to, usage_events_visible_to
from core.console.views import ConsoleDetailView, ConsoleListView, ModelPermissionMixin
from subscribers.selectors import brands_of

REFRESH_SECONDS = 3


class RerateJobListView(ConsoleListView):
    model = RerateJob
    table_class = RerateJobTable
    filterset_class = RerateJobFilter
    title = "Rerating jobs"
    create_url = reverse_lazy("charging:reratejob-create")

    def get_queryset(self):
        return rerate_jobs_visible_to(self.request.user)


class RerateJobCreateView(ModelPermissionMixin, generic.FormView):
    """Queue a rerating (a Celery job); its page shows the progress."""

    model = RerateJob
    permission_action = "add"
    form_class = RerateJobForm
    template_name = "charging/form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        initial = super().get_initial()
        query = self.request.GET
        if query.get("msisdn"):
            initial.update(scope=RerateScope.SUBSCRIPTION, msisdn=query["msisdn"])
        elif query.get("account"):
            initial.update(scope=RerateScope.ACCOUNT, account_number=query["account"])
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Rerate usage",
            intro=(
                "Rate a window of usage again with the catalogue as it is now, after a tariff "
                "correction (R15). Allowances drawn by those events are given back and drawn "
                "again in event order; every event whose amounts change is listed with its "
                "amounts before and after. Issued invoices are never edited: invoicing turns "
                "the differences into a credit note or an adjustment."
            ),
            submit_label="Queue the rerating",
            cancel_url=reverse("charging:reratejob-list"),
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            job = rerate_job_create(
                scope=data["scope"],
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
                subscription=data["subscription"],
                billing_account=data["billing_account"],
                errors_only=data["errors_only"],
                acting_user=self.request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Rerating job {job.pk} queued.")
        return HttpResponseRedirect(job.get_absolute_url())


class RerateJobDetailView(ConsoleDetailView):
    model = RerateJob
    template_name = "charging/reratejob_detail.html"

    def get_queryset(self):
        return rerate_jobs_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.object
        changes = RerateChange.objects.filter(job=job).select_related("usage_event")
        if brands_of(self.request.user) is not None:
            changes = changes.filter(
                usage_event__in=usage_events_visible_to(self.request.user).values("pk")
            )
        table = RerateChangeTable(changes, prefix="changes-")
        RequestConfig(self.request, paginate={"per_page": 50}).configure(table)
        running = job.status in (RerateStatus.QUEUED, RerateStatus.RUNNING)
        context.update(
            title=f"Rerating job {job.pk}",
            target=target_of(job),
            changes=table,
            refresh_seconds=REFRESH_SECONDS if running else None,
            running=running,
            retail_delta=job.retail_after - job.retail_before,
            wholesale_delta=job.wholesale_after - job.wholesale_before,
        )
        return context
