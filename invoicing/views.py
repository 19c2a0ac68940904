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
from invoicing import selectors, services
from invoicing.filters import BillCycleFilter, BillRunFilter, InvoiceFilter
from invoicing.forms import BillCycleForm, BillRunForm, CreditNoteForm, VoidForm
from invoicing.models import (
    BillCycle,
    BillRun,
    BillRunStatus,
    DocumentFormat,
    Invoice,
    InvoiceDocument,
    InvoiceKind,
    InvoiceStatus,
    InvoiceTax,
)
from invoicing.payments.selectors import invoice_amount_due
from invoicing.tables import BillCycleTable, BillRunTable, InvoiceLineTable, InvoiceTable
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
        lines = invoice.lines.select_related("subscription").order_by("position")
        table = InvoiceLineTable(lines, prefix="lines-")
        RequestConfig(self.request, paginate={"per_page": 200}).configure(table)
        previous = selectors.previous_invoice(invoice)
        visible = selectors.invoices_visible_to(self.request.user)
        context.update(
            title=str(invoice),
            lines=table,
            taxes=invoice.taxes.order_by("rate"),
            previous=previous if previous and visible.filter(pk=previous.pk).exists() else None,
            previous_delta=invoice.gross_total - previous.gross_total if previous else None,
            credit_notes=visible.filter(corrects=invoice),
            documents=invoice.documents.all(),
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
