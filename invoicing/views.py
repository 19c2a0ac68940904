"""Console pages of the invoicing: bill cycles, bill runs with live progress, invoices to
review, issue, credit and void, and their PDF documents.

Everyone who reads sees these pages (brand-scoped); finance (and admin) may act on them.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.views import generic
from django_tables2 import RequestConfig

from charging.views.base import add_service_errors
from core.console.views import (
    ConsoleActionView,
    ConsoleDetailView,
    ConsoleListView,
    ModelPermissionMixin,
)
from invoicing import dunning, selectors, services
from invoicing.filters import (
    BillCycleFilter,
    BillRunFilter,
    DunningCaseFilter,
    DunningHoldFilter,
    DunningPolicyFilter,
    InvoiceArchiveFilter,
    InvoiceFilter,
)
from invoicing.forms import (
    BillCycleForm,
    BillRunForm,
    CreditNoteForm,
    DunningPolicyForm,
    DunningReasonForm,
    DunningStepFormSet,
    InvoiceArchiveForm,
    VoidForm,
)
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
    InvoiceDocument,
    InvoiceKind,
    InvoiceStatus,
    InvoiceTax,
)
from invoicing.payments.selectors import invoice_amount_due
from invoicing.tables import (
    BillCycleTable,
    BillRunTable,
    DunningCaseTable,
    DunningHoldTable,
    DunningPolicyTable,
    InvoiceArchiveTable,
    InvoiceLineTable,
    InvoiceTable,
)
from subscribers.selectors import brands_visible_to

REFRESH_SECONDS = 3


# --- bill cycles ------------------------------------------------------------------------------


class BillCycleListView(ConsoleListView):
    model = BillCycle
    table_class = BillCycleTable
    filterset_class = BillCycleFilter
    title = "Bill cycles"
    create_url = reverse_lazy("invoicing:billcycle-create")

    def get_queryset(self):
        return selectors.bill_cycles_visible_to(self.request.user)


class BillCycleDetailView(ConsoleDetailView):
    model = BillCycle
    fields = ["code", "name", "brand", "cycle_day", "created_at"]

    def get_queryset(self):
        return selectors.bill_cycles_visible_to(self.request.user)


class BillCycleCreateView(ModelPermissionMixin, generic.FormView):
    model = BillCycle
    permission_action = "add"
    form_class = BillCycleForm
    template_name = "charging/form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "brands": brands_visible_to(self.request.user)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="New bill cycle",
            intro="A bill cycle bills the accounts of a brand whose bill cycle day it names.",
            cancel_url=reverse("invoicing:billcycle-list"),
        )
        return context

    def form_valid(self, form):
        try:
            cycle = services.bill_cycle_save(**form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        return HttpResponseRedirect(cycle.get_absolute_url())


# --- bill runs --------------------------------------------------------------------------------


class BillRunListView(ConsoleListView):
    model = BillRun
    table_class = BillRunTable
    filterset_class = BillRunFilter
    title = "Bill runs"
    create_url = reverse_lazy("invoicing:billrun-create")

    def get_queryset(self):
        return selectors.bill_runs_visible_to(self.request.user)


class BillRunCreateView(ModelPermissionMixin, generic.FormView):
    """Start the bill run of a cycle and period (a Celery job); its page shows the progress."""

    model = BillRun
    permission_action = "add"
    form_class = BillRunForm
    template_name = "charging/form.html"

    def get_form_kwargs(self):
        cycles = selectors.bill_cycles_visible_to(self.request.user)
        return {**super().get_form_kwargs(), "cycles": cycles}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Start a bill run",
            intro=(
                "Drafts an invoice for every account of the cycle for the month (R24-R26). "
                "Running it again bills only what is missing. Nothing is issued until you "
                "issue the run."
            ),
            submit_label="Start the bill run",
            cancel_url=reverse("invoicing:billrun-list"),
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            run = services.bill_run_create(
                cycle=data["cycle"], year=data["year"], month=data["month"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Bill run {run} started.")
        return HttpResponseRedirect(run.get_absolute_url())


class BillRunDetailView(ConsoleDetailView):
    model = BillRun
    template_name = "invoicing/billrun_detail.html"

    def get_queryset(self):
        return selectors.bill_runs_visible_to(self.request.user)

    def get_actions(self):
        run = self.object
        actions = []
        if not self.can("change"):
            return actions
        if run.status == BillRunStatus.DRAFTED:
            actions.append(
                {"label": "Issue the run", "url": reverse("invoicing:billrun-issue",
                                                           args=[run.pk]), "style": "primary"}
            )  # fmt: skip
        if run.status in (BillRunStatus.DRAFTED, BillRunStatus.FAILED, BillRunStatus.QUEUED):
            actions.append(
                {"label": "Run again", "url": reverse("invoicing:billrun-restart", args=[run.pk])}
            )
        if run.status == BillRunStatus.ISSUED:
            collection = getattr(run, "sepa_collection", None)
            actions.append(
                {"label": "Direct debit file (pain.008)",
                 "url": collection.get_absolute_url() if collection
                 else reverse("invoicing:billrun-direct-debit", args=[run.pk])}
            )  # fmt: skip
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = self.object
        invoices = selectors.invoices_visible_to(self.request.user).filter(bill_run=run)
        table = InvoiceTable(invoices, prefix="inv-")
        RequestConfig(self.request, paginate={"per_page": 50}).configure(table)
        running = run.status in (
            BillRunStatus.QUEUED, BillRunStatus.RUNNING, BillRunStatus.ISSUING
        )  # fmt: skip
        counts = {
            status: invoices.filter(status=status).count()
            for status in (InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED, InvoiceStatus.ISSUED)
        }
        context.update(
            title=f"Bill run {run}",
            invoices=table,
            errors=run.errors.select_related("billing_account")[:200],
            running=running,
            refresh_seconds=REFRESH_SECONDS if running else None,
            counts=counts,
        )
        return context


class BillRunIssueView(ConsoleActionView):
    model = BillRun
    verb = "Issue the run"
    explanation = (
        "Every draft of this run that is not excluded gets its number (gapless per series, R27) "
        "and becomes final (R28). PDFs are rendered in the background."
    )

    def get_queryset(self):
        return selectors.bill_runs_visible_to(self.request.user)

    def perform(self, run):
        from invoicing.tasks import bill_run_issue_task

        if run.status != BillRunStatus.DRAFTED:
            raise ValidationError("only a drafted run is issued")
        bill_run_issue_task.delay(run.pk, self.request.user.pk)
        run.refresh_from_db()
        return run


class BillRunRestartView(ConsoleActionView):
    model = BillRun
    verb = "Run again"
    explanation = (
        "Bills the accounts of the cycle that have no invoice for the period yet; existing "
        "drafts and issued invoices stay as they are (R26)."
    )

    def get_queryset(self):
        return selectors.bill_runs_visible_to(self.request.user)

    def perform(self, run):
        return services.bill_run_restart(bill_run=run, acting_user=self.request.user)


# --- invoices ---------------------------------------------------------------------------------


class InvoiceListView(ConsoleListView):
    model = Invoice
    table_class = InvoiceTable
    filterset_class = InvoiceFilter
    title = "Invoices"
    export_name = "invoices"
    template_name = "invoicing/invoice_list.html"

    def get_queryset(self):
        return selectors.invoices_visible_to(self.request.user)


REGISTER_HEADER = [
    "number", "kind", "status", "issue_date", "period_start", "account", "customer", "corrects",
    "currency", "tax_rate", "net", "tax", "gross",
]  # fmt: skip


class InvoiceRegisterView(ModelPermissionMixin, generic.View):
    """The invoice register as CSV: one row per issued document and tax rate, with net, tax
    and gross, filtered like the invoice list (drafts are not in a register)."""

    model = Invoice

    def get(self, request):
        import csv

        from django.http import StreamingHttpResponse

        from core.console.export import _Echo

        invoices = selectors.invoices_visible_to(request.user).filter(
            status__in=[s for s in InvoiceStatus.values if s not in ("draft", "excluded")]
        )
        filterset = InvoiceFilter(request.GET, queryset=invoices)
        invoices = filterset.qs if filterset.is_valid() else invoices.none()
        rows = (
            InvoiceTax.objects.filter(invoice__in=invoices.values("pk"))
            .select_related("invoice__billing_account", "invoice__corrects")
            .order_by("invoice__series_id", "invoice__number", "rate")
        )
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(REGISTER_HEADER)
            for row in rows.iterator(chunk_size=2000):
                invoice = row.invoice
                yield writer.writerow([
                    invoice.number, invoice.kind, invoice.status, invoice.issue_date,
                    invoice.period_start_date, invoice.billing_account.number,
                    invoice.customer_name, invoice.corrects.number if invoice.corrects else "",
                    invoice.currency, row.rate, row.net, row.tax, row.gross,
                ])  # fmt: skip

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="invoice-register.csv"'
        return response


class InvoiceDetailView(ConsoleDetailView):
    model = Invoice
    template_name = "invoicing/invoice_detail.html"

    def get_queryset(self):
        return selectors.invoices_visible_to(self.request.user).select_related("corrects")

    def get_actions(self):
        invoice = self.object
        actions = []
        document = invoice.documents.filter(format=DocumentFormat.PDF).first()
        if document is not None:
            actions.append(
                {"label": "Download PDF", "url": reverse("invoicing:invoice-pdf",
                                                          args=[invoice.pk])}
            )  # fmt: skip
        if not self.can("change"):
            return actions

        def url(name):
            return reverse(f"invoicing:invoice-{name}", args=[invoice.pk])

        if invoice.status == InvoiceStatus.DRAFT:
            actions += [
                {"label": "Issue", "url": url("issue"), "style": "primary"},
                {"label": "Exclude from the run", "url": url("exclude")},
            ]
        if invoice.status == InvoiceStatus.EXCLUDED:
            actions.append({"label": "Include in the run", "url": url("include")})
        if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.EXCLUDED) and invoice.bill_run:
            actions.append({"label": "Regenerate", "url": url("regenerate")})
        creditable = invoice.kind in (InvoiceKind.INVOICE, InvoiceKind.STATEMENT)
        if creditable and invoice.is_final and invoice.status != InvoiceStatus.VOID:
            actions += [
                {"label": "Credit note", "url": url("credit")},
                {"label": "Void", "url": url("void"), "style": "danger"},
            ]
        if invoice.is_final:
            actions.append({"label": "Render PDF again", "url": url("render")})
        payable = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.OVERDUE)
        can_pay = self.request.user.has_perm("invoicing.add_payment")
        if invoice.kind == InvoiceKind.INVOICE and invoice.status in payable and can_pay:
            record = f"{reverse('invoicing:payment-create')}?invoice={invoice.pk}"
            actions.insert(0, {"label": "Record a payment", "style": "primary", "url": record})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invoice = self.object
        lines = invoice.lines.select_related("subscription", "invoice").order_by("position")
        table = InvoiceLineTable(lines, prefix="lines-")
        RequestConfig(self.request, paginate={"per_page": 200}).configure(table)
        previous = selectors.previous_invoice(invoice)
        visible = selectors.invoices_visible_to(self.request.user)
        dunning_case = (
            DunningCase.objects.filter(invoice=invoice)
            .select_related("policy", "last_step", "next_step")
            .first()
        )
        context.update(
            title=str(invoice),
            lines=table,
            taxes=invoice.taxes.order_by("rate"),
            previous=previous if previous and visible.filter(pk=previous.pk).exists() else None,
            previous_delta=invoice.gross_total - previous.gross_total if previous else None,
            credit_notes=visible.filter(corrects=invoice),
            documents=invoice.documents.all(),
            dunning_case=dunning_case,
            dunning_records=(
                dunning_case.records.select_related("step", "taken_by") if dunning_case else []
            ),
            dunning_paused=dunning.account_is_paused(invoice.billing_account_id),
            amount_due=invoice_amount_due(invoice=invoice),
            allocations=invoice.allocations.select_related("payment").order_by("pk"),
        )
        return context


class InvoiceActionView(ConsoleActionView):
    model = Invoice

    def get_queryset(self):
        return selectors.invoices_visible_to(self.request.user)


class InvoiceIssueView(InvoiceActionView):
    verb = "Issue"
    explanation = "The invoice gets the next number of its series (R27) and becomes final (R28)."

    def perform(self, invoice):
        return services.invoice_issue(invoice=invoice, acting_user=self.request.user)


class InvoiceExcludeView(InvoiceActionView):
    verb = "Exclude from the run"
    explanation = (
        "The draft stays out when the run is issued. Fix the account's data, then regenerate it."
    )

    def perform(self, invoice):
        return services.invoice_exclude(invoice=invoice, acting_user=self.request.user)


class InvoiceIncludeView(InvoiceActionView):
    verb = "Include in the run"
    explanation = "The draft is issued with its run again."

    def perform(self, invoice):
        return services.invoice_include(invoice=invoice, acting_user=self.request.user)


class InvoiceRegenerateView(InvoiceActionView):
    verb = "Regenerate"
    explanation = (
        "The draft is computed again from the account's current subscriptions, usage and "
        "catalogue. It replaces this draft (a new draft with its own id)."
    )

    def perform(self, invoice):
        run = invoice.bill_run
        regenerated = services.invoice_regenerate(invoice=invoice, acting_user=self.request.user)
        return regenerated or run


class InvoiceRenderView(InvoiceActionView):
    verb = "Render PDF again"
    explanation = "The stored PDF is rendered again from the invoice (a background job)."

    def perform(self, invoice):
        from invoicing.tasks import invoice_document_render_task

        if not invoice.is_final:
            raise ValidationError("only an issued document has a PDF")
        invoice_document_render_task.delay(invoice.pk, True)
        return invoice


class InvoiceFormActionView(
    ModelPermissionMixin, generic.detail.SingleObjectMixin, generic.FormView
):
    model = Invoice
    permission_action = "change"
    template_name = "charging/form.html"

    def get_queryset(self):
        return selectors.invoices_visible_to(self.request.user)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cancel_url"] = self.object.get_absolute_url()
        return context


class CreditNoteCreateView(InvoiceFormActionView):
    form_class = CreditNoteForm

    def get_form_kwargs(self):
        rates = list(self.object.taxes.values_list("rate", flat=True))
        return {**super().get_form_kwargs(), "rates": rates}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"Credit note for {self.object}",
            intro=(
                "An issued invoice never changes (R28): a credit note corrects it, whole or in "
                "part, and is issued at once with the next credit note number."
            ),
            submit_label="Issue the credit note",
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            note = services.credit_note_create(
                invoice=self.object, reason=data["reason"], amount=data["amount"],
                tax_rate=data["tax_rate"], acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Issued {note}.")
        return HttpResponseRedirect(note.get_absolute_url())


class InvoiceVoidView(InvoiceFormActionView):
    form_class = VoidForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"Void {self.object}",
            intro="The invoice keeps its number (R27); a full credit note cancels it.",
            submit_label="Void the invoice",
        )
        return context

    def form_valid(self, form):
        try:
            invoice = services.invoice_void(
                invoice=self.object, reason=form.cleaned_data["reason"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Voided {invoice}.")
        return HttpResponseRedirect(invoice.get_absolute_url())


class InvoicePdfView(ModelPermissionMixin, generic.View):
    """Download an invoice's stored PDF."""

    model = InvoiceDocument

    def get(self, request, pk):
        invoice = get_object_or_404(selectors.invoices_visible_to(request.user), pk=pk)
        document = invoice.documents.filter(format=DocumentFormat.PDF).first()
        if document is None or not document.file:
            raise Http404("no PDF rendered yet")
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=f"{invoice.number or invoice.pk}.pdf",
            content_type="application/pdf",
        )


class InvoiceRegisterXlsxView(ModelPermissionMixin, generic.View):
    """The invoice register as XLSX: the CSV's rows with typed cells (dates, amounts, rates as
    percentages) and a sheet of net, tax and gross per currency and tax rate."""

    model = Invoice

    def get(self, request):
        import tempfile

        from core.console.export import XLSX_TYPE
        from invoicing.downloads import register_xlsx

        invoices = selectors.invoices_visible_to(request.user).filter(
            status__in=[s for s in InvoiceStatus.values if s not in ("draft", "excluded")]
        )
        filterset = InvoiceFilter(request.GET, queryset=invoices)
        invoices = filterset.qs if filterset.is_valid() else invoices.none()
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
        register_xlsx(invoices, handle)
        handle.seek(0)
        return FileResponse(
            handle, as_attachment=True, filename="invoice-register.xlsx", content_type=XLSX_TYPE
        )


# --- invoice archives (a period's PDFs as a ZIP) ------------------------------------------------


class InvoiceArchiveListView(ConsoleListView):
    model = InvoiceArchive
    table_class = InvoiceArchiveTable
    filterset_class = InvoiceArchiveFilter
    title = "Invoice archives"
    create_url = reverse_lazy("invoicing:invoicearchive-create")

    def get_queryset(self):
        return selectors.invoice_archives_visible_to(self.request.user)


class InvoiceArchiveDetailView(ConsoleDetailView):
    model = InvoiceArchive
    fields = ["brand", "period_year", "period_month", "status", "status_detail", "documents",
              "rendered", "size", "created_by", "created_at", "finished_at"]  # fmt: skip

    def get_queryset(self):
        return selectors.invoice_archives_visible_to(self.request.user)

    def get_actions(self):
        if self.object.status == ArchiveStatus.READY and self.object.file:
            url = reverse("invoicing:invoicearchive-download", args=[self.object.pk])
            return [{"label": "Download ZIP", "url": url, "style": "primary"}]
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object.status in (ArchiveStatus.QUEUED, ArchiveStatus.BUILDING):
            context["refresh_seconds"] = REFRESH_SECONDS
        return context


class InvoiceArchiveCreateView(ModelPermissionMixin, generic.FormView):
    """Ask for the ZIP of a brand's invoices of a month (built in the background)."""

    model = InvoiceArchive
    permission_action = "add"
    form_class = InvoiceArchiveForm
    template_name = "charging/form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "brands": brands_visible_to(self.request.user)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="New invoice archive",
            intro=(
                "A ZIP of the PDFs of every issued invoice, credit note and statement whose "
                "period starts in the month. PDFs not rendered yet are rendered for it."
            ),
            submit_label="Build the archive",
            cancel_url=reverse("invoicing:invoicearchive-list"),
        )
        return context

    def form_valid(self, form):
        from invoicing.downloads import invoice_archive_create

        data = form.cleaned_data
        try:
            archive = invoice_archive_create(
                brand=data["brand"], year=data["year"], month=data["month"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{archive}: being built.")
        return HttpResponseRedirect(archive.get_absolute_url())


class InvoiceArchiveDownloadView(ModelPermissionMixin, generic.View):
    """Download a built archive."""

    model = InvoiceArchive

    def get(self, request, pk):
        archive = get_object_or_404(selectors.invoice_archives_visible_to(request.user), pk=pk)
        if archive.status != ArchiveStatus.READY or not archive.file:
            raise Http404("the archive is not built yet")
        return FileResponse(
            archive.file.open("rb"),
            as_attachment=True,
            filename=archive.file.name.rsplit("/", 1)[-1],
            content_type="application/zip",
        )


# --- dunning (R30) ------------------------------------------------------------------------------


class DunningCaseListView(ConsoleListView):
    """Invoices in dunning: their current step and the day of the next one."""

    model = DunningCase
    table_class = DunningCaseTable
    filterset_class = DunningCaseFilter
    title = "Dunning"
    export_name = "dunning"
    template_name = "invoicing/dunningcase_list.html"

    def get_queryset(self):
        return selectors.dunning_cases_visible_to(self.request.user).order_by(
            "status", "next_step_date", "pk"
        )

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        if not self.request.GET:
            kwargs["data"] = {"status": DunningCaseStatus.OPEN}
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_run"] = self.request.user.has_perm("invoicing.change_dunningcase")
        return context


class DunningRunView(ModelPermissionMixin, generic.View):
    """Run the daily dunning now (finance): a background job, safe to run again."""

    model = DunningCase
    permission_action = "change"

    def get(self, request):
        from django.shortcuts import render

        return render(
            request,
            "core/confirm.html",
            {
                "title": "Run the dunning now",
                "verb": "Run the dunning now",
                "explanation": (
                    "Marks invoices past their due date overdue and takes every dunning step "
                    "whose day has come, as the daily run does (R30). Steps already taken are "
                    "never taken again."
                ),
                "cancel_url": reverse("invoicing:dunningcase-list"),
            },
        )

    def post(self, request):
        from invoicing.tasks import dunning_run_task

        dunning_run_task.delay(None, request.user.pk)
        messages.success(request, "The dunning run was started.")
        return HttpResponseRedirect(reverse("invoicing:dunningcase-list"))


class DunningPolicyListView(ConsoleListView):
    model = DunningPolicy
    table_class = DunningPolicyTable
    filterset_class = DunningPolicyFilter
    title = "Dunning policies"
    create_url = reverse_lazy("invoicing:dunningpolicy-create")

    def get_queryset(self):
        return selectors.dunning_policies_visible_to(self.request.user).prefetch_related("steps")


class DunningPolicyDetailView(ConsoleDetailView):
    model = DunningPolicy
    template_name = "invoicing/dunningpolicy_detail.html"
    fields = ["code", "name", "brand", "is_default", "created_at"]

    def get_queryset(self):
        return selectors.dunning_policies_visible_to(self.request.user)

    def get_actions(self):
        if not self.can("change"):
            return []
        url = reverse("invoicing:dunningpolicy-update", args=[self.object.pk])
        return [{"label": "Edit", "url": url, "style": "primary"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        policy = self.object
        context.update(
            steps=policy.steps.order_by("position"),
            open_cases=selectors.dunning_cases_visible_to(self.request.user)
            .filter(policy=policy, status=DunningCaseStatus.OPEN)
            .count(),
        )
        return context


class DunningPolicyFormView(ModelPermissionMixin, generic.FormView):
    """Create or edit a dunning policy with its ordered steps."""

    model = DunningPolicy
    form_class = DunningPolicyForm
    template_name = "invoicing/dunningpolicy_form.html"
    policy = None

    def get_form_kwargs(self):
        kwargs = {**super().get_form_kwargs(), "brands": brands_visible_to(self.request.user)}
        if self.policy is not None and self.request.method == "GET":
            kwargs["initial"] = {
                "brand": self.policy.brand, "code": self.policy.code, "name": self.policy.name,
                "is_default": self.policy.is_default,
            }  # fmt: skip
        return kwargs

    def get_steps(self):
        if self.request.method == "POST":
            return DunningStepFormSet(self.request.POST, prefix="steps")
        initial = None
        if self.policy is not None:
            initial = [
                {"action": step.action, "days_after_due": step.days_after_due}
                for step in self.policy.steps.order_by("position")
            ]
        return DunningStepFormSet(initial=initial, prefix="steps")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("steps", self.get_steps())
        context.update(
            title=f"Edit {self.policy}" if self.policy else "New dunning policy",
            intro=(
                "The steps an overdue invoice goes through (R30), in order, each a number of "
                "days after the due date. Barring bars the outgoing services of the account's "
                "subscriptions and is lifted when the invoice is paid; termination ends them."
            ),
            cancel_url=(
                self.policy.get_absolute_url()
                if self.policy
                else reverse("invoicing:dunningpolicy-list")
            ),
        )
        return context

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        steps = self.get_steps()
        if not (form.is_valid() and steps.is_valid()):
            return self.render_to_response(self.get_context_data(form=form, steps=steps))
        data = form.cleaned_data
        chosen = [
            {"action": row["action"], "days_after_due": row["days_after_due"]}
            for row in steps.cleaned_data
            if row.get("action")
        ]
        try:
            policy = dunning.dunning_policy_save(
                brand=data["brand"], code=data["code"], name=data["name"],
                is_default=data["is_default"], steps=chosen, policy=self.policy,
                acting_user=request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.render_to_response(self.get_context_data(form=form, steps=steps))
        messages.success(request, f"Saved {policy}.")
        return HttpResponseRedirect(policy.get_absolute_url())


class DunningPolicyCreateView(DunningPolicyFormView):
    permission_action = "add"


class DunningPolicyUpdateView(DunningPolicyFormView):
    permission_action = "change"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.policy = get_object_or_404(
                selectors.dunning_policies_visible_to(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)


class DunningHoldListView(ConsoleListView):
    model = DunningHold
    table_class = DunningHoldTable
    filterset_class = DunningHoldFilter
    title = "Dunning pauses"

    def get_queryset(self):
        return selectors.dunning_holds_visible_to(self.request.user)


class DunningHoldDetailView(ConsoleDetailView):
    model = DunningHold
    fields = ["billing_account", "reason", "paused_at", "paused_by", "resumed_at", "resumed_by",
              "resume_reason"]  # fmt: skip

    def get_queryset(self):
        return selectors.dunning_holds_visible_to(self.request.user)

    def get_actions(self):
        if self.object.resumed_at is None and self.can("change"):
            url = reverse("invoicing:dunning-resume", args=[self.object.pk])
            return [{"label": "Resume the dunning", "url": url, "style": "primary"}]
        return []


class DunningPauseView(ModelPermissionMixin, generic.FormView):
    """Pause an account's dunning, saying why (audited)."""

    model = DunningHold
    permission_action = "add"
    form_class = DunningReasonForm
    template_name = "charging/form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            from subscribers.selectors import billing_accounts_visible_to

            self.account = get_object_or_404(
                billing_accounts_visible_to(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"Pause the dunning of {self.account}",
            intro=(
                "While paused, no dunning step is taken on the account's overdue invoices "
                "(a dispute, a promise to pay). Resuming takes the steps whose day has come."
            ),
            submit_label="Pause the dunning",
            cancel_url=self.account.get_absolute_url(),
        )
        return context

    def form_valid(self, form):
        try:
            hold = dunning.dunning_pause(
                billing_account=self.account, reason=form.cleaned_data["reason"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{hold}.")
        return HttpResponseRedirect(self.account.get_absolute_url())


class DunningResumeView(ModelPermissionMixin, generic.FormView):
    """Resume a paused account's dunning, saying why (audited)."""

    model = DunningHold
    permission_action = "change"
    form_class = DunningReasonForm
    template_name = "charging/form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.hold = get_object_or_404(
                selectors.dunning_holds_visible_to(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"Resume the dunning of {self.hold.billing_account}",
            intro=f"Paused {self.hold.paused_at:%Y-%m-%d %H:%M}: {self.hold.reason}",
            submit_label="Resume the dunning",
            cancel_url=self.hold.get_absolute_url(),
        )
        return context

    def form_valid(self, form):
        try:
            hold = dunning.dunning_resume(
                hold=self.hold, reason=form.cleaned_data["reason"], acting_user=self.request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{hold}.")
        return HttpResponseRedirect(hold.billing_account.get_absolute_url())
