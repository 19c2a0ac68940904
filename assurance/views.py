"""Console pages of the assurance: dashboard, findings, reconciliations, lineage, what-if.

Every figure links to the records behind it; the dashboard's KPI table exports as CSV and XLSX.
"""

import contextlib
import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import generic

from assurance import selectors, services
from assurance.filters import FindingFilter
from assurance.models import Finding, FindingState, Reconciliation, WhatIfRun
from assurance.tables import FindingTable
from catalog.models import PlanVersion, Status
from catalog.selectors import brands_of
from charging.models import UsageEvent
from charging.simulator import usage_event_explain, usage_file_line
from charging.views.base import usage_events_visible_to
from core.console.dashboard import Chart
from core.console.export import XLSX_TYPE
from core.console.formats import readable_quantity
from core.console.views import ConsoleDetailView, ConsoleListView, ModelPermissionMixin
from invoicing.models import InvoiceLine
from invoicing.selectors import invoices_visible_to

TREND = 6


def _month(text: str | None, *, brands=None, latest: bool = False):
    """The period asked for as YYYY-MM; else the latest with data for the brands (``latest``)
    or the last closed one."""
    if text:
        try:
            year, month = (int(part) for part in text.split("-"))
            return selectors.period_of(year=year, month=month)
        except (ValueError, TypeError):
            pass
    if latest:
        return selectors.default_period(brand_ids=brands)
    return selectors.last_closed_period()


def _quantity(service: str, value) -> str:
    """A usage per subscriber as a bill shows it (seconds, bytes, messages)."""
    from charging.simulator import BASE_UNITS

    return readable_quantity(int(value), BASE_UNITS.get(service, ""))


def _records_url(model: str, ids: list) -> list[tuple[str, str]]:
    """(label, url) of each record a finding names, through its own console page."""
    from django.apps import apps

    app_label, model_name = model.split(".")
    klass = apps.get_model(app_label, model_name)
    rows = []
    for obj in klass.objects.filter(pk__in=ids[:200]).order_by("pk"):
        url = ""
        if model == "charging.usageevent":
            url = reverse("assurance:lineage-event", args=[obj.pk])
        elif model == "invoicing.invoiceline":
            url = reverse("assurance:lineage-line", args=[obj.pk])
        elif hasattr(obj, "get_absolute_url"):
            try:
                url = obj.get_absolute_url()
            except Exception:
                url = ""
        rows.append((str(obj), url))
    return rows


def _statements_url(statements) -> str:
    """The settlement statement a figure comes from (the statement list for several)."""
    if len(statements) == 1:
        return reverse("settlement:statement-detail", args=[statements[0].pk])
    return reverse("settlement:statement-list")


class DashboardView(ModelPermissionMixin, generic.TemplateView):
    """KPIs of a period, trends, usage mix, top findings; ?_export=csv|xlsx for the KPIs."""

    model = Finding
    template_name = "assurance/dashboard.html"

    def kpi_rows(self, figures) -> list[tuple[str, object, str]]:
        period = figures.period.start_date.strftime("%Y-%m")
        usage = reverse("charging:usageevent-list")
        invoices = reverse("invoicing:invoice-list")
        findings = reverse("assurance:finding-list")
        subs = reverse("subscribers:subscription-list")
        return [
            ("Active subscribers", figures.active, subs),
            ("Gross adds", figures.gross_adds, subs),
            ("Churned", figures.churned, subs),
            ("Churn rate", figures.churn_rate if figures.churn_rate is not None else "", subs),
            (
                f"Revenue invoiced (net, {figures.currency})"
                if figures.currency
                else "Revenue invoiced (net)",
                figures.revenue,
                invoices,
            ),
            ("ARPU", figures.arpu if figures.arpu is not None else "", invoices),
            ("Usage retail (rated)", figures.usage_retail, usage),
            ("Wholesale cost", figures.wholesale, usage),
            ("Usage margin (usage retail − wholesale usage)", figures.usage_margin, usage),
            ("Host-network fees (settlement statements)", figures.host_fees,
             _statements_url(figures.host_fee_statements)),
            ("Margin (revenue − wholesale − host-network fees)", figures.margin,
             _statements_url(figures.host_fee_statements) if figures.host_fees else usage),
            ("Roaming share of usage retail",
             figures.roaming_share if figures.roaming_share is not None else "", usage),
            ("Billed gross", figures.billed_gross, invoices),
            ("Unpaid gross", figures.unpaid_gross, invoices),
            ("DSO (days)", figures.dso_days if figures.dso_days is not None else "", invoices),
            *self.receivable_rows(figures),
            ("Unbilled usage", figures.unbilled, f"{findings}?{urlencode({'kind': 'unbilled'})}"),
        ] + [
            (f"{service} per subscriber", _quantity(service, value), f"{usage}?service={service}")
            for service, value in figures.usage_per_subscriber.items()
        ] + [(f"Period {period}", "", "")][:0]  # fmt: skip

    def receivable_rows(self, figures) -> list[tuple[str, object, str]]:
        """Aged receivables on the period's last day, each bucket linking to its invoices."""
        from invoicing.payments.selectors import BUCKETS

        if figures.receivables_as_of is None:
            return []
        drill = reverse("invoicing:aged-receivables-invoices")
        as_of = f"{figures.receivables_as_of:%Y-%m-%d}"
        rows = []
        for total in figures.receivables:
            for name, label, *_ in BUCKETS:
                query = urlencode({"as_of": as_of, "bucket": name, "currency": total.currency})
                rows.append((f"Receivables {label} on {as_of} ({total.currency})",
                             total.buckets[name], f"{drill}?{query}"))  # fmt: skip
        if not rows:  # nothing owed that day: say so, with the (empty) list behind it
            query = urlencode({"as_of": as_of})
            rows.append((f"Receivables on {as_of}", "0.00", f"{drill}?{query}"))
        return rows

    def get(self, request, *args, **kwargs):
        export = request.GET.get("_export")
        if export in ("csv", "xlsx"):
            brands = brands_of(request.user)
            period = _month(request.GET.get("period"), brands=brands, latest=True)
            figures = selectors.kpis(period, brand_ids=brands)
            rows = [(label, value) for label, value, _ in self.kpi_rows(figures)]
            rows += [(f"Plan {p['code']} {key}", p[key]) for p in figures.plans
                     for key in ("usage", "fees", "wholesale", "host_fees", "margin")]  # fmt: skip
            name = f"assurance-kpis-{period.start_date:%Y-%m}"
            if export == "csv":
                out = io.StringIO()
                writer = csv.writer(out)
                writer.writerow(["figure", "value"])
                writer.writerows(rows)
                response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
                return response
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = "KPIs"
            sheet.append(["figure", "value"])
            for label, value in rows:
                if isinstance(value, str):
                    with contextlib.suppress(ArithmeticError):
                        value = Decimal(value)
                sheet.append([label, value if value != "" else None])
            handle = io.BytesIO()
            book.save(handle)
            response = HttpResponse(handle.getvalue(), content_type=XLSX_TYPE)
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        brands = brands_of(user)
        period = _month(self.request.GET.get("period"), brands=brands, latest=True)
        figures = selectors.kpis(period, brand_ids=brands)
        picker = selectors.periods_with_data(brand_ids=brands)
        if all(item.period != period for item in picker):  # a month outside the picker's
            picker += selectors.periods_with_data(brand_ids=brands, now=period.start, count=1)
            picker.sort(key=lambda item: item.period.start_date, reverse=True)
        trend = [selectors.kpis(p, brand_ids=brands) for p in selectors.periods_back(period, TREND)]
        labels = [f"{k.period.start_date:%Y-%m}" for k in trend]
        links = [f"?period={label}" for label in labels]
        # Amounts go to the charts as exact Decimals: json_script writes them as text, which
        # Chart.js reads as numbers, so no binary float ever holds money (R1).
        charts = [
            Chart("Revenue and margin", labels, [
                {"label": "Revenue", "values": [k.revenue for k in trend], "links": links},
                {"label": "Wholesale cost", "values": [k.wholesale for k in trend],
                 "links": links},
                {"label": "Margin", "values": [k.margin for k in trend], "links": links},
            ], unit=figures.currency),
            Chart("Subscribers: gross adds and churn", labels, [
                {"label": "Gross adds", "values": [k.gross_adds for k in trend], "links": links},
                {"label": "Churned", "values": [k.churned for k in trend], "links": links},
            ]),
        ]  # fmt: skip
        mix = selectors.usage_mix(period, brand_ids=brands)
        usage = reverse("charging:usageevent-list")
        charts.append(Chart(
            f"Usage mix {period.start_date:%Y-%m}: retail by service",
            [row["service"] for row in mix],
            [{"label": "Retail", "values": [row["retail"] for row in mix],
              "links": [f"{usage}?{urlencode({'service': row['service']})}" for row in mix]}],
            unit=figures.currency))  # fmt: skip
        top = list(
            selectors.findings_visible_to(user)
            .exclude(state=FindingState.FIXED)
            .order_by("-amount_at_risk", "-last_seen_at")[:10]
        )
        charts.append(Chart(
            "Top open findings by amount at risk", [f.title[:40] for f in top],
            [{"label": "At risk", "values": [f.amount_at_risk for f in top],
              "links": [f.get_absolute_url() for f in top]}]))  # fmt: skip
        chart_data = [{**chart.data(), "stacked": False} for chart in charts]
        latest = (
            selectors.reconciliations_visible_to(user)
            .filter(period_start_date=period.start_date)
            .first()
        )
        context.update(
            title="Revenue assurance",
            period=period,
            period_text=f"{period.start_date:%Y-%m}",
            picker=picker,
            period_events=urlencode(
                {
                    "started_at_after": f"{period.start_date:%Y-%m-%d}",
                    "started_at_before": f"{period.end_date - dt.timedelta(days=1):%Y-%m-%d}",
                }
            ),
            figures=figures,
            kpi_rows=self.kpi_rows(figures),
            charts=list(zip(charts, chart_data, strict=True)),
            top=top,
            latest=latest,
            can_reconcile=user.has_perm("assurance.add_reconciliation") and brands is None,
            drafts=_drafts(brands) if user.has_perm("assurance.add_whatifrun") else [],
            whatifs=selectors.whatif_runs_visible_to(user)[:5],
        )
        return context


def _drafts(brands):
    drafts = PlanVersion.objects.filter(status=Status.DRAFT).select_related("plan")
    if brands is not None:
        drafts = drafts.filter(plan__brand_id__in=brands)
    return list(drafts.order_by("plan__code", "version"))


class ReconcileView(ModelPermissionMixin, generic.View):
    """POST: reconcile a period now (R33)."""

    model = Reconciliation
    permission_action = "add"

    def post(self, request):
        if brands_of(request.user) is not None:
            raise Http404("the usage chain is every brand's")
        period = _month(request.POST.get("period"))
        try:
            outcome = services.reconciliation_run(
                year=period.start_date.year, month=period.start_date.month, user=request.user
            )
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return HttpResponseRedirect(reverse("assurance:dashboard"))
        run = outcome.reconciliation
        messages.success(
            request, f"Reconciled {period.start_date:%Y-%m}: {run.findings} finding(s)."
        )
        return HttpResponseRedirect(run.get_absolute_url())


class FindingListView(ConsoleListView):
    model = Finding
    table_class = FindingTable
    filterset_class = FindingFilter
    title = "Findings"

    def get_queryset(self):
        return selectors.findings_visible_to(self.request.user)


class FindingDetailView(ConsoleDetailView):
    model = Finding
    template_name = "assurance/finding_detail.html"

    def get_queryset(self):
        return selectors.findings_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        finding = self.object
        context.update(
            records=_records_url(finding.records.get("model", "charging.usageevent"),
                                 finding.records.get("ids", [])),
            states=FindingState.choices,
            can_change=self.can("change"),
        )  # fmt: skip
        return context

    def post(self, request, pk):
        finding = get_object_or_404(self.get_queryset(), pk=pk)
        if not self.can("change"):
            raise Http404
        try:
            services.finding_update(
                finding=finding, user=request.user, state=request.POST.get("state") or None,
                comment=request.POST.get("comment", ""),
                owner=request.user if request.POST.get("take") else ...,
            )  # fmt: skip
            messages.success(request, "Saved.")
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
        return HttpResponseRedirect(finding.get_absolute_url())


class ReconciliationDetailView(ConsoleDetailView):
    model = Reconciliation
    template_name = "assurance/reconciliation_detail.html"

    def get_queryset(self):
        return selectors.reconciliations_visible_to(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = self.object.rows.all()
        context["findings"] = selectors.findings_visible_to(self.request.user).filter(
            period_start_date=self.object.period_start_date
        )
        return context


class LineLineageView(ModelPermissionMixin, generic.TemplateView):
    """An invoice line and the events it sums, each with its file line."""

    model = InvoiceLine
    template_name = "assurance/lineage_line.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invoices = invoices_visible_to(self.request.user)
        line = get_object_or_404(
            InvoiceLine.objects.select_related("invoice").filter(invoice__in=invoices),
            pk=self.kwargs["pk"],
        )
        events = []
        if line.kind == "usage":
            for event in selectors.line_events(line).select_related("usage_file")[:500]:
                events.append((event, usage_file_line(event.usage_file, event.line_number)))
        total = sum((e.retail_amount or 0 for e, _ in events), Decimal("0"))
        context.update(title=f"Lineage of {line}", line=line, events=events, total=total)
        return context


class EventLineageView(ModelPermissionMixin, generic.TemplateView):
    """An event: its file line, its rating explanation, the invoice line it landed on."""

    model = UsageEvent
    template_name = "assurance/lineage_event.html"

    def get_context_data(self, **kwargs):
        from django.conf import settings

        context = super().get_context_data(**kwargs)
        event = get_object_or_404(
            usage_events_visible_to(self.request.user).select_related("usage_file"),
            pk=self.kwargs["pk"],
        )
        raw = usage_file_line(event.usage_file, event.line_number)
        line = selectors.event_line(event)
        context.update(
            title=f"Lineage of event {event}",
            event=event,
            raw=raw,
            explanation=usage_event_explain(
                event=event, timezone=settings.TIME_ZONE, raw_line=raw
            ),  # fmt: skip
            line=line,
            invoice=line.invoice if line else selectors.event_invoice(event),
            settlement_line=selectors.settlement_line_of(event),
        )
        return context


class WhatIfRunView(ModelPermissionMixin, generic.View):
    """POST: rate the last closed period's usage on a draft plan version (nothing written)."""

    model = WhatIfRun
    permission_action = "add"

    def post(self, request):
        versions = PlanVersion.objects.filter(status=Status.DRAFT)
        brands = brands_of(request.user)
        if brands is not None:
            versions = versions.filter(plan__brand_id__in=brands)
        pk = request.POST.get("plan_version", "")
        version = versions.filter(pk=int(pk)).first() if pk.isdigit() else None
        if version is None:
            messages.error(request, "Choose a draft plan version.")
            return HttpResponseRedirect(reverse("assurance:dashboard"))
        try:
            run = services.whatif_run(plan_version=version, user=request.user)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return HttpResponseRedirect(reverse("assurance:dashboard"))
        return HttpResponseRedirect(run.get_absolute_url())


class WhatIfDetailView(ConsoleDetailView):
    model = WhatIfRun
    template_name = "assurance/whatif_detail.html"

    def get_queryset(self):
        return selectors.whatif_runs_visible_to(self.request.user)
