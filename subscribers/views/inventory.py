"""Console pages of the SIM stock, voucher batches and top-ups."""

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.utils.text import slugify
from django.views import generic
from django_tables2 import RequestConfig

from core.console.views import ConsoleDetailView, ConsoleListView, ModelPermissionMixin
from subscribers import services
from subscribers.filters import SimFilter, TopUpFilter, VoucherBatchFilter
from subscribers.forms import SimBatchUploadForm, VoucherBatchForm
from subscribers.models import (
    Sim,
    SimBatch,
    Subscription,
    TopUp,
    VoucherBatch,
    VoucherStatus,
)
from subscribers.selectors import (
    sims_visible_to,
    top_ups_visible_to,
    voucher_batches_visible_to,
)
from subscribers.tables import SimTable, TopUpTable, VoucherBatchTable, VoucherTable
from subscribers.views.base import add_service_errors


class ConsoleFormPage(ModelPermissionMixin, generic.FormView):
    """A create form that is not a model form; it renders subscribers/form.html."""

    template_name = "subscribers/form.html"
    permission_action = "add"
    title = ""
    intro = ""
    submit_label = "Save"
    cancel_url = "/"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title,
            intro=self.intro,
            submit_label=self.submit_label,
            cancel_url=self.cancel_url,
        )
        return context


# --- SIMs -----------------------------------------------------------------------------------


class SimListView(ConsoleListView):
    model = Sim
    table_class = SimTable
    filterset_class = SimFilter
    title = "SIMs"
    create_url = reverse_lazy("subscribers:simbatch-create")

    def get_queryset(self):
        holder = Subscription.objects.filter(sim=OuterRef("pk")).values("msisdn")[:1]
        return sims_visible_to(self.request.user).annotate(msisdn=Subquery(holder))


class SimBatchUploadView(ConsoleFormPage):
    """Load a delivery of SIMs from CSV: all lines or none (services.sim_batch_load)."""

    model = SimBatch
    form_class = SimBatchUploadForm
    title = "Load a SIM batch"
    intro = (
        "Upload the supplier's CSV file: a header line iccid,imsi, then one SIM per line. "
        "Every line is checked (ICCID check digit, IMSI length and country code, repeats, SIMs "
        "already in stock); if any line is wrong nothing is loaded and the wrong lines are "
        "listed."
    )
    submit_label = "Load"
    cancel_url = reverse_lazy("subscribers:sim-list")

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            batch = services.sim_batch_load(
                reference=data["reference"],
                host_network=data["host_network"],
                csv_text=data["file"],
                acting_user=self.request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"SIM batch {batch} loaded: {batch.count} SIMs.")
        return HttpResponseRedirect(f"{reverse('subscribers:sim-list')}?batch={batch.pk}")


# --- vouchers -------------------------------------------------------------------------------


class VoucherBatchListView(ConsoleListView):
    model = VoucherBatch
    table_class = VoucherBatchTable
    filterset_class = VoucherBatchFilter
    title = "Voucher batches"
    create_url = reverse_lazy("subscribers:voucherbatch-create")

    def get_queryset(self):
        redeemed = Count("vouchers", filter=Q(vouchers__status=VoucherStatus.REDEEMED))
        return voucher_batches_visible_to(self.request.user).annotate(redeemed=redeemed)


class VoucherBatchDetailView(ConsoleDetailView):
    model = VoucherBatch
    template_name = "subscribers/voucherbatch_detail.html"
    fields = ["reference", "brand", "value", "currency", "count", "valid_until", "created_by"]

    def get_queryset(self):
        return voucher_batches_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        vouchers = VoucherTable(
            self.object.vouchers.select_related("top_up__billing_account").order_by("serial"),
            prefix="vouchers-",
        )
        RequestConfig(self.request, paginate={"per_page": 50}).configure(vouchers)
        context["vouchers"] = vouchers
        context["redeemed"] = self.object.vouchers.filter(status=VoucherStatus.REDEEMED).count()
        return context


class VoucherBatchCreateView(ConsoleFormPage):
    """Create a voucher batch; the answer is the CSV of serials and codes, given only once."""

    model = VoucherBatch
    form_class = VoucherBatchForm
    title = "New voucher batch"
    intro = (
        "Creating the batch downloads a CSV file with each voucher's serial and secret code. "
        "Keep it safe and hand it to the printer: the codes are shown only this once. Only a "
        "hash of each code is stored, so nobody — not even an admin — can read them again "
        "later; a lost file cannot be recovered."
    )
    submit_label = "Create and download the codes"
    cancel_url = reverse_lazy("subscribers:voucherbatch-list")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            batch, codes = services.voucher_batch_create(
                reference=data["reference"],
                brand=data["brand"],
                value=data["value"],
                currency=data["currency"],
                count=data["count"],
                valid_until=data["valid_until"],
                acting_user=self.request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["serial", "code"])
        writer.writerows(codes)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="vouchers-{slugify(batch.reference)}.csv"'
        )
        response["Cache-Control"] = "no-store"
        messages.success(
            self.request,
            f"Voucher batch {batch} created: {batch.count} codes were downloaded, once.",
        )
        return response


# --- top-ups --------------------------------------------------------------------------------


class TopUpListView(ConsoleListView):
    model = TopUp
    table_class = TopUpTable
    filterset_class = TopUpFilter
    title = "Top-ups"

    def get_queryset(self):
        return top_ups_visible_to(self.request.user).order_by("-created_at", "-id")
