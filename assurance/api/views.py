"""REST API of the assurance under /api/v1/assurance/, for BI tools.

- ``kpi`` (GET): the KPIs of a period (``?period=YYYY-MM``, default the dashboard's: the latest
  with invoices or usage of the caller's brands, else the last closed one),
  ``?plan=<id>`` for one plan; brand-scoped to the caller's brands.
- ``finding``: findings of reconciliation and leakage checks; filter by ``state``, ``kind``,
  ``period`` (YYYY-MM-DD); PATCH ``{"state", "comment", "owner"}`` (finance).
- ``reconciliation``: reconciliation runs with their rows; POST ``{"period": "YYYY-MM"}`` runs
  one (finance; users who see every brand: the usage chain is every brand's).
- ``whatIfRun``: what-if runs of draft plan versions; POST ``{"planVersion": id}`` runs one.
"""

import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from assurance import selectors, services
from assurance.models import Finding, Reconciliation, WhatIfRun
from catalog.models import PlanVersion
from catalog.selectors import brands_of
from core.idempotency import idempotent

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def _period(text: str | None, field: str = "period"):
    if not text:
        return selectors.last_closed_period()
    match = PERIOD.match(text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ApiValidationError({field: ["give the month as YYYY-MM"]})
    return selectors.period_of(year=int(match[1]), month=int(match[2]))


def _raise(error: ValidationError):
    raise ApiValidationError(getattr(error, "message_dict", {"detail": error.messages}))


class KpiView(APIView):
    """The KPIs of a period for the caller's brands."""

    required_permission = "assurance.view_finding"

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="YYYY-MM"),
            OpenApiParameter("plan", int),
        ],
        responses={200: dict},
    )
    def get(self, request):
        brands = brands_of(request.user)
        text = request.query_params.get("period")
        # With no period, the one the dashboard opens on, so that both show the same figures.
        period = _period(text) if text else selectors.default_period(brand_ids=brands)
        plan = request.query_params.get("plan")
        if plan is not None and not plan.isdigit():
            raise ApiValidationError({"plan": ["a plan id"]})
        return Response(selectors.kpis(period, brand_ids=brands, plan_id=int(plan or 0)).as_dict())


class FindingSerializer(serializers.ModelSerializer):
    href = serializers.SerializerMethodField()
    comments = serializers.SerializerMethodField()
    comment = serializers.CharField(write_only=True, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Finding
        fields = ["id", "href", "fingerprint", "kind", "brand", "period_start_date", "title",
                  "detail", "amount_at_risk", "currency", "record_count", "records", "state",
                  "owner", "first_seen_at", "last_seen_at", "fixed_at", "recurrences",
                  "comments", "comment"]  # fmt: skip
        read_only_fields = [name for name in fields if name not in ("state", "owner", "comment")]

    def get_href(self, obj) -> str:
        return f"/api/v1/assurance/finding/{obj.pk}"

    def get_comments(self, obj) -> list:
        return [
            {"author": c.author.username if c.author else "", "text": c.text,
             "createdAt": c.created_at.isoformat()}
            for c in obj.comments.all()
        ]  # fmt: skip


class FindingFilter(filters.FilterSet):
    period = filters.DateFilter(field_name="period_start_date")

    class Meta:
        model = Finding
        fields = ["state", "kind", "period"]


class FindingViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    serializer_class = FindingSerializer
    filterset_class = FindingFilter
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.findings_visible_to(self.request.user).prefetch_related("comments")

    def perform_update(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.finding_update(
                finding=serializer.instance, user=self.request.user, state=data.get("state"),
                owner=data.get("owner", ...), comment=data.get("comment", ""),
            )  # fmt: skip
        except ValidationError as error:
            _raise(error)


class ReconciliationSerializer(serializers.ModelSerializer):
    rows = serializers.SerializerMethodField()
    period = serializers.CharField(write_only=True)

    class Meta:
        model = Reconciliation
        fields = ["id", "period_start_date", "period_end_date", "currency", "balanced",
                  "findings", "seconds", "created_at", "trigger", "rows", "period"]  # fmt: skip
        read_only_fields = [name for name in fields if name != "period"]

    def get_rows(self, obj) -> list:
        rows = obj.rows.values(
            "source", "files_loaded", "files_duplicate", "files_quarantined", "sequence_gaps",
            "received", "accepted", "rejected", "duplicates", "rated", "in_error",
            "rated_retail", "invoiced_usage", "unbilled", "rounding", "difference",
            "wholesale",
        )  # fmt: skip
        return [
            {key: str(value) if isinstance(value, Decimal) else value for key, value in row.items()}
            for row in rows
        ]


class ReconciliationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    serializer_class = ReconciliationSerializer

    def get_queryset(self):
        return selectors.reconciliations_visible_to(self.request.user)

    @idempotent
    def create(self, request, *args, **kwargs):
        if brands_of(request.user) is not None:
            raise NotFound("the usage chain is every brand's: ask a user who sees every brand")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = _period(serializer.validated_data["period"])
        try:
            outcome = services.reconciliation_run(
                year=period.start_date.year, month=period.start_date.month, user=request.user
            )
        except ValidationError as error:
            _raise(error)
        body = self.get_serializer(outcome.reconciliation).data
        return Response(body, status=status.HTTP_201_CREATED)


class WhatIfSerializer(serializers.ModelSerializer):
    planVersion = serializers.IntegerField(write_only=True)

    class Meta:
        model = WhatIfRun
        fields = ["id", "plan_version", "brand", "period_start_date", "currency",
                  "subscriptions", "events", "errors", "retail_before", "retail_after",
                  "recurring_before", "recurring_after", "wholesale", "bill_shock",
                  "created_at", "planVersion"]  # fmt: skip
        read_only_fields = [name for name in fields if name != "planVersion"]


class WhatIfRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    serializer_class = WhatIfSerializer

    def get_queryset(self):
        return selectors.whatif_runs_visible_to(self.request.user)

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        versions = PlanVersion.objects.select_related("plan")
        brands = brands_of(request.user)
        if brands is not None:
            versions = versions.filter(plan__brand_id__in=brands)
        version = versions.filter(pk=serializer.validated_data["planVersion"]).first()
        if version is None:
            raise ApiValidationError({"planVersion": ["no such plan version"]})
        try:
            run = services.whatif_run(plan_version=version, user=request.user)
        except ValidationError as error:
            _raise(error)
        return Response(self.get_serializer(run).data, status=status.HTTP_201_CREATED)
