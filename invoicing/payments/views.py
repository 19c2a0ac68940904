"""Console pages of the payments: payments and their allocations, recording a bank transfer,
refunds and returns, bank statement import with the queue of unmatched lines, SEPA mandates and
direct debit files, and the aged receivables report.

Everyone who reads sees these pages (brand-scoped); finance (and admin) may act on them.
"""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views import generic
from django_tables2 import RequestConfig

from charging.views.base import add_service_errors
from core.console.export import table_csv_response, table_xlsx_response
from core.console.views import ConsoleDetailView, ConsoleListView, ModelPermissionMixin
from invoicing.models import Invoice
from invoicing.payments import bank, forms, selectors, sepa, services
from invoicing.payments.api import collection_file_response
from invoicing.payments.filters import (
    MandateFilter,
    PaymentFilter,
    ReceivableFilter,
    StatementFilter,
    StatementLineFilter,
)
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    LineStatus,
    Payment,
    PaymentReturn,
    Refund,
    SepaCollection,
    SepaMandate,
)
from invoicing.payments.tables import (
    AgingTable,
    MandateTable,
    PaymentTable,
    ReceivableInvoiceTable,
    StatementLineTable,
    StatementTable,
)
from invoicing.selectors import bill_runs_visible_to, invoices_visible_to
from subscribers.models import BillingAccount
from subscribers.selectors import billing_accounts_visible_to, brands_visible_to

FORM = "charging/form.html"


def _account(user, number: str) -> BillingAccount:
    account = (
        billing_accounts_visible_to(user).filter(number__iexact=(number or "").strip()).first()
    )
    if account is None:
        raise ValidationError({"account": f"no account {number}"})
    return account


def _invoice_ids(user, account: BillingAccount, text: str) -> list[int] | None:
    numbers = forms.invoice_numbers(text)
    if not numbers:
        return None
    found = dict(
        invoices_visible_to(user)
        .filter(number__in=numbers, billing_account=account)
        .values_list("number", "pk")
    )
    missing = [number for number in numbers if number not in found]
    if missing:
        raise ValidationError({"invoices": f"no invoice {', '.join(missing)} of {account.number}"})
    return [found[number] for number in numbers]


class FormPage(ModelPermissionMixin, generic.FormView):
    """A form that calls one service; refusals land on the form."""

    template_name = FORM
    permission_action = "add"
    title = ""
    intro = ""
    submit_label = "Save"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.get_title(), intro=self.intro, submit_label=self.submit_label,
                       cancel_url=self.cancel_url())  # fmt: skip
        return context

    def get_title(self):
        return self.title

    def cancel_url(self):
        return reverse("invoicing:payment-list")

    def form_valid(self, form):
        try:
            target, message = self.perform(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return HttpResponseRedirect(target.get_absolute_url())


class ObjectFormPage(FormPage):
    """A form acting on one object of the user's brands."""

    permission_action = "change"
    pk_kwarg = "pk"

    def get_queryset(self):
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = get_object_or_404(self.get_queryset(), pk=kwargs[self.pk_kwarg])
        return super().dispatch(request, *args, **kwargs)

    def cancel_url(self):
        return self.object.get_absolute_url()


# --- payments ---------------------------------------------------------------------------------


class PaymentListView(ConsoleListView):
    model = Payment
    table_class = PaymentTable
    filterset_class = PaymentFilter
    title = "Payments"
    export_name = "payments"
    create_url = reverse_lazy("invoicing:payment-create")

    def get_queryset(self):
        return selectors.payments_with_remaining(selectors.payments_visible_to(self.request.user))


class PaymentDetailView(ConsoleDetailView):
    model = Payment
    template_name = "invoicing/payment_detail.html"

    def get_queryset(self):
        return selectors.payments_with_remaining(
            selectors.payments_visible_to(self.request.user)
        ).select_related("collection", "mandate", "statement_line__statement")

    def get_actions(self):
        payment = self.object
        if not self.can("add"):
            return []

        def url(name):
            return reverse(f"invoicing:payment-{name}", args=[payment.pk])

        returned = returned_of(payment)
        actions = []
        if payment.remaining > 0 and not returned:
            actions.append({"label": "Allocate", "url": url("allocate"), "style": "primary"})
        if not returned and payment.amount > payment.refunded:
            actions.append({"label": "Refund", "url": url("refund")})
            actions.append({"label": "Record a return", "url": url("return"), "style": "danger"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        payment = self.object
        context.update(
            title=f"Payment {payment.pk}",
            allocations=payment.allocations.select_related("invoice").order_by("pk"),
            refunds=payment.refunds.order_by("pk"),
            returned=returned_of(payment),
        )
        return context


def returned_of(payment):
    """The return of a payment, or None."""
    return PaymentReturn.objects.filter(payment_id=payment.pk).first()


class PaymentCreateView(FormPage):
    model = Payment
    form_class = forms.PaymentRecordForm
    title = "Record a payment"
    intro = (
        "Money received by bank transfer (or another way): it pays the invoices you name, in "
        "their order, else the account's open invoices oldest first. What is left stays as "
        "credit on the account and pays its next invoices."
    )
    submit_label = "Record the payment"

    def get_initial(self):
        initial = super().get_initial()
        accounts = billing_accounts_visible_to(self.request.user)
        account = accounts.filter(pk=self.request.GET.get("account") or 0).first()
        invoice = (
            invoices_visible_to(self.request.user)
            .filter(pk=self.request.GET.get("invoice") or 0)
            .select_related("billing_account")
            .first()
        )
        if invoice is not None:
            account = invoice.billing_account
            initial.update(invoices=invoice.number, amount=selectors.invoice_amount_due(
                invoice=invoice), currency=invoice.currency)  # fmt: skip
        if account is not None:
            initial.update(account=account.number, currency=account.currency)
        return initial

    def perform(self, data):
        account = _account(self.request.user, data["account"])
        payment = services.payment_record(
            billing_account=account, amount=data["amount"], currency=data["currency"],
            method=data["method"], received_on=data["received_on"],
            reference=data["reference"], payer_name=data["payer_name"], note=data["note"],
            invoice_ids=_invoice_ids(self.request.user, account, data["invoices"]),
            acting_user=self.request.user,
        )  # fmt: skip
        return payment, f"Recorded payment {payment.pk} of {payment.amount} {payment.currency}."


class PaymentFormPage(ObjectFormPage):
    model = Payment
    permission_action = "add"

    def get_queryset(self):
        return selectors.payments_visible_to(self.request.user)


class PaymentAllocateView(PaymentFormPage):
    form_class = forms.AllocateForm
    intro = "Allocate what the payment still holds to the account's invoices."
    submit_label = "Allocate"

    def get_title(self):
        return f"Allocate payment {self.object.pk}"

    def perform(self, data):
        payment = self.object
        ids = _invoice_ids(self.request.user, payment.billing_account, data["invoices"])
        made = services.payment_allocate(
            payment=payment, invoice_ids=ids, acting_user=self.request.user
        )
        return payment, f"Allocated to {len(made)} invoice{'s' if len(made) != 1 else ''}."


class PaymentRefundView(PaymentFormPage):
    model = Refund
    form_class = forms.RefundForm
    intro = (
        "Pay money of this payment back: what it holds unallocated first, then taken back from "
        "the invoices it paid, newest first (they reopen)."
    )
    submit_label = "Refund"

    def get_title(self):
        return f"Refund payment {self.object.pk}"

    def perform(self, data):
        refund = services.refund_create(
            payment=self.object, amount=data["amount"], reason=data["reason"],
            acting_user=self.request.user,
        )  # fmt: skip
        return self.object, f"Refunded {refund.amount} {self.object.currency}."


class PaymentReturnView(PaymentFormPage):
    form_class = forms.ReturnForm
    intro = (
        "The payment came back (a SEPA direct debit return or a recalled transfer): every "
        "invoice it paid reopens."
    )
    submit_label = "Record the return"

    def get_initial(self):
        return {"returned_on": timezone.localdate()}

    def get_title(self):
        return f"Return of payment {self.object.pk}"

    def perform(self, data):
        services.payment_return(
            payment=self.object, reason_code=data["reason_code"],
            returned_on=data["returned_on"], acting_user=self.request.user,
        )  # fmt: skip
        return self.object, f"Recorded the return of payment {self.object.pk}."


class AccountCreditRefundView(FormPage):
    model = Refund
    form_class = forms.RefundForm
    intro = "Pay back credit the account holds (overpayments); its invoices are not touched."
    submit_label = "Refund the credit"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.account = get_object_or_404(
                billing_accounts_visible_to(request.user), pk=kwargs["account_pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_title(self):
        return f"Refund the credit of {self.account}"

    def cancel_url(self):
        return self.account.get_absolute_url()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        credit = selectors.account_credit(billing_account_id=self.account.pk)
        held = ", ".join(f"{v} {k}" for k, v in credit.items()) or "none"
        context["intro"] = f"{self.intro} Credit held: {held}."
        return context

    def perform(self, data):
        refunds = services.account_credit_refund(
            billing_account=self.account, amount=data["amount"], reason=data["reason"],
            acting_user=self.request.user,
        )  # fmt: skip
        return self.account, f"Refunded {data['amount']} in {len(refunds)} refund(s)."


# --- bank statements --------------------------------------------------------------------------


class StatementListView(ConsoleListView):
    model = BankStatement
    table_class = StatementTable
    filterset_class = StatementFilter
    title = "Bank statements"
    create_url = reverse_lazy("invoicing:bankstatement-import")

    def get_queryset(self):
        return selectors.bank_statements_visible_to(self.request.user)


class StatementImportView(FormPage):
    model = BankStatement
    form_class = forms.StatementUploadForm
    title = "Import a bank statement"
    intro = (
        "A CAMT.053 (XML) or MT940 file from the bank. Credits naming an invoice number or a "
        "customer reference are recorded as payments; returns of direct debits reopen their "
        "invoices; the rest waits in the queue. The same file is never imported twice."
    )
    submit_label = "Import"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "brands": brands_visible_to(self.request.user)}

    def cancel_url(self):
        return reverse("invoicing:bankstatement-list")

    def perform(self, data):
        upload = data["file"]
        statement = bank.bank_statement_import(
            brand=data["brand"], name=upload.name, content=upload.read(),
            acting_user=self.request.user,
        )  # fmt: skip
        waiting = statement.lines_total - statement.lines_matched
        return statement, (
            f"Imported {statement.lines_total} lines: {statement.lines_matched} matched, "
            f"{waiting} waiting for you."
        )


class StatementDetailView(ConsoleDetailView):
    model = BankStatement
    template_name = "invoicing/bankstatement_detail.html"
    fields = ["file_name", "format", "statement_id", "account_iban", "currency", "lines_total",
              "lines_matched", "imported_at", "imported_by"]  # fmt: skip

    def get_queryset(self):
        return selectors.bank_statements_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = StatementLineTable(self.object.lines.all(), prefix="lines-")
        RequestConfig(self.request, paginate={"per_page": 100}).configure(table)
        context["lines"] = table
        return context


class StatementLineQueueView(ConsoleListView):
    model = BankStatementLine
    table_class = StatementLineTable
    filterset_class = StatementLineFilter
    title = "Bank lines waiting for finance"
    export_name = "unmatched-bank-lines"

    def get_queryset(self):
        lines = selectors.statement_lines_visible_to(self.request.user)
        if "status" not in self.request.GET:
            lines = lines.filter(status=LineStatus.UNMATCHED)
        return lines.order_by("booking_date", "pk")


class StatementLineDetailView(ConsoleDetailView):
    model = BankStatementLine
    template_name = "invoicing/statementline_detail.html"
    fields = ["status", "booking_date", "value_date", "amount", "currency", "counterparty_name",
              "counterparty_iban", "remittance", "end_to_end_id", "bank_reference",
              "return_reason", "match_note", "discard_reason", "resolved_at",
              "resolved_by"]  # fmt: skip

    def get_queryset(self):
        return selectors.statement_lines_visible_to(self.request.user)

    def get_actions(self):
        line = self.object
        if line.status != LineStatus.UNMATCHED or not self.can("change"):
            return []
        actions = []
        if line.amount > 0:
            actions.append(
                {
                    "label": "Match to an account",
                    "style": "primary",
                    "url": reverse("invoicing:statementline-match", args=[line.pk]),
                }
            )
        actions.append(
            {
                "label": "Discard",
                "style": "danger",
                "url": reverse("invoicing:statementline-discard", args=[line.pk]),
            }
        )
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        line = self.object
        context["title"] = str(line)
        context["payment"] = Payment.objects.filter(statement_line=line).first()
        if line.status == LineStatus.UNMATCHED and line.amount > 0:
            account, _ids, why = bank.line_candidate(line=line, brand=line.statement.brand)
            context["suggestion"] = why
        return context


class LineFormPage(ObjectFormPage):
    model = BankStatementLine

    def get_queryset(self):
        return selectors.statement_lines_visible_to(self.request.user)


class StatementLineMatchView(LineFormPage):
    form_class = forms.LineMatchForm
    intro = "Record this credit as a payment of the account you name."
    submit_label = "Record the payment"

    def get_title(self):
        return f"Match {self.object}"

    def perform(self, data):
        account = _account(self.request.user, data["account"])
        payment = bank.statement_line_match(
            line=self.object, billing_account=account,
            invoice_ids=_invoice_ids(self.request.user, account, data["invoices"]),
            acting_user=self.request.user,
        )  # fmt: skip
        return payment, f"Recorded payment {payment.pk} for {account.number}."


class StatementLineDiscardView(LineFormPage):
    form_class = forms.ReasonForm
    intro = "Take the line out of the queue: say why (a bank fee, not ours, sent back)."
    submit_label = "Discard"

    def get_title(self):
        return f"Discard {self.object}"

    def perform(self, data):
        line = bank.statement_line_discard(
            line=self.object, reason=data["reason"], acting_user=self.request.user
        )
        return line, "Discarded."


# --- SEPA mandates and collections ------------------------------------------------------------


class MandateListView(ConsoleListView):
    model = SepaMandate
    table_class = MandateTable
    filterset_class = MandateFilter
    title = "Direct debit mandates"
    create_url = reverse_lazy("invoicing:sepamandate-create")

    def get_queryset(self):
        return selectors.mandates_visible_to(self.request.user)


class MandateDetailView(ConsoleDetailView):
    model = SepaMandate
    fields = ["reference", "billing_account", "debtor_name", "iban", "bic", "signed_on",
              "first_collected_on", "revoked_on", "revoke_reason"]  # fmt: skip

    def get_queryset(self):
        return selectors.mandates_visible_to(self.request.user)

    def get_actions(self):
        if self.object.revoked_on or not self.can("change"):
            return []
        return [
            {
                "label": "Revoke",
                "style": "danger",
                "url": reverse("invoicing:sepamandate-revoke", args=[self.object.pk]),
            }
        ]


class MandateCreateView(FormPage):
    model = SepaMandate
    form_class = forms.MandateForm
    title = "New direct debit mandate"
    intro = (
        "The SEPA core mandate the customer signed. The account's first collection is sent as "
        "FRST, later ones as RCUR; a new mandate replaces the active one."
    )
    submit_label = "Record the mandate"

    def get_initial(self):
        account = (
            billing_accounts_visible_to(self.request.user)
            .filter(pk=self.request.GET.get("account") or 0)
            .first()
        )
        return {"account": account.number, "debtor_name": account.name} if account else {}

    def cancel_url(self):
        return reverse("invoicing:sepamandate-list")

    def perform(self, data):
        account = _account(self.request.user, data["account"])
        mandate = sepa.sepa_mandate_create(
            billing_account=account, reference=data["reference"],
            debtor_name=data["debtor_name"], iban=data["iban"], bic=data["bic"],
            signed_on=data["signed_on"], acting_user=self.request.user,
        )  # fmt: skip
        return mandate, f"Recorded {mandate}."


class MandateRevokeView(ObjectFormPage):
    model = SepaMandate
    form_class = forms.ReasonForm
    intro = "The mandate is no longer collected."
    submit_label = "Revoke"

    def get_queryset(self):
        return selectors.mandates_visible_to(self.request.user)

    def get_title(self):
        return f"Revoke {self.object}"

    def perform(self, data):
        mandate = sepa.sepa_mandate_revoke(
            mandate=self.object, reason=data["reason"], acting_user=self.request.user
        )
        return mandate, f"Revoked {mandate}."


class CollectionCreateView(ObjectFormPage):
    """Make the pain.008 file of a bill run (from the run's page)."""

    model = SepaCollection
    permission_action = "add"
    pk_kwarg = "run_pk"
    form_class = forms.CollectionForm
    intro = (
        "A pain.008 SEPA direct debit file of the run's issued invoices whose accounts have an "
        "active mandate. Their payments are recorded now (pending); a return reopens an invoice."
    )
    submit_label = "Make the file"

    def get_queryset(self):
        return bill_runs_visible_to(self.request.user)

    def get_initial(self):
        return {"collection_date": timezone.localdate() + dt.timedelta(days=sepa.LEAD_DAYS)}

    def get_title(self):
        return f"Direct debit file of {self.object}"

    def get(self, request, *args, **kwargs):
        existing = SepaCollection.objects.filter(bill_run=self.object).first()
        if existing is not None:
            return HttpResponseRedirect(existing.get_absolute_url())
        return super().get(request, *args, **kwargs)

    def perform(self, data):
        collection = sepa.sepa_collection_create(
            bill_run=self.object, collection_date=data["collection_date"],
            acting_user=self.request.user,
        )  # fmt: skip
        return collection, f"Made {collection} of {collection.payments_count} payments."


class CollectionDetailView(ConsoleDetailView):
    model = SepaCollection
    template_name = "invoicing/sepacollection_detail.html"
    fields = ["message_id", "bill_run", "collection_date", "payments_count", "total",
              "created_at", "created_by"]  # fmt: skip

    def get_queryset(self):
        return selectors.collections_visible_to(self.request.user)

    def get_actions(self):
        return [
            {
                "label": "Download pain.008",
                "style": "primary",
                "url": reverse("invoicing:sepacollection-file", args=[self.object.pk]),
            }
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        payments = selectors.payments_with_remaining(self.object.payments.all())
        table = PaymentTable(payments, prefix="pay-")
        RequestConfig(self.request, paginate={"per_page": 100}).configure(table)
        context["payments"] = table
        return context


class CollectionFileView(ModelPermissionMixin, generic.View):
    model = SepaCollection

    def get(self, request, pk):
        collection = get_object_or_404(selectors.collections_visible_to(request.user), pk=pk)
        return collection_file_response(collection)


# --- aged receivables -------------------------------------------------------------------------


def _as_of(request) -> dt.date:
    form = forms.AgingForm(request.GET)
    if form.is_valid() and form.cleaned_data["as_of"]:
        return form.cleaned_data["as_of"]
    return timezone.localdate()


class AgedReceivablesView(ModelPermissionMixin, generic.View):
    """What is owed on a day per currency and account, in buckets of days past due; each
    amount links to its invoices; CSV and XLSX of the whole report."""

    model = Invoice

    def get(self, request):
        as_of = _as_of(request)
        rows, totals = selectors.aged_receivables(user=request.user, as_of=as_of)
        export = request.GET.get("_export")
        if export in ("csv", "xlsx"):
            data = [
                {"currency": row.currency, "account": row.account_number or "TOTAL",
                 "name": row.account_name, **row.buckets, "total": row.total,
                 "invoices": row.invoices}
                for row in [*rows, *totals]
            ]  # fmt: skip
            table = AgingTable(data)
            respond = table_xlsx_response if export == "xlsx" else table_csv_response
            return respond(table, name=f"aged-receivables-{as_of:%Y-%m-%d}")
        return render(request, "invoicing/aged_receivables.html", {
            "title": f"Aged receivables on {as_of:%Y-%m-%d}",
            "as_of": as_of,
            "buckets": selectors.BUCKETS,
            "rows": rows,
            "totals": totals,
            "drill": reverse("invoicing:aged-receivables-invoices"),
        })  # fmt: skip


class AgedReceivablesInvoicesView(ConsoleListView):
    """The invoices behind one figure of the aged receivables."""

    model = Invoice
    table_class = ReceivableInvoiceTable
    filterset_class = ReceivableFilter
    title = "Receivables"
    export_name = "receivables"

    def get_queryset(self):
        as_of = _as_of(self.request)
        invoices = selectors.receivable_invoices(user=self.request.user, as_of=as_of)
        bucket = self.request.GET.get("bucket")
        if bucket:
            if bucket not in selectors.BUCKET_NAMES:
                raise Http404("no such bucket")
            invoices = invoices.filter(selectors.bucket_range(bucket, as_of))
        if self.request.GET.get("currency"):
            invoices = invoices.filter(currency=self.request.GET["currency"].upper())
        if self.request.GET.get("account"):
            invoices = invoices.filter(billing_account__number=self.request.GET["account"])
        return invoices.order_by("due_date", "pk")

    def get_title(self):
        labels = {name: label for name, label, *_ in selectors.BUCKETS}
        parts = [labels.get(self.request.GET.get("bucket"), "all buckets")]
        for key in ("currency", "account"):
            if self.request.GET.get(key):
                parts.append(self.request.GET[key])
        return f"Receivables on {_as_of(self.request):%Y-%m-%d}: {', '.join(parts)}"
