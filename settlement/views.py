"""Console pages of the settlement: partners, agreements, runs, statements (PDF), the host
network's invoice reconciled, dispute items with their evidence, and the margin of a month.

Everyone who reads sees these pages (brand-scoped through the partner's brand); finance (and
admin) may act on them.
"""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views import generic
from django_tables2 import RequestConfig

from charging.models import UsageEvent
from charging.views.base import add_service_errors
from core.console.views import (
    ConsoleActionView,
    ConsoleCreateView,
    ConsoleDetailView,
    ConsoleListView,
    ConsoleUpdateView,
    ModelPermissionMixin,
)
from settlement import evidence, selectors, services
from settlement.documents import statement_pdf
from settlement.filters import (
    AgreementFilter,
    DisputeFilter,
    EventFilter,
    PartnerFilter,
    ReconciliationFilter,
    RunFilter,
    StatementFilter,
)
from settlement.forms import (
    AgreementForm,
    DisputeDecisionForm,
    MarginForm,
    PartnerForm,
    ReconciliationForm,
    RunForm,
    StatementDisputeForm,
)
from settlement.models import (
    Agreement,
    DisputeItem,
    DisputeStatus,
    Partner,
    Reconciliation,
    RunStatus,
    SettlementRun,
    Statement,
    StatementStatus,
)
from settlement.tables import (
    AgreementTable,
    DisputeTable,
    EventTable,
    MarginTable,
    PartnerTable,
    ReconciliationTable,
    RunTable,
    StatementLineTable,
    StatementTable,
)
from subscribers.selectors import brands_of, brands_visible_to

REFRESH_SECONDS = 3


class FormPageMixin:
    """A form page of the console (charging/form.html) whose service refusals land on it."""

    template_name = "charging/form.html"
    title = ""
    intro = ""
    submit_label = "Save"
    cancel = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title, intro=self.intro, submit_label=self.submit_label,
            cancel_url=reverse(self.cancel) if self.cancel else "/",
        )  # fmt: skip
        return context


# --- partners ---------------------------------------------------------------------------------


class PartnerListView(ConsoleListView):
    model = Partner
    table_class = PartnerTable
    filterset_class = PartnerFilter
    title = "Partners"
    export_name = "partners"
    create_url = reverse_lazy("settlement:partner-create")

    def get_queryset(self):
        return selectors.partners_visible_to(self.request.user)


class PartnerDetailView(ConsoleDetailView):
    model = Partner
    template_name = "settlement/partner_detail.html"
    fields = ["code", "name", "kind", "brand", "currency", "timezone", "host_network",
              "partner_brand", "contact_name", "contact_email", "address", "vat_id",
              "payment_terms_days"]  # fmt: skip

    def get_queryset(self):
        return selectors.partners_visible_to(self.request.user)

    def get_actions(self):
        if not self.can("change"):
            return []
        return [{"label": "Edit", "url": reverse("settlement:partner-edit", args=[self.object.pk])}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        partner = self.object
        agreements = AgreementTable(partner.agreements.all(), prefix="ag-")
        statements = StatementTable(
            partner.statements.select_related("run", "partner"), prefix="st-"
        )
        RequestConfig(self.request, paginate={"per_page": 25}).configure(agreements)
        RequestConfig(self.request, paginate={"per_page": 25}).configure(statements)
        context.update(agreements=agreements, statements=statements)
        return context


class PartnerFormMixin:
    model = Partner
    form_class = PartnerForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "brands": brands_visible_to(self.request.user)}

    def save(self, form):
        data = form.cleaned_data
        return services.partner_save(
            partner=self.object if getattr(self, "object", None) and self.object.pk else None,
            acting_user=self.request.user,
            **data,
        )


class PartnerCreateView(PartnerFormMixin, ConsoleCreateView):
    pass


class PartnerUpdateView(PartnerFormMixin, ConsoleUpdateView):
    def get_queryset(self):
        return selectors.partners_visible_to(self.request.user)


# --- agreements -------------------------------------------------------------------------------


class AgreementListView(ConsoleListView):
    model = Agreement
    table_class = AgreementTable
    filterset_class = AgreementFilter
    title = "Agreements"
    export_name = "agreements"
    create_url = reverse_lazy("settlement:agreement-create")

    def get_queryset(self):
        return selectors.agreements_visible_to(self.request.user)


class AgreementDetailView(ConsoleDetailView):
    model = Agreement
    fields = ["code", "name", "partner", "kind", "effective_from", "effective_to", "plan_codes",
              "services", "brand_codes", "basis", "percent", "tiers", "cap", "floor",
              "tolerance_amount", "tolerance_percent"]  # fmt: skip

    def get_queryset(self):
        return selectors.agreements_visible_to(self.request.user)

    def get_actions(self):
        if not self.can("change"):
            return []
        url = reverse("settlement:agreement-edit", args=[self.object.pk])
        return [{"label": "Edit", "url": url}]


class AgreementFormMixin:
    model = Agreement
    form_class = AgreementForm

    def get_form_kwargs(self):
        partners = selectors.partners_visible_to(self.request.user)
        return {**super().get_form_kwargs(), "partners": partners}

    def save(self, form):
        return services.agreement_save(
            agreement=self.object if getattr(self, "object", None) and self.object.pk else None,
            acting_user=self.request.user,
            **form.cleaned_data,
        )


class AgreementCreateView(AgreementFormMixin, ConsoleCreateView):
    pass


class AgreementUpdateView(AgreementFormMixin, ConsoleUpdateView):
    def get_queryset(self):
        return selectors.agreements_visible_to(self.request.user)


# --- runs -------------------------------------------------------------------------------------


class RunListView(ConsoleListView):
    model = SettlementRun
    table_class = RunTable
    filterset_class = RunFilter
    title = "Settlement runs"
    export_name = "settlement-runs"
    create_url = reverse_lazy("settlement:run-create")

    def get_queryset(self):
        return selectors.runs_visible_to(self.request.user)


class RunCreateView(FormPageMixin, ModelPermissionMixin, generic.FormView):
    """Start (or rerun) a partner's settlement of a month, as a Celery job."""

    model = SettlementRun
    permission_action = "add"
    form_class = RunForm
    title = "Run a settlement"
    intro = (
        "Computes the partner's statement of the month: the wholesale ratings of its events "
        "per service and roaming zone, its recurring fees (R31) and revenue shares on invoiced "
        "revenue (R32). Running it again rewrites a draft; an issued statement stays."
    )
    submit_label = "Run the settlement"
    cancel = "settlement:run-list"

    def get_form_kwargs(self):
        partners = selectors.partners_visible_to(self.request.user)
        return {**super().get_form_kwargs(), "partners": partners}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            run = services.settlement_run_create(
                partner=data["partner"], year=data["year"], month=data["month"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Settlement run {run} queued.")
        return HttpResponseRedirect(run.get_absolute_url())


class RunDetailView(ConsoleDetailView):
    model = SettlementRun
    fields = ["partner", "period_year", "period_month", "status", "status_detail", "events",
              "seconds", "started_at", "finished_at", "created_by"]  # fmt: skip

    def get_queryset(self):
        return selectors.runs_visible_to(self.request.user)

    def get_actions(self):
        run = self.object
        actions = []
        statement = Statement.objects.filter(run=run).first()
        if statement is not None:
            actions.append({"label": "Statement", "url": statement.get_absolute_url()})
        draft = statement is None or statement.status == StatementStatus.DRAFT
        if self.can("change") and draft and run.status != RunStatus.RUNNING:
            url = reverse("settlement:run-rerun", args=[run.pk])
            actions.append({"label": "Run again", "url": url})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Settlement run {self.object}"
        return context


class RunRerunView(ConsoleActionView):
    model = SettlementRun
    verb = "Run again"
    explanation = (
        "Computes the draft statement again from the current events, fees, agreements and "
        "settled disputes; the same data gives the same lines."
    )

    def get_queryset(self):
        return selectors.runs_visible_to(self.request.user)

    def perform(self, run):
        return services.settlement_run_create(
            partner=run.partner, year=run.period_year, month=run.period_month,
            acting_user=self.request.user,
        )  # fmt: skip


# --- statements -------------------------------------------------------------------------------


class StatementListView(ConsoleListView):
    model = Statement
    table_class = StatementTable
    filterset_class = StatementFilter
    title = "Settlement statements"
    export_name = "settlement-statements"

    def get_queryset(self):
        return selectors.statements_visible_to(self.request.user)


class StatementDetailView(ConsoleDetailView):
    model = Statement
    template_name = "settlement/statement_detail.html"
    fields = ["number", "partner", "status", "period_start", "period_end", "currency",
              "direction", "exact_total", "total", "issued_at", "due_date", "decided_at",
              "note"]  # fmt: skip

    def get_queryset(self):
        return selectors.statements_visible_to(self.request.user)

    def get_actions(self):
        statement = self.object

        def url(name):
            return reverse(f"settlement:statement-{name}", args=[statement.pk])

        label = "Download PDF" if statement.status != StatementStatus.DRAFT else "Preview PDF"
        actions = [{"label": label, "url": url("pdf")}]
        if not self.can("change"):
            return actions
        if statement.status == StatementStatus.DRAFT:
            actions.append({"label": "Issue", "url": url("issue"), "style": "primary"})
        if statement.status in (StatementStatus.ISSUED, StatementStatus.DISPUTED):
            actions.append({"label": "Agreed by the partner", "url": url("agree")})
        if statement.status == StatementStatus.ISSUED:
            actions.append({"label": "Disputed by the partner", "url": url("dispute")})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lines = StatementLineTable(self.object.lines.order_by("position"), prefix="ln-")
        RequestConfig(self.request, paginate={"per_page": 100}).configure(lines)
        context.update(title=f"Statement {self.object}", lines=lines)
        return context


class StatementIssueView(ConsoleActionView):
    model = Statement
    verb = "Issue"
    explanation = (
        "The statement gets its number and due date and never changes again; its PDF is "
        "rendered and settlement.statement_issued is announced to the webhooks."
    )

    def get_queryset(self):
        return selectors.statements_visible_to(self.request.user)

    def perform(self, statement):
        return services.statement_issue(statement=statement, acting_user=self.request.user)


class StatementAgreeView(ConsoleActionView):
    model = Statement
    verb = "Agreed by the partner"
    explanation = "Record that the partner agreed to the statement."

    def get_queryset(self):
        return selectors.statements_visible_to(self.request.user)

    def perform(self, statement):
        return services.statement_decide(
            statement=statement, agreed=True, acting_user=self.request.user
        )


class StatementDisputeView(FormPageMixin, ModelPermissionMixin, generic.FormView):
    model = Statement
    permission_action = "change"
    form_class = StatementDisputeForm
    title = "The partner disputes the statement"
    submit_label = "Record the dispute"
    cancel = "settlement:statement-list"

    def dispatch(self, request, *args, **kwargs):
        self.statement = get_object_or_404(
            selectors.statements_visible_to(request.user), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            services.statement_decide(
                statement=self.statement, agreed=False, note=form.cleaned_data["note"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        return HttpResponseRedirect(self.statement.get_absolute_url())


class StatementPdfView(ModelPermissionMixin, generic.View):
    """An issued statement's stored PDF; a draft's preview rendered on the fly."""

    model = Statement

    def get(self, request, pk):
        statement = get_object_or_404(selectors.statements_visible_to(request.user), pk=pk)
        if statement.status != StatementStatus.DRAFT and statement.pdf:
            with statement.pdf.open("rb") as handle:
                content = handle.read()
        else:
            content = statement_pdf(statement)
        response = HttpResponse(content, content_type="application/pdf")
        name = statement.number or f"statement-draft-{statement.pk}"
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response


# --- reconciliation and disputes --------------------------------------------------------------


class ReconciliationListView(ConsoleListView):
    model = Reconciliation
    table_class = ReconciliationTable
    filterset_class = ReconciliationFilter
    title = "Host network invoices reconciled"
    export_name = "reconciliations"
    create_url = reverse_lazy("settlement:reconciliation-create")

    def get_queryset(self):
        return selectors.reconciliations_visible_to(self.request.user)


class ReconciliationCreateView(FormPageMixin, ModelPermissionMixin, generic.FormView):
    model = Reconciliation
    permission_action = "add"
    form_class = ReconciliationForm
    title = "Reconcile a host network's invoice"
    intro = (
        "Upload the host network's invoice or usage summary as CSV (period, service, "
        "roaming_zone, units, amount; docs/settlement.md). Each line is matched against our "
        "wholesale figures; a difference beyond the agreement's tolerance becomes a dispute "
        "item (R31)."
    )
    submit_label = "Import and reconcile"
    cancel = "settlement:reconciliation-list"

    def get_form_kwargs(self):
        partners = selectors.partners_visible_to(self.request.user)
        return {**super().get_form_kwargs(), "partners": partners}

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            reconciliation = services.reconciliation_import(
                partner=form.cleaned_data["partner"], content=upload.read(),
                file_name=upload.name, acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        count = reconciliation.disputes.count()
        messages.success(self.request, f"Reconciled: {count} dispute item(s).")
        return HttpResponseRedirect(reconciliation.get_absolute_url())


class ReconciliationDetailView(ConsoleDetailView):
    model = Reconciliation
    template_name = "settlement/reconciliation_detail.html"
    fields = ["partner", "period_year", "period_month", "file_name", "lines_read",
              "lines_matched", "their_total", "our_total", "imported_at",
              "imported_by"]  # fmt: skip

    def get_queryset(self):
        return selectors.reconciliations_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        disputes = DisputeTable(self.object.disputes.select_related("partner"), prefix="dp-")
        RequestConfig(self.request, paginate={"per_page": 50}).configure(disputes)
        context["disputes"] = disputes
        return context


class DisputeListView(ConsoleListView):
    model = DisputeItem
    table_class = DisputeTable
    filterset_class = DisputeFilter
    title = "Dispute items"
    export_name = "dispute-items"

    def get_queryset(self):
        return selectors.disputes_visible_to(self.request.user)


class DisputeDetailView(ConsoleDetailView):
    model = DisputeItem
    template_name = "settlement/dispute_detail.html"
    fields = ["partner", "reconciliation", "period_start", "service", "roaming_zone",
              "our_units", "our_amount", "their_units", "their_amount", "difference", "status",
              "note", "settled_on"]  # fmt: skip

    def get_queryset(self):
        return selectors.disputes_visible_to(self.request.user)

    def get_actions(self):
        dispute = self.object

        def url(name):
            return reverse(f"settlement:dispute-{name}", args=[dispute.pk])

        actions = [
            {"label": "Evidence CSV", "url": url("evidence") + "?format=csv"},
            {"label": "Evidence XLSX", "url": url("evidence") + "?format=xlsx"},
        ]
        if self.can("change") and dispute.status == DisputeStatus.OPEN:
            actions.append({"label": "Decide", "url": url("decide"), "style": "primary"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        events = EventTable(evidence.dispute_events(self.object), prefix="ev-")
        RequestConfig(self.request, paginate={"per_page": 50}).configure(events)
        context.update(title=f"Dispute item {self.object.pk}", events=events)
        return context


class DisputeDecideView(FormPageMixin, ModelPermissionMixin, generic.FormView):
    model = DisputeItem
    permission_action = "change"
    form_class = DisputeDecisionForm
    title = "Decide a dispute item"
    intro = (
        "Accepted: the next statement adds the difference (we pay the partner's figure). "
        "Credited: the partner credits the difference; the next statement takes it off. "
        "Rejected: our figure stands, nothing changes."
    )
    submit_label = "Decide"
    cancel = "settlement:dispute-list"

    def dispatch(self, request, *args, **kwargs):
        self.dispute = get_object_or_404(
            selectors.disputes_visible_to(request.user), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            services.dispute_decide(
                dispute=self.dispute, status=form.cleaned_data["status"],
                note=form.cleaned_data["note"], acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        return HttpResponseRedirect(self.dispute.get_absolute_url())


class DisputeEvidenceView(ModelPermissionMixin, generic.View):
    """The events behind a dispute item, as CSV or XLSX: what the partner manager sends."""

    model = DisputeItem

    def get(self, request, pk):
        dispute = get_object_or_404(selectors.disputes_visible_to(request.user), pk=pk)
        name = f"dispute-{dispute.pk}-{dispute.service}-{dispute.roaming_zone or 'none'}"
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(
                evidence.evidence_xlsx(dispute),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
            return response
        response = HttpResponse(evidence.evidence_csv(dispute), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response


# --- margin -----------------------------------------------------------------------------------


def _last_month() -> tuple[int, int]:
    first = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    return first.year, first.month


class MarginView(ModelPermissionMixin, generic.TemplateView):
    """Retail invoiced minus wholesale per plan, brand or partner for a month."""

    model = Statement
    template_name = "settlement/margin.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        year, month = _last_month()
        form = MarginForm(self.request.GET or {"year": year, "month": month, "dimension": "plan"})
        rows = []
        if form.is_valid():
            data = form.cleaned_data
            year, month = data["year"], data["month"]
            rows = selectors.margin(
                year=year, month=month, dimension=data["dimension"], user=self.request.user
            )
        table = MarginTable(rows, year=year, month=month)
        context.update(title="Margin", form=form, table=table, year=year, month=month)
        return context


class MarginEventsView(ConsoleListView):
    """The rated events behind one margin figure, exportable."""

    model = UsageEvent
    table_class = EventTable
    filterset_class = EventFilter
    title = "Events behind a margin figure"
    export_name = "margin-events"

    def get_queryset(self):
        query = self.request.GET
        try:
            year, month = int(query.get("year", "")), int(query.get("month", ""))
            dimension, key = query.get("dimension", ""), query.get("key", "")
            events = selectors.margin_events(year=year, month=month, dimension=dimension, key=key)
        except ValueError:
            raise Http404("year, month, dimension and key name a margin figure") from None
        if (
            dimension == "partner"
            and not selectors.partners_visible_to(self.request.user).filter(code=key).exists()
        ):
            raise Http404("no such partner")
        brands = brands_of(self.request.user)
        if brands is not None:
            events = events.filter(billing_account__customer__brand_id__in=brands)
        return events

    def get_title(self) -> str:
        query = self.request.GET
        return (
            f"Events of {query.get('dimension', '')} {query.get('key', '')}, "
            f"{query.get('year', '')}-{query.get('month', '')}"
        )
