"""REST API of the settlement, under /api/v1/settlement/: partners, agreements (TMF651),
settlement runs, statements as TMF678-like bills (partnerBill) with their PDF, the host
network's invoices reconciled, dispute items with their evidence, and the margin of a month.

Everyone who reads may read (brand-scoped through the partner's brand: another brand's object
is a 404); writes need the settlement permissions of finance.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.serializers import ValidationError

from core.idempotency import idempotent
from settlement import evidence, selectors, services
from settlement.api import serializers as api
from settlement.documents import statement_pdf
from settlement.models import (
    Agreement,
    DisputeItem,
    Partner,
    Reconciliation,
    SettlementRun,
    Statement,
    StatementStatus,
)
from subscribers.api.views import read_input, schema_run, service_errors
from subscribers.selectors import brands_of

CHANGE_STATEMENT = "settlement.change_statement"
FIELD_NAMES = {"kind": "role", "host_network": "hostNetwork", "partner_brand": "partnerBrand",
               "effective_to": "endDate", "status": "state"}  # fmt: skip


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read what the user's brands allow; actions name the permission they need."""

    required_permission: str | dict | None = None
    lookup_value_regex = r"[0-9]+"
    model = None

    def get_queryset(self):
        if schema_run(self):
            return self.model.objects.none()
        return self.visible(self.request.user).order_by("-pk")

    def represent(self, obj, status_code=status.HTTP_200_OK):
        obj = self.visible(self.request.user).get(pk=obj.pk)
        body = self.serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    def own_partner(self, partner: Partner) -> Partner:
        if not selectors.partners_visible_to(self.request.user).filter(pk=partner.pk).exists():
            raise ValidationError({"partner": ["no such partner"]})
        return partner


class PartnerViewSet(ReadViewSet):
    """Partners: host networks, carriers, content providers, resellers, hosted brands."""

    model = Partner
    serializer_class = api.PartnerSerializer

    def visible(self, user):
        return selectors.partners_visible_to(user)

    @extend_schema(request=api.PartnerInput, responses={201: api.PartnerSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(api.PartnerInput, request)
        brands = brands_of(request.user)
        if brands is not None and data["brand"].pk not in brands:
            raise ValidationError({"brand": ["no such brand"]})
        with service_errors(FIELD_NAMES):
            partner = services.partner_save(acting_user=request.user, **data)
        return self.represent(partner, status.HTTP_201_CREATED)


class AgreementViewSet(ReadViewSet):
    """Partner agreements (TMF651 agreement), effective-dated."""

    model = Agreement
    serializer_class = api.AgreementSerializer

    def visible(self, user):
        return selectors.agreements_visible_to(user)

    @extend_schema(request=api.AgreementInput, responses={201: api.AgreementSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(api.AgreementInput, request)
        self.own_partner(data["partner"])
        with service_errors(FIELD_NAMES):
            agreement = services.agreement_save(acting_user=request.user, **data)
        return self.represent(agreement, status.HTTP_201_CREATED)


class SettlementRunViewSet(ReadViewSet):
    """Settlement runs: one per partner and month, computed by a background job."""

    model = SettlementRun
    serializer_class = api.SettlementRunSerializer

    def visible(self, user):
        return selectors.runs_visible_to(user)

    @extend_schema(
        request=api.SettlementRunInput,
        responses={202: api.SettlementRunSerializer},
        description="Start (or rerun) a partner's settlement of a month: a background job; a "
        "draft statement is rewritten, an issued one stays (R31, R32).",
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(api.SettlementRunInput, request)
        partner = self.own_partner(data["partner"])
        with service_errors(FIELD_NAMES):
            run = services.settlement_run_create(
                partner=partner, year=data["year"], month=data["month"], acting_user=request.user
            )
        return self.represent(run, status.HTTP_202_ACCEPTED)


class PartnerBillViewSet(ReadViewSet):
    """Settlement statements as TMF678-like bills: issue, agree, dispute, download."""

    model = Statement
    serializer_class = api.PartnerBillSerializer

    def visible(self, user):
        return selectors.statements_visible_to(user)

    def get_permissions(self):
        if self.action in ("issue", "agree", "dispute"):
            self.required_permission = CHANGE_STATEMENT
        return super().get_permissions()

    @extend_schema(
        request=None,
        responses={200: api.PartnerBillSerializer},
        description="Issue a draft statement: numbered, announced, rendered.",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def issue(self, request, pk=None):
        with service_errors(FIELD_NAMES):
            statement = services.statement_issue(
                statement=self.get_object(), acting_user=request.user
            )
        return self.represent(statement)

    @extend_schema(
        request=api.BillDecisionInput,
        responses={200: api.PartnerBillSerializer},
        description="Record that the partner agreed to an issued statement.",
    )
    @action(detail=True, methods=["post"])
    def agree(self, request, pk=None):
        data = read_input(api.BillDecisionInput, request)
        with service_errors(FIELD_NAMES):
            statement = services.statement_decide(
                statement=self.get_object(), agreed=True, note=data["note"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(statement)

    @extend_schema(
        request=api.BillDecisionInput,
        responses={200: api.PartnerBillSerializer},
        description="Record that the partner disputes an issued statement (why).",
    )
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        data = read_input(api.BillDecisionInput, request)
        with service_errors(FIELD_NAMES):
            statement = services.statement_decide(
                statement=self.get_object(), agreed=False, note=data["note"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(statement)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description="The statement's PDF: an issued one's stored file, a draft's preview.",
    )
    @action(detail=True, methods=["get"])
    def document(self, request, pk=None):
        statement = self.get_object()
        if statement.status != StatementStatus.DRAFT and statement.pdf:
            with statement.pdf.open("rb") as handle:
                content = handle.read()
        else:
            content = statement_pdf(statement)
        response = HttpResponse(content, content_type="application/pdf")
        name = statement.number or f"statement-draft-{statement.pk}"
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response


class ReconciliationViewSet(ReadViewSet):
    """A host network's invoice (CSV, docs/settlement.md) matched against our figures (R31)."""

    model = Reconciliation
    serializer_class = api.ReconciliationSerializer

    def visible(self, user):
        return selectors.reconciliations_visible_to(user)

    @extend_schema(request=api.ReconciliationInput, responses={201: api.ReconciliationSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(api.ReconciliationInput, request)
        partner = self.own_partner(data["partner"])
        with service_errors({**FIELD_NAMES, "file": "content"}):
            reconciliation = services.reconciliation_import(
                partner=partner, content=data["content"].encode(), file_name=data["fileName"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(reconciliation, status.HTTP_201_CREATED)


class DisputeItemViewSet(ReadViewSet):
    """Dispute items: decide them, download the events behind them."""

    model = DisputeItem
    serializer_class = api.DisputeItemSerializer

    def visible(self, user):
        return selectors.disputes_visible_to(user)

    def get_permissions(self):
        if self.action == "decide":
            self.required_permission = "settlement.change_disputeitem"
        return super().get_permissions()

    @extend_schema(request=api.DisputeDecisionInput, responses={200: api.DisputeItemSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def decide(self, request, pk=None):
        data = read_input(api.DisputeDecisionInput, request)
        with service_errors(FIELD_NAMES):
            dispute = services.dispute_decide(
                dispute=self.get_object(), status=data["state"], note=data["note"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(dispute)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv", "xlsx"])],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="The events behind our figure, as CSV (default) or XLSX.",
    )
    @action(detail=True, methods=["get"])
    def evidence(self, request, pk=None):
        dispute = self.get_object()
        name = f"dispute-{dispute.pk}"
        if request.query_params.get("format") == "xlsx":
            response = HttpResponse(
                evidence.evidence_xlsx(dispute),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
            return response
        response = HttpResponse(evidence.evidence_csv(dispute), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


class MarginViewSet(viewsets.GenericViewSet):
    """The margin of a month per plan, brand or partner (retail invoiced − wholesale)."""

    required_permission = "settlement.view_statement"
    serializer_class = None
    queryset = Statement.objects.none()  # for the schema: the rows come from the selector

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, required=True),
            OpenApiParameter("month", int, required=True),
            OpenApiParameter("dimension", str, enum=list(selectors.DIMENSIONS)),
        ],
        responses={200: OpenApiResponse(description="rows of the margin")},
    )
    def list(self, request):
        query = request.query_params
        errors = {}
        try:
            year = int(query.get("year", ""))
            if not 2000 <= year <= 2100:
                raise ValueError
        except ValueError:
            errors["year"] = ["a year between 2000 and 2100"]
        try:
            month = int(query.get("month", ""))
            if not 1 <= month <= 12:
                raise ValueError
        except ValueError:
            errors["month"] = ["a month 1-12"]
        dimension = query.get("dimension", "plan")
        if dimension not in selectors.DIMENSIONS:
            errors["dimension"] = [f"one of {', '.join(selectors.DIMENSIONS)}"]
        if errors:
            raise ValidationError(errors)
        rows = selectors.margin(year=year, month=month, dimension=dimension, user=request.user)
        events = request.build_absolute_uri("/settlement/margin/events/")
        return Response(
            [
                {
                    "dimension": row.dimension,
                    "code": row.key,
                    "name": row.name,
                    "retail": str(row.retail),
                    "usageRetail": str(row.usage_retail),
                    "wholesale": str(row.wholesale),
                    "fees": str(row.fees),
                    "usageMargin": str(row.usage_margin),
                    "margin": str(row.margin),
                    "events": row.events,
                    "eventsHref": f"{events}?dimension={row.dimension}&key={row.key}"
                    f"&year={year}&month={month}",
                }  # fmt: skip
                for row in rows
            ]
        )
