"""REST API of charging under /api/v1/charging/, named after TM Forum TMF635 where it applies.

- ``usageFile``: host-network CDR files. POST a multipart ``file`` to receive one: a new file
  is 202 (read, checked and rated in the background, after commit); a file whose bytes came
  before is refused before reading (R17): 409, the error body carrying the refused file with
  its ``duplicateOf``; a file held whole, quarantined (R18) or unreadable, is 201 with its
  ``status`` and ``statusDetail``. ``usageFile/{id}/content`` is the file as received.
- ``sequenceGap``: sequence numbers of a source that never arrived (a missing file).
- ``usage`` (TMF635): usage events with their retail and wholesale rating. POST a batch of
  normalised records as JSON (``charging.usage_json``): 201 with each record's outcome.
- ``ratingError``: the error queue (R7); ``ratingError/rerate`` rates a window of it again.
- ``rejectedRecord``: records not accepted (R16), to ``reprocess`` or ``discard``.
- ``rerateJob``: rerating after a catalogue correction (R15), its progress and ``changes``.

Reading is for every role. Receiving usage, reprocessing, discarding and rerating need the
charging add/change permissions (operator, admin). Usage is brand-scoped through
``subscribers.selectors``; files and rejected records belong to a host network, not a brand,
and are shown to everyone who reads, as on the console. The POSTs that rate (a file, a batch, a
reprocessing, a rerating) honour an ``Idempotency-Key`` (core.idempotency).
"""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from charging.api import filters
from charging.api import serializers as api
from charging.models import (
    FileOrigin,
    FileStatus,
    RatingStatus,
    RejectedRecord,
    RerateChange,
    RerateJob,
    RerateScope,
    SequenceGap,
    UsageEvent,
    UsageFile,
)
from charging.online.models import ChargingNotification, ChargingSession
from charging.online.selectors import (
    charging_notifications_visible_to,
    charging_sessions_visible_to,
)
from charging.partitions import usage_file_parts_retry
from charging.rerating import rerate_job_create
from charging.selectors import (
    StoredContentMissing,
    rejected_records_visible_to,
    sequence_gaps_visible_to,
    usage_file_content_open,
    usage_file_content_type,
    usage_files_visible_to,
    usage_files_with_stalled,
)
from charging.services import (
    rejected_record_discard,
    rejected_record_reprocess,
    usage_file_receive,
    usage_file_retry,
)
from charging.tasks import usage_file_part_process_task, usage_file_process_task
from charging.usage_json import usage_batch_ingest
from charging.views.base import rerate_jobs_visible_to, usage_events_visible_to
from core.api.errors import error_body
from core.api.parsers import NestedJSONParser
from core.idempotency import idempotent
from subscribers.api.views import read_input, schema_run, service_errors
from subscribers.selectors import brands_of

ADD_RERATE_JOB = "charging.add_reratejob"
CHANGE_REJECTED_RECORD = "charging.change_rejectedrecord"
RETRY_USAGE_FILE = "charging.retry_usagefile"

# Service field names whose JSON name is not simply their camelCase.
FIELD_NAMES = {
    "start": "startDateTime",
    "end": "endDateTime",
    "subscription": "product",
    "billing_account": "billingAccount",
    "corrected_raw": "correctedRecord",
    "errors_only": "errorsOnly",
}
BRAND_LIMITED = "you are limited to some brands: this acts on every brand's subscribers"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "CONFLICT"
    default_detail = "Another request changed the same records at the same time; send it again."


class FileNegotiation(BaseContentNegotiation):
    """Answer a download with the file whatever the Accept header asks; errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def refuse_brand_limited(user) -> None:
    """Refuse a user limited to some brands an action on every brand's usage."""
    if brands_of(user) is not None:
        raise PermissionDenied(BRAND_LIMITED)


class ChargingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read a resource the user may see; subclasses add writes."""

    # Actions set the permission they need (core.api.permissions.RolePermissions).
    required_permission: str | None = None
    lookup_value_regex = r"[0-9]+"
    filter_backends = [DjangoFilterBackend]
    model = None

    def get_queryset(self):
        if schema_run(self):
            return self.model.objects.none()
        return self.visible(self.request.user)

    def visible(self, user):
        """The objects the user may see."""
        raise NotImplementedError

    def represent(self, obj, status_code: int = status.HTTP_200_OK, serializer_class=None):
        """Answer with the resource as a read would show it."""
        obj = self.visible(self.request.user).get(pk=obj.pk)
        serializer_class = serializer_class or self.serializer_class
        body = serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code)


# --- usage files ----------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": api.UsageFileInput},
        responses={
            202: OpenApiResponse(
                api.UsageFileSerializer, description="received; processed in the background"
            ),
            201: OpenApiResponse(
                api.UsageFileSerializer,
                description="kept but held: quarantined (R18) or failed; statusDetail says why",
            ),
            409: OpenApiResponse(
                api.DuplicateFileErrorSerializer,
                description="refused: the same bytes arrived before (R17)",
            ),
        },
        description="Receive a host network's usage file (multipart field `file`, plain CSV or "
        "gzip, named CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv[.gz]). Send an Idempotency-Key "
        "to make a retry safe. Refused (403) to users limited to some brands: a host network's "
        "file charges every brand it names.",
    ),
)
class UsageFileViewSet(ChargingViewSet):
    """Usage files as received, with their counts: read = accepted + rejected + duplicates."""

    model = UsageFile
    serializer_class = api.UsageFileSerializer
    filterset_class = filters.UsageFileFilter
    parser_classes = [MultiPartParser, FormParser]
    http_method_names = ["get", "post", "head", "options"]

    def visible(self, user):
        return usage_files_with_stalled(usage_files_visible_to(user)).select_related(
            "host_network", "duplicate_of", "received_by"
        )

    @extend_schema(
        request=None,
        responses={202: api.UsageFileSerializer},
        description="Hand a file left processing by a worker that stopped (stalled: true, no "
        "live worker holds it) back to the workers. Nothing of the stopped attempt was written: "
        "the file is read and rated again from the start, no record charged twice. A file rated "
        "in parts is retried with retryParts. 400 when the file is not stalled (processed, or "
        "held by a live worker). Refused (403) to users limited to some brands. Send an "
        "Idempotency-Key to make a retry safe.",
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        required_permission=RETRY_USAGE_FILE,
        filter_backends=[],
        pagination_class=None,
    )
    @idempotent
    def retry(self, request, pk=None):
        usage_file = self.get_object()
        refuse_brand_limited(request.user)
        with service_errors(FIELD_NAMES):
            usage_file = usage_file_retry(usage_file=usage_file, acting_user=request.user)
        pk = usage_file.pk
        transaction.on_commit(lambda: usage_file_process_task.delay(pk), robust=True)
        return self.represent(usage_file, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: api.UsageFileSerializer},
        description="Queue again the parts of a split file that failed or whose worker stopped "
        "(part stalled: true). Each was rolled back alone; the other parts are kept. 400 when "
        "no part is to retry. Refused (403) to users limited to some brands. Send an "
        "Idempotency-Key to make a retry safe.",
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="retryParts",
        required_permission=RETRY_USAGE_FILE,
        filter_backends=[],
        pagination_class=None,
    )
    @idempotent
    def retry_parts(self, request, pk=None):
        usage_file = self.get_object()
        refuse_brand_limited(request.user)
        with service_errors(FIELD_NAMES):
            part_ids = usage_file_parts_retry(usage_file=usage_file, acting_user=request.user)
        for part_id in part_ids:
            transaction.on_commit(
                lambda part_id=part_id: usage_file_part_process_task.delay(part_id), robust=True
            )
        return self.represent(usage_file, status.HTTP_202_ACCEPTED)

    @idempotent
    def create(self, request, *args, **kwargs):
        refuse_brand_limited(request.user)
        data = read_input(api.UsageFileInput, request)
        upload = data["file"]
        with service_errors(FIELD_NAMES):
            usage_file = usage_file_receive(
                name=upload.clean_name,
                content=upload,
                origin=FileOrigin.API,
                acting_user=request.user,
            )
        if usage_file.status == FileStatus.DUPLICATE:
            body = error_body(409, "DUPLICATE_FILE", usage_file.status_detail)
            body["usageFile"] = self.represent(usage_file).data
            return Response(body, status=status.HTTP_409_CONFLICT)
        if usage_file.status != FileStatus.PROCESSING:
            return self.represent(usage_file, status.HTTP_201_CREATED)
        pk = usage_file.pk
        transaction.on_commit(lambda: usage_file_process_task.delay(pk), robust=True)
        return self.represent(usage_file, status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
            for media_type, description in (
                ("text/csv", "a usage file as received"),
                ("application/gzip", "a .csv.gz usage file as received"),
                ("application/json", "a batch of usage records as received (its JSON)"),
            )
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        content_negotiation_class=FileNegotiation,
    )
    def content(self, request, pk=None):
        """Download the file exactly as it was received (kept in every case, R16).

        Refused (403) to users limited to some brands: the file holds every brand's records.
        """
        usage_file = self.get_object()
        refuse_brand_limited(request.user)  # the file holds every brand's records
        try:
            handle = usage_file_content_open(usage_file=usage_file)
        except StoredContentMissing as missing:
            body = error_body(410, "CONTENT_MISSING", str(missing))
            return Response(body, status=status.HTTP_410_GONE, content_type="application/json")
        return FileResponse(
            handle,
            as_attachment=True,
            filename=usage_file.name,
            content_type=usage_file_content_type(usage_file=usage_file),
        )


class SequenceGapViewSet(ChargingViewSet):
    """Sequence numbers of a source that never arrived: a missing file (R16)."""

    model = SequenceGap
    serializer_class = api.SequenceGapSerializer
    filterset_class = filters.SequenceGapFilter

    def visible(self, user):
        return sequence_gaps_visible_to(user).select_related("detected_in")


# --- TMF635 usage ---------------------------------------------------------------------------


def usage_events(user):
    """The usage events a user may see (brand scoping), with what their JSON refers to."""
    return usage_events_visible_to(user).select_related(
        "subscription",
        "billing_account__customer",
        "usage_file",
        "plan_version__plan",
        "rate_row",
        "wholesale_rate_row",
    )


@extend_schema_view(
    create=extend_schema(
        request=api.UsageBatchInput,
        responses={201: api.UsageBatchSerializer},
        description="Receive a batch of normalised usage records (at most 10,000), checked by "
        "the rules of a usage file's lines and rated by the same engine (R23). Every record "
        "ends rated, in the error queue, rejected with its reason, or counted as a duplicate "
        "(R16, R17); the batch is kept as a usage file of origin api. Send an "
        "Idempotency-Key to make a retry safe. Refused (403) to users limited to some brands.",
    ),
)
class UsageViewSet(ChargingViewSet):
    """Usage (TMF635): events with their retail and wholesale rating (R7-R14).

    Find a subscriber's usage with ``?msisdn=`` or ``?product=``, a file's with
    ``?usageFile=``, a window with ``?startDateTime=&endDateTime=``.
    """

    model = UsageEvent
    serializer_class = api.UsageSerializer
    filterset_class = filters.UsageFilter
    http_method_names = ["get", "post", "head", "options"]
    # A batch's records are checked one by one: one holding a NUL is rejected and kept (R16).
    parser_classes = [NestedJSONParser]

    def visible(self, user):
        return usage_events(user)

    @idempotent
    def create(self, request, *args, **kwargs):
        refuse_brand_limited(request.user)
        data = read_input(api.UsageBatchInput, request)
        try:
            with service_errors(FIELD_NAMES):
                result = usage_batch_ingest(
                    source=data["source"], records=data["usage"], acting_user=request.user
                )
        except IntegrityError as error:
            raise Conflict() from error
        body = api.UsageBatchSerializer(result, context=self.get_serializer_context()).data
        headers = {"Location": body["usageFile"]["href"]} if body["usageFile"]["href"] else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


@extend_schema_view(
    list=extend_schema(description="Usage events waiting in the rating error queue (R7)."),
)
class RatingErrorViewSet(ChargingViewSet):
    """The rating error queue: accepted events the engine could not rate, with their code (R7).

    Each is a TMF635 usage with ``status`` ``ratingError``; filter by ``code`` and window.
    """

    model = UsageEvent
    serializer_class = api.UsageSerializer
    filterset_class = filters.RatingErrorFilter

    def visible(self, user):
        return usage_events(user).filter(rating_status=RatingStatus.ERROR)

    @extend_schema(
        request=api.WindowInput,
        responses={202: api.RerateJobSerializer},
        description="Rate again every event of the window waiting in the error queue, with the "
        "catalogue as it is now (R15): a rerating job of every subscriber, errors only. "
        "Refused (403) to users limited to some brands. Send an Idempotency-Key to make a "
        "retry safe.",
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        required_permission=ADD_RERATE_JOB,
        filter_backends=[],
        pagination_class=None,
    )
    @idempotent
    def rerate(self, request):
        refuse_brand_limited(request.user)
        data = read_input(api.WindowInput, request)
        with service_errors(FIELD_NAMES):
            job = rerate_job_create(
                scope=RerateScope.PERIOD,
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
                errors_only=True,
                acting_user=request.user,
            )
        body = api.RerateJobSerializer(job, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


# --- rejected records -----------------------------------------------------------------------


class RejectedRecordViewSet(ChargingViewSet):
    """Records not accepted, kept with their line, raw text and reason (R16, R19).

    ``reprocess`` processes one again, corrected or as it was: accepted, it becomes a usage
    event once at most; rejected again, it stays open with the new reason. ``discard`` closes
    it for good, saying why.
    """

    model = RejectedRecord
    serializer_class = api.RejectedRecordSerializer
    filterset_class = filters.RejectedRecordFilter

    def visible(self, user):
        return rejected_records_visible_to(user).select_related(
            "usage_file", "usage_event", "reprocessed_by"
        )

    @extend_schema(
        request=api.CorrectedRecordInput,
        responses={200: api.RejectedRecordSerializer},
        description="Process the record again, with correctedRecord (one CSV line of 14 "
        "fields) or as it was. The answer says whether it was accepted (status reprocessed, "
        "with its usage) or rejected again (status open, with the new reason). Send an "
        "Idempotency-Key to make a retry safe.",
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        required_permission=CHANGE_REJECTED_RECORD,
        filter_backends=[],
        pagination_class=None,
    )
    @idempotent
    def reprocess(self, request, pk=None):
        record = self.get_object()
        data = read_input(api.CorrectedRecordInput, request)
        corrected = data.get("corrected_raw") or None
        if corrected == record.raw:
            corrected = None
        with service_errors(FIELD_NAMES):
            record = rejected_record_reprocess(
                rejected_record=record, corrected_raw=corrected, acting_user=request.user
            )
        return self.represent(record)

    @extend_schema(
        request=api.DiscardInput,
        responses={200: api.RejectedRecordSerializer},
        description="Close the record for good (test traffic, a network error): it will never "
        "be charged.",
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        required_permission=CHANGE_REJECTED_RECORD,
        filter_backends=[],
        pagination_class=None,
    )
    def discard(self, request, pk=None):
        record = self.get_object()
        data = read_input(api.DiscardInput, request)
        with service_errors(FIELD_NAMES):
            record = rejected_record_discard(
                rejected_record=record, reason=data["reason"], acting_user=request.user
            )
        return self.represent(record)


# --- rerating -------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        request=api.RerateJobInput,
        responses={202: api.RerateJobSerializer},
        description="Queue a rerating of [startDateTime, endDateTime) for one product, one "
        "billing account or every subscriber (scope period, not for users limited to some "
        "brands), after a catalogue correction (R15). It runs in the background; follow its "
        "progress on its href. Send an Idempotency-Key to make a retry safe.",
    ),
)
class RerateJobViewSet(ChargingViewSet):
    """Rerating jobs (R15): a window of usage rated again, with amounts before and after."""

    model = RerateJob
    serializer_class = api.RerateJobSerializer
    filterset_class = filters.RerateJobFilter
    http_method_names = ["get", "post", "head", "options"]

    def visible(self, user):
        return rerate_jobs_visible_to(user)

    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(api.RerateJobInput, request)
        if data["scope"] == RerateScope.PERIOD and brands_of(request.user) is not None:
            raise serializers.ValidationError(
                {"scope": ["you are limited to some brands: rerate one product or one account"]}
            )
        with service_errors(FIELD_NAMES):
            job = rerate_job_create(
                scope=data["scope"],
                start=data["start"],
                end=data["end"],
                reason=data["reason"],
                subscription=data.get("subscription"),
                billing_account=data.get("billing_account"),
                errors_only=data["errors_only"],
                acting_user=request.user,
            )
        return self.represent(job, status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: api.RerateChangeSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def changes(self, request, pk=None):
        """The events this job changed, with status and amounts before and after (R15)."""
        job = self.get_object()
        changes = RerateChange.objects.filter(job=job).select_related("usage_event")
        if brands_of(request.user) is not None:
            changes = changes.filter(usage_event__in=usage_events_visible_to(request.user))
        changes = changes.order_by("usage_event__started_at", "id")
        page = self.paginate_queryset(changes)
        body = api.RerateChangeSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(body)


# --- online charging ------------------------------------------------------------------------


class ChargingSessionViewSet(ChargingViewSet):
    """Online charging sessions (R20-R22) and their reservations; read only.

    Host networks reach the charging service through its own front doors (the Nchf
    ConvergedCharging API under /nchf-convergedcharging/v3/), not through this API.
    """

    model = ChargingSession
    serializer_class = api.ChargingSessionSerializer
    filterset_class = filters.ChargingSessionFilter

    def visible(self, user):
        return charging_sessions_visible_to(user).prefetch_related("reservations")


class ChargingNotificationViewSet(ChargingViewSet):
    """Thresholds told to subscribers (allowances, fair use R13, low balance); read only."""

    model = ChargingNotification
    serializer_class = api.ChargingNotificationSerializer
    filterset_class = filters.ChargingNotificationFilter

    def visible(self, user):
        return charging_notifications_visible_to(user)
