"""Usage files and their rejected records: what came in, what was refused and why (R16-R19)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import generic
from django.views.generic.detail import SingleObjectMixin
from django_tables2 import RequestConfig

from charging.filters import RejectedRecordFilter, SequenceGapFilter, UsageFileFilter
from charging.forms import (
    RejectedRecordDiscardForm,
    RejectedRecordReprocessForm,
    UsageFileUploadForm,
)
from charging.models import (
    FileOrigin,
    FileStatus,
    PartStatus,
    RatingStatus,
    RejectedRecord,
    RejectStatus,
    SequenceGap,
    UsageFile,
)
from charging.partitions import usage_file_parts_retry
from charging.selectors import (
    StoredContentMissing,
    rejected_records_visible_to,
    sequence_gaps_visible_to,
    usage_file_content_open,
    usage_file_content_type,
    usage_file_parts_with_stalled,
    usage_files_stalled,
    usage_files_visible_to,
    usage_files_with_stalled,
)
from charging.services import (
    rejected_record_discard,
    rejected_record_reprocess,
    usage_file_receive,
    usage_file_retry,
)
from charging.tables import RejectedRecordTable, SequenceGapTable, UsageFileTable
from charging.tasks import usage_file_part_process_task, usage_file_process_task
from charging.views.base import add_service_errors, usage_events_visible_to
from core.console.views import (
    ConsoleActionView,
    ConsoleDetailView,
    ConsoleListView,
    ModelPermissionMixin,
)
from subscribers.selectors import brands_of, require_every_brand

REFRESH_SECONDS = 3


def open_gaps(user):
    """Sequence numbers never received, per source (a missing file, R16), as the user sees."""
    return (
        sequence_gaps_visible_to(user)
        .filter(resolved_at__isnull=True)
        .select_related("detected_in")
    )


# --- usage files ----------------------------------------------------------------------------


class UsageFileListView(ConsoleListView):
    model = UsageFile
    table_class = UsageFileTable
    filterset_class = UsageFileFilter
    template_name = "charging/usagefile_list.html"
    title = "Usage files"

    def get_queryset(self):
        return usage_files_with_stalled(usage_files_visible_to(self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["gaps"] = list(open_gaps(user))
        context["may_upload"] = user.has_perm("charging.add_usagefile") and brands_of(user) is None
        return context


class UsageFileDetailView(ConsoleDetailView):
    model = UsageFile
    template_name = "charging/usagefile_detail.html"
    fields = [
        "name",
        "source",
        "host_network",
        "sequence",
        "file_time",
        "origin",
        "size",
        "checksum",
        "trailer_count",
        "received_at",
        "received_by",
        "processed_at",
    ]

    def get_queryset(self):
        return usage_files_visible_to(self.request.user).select_related(
            "duplicate_of", "host_network", "received_by"
        )

    def get_actions(self):
        actions = []
        every_brand = brands_of(self.request.user) is None
        if self.object.content and every_brand:
            actions.append(
                {
                    "label": "Download as received",
                    "url": reverse("charging:usagefile-download", args=[self.object.pk]),
                }
            )
        may_retry = every_brand and self.can("retry")
        waiting = self.object.status == FileStatus.PROCESSING and (
            not self.object.part_count and self.object.worker_started_at is None
        )
        if may_retry and (self._stalled or waiting):
            actions.append(
                {
                    "label": "Retry processing",
                    "url": reverse("charging:usagefile-retry", args=[self.object.pk]),
                }
            )
        if may_retry and self.object.status == FileStatus.PROCESSING and self._parts_to_retry:
            actions.append(
                {
                    "label": "Retry the failed or stopped parts",
                    "url": reverse("charging:usagefile-retry-parts", args=[self.object.pk]),
                }
            )
        if self.object.status == FileStatus.PROCESSED:
            actions.append(
                {
                    "label": "Its usage events",
                    "url": f"{reverse('charging:usageevent-list')}?usage_file={self.object.pk}",
                }
            )
        return actions

    def get_object(self, queryset=None):
        usage_file = super().get_object(queryset)
        self._stalled = usage_files_stalled(UsageFile.objects.filter(pk=usage_file.pk)).exists()
        self._parts = list(usage_file_parts_with_stalled(usage_file.parts.all()))
        self._parts_to_retry = [
            part for part in self._parts if part.stalled or part.status == PartStatus.FAILED
        ]
        return usage_file

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        usage_file, user = self.object, self.request.user
        rejects = RejectedRecordTable(
            rejected_records_visible_to(user)
            .filter(usage_file=usage_file)
            .select_related("usage_file"),
            prefix="rejects-",
            exclude=("usage_file",),
        )
        RequestConfig(self.request, paginate={"per_page": 50}).configure(rejects)
        context.update(
            title=f"Usage file {usage_file.name}",
            rejects=rejects,
            gaps=list(sequence_gaps_visible_to(user).filter(detected_in=usage_file)),
            parts=self._parts,
            stalled=self._stalled,
            parts_stalled=any(part.stalled for part in self._parts),
            waiting=usage_file.status == FileStatus.PROCESSING
            and not usage_file.part_count
            and usage_file.worker_started_at is None,
            refresh_seconds=REFRESH_SECONDS
            if usage_file.status == FileStatus.PROCESSING
            and not self._stalled
            and not any(part.stalled for part in self._parts)
            else None,
            events_in_error=usage_events_visible_to(user)
            .filter(usage_file=usage_file, rating_status=RatingStatus.ERROR)
            .count()
            if usage_file.status == FileStatus.PROCESSED
            else 0,
        )
        return context


class UsageFileRetryView(ConsoleActionView):
    """Hand a file whose worker stopped back to the workers (issue 13)."""

    model = UsageFile
    permission_action = "retry"
    verb = "Retry processing"
    explanation = (
        "No worker holds this file: the worker that was processing it stopped before it "
        "finished (its process or its machine went away), or no worker took it. Nothing of an "
        "earlier attempt was written: a worker reads and rates the whole file from the start, "
        "and no record is ever charged twice."
    )

    def get_queryset(self):
        return usage_files_visible_to(self.request.user)

    def perform(self, usage_file):
        usage_file = usage_file_retry(usage_file=usage_file, acting_user=self.request.user)
        pk = usage_file.pk
        transaction.on_commit(lambda: usage_file_process_task.delay(pk), robust=True)


class UsageFileRetryPartsView(ConsoleActionView):
    """Queue a split file's failed parts, and those whose worker stopped, again."""

    model = UsageFile
    permission_action = "retry"
    verb = "Retry the failed or stopped parts"
    explanation = (
        "A failed part, or one whose worker stopped before it finished, was rolled back alone: "
        "nothing of it was written, and the file's other parts are kept. Its records are read "
        "and rated again by a worker; a part never counts twice."
    )

    def get_queryset(self):
        return usage_files_visible_to(self.request.user)

    def perform(self, usage_file):
        # The service committed the parts' new status: each is dispatched at once.
        for part_id in usage_file_parts_retry(usage_file=usage_file, acting_user=self.request.user):
            usage_file_part_process_task.delay(part_id)


class UsageFileDownloadView(ModelPermissionMixin, generic.View):
    """The file exactly as it was received (kept in every case, R16)."""

    model = UsageFile

    def get(self, request, pk):
        usage_file = get_object_or_404(usage_files_visible_to(request.user), pk=pk)
        # The file as received holds every brand's records.
        require_every_brand(request.user, "a host network's usage file")
        try:
            handle = usage_file_content_open(usage_file=usage_file)
        except StoredContentMissing as missing:
            messages.error(request, str(missing))
            return HttpResponseRedirect(usage_file.get_absolute_url())
        return FileResponse(
            handle,
            as_attachment=True,
            filename=usage_file.name,
            content_type=usage_file_content_type(usage_file=usage_file),
        )


class UsageFileUploadView(ModelPermissionMixin, generic.FormView):
    """Receive a usage file from the console; it is processed by a Celery task after commit."""

    model = UsageFile
    permission_action = "add"
    form_class = UsageFileUploadForm
    template_name = "charging/form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            # A host network's file charges every brand it names (README, brand scoping).
            require_every_brand(request.user, "a host network's usage file")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Upload a usage file",
            intro=(
                "A host network's CDR file, plain CSV or gzip. A file whose bytes were received "
                "before is refused as a duplicate (R17); one whose trailer does not count its "
                "records is quarantined whole (R18). Otherwise it is read, checked and rated "
                "in the background: its page shows the counts when it is done."
            ),
            submit_label="Upload",
            cancel_url=reverse("charging:usagefile-list"),
        )
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            usage_file = usage_file_receive(
                name=upload.clean_name,
                content=upload,
                origin=FileOrigin.UPLOAD,
                acting_user=self.request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        if usage_file.status == FileStatus.PROCESSING:
            pk = usage_file.pk
            transaction.on_commit(lambda: usage_file_process_task.delay(pk), robust=True)
            messages.success(
                self.request, f"{usage_file.name} received; its status and counts are below."
            )
        elif usage_file.status == FileStatus.DUPLICATE:
            messages.warning(
                self.request, f"{usage_file.name} was refused: {usage_file.status_detail}"
            )
        else:
            messages.warning(
                self.request,
                f"{usage_file.name} is {usage_file.status}: {usage_file.status_detail}",
            )
        return HttpResponseRedirect(usage_file.get_absolute_url())


# --- rejected records -----------------------------------------------------------------------


class RejectedRecordListView(ConsoleListView):
    model = RejectedRecord
    table_class = RejectedRecordTable
    filterset_class = RejectedRecordFilter
    title = "Rejected records"

    def get_queryset(self):
        return (
            rejected_records_visible_to(self.request.user)
            .select_related("usage_file")
            .order_by("-usage_file__received_at", "usage_file_id", "line_number")
        )


class RejectedRecordDetailView(ConsoleDetailView):
    model = RejectedRecord
    template_name = "charging/rejectedrecord_detail.html"
    fields = ["record_id", "line_number", "reason", "detail", "status", "reprocessed_at"]

    def get_queryset(self):
        return rejected_records_visible_to(self.request.user).select_related(
            "usage_file", "usage_event", "reprocessed_by"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        record = self.object
        is_open = record.status == RejectStatus.OPEN
        can_change = self.can("change")
        context.update(
            title=f"Rejected record {record.usage_file.name}:{record.line_number}",
            reason_label=dict(record._meta.get_field("reason").choices).get(record.reason, ""),
            can_act=is_open and can_change,
            reprocess_form=kwargs.get("reprocess_form")
            or RejectedRecordReprocessForm(
                initial={"corrected_raw": record.corrected_raw or record.raw}
            ),
            discard_form=kwargs.get("discard_form") or RejectedRecordDiscardForm(),
        )
        return context


class RejectedRecordActionView(ModelPermissionMixin, SingleObjectMixin, generic.View):
    """A POST on a rejected record (reprocess, discard); the answer is a message on its page."""

    model = RejectedRecord
    permission_action = "change"
    http_method_names = ["post"]

    def get_queryset(self):
        return rejected_records_visible_to(self.request.user)

    def detail_url(self) -> str:
        return reverse("charging:rejectedrecord-detail", args=[self.object.pk])

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = self.form_class(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                for error in errors:
                    messages.error(request, f"{label}: {error}" if label else error)
            return HttpResponseRedirect(self.detail_url())
        try:
            self.perform(form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        return HttpResponseRedirect(self.detail_url())


class RejectedRecordReprocessView(RejectedRecordActionView):
    """Process the record again, corrected or as it was (R16): accepted once at most."""

    form_class = RejectedRecordReprocessForm

    def perform(self, data):
        corrected = data["corrected_raw"]
        if "as_is" in self.request.POST or not corrected or corrected == self.object.raw:
            corrected = None
        record = rejected_record_reprocess(
            rejected_record=self.object, corrected_raw=corrected, acting_user=self.request.user
        )
        if record.status == RejectStatus.REPROCESSED:
            event = record.usage_event
            rating = (
                f"rated {event.retail_amount} {event.currency}"
                if event.rating_status == "rated"
                else f"in the rating error queue ({event.rating_error})"
            )
            messages.success(self.request, f"Accepted as usage event {event}: {rating}.")
        else:
            messages.warning(
                self.request, f"Rejected again: {record.reason} — {record.detail}".rstrip(" —")
            )


class RejectedRecordDiscardView(RejectedRecordActionView):
    """Close the record for good, saying why; it will never be charged."""

    form_class = RejectedRecordDiscardForm

    def perform(self, data):
        rejected_record_discard(
            rejected_record=self.object, reason=data["reason"], acting_user=self.request.user
        )
        messages.success(self.request, f"Discarded: {data['reason']}")


class SequenceGapListView(ConsoleListView):
    """Files of a source whose sequence numbers never arrived: each is a missing file (R16)."""

    model = SequenceGap
    table_class = SequenceGapTable
    filterset_class = SequenceGapFilter
    title = "Missing files (sequence gaps)"
    export_name = "sequence-gaps"

    def get_queryset(self):
        return (
            sequence_gaps_visible_to(self.request.user)
            .select_related("detected_in")
            .order_by("resolved_at", "source", "missing_from")
        )
