"""REST API of the invoicing under /api/v1/invoicing/, after TM Forum TMF678.

- ``customerBill``: invoices, credit notes and prepaid statements; filter by ``status``,
  ``category``, ``billingAccount``, ``billRun``, ``period`` (YYYY-MM-DD, the period's first
  day). Actions (POST): ``issue``, ``exclude``, ``include``, ``regenerate``, ``creditNote``
  (``{"reason", "amount"?, "taxRate"?}``), ``void`` (``{"reason"}``), ``render``;
  ``document`` (GET) is the stored PDF.
- ``appliedCustomerBillingRate``: the lines of bills; ``?bill=<id>``.
- ``billCycle``: bill cycles; POST creates one.
- ``billRun``: bill runs with their progress; POST starts one (202), ``issue`` issues it (202).
- ``dunningCase``: overdue invoices in dunning (R30) with the steps taken and the next one;
  filter by ``status``, ``billingAccount``, ``bill``.
- ``dunningPolicy``: the brands' dunning policies and their steps.
- ``dunningPause``: pauses of an account's dunning; POST ``{"billingAccount", "reason"}``
  pauses, ``resume`` (POST ``{"reason"}``) resumes.
- ``invoiceArchive``: a ZIP of a month's invoice PDFs; POST ``{"brand", "year", "month"}``
  asks for one (202), ``download`` (GET) is the file once ready.

Everyone who reads may read (brand-scoped); writes need the invoicing permissions of finance.
Every POST that moves money honours an ``Idempotency-Key`` (core.idempotency).
"""

from django.http import FileResponse, Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.idempotency import idempotent
from invoicing import downloads, dunning, selectors, services
from invoicing.api import serializers as api
from invoicing.models import (
    ArchiveStatus,
    BillCycle,
    BillRun,
    BillRunStatus,
    DocumentFormat,
    DunningCase,
    DunningCaseStatus,
    DunningHold,
    DunningPolicy,
    Invoice,
    InvoiceArchive,
    InvoiceLine,
    InvoiceStatus,
)
from subscribers.api.views import read_input, schema_run, service_errors

CHANGE_INVOICE = "invoicing.change_invoice"
FIELD_NAMES = {"tax_rate": "taxRate", "cycle_day": "billingDateShift"}
CATEGORIES = {value: key for key, value in api.BILL_CATEGORY.items()}


class CustomerBillFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=InvoiceStatus.choices)
    category = filters.ChoiceFilter(
        method="by_category", choices=[(v, v) for v in api.BILL_CATEGORY.values()]
    )
    billingAccount = filters.NumberFilter(field_name="billing_account_id")
    billRun = filters.NumberFilter(field_name="bill_run_id")
    period = filters.DateFilter(field_name="period_start_date")
    billNo = filters.CharFilter(field_name="number")

    class Meta:
        model = Invoice
        fields = ["status", "category", "billingAccount", "billRun", "period", "billNo"]

    def by_category(self, queryset, name, value):
        return queryset.filter(kind=CATEGORIES[value])


class BillingRateFilter(filters.FilterSet):
    bill = filters.NumberFilter(field_name="invoice_id")
    type = filters.CharFilter(field_name="kind")

    class Meta:
        model = InvoiceLine
        fields = ["bill", "type"]


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read what the user's brands allow; actions name the permission they need."""

    required_permission: str | dict | None = None
    lookup_value_regex = r"[0-9]+"
    filter_backends = [filters.DjangoFilterBackend]
    model = None

    def get_queryset(self):
        if schema_run(self):
            return self.model.objects.none()
        return self.visible(self.request.user)

    def represent(self, obj, status_code=status.HTTP_200_OK):
        obj = self.visible(self.request.user).get(pk=obj.pk)
        body = self.serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code)


def bill_action(*, request=None, description: str, status_code=200):
    return extend_schema(
        request=request,
        responses={status_code: api.CustomerBillSerializer},
        description=description,
    )


class CustomerBillViewSet(ReadViewSet):
    """Bills (TMF678 customerBill): review drafts, issue, credit, void, download."""

    model = Invoice
    serializer_class = api.CustomerBillSerializer
    filterset_class = CustomerBillFilter

    def get_permissions(self):
        if self.action not in ("list", "retrieve", "document"):
            self.required_permission = CHANGE_INVOICE
        return super().get_permissions()

    def visible(self, user):
        return (
            selectors.invoices_visible_to(user)
            .select_related("corrects", "bill_run")
            .prefetch_related("taxes", "documents")
            .order_by("-period_start_date", "pk")
        )

    @bill_action(description="Issue a draft: it gets its number (R27) and is final (R28).")
    @action(detail=True, methods=["post"])
    @idempotent
    def issue(self, request, pk=None):
        with service_errors(FIELD_NAMES):
            invoice = services.invoice_issue(invoice=self.get_object(), acting_user=request.user)
        return self.represent(invoice)

    @bill_action(description="Keep a draft out of its run's issuing.")
    @action(detail=True, methods=["post"])
    def exclude(self, request, pk=None):
        with service_errors(FIELD_NAMES):
            invoice = services.invoice_exclude(invoice=self.get_object(), acting_user=request.user)
        return self.represent(invoice)

    @bill_action(description="Put an excluded draft back into its run.")
    @action(detail=True, methods=["post"])
    def include(self, request, pk=None):
        with service_errors(FIELD_NAMES):
            invoice = services.invoice_include(invoice=self.get_object(), acting_user=request.user)
        return self.represent(invoice)

    @extend_schema(
        request=None,
        responses={200: api.CustomerBillSerializer, 204: OpenApiResponse(description="nothing")},
        description="Compute a draft again from the account's current data (a new draft); 204 "
        "when the account has nothing to bill any more.",
    )
    @action(detail=True, methods=["post"])
    def regenerate(self, request, pk=None):
        with service_errors(FIELD_NAMES):
            invoice = services.invoice_regenerate(
                invoice=self.get_object(), acting_user=request.user
            )
        if invoice is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self.represent(invoice)

    @bill_action(
        request=api.CreditNoteInput,
        status_code=201,
        description="Issue a credit note for an issued bill, whole or in part (R28).",
    )
    @action(detail=True, methods=["post"], url_path="creditNote")
    @idempotent
    def credit_note(self, request, pk=None):
        invoice = self.get_object()
        data = read_input(api.CreditNoteInput, request)
        amount = data.get("amount")
        if amount is not None and amount.unit != invoice.currency:
            from rest_framework.serializers import ValidationError

            raise ValidationError(
                {"amount.unit": [f"the bill is in {invoice.currency}, not {amount.unit}"]}
            )
        with service_errors(FIELD_NAMES):
            note = services.credit_note_create(
                invoice=invoice,
                reason=data["reason"],
                amount=amount.value if amount is not None else None,
                tax_rate=data.get("taxRate"),
                acting_user=request.user,
            )
        return self.represent(note, status.HTTP_201_CREATED)

    @bill_action(
        request=api.VoidInput,
        description="Void an issued bill: it keeps its number; a full credit note cancels it.",
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def void(self, request, pk=None):
        invoice = self.get_object()
        data = read_input(api.VoidInput, request)
        with service_errors(FIELD_NAMES):
            invoice = services.invoice_void(
                invoice=invoice, reason=data["reason"], acting_user=request.user
            )
        return self.represent(invoice)

    @extend_schema(
        request=None,
        responses={202: api.CustomerBillSerializer},
        description="Render the bill's PDF again (a background job).",
    )
    @action(detail=True, methods=["post"])
    def render(self, request, pk=None):
        from invoicing.tasks import invoice_document_render_task

        invoice = self.get_object()
        if not invoice.is_final:
            from rest_framework.serializers import ValidationError

            raise ValidationError({"status": ["only an issued bill has a document"]})
        invoice_document_render_task.delay(invoice.pk, True)
        return self.represent(invoice, status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind",
                enum=DocumentFormat.values,
                description="pdf (default) or cii: the "
                "EN 16931 XML of a business customer's e-invoice",
            )
        ],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/xml"): OpenApiTypes.BINARY,
        },
        description="The bill's stored PDF, or its e-invoice XML (an attachment).",
    )
    @action(detail=True, methods=["get"])
    def document(self, request, pk=None):
        invoice = self.get_object()
        kind = request.query_params.get("kind", DocumentFormat.PDF)
        if kind not in DocumentFormat.values:
            from rest_framework.serializers import ValidationError

            raise ValidationError({"kind": [f"one of {', '.join(DocumentFormat.values)}"]})
        document = invoice.documents.filter(format=kind).first()
        if document is None or not document.file:
            raise Http404("no such document rendered")
        pdf = kind == DocumentFormat.PDF
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=f"{invoice.number or invoice.pk}.{'pdf' if pdf else 'xml'}",
            content_type="application/pdf" if pdf else "application/xml",
        )


class AppliedCustomerBillingRateViewSet(ReadViewSet):
    """The lines of bills (TMF678 appliedCustomerBillingRate)."""

    model = InvoiceLine
    serializer_class = api.AppliedCustomerBillingRateSerializer
    filterset_class = BillingRateFilter

    def visible(self, user):
        return (
            InvoiceLine.objects.filter(invoice__in=selectors.invoices_visible_to(user).values("pk"))
            .select_related("invoice", "billing_account", "subscription")
            .order_by("invoice_id", "position")
        )


class BillCycleViewSet(ReadViewSet):
    """Bill cycles (TMF678 billCycle): the accounts of a brand with one bill cycle day."""

    model = BillCycle
    serializer_class = api.BillCycleSerializer

    def visible(self, user):
        return selectors.bill_cycles_visible_to(user).order_by("pk")

    @extend_schema(request=api.BillCycleInput, responses={201: api.BillCycleSerializer})
    def create(self, request, *args, **kwargs):
        data = read_input(api.BillCycleInput, request)
        with service_errors(FIELD_NAMES):
            cycle = services.bill_cycle_save(
                brand=data["brand"], cycle_day=data["billingDateShift"]
            )
        return self.represent(cycle, status.HTTP_201_CREATED)


class BillRunViewSet(ReadViewSet):
    """Bill runs: start one, follow its progress, issue it."""

    model = BillRun
    serializer_class = api.BillRunSerializer

    def visible(self, user):
        return selectors.bill_runs_visible_to(user).order_by("-pk")

    @extend_schema(
        request=api.BillRunInput,
        responses={202: api.BillRunSerializer},
        description="Start (or return) the bill run of a cycle and month: a background job; "
        "running it again bills only what is missing (R26).",
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(api.BillRunInput, request)
        with service_errors(FIELD_NAMES):
            run = services.bill_run_create(
                cycle=data["billCycle"], year=data["year"], month=data["month"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(run, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: api.BillRunSerializer},
        description="Issue every draft of a drafted run (a background job).",
    )
    @action(detail=True, methods=["post"], required_permission=CHANGE_INVOICE)
    @idempotent
    def issue(self, request, pk=None):
        from rest_framework.serializers import ValidationError

        from invoicing.tasks import bill_run_issue_task

        run = self.get_object()
        if run.status != BillRunStatus.DRAFTED:
            raise ValidationError({"status": [f"a {run.status} run cannot be issued"]})
        bill_run_issue_task.delay(run.pk, request.user.pk)
        return self.represent(run, status.HTTP_202_ACCEPTED)

    def get_permissions(self):
        if self.action == "create":
            self.required_permission = "invoicing.add_billrun"
        elif self.action == "issue":
            self.required_permission = CHANGE_INVOICE
        return super().get_permissions()


# --- dunning (R30) ----------------------------------------------------------------------------


class DunningCaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DunningCaseStatus.choices)
    billingAccount = filters.NumberFilter(field_name="billing_account_id")
    bill = filters.NumberFilter(field_name="invoice_id")

    class Meta:
        model = DunningCase
        fields = ["status", "billingAccount", "bill"]


class DunningCaseViewSet(ReadViewSet):
    """Overdue invoices in dunning (R30): the steps taken, the next one and its day."""

    model = DunningCase
    serializer_class = api.DunningCaseSerializer
    filterset_class = DunningCaseFilter

    def visible(self, user):
        return (
            selectors.dunning_cases_visible_to(user)
            .prefetch_related("records__step")
            .order_by("-opened_at", "pk")
        )


class DunningPolicyViewSet(ReadViewSet):
    """The brands' dunning policies and their ordered steps."""

    model = DunningPolicy
    serializer_class = api.DunningPolicySerializer

    def visible(self, user):
        return selectors.dunning_policies_visible_to(user).prefetch_related("steps").order_by("pk")


class DunningPauseViewSet(ReadViewSet):
    """Pauses of an account's dunning: POST pauses it, ``resume`` resumes it (audited)."""

    model = DunningHold
    serializer_class = api.DunningPauseSerializer

    def visible(self, user):
        return selectors.dunning_holds_visible_to(user).order_by("-paused_at", "pk")

    def get_permissions(self):
        if self.action == "create":
            self.required_permission = "invoicing.add_dunninghold"
        elif self.action == "resume":
            self.required_permission = "invoicing.change_dunninghold"
        return super().get_permissions()

    @extend_schema(request=api.DunningPauseInput, responses={201: api.DunningPauseSerializer})
    def create(self, request, *args, **kwargs):
        data = read_input(api.DunningPauseInput, request)
        with service_errors({"billing_account": "billingAccount"}):
            hold = dunning.dunning_pause(
                billing_account=data["billingAccount"], reason=data["reason"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(hold, status.HTTP_201_CREATED)

    @extend_schema(request=api.DunningReasonInput, responses={200: api.DunningPauseSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        hold = self.get_object()
        data = read_input(api.DunningReasonInput, request)
        with service_errors():
            hold = dunning.dunning_resume(
                hold=hold, reason=data["reason"], acting_user=request.user
            )
        return self.represent(hold)


# --- finance downloads ------------------------------------------------------------------------


class InvoiceArchiveViewSet(ReadViewSet):
    """ZIPs of a month's invoice PDFs: POST asks for one (built in the background)."""

    model = InvoiceArchive
    serializer_class = api.InvoiceArchiveSerializer

    def visible(self, user):
        return selectors.invoice_archives_visible_to(user).order_by("-pk")

    def get_permissions(self):
        if self.action == "create":
            self.required_permission = "invoicing.add_invoicearchive"
        return super().get_permissions()

    @extend_schema(request=api.InvoiceArchiveInput, responses={202: api.InvoiceArchiveSerializer})
    def create(self, request, *args, **kwargs):
        data = read_input(api.InvoiceArchiveInput, request)
        with service_errors():
            archive = downloads.invoice_archive_create(
                brand=data["brand"], year=data["year"], month=data["month"],
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(archive, status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        description="The archive's ZIP once built (404 before).",
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        archive = self.get_object()
        if archive.status != ArchiveStatus.READY or not archive.file:
            raise Http404("the archive is not built yet")
        return FileResponse(
            archive.file.open("rb"),
            as_attachment=True,
            filename=archive.file.name.rsplit("/", 1)[-1],
            content_type="application/zip",
        )
