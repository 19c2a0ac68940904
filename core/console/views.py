"""List, detail, form and action views that every console page is built from."""

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Sum
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views import generic
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from core.console.dashboard import related_panels_for
from core.console.export import table_csv_response, table_xlsx_response
from core.console.formats import local_text, money_text
from core.console.history import history_of
from core.console.tables import PAGE_SIZES


class ModelPermissionMixin(PermissionRequiredMixin):
    """Require the model permission for ``permission_action`` (view by default); 403 if not."""

    raise_exception = True
    permission_action = "view"

    def get_permission_required(self):
        if self.permission_required:
            return super().get_permission_required()
        meta = self.get_model()._meta
        return [f"{meta.app_label}.{self.permission_action}_{meta.model_name}"]

    def get_model(self):
        if getattr(self, "model", None) is not None:
            return self.model
        return self.get_queryset().model

    def can(self, action: str) -> bool:
        meta = self.get_model()._meta
        return self.request.user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}")


class ConsoleListView(ModelPermissionMixin, SingleTableMixin, FilterView):
    """A filtered, sortable, paginated list with a CSV and an XLSX export of what is filtered."""

    template_name = "core/list.html"
    title = ""
    create_url = None
    export_name = None
    filterset_class = None

    def chosen_columns(self) -> tuple[list[str], list[str]]:
        """Return (every column of the table, the ones to show): ?cols=… or the defaults."""
        table_class = self.get_table_class()
        names = list(table_class.base_columns)
        asked = [name for name in self.request.GET.getlist("cols") if name in names]
        if asked:
            shown = [names[0], *[name for name in names[1:] if name in asked]]
        else:
            shown = [name for name in names if name not in table_class.optional_columns]
        return names, shown

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        names, shown = self.chosen_columns()
        hidden = [name for name in names if name not in shown]
        if hidden:
            kwargs["exclude"] = (*kwargs.get("exclude", ()), *hidden)
        return kwargs

    def get(self, request, *args, **kwargs):
        export = request.GET.get("_export")
        if export in ("csv", "xlsx"):
            filterset = self.get_filterset(self.get_filterset_class())
            queryset = (
                filterset.qs
                if filterset.is_bound and filterset.is_valid()
                else (self.get_queryset())
            )
            if filterset.is_bound and not filterset.is_valid():
                queryset = queryset.none()
            table = self.get_table_class()(
                queryset, order_by=request.GET.get("sort"), **self.get_table_kwargs()
            )
            respond = table_xlsx_response if export == "xlsx" else table_csv_response
            return respond(table, name=self.export_name or self.get_title())
        return super().get(request, *args, **kwargs)

    def get_title(self) -> str:
        return self.title or str(self.get_model()._meta.verbose_name_plural).capitalize()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        query["_export"] = "csv"
        csv_query = query.urlencode()
        query["_export"] = "xlsx"
        names, shown = self.chosen_columns()
        table = context["table"]
        base = table.base_columns
        context.update(
            column_choice=[
                (name, base[name].verbose_name or name.replace("_", " "), name in shown)
                for name in names[1:]
            ],
            page_sizes=PAGE_SIZES,
            per_page=table.paginator.per_page if table.paginator else None,
            kept_query=[
                (key, value)
                for key in self.request.GET
                if key not in ("cols", "per_page", "page", "_export")
                for value in self.request.GET.getlist(key)
            ],
        )
        self.add_totals(table)
        context.update(
            title=self.get_title(),
            export_query=csv_query,
            export_xlsx_query=query.urlencode(),
            create_url=self.create_url if self.create_url and self.can("add") else None,
        )
        return context

    def add_totals(self, table) -> None:
        """Put the sum of each ``totals`` column over the whole filtered list under it."""
        names = [name for name in table.totals if name in table.columns.names()]
        if not names:
            return
        queryset = table.data.data
        model = queryset.model
        has_currency = any(field.name == "currency" for field in model._meta.fields)
        currency_field = "currency" if has_currency else None
        sums = {
            f"total_{name}": Sum(table.columns[name].accessor.replace(".", "__")) for name in names
        }
        if currency_field:
            rows = list(queryset.order_by().values(currency_field).annotate(**sums))
            rows = [row for row in rows if row[currency_field]]
        else:
            rows = [queryset.order_by().aggregate(**sums)]
        first = table.columns[table.columns.names()[0]]
        first.column._footer = "Total of the list" if len(rows) <= 1 else "Totals of the list"
        for name in names:
            lines = []
            places = _decimal_places(model, table.columns[name].accessor)
            for row in rows:
                total = row[f"total_{name}"] if row[f"total_{name}"] is not None else 0
                if places is not None:
                    # A sum keeps the column's places on every database (SQLite sums floats).
                    total = Decimal(str(total)).quantize(Decimal(1).scaleb(-places))
                unit = f" {row[currency_field]}" if currency_field else ""
                lines.append(f"{total}{unit}")
            table.columns[name].column._footer = format_html_join(
                "", "<div>{}</div>", ((line,) for line in lines)
            )


# Decimal fields that hold a fee, a limit, a balance or a total: money at the currency's minor
# unit. Per-unit prices (a rate row's 0.0199 a MB) keep their places.
MONEY_WORDS = ("fee", "limit", "balance", "total")


def _currency_of(obj) -> str | None:
    currency = getattr(obj, "currency", None)
    if not currency and hasattr(obj, "plan_id"):
        currency = getattr(obj.plan, "currency", None)
    return currency if isinstance(currency, str) and currency else None


def field_text(obj, name: str):
    """Show one field of a detail page as every page does: a linked object, money with its
    currency, an instant in the console's zone with the zone, yes and no."""
    field = obj._meta.get_field(name)
    display = getattr(obj, f"get_{name}_display", None)
    value = display() if display else getattr(obj, name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field.is_relation and hasattr(value, "get_absolute_url"):
        return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)
    if isinstance(value, dt.datetime):
        return local_text(value)
    currency = _currency_of(obj)
    if isinstance(value, Decimal) and currency and any(word in name for word in MONEY_WORDS):
        return money_text(value, currency)
    return value


def _decimal_places(model, accessor: str) -> int | None:
    """Return the decimal places of the model field an accessor names, if a decimal field."""
    try:
        field = model._meta.get_field(str(accessor).split(".")[0])
    except FieldDoesNotExist:
        return None
    return getattr(field, "decimal_places", None)


class ConsoleDetailView(ModelPermissionMixin, generic.DetailView):
    """A detail page: fields, actions the user may take, and the audit trail."""

    template_name = "core/detail.html"
    fields: list[str] = []

    def get_fields(self):
        obj = self.object
        return [
            (obj._meta.get_field(name).verbose_name, field_text(obj, name)) for name in self.fields
        ]

    def get_actions(self) -> list[dict]:
        """Return the buttons of this page: ``{"label", "url", "style"}``."""
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=str(self.object),
            detail_fields=self.get_fields(),
            actions=self.get_actions(),
            history=history_of(self.object),
            related_panels=related_panels_for(
                obj=self.object, user=self.request.user, now=timezone.now()
            ),
        )
        return context


class ConsoleFormMixin(ModelPermissionMixin):
    """Create/edit: domain errors raised by the service land on the form, not in a 500."""

    template_name = "core/form.html"
    success_message = "Saved."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = getattr(self, "object", None)
        if obj is not None and obj.pk and hasattr(obj, "get_absolute_url"):
            context.setdefault("cancel_url", obj.get_absolute_url())
        return context

    def save(self, form):
        """Save the form through the app's service; override in each view."""
        return form.save()

    def form_valid(self, form):
        try:
            self.object = self.save(form)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, format_html("{} {}", self.success_message, self.object))
        return HttpResponseRedirect(self.get_success_url())


class ConsoleCreateView(ConsoleFormMixin, generic.CreateView):
    permission_action = "add"
    success_message = "Created"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"New {self.get_model()._meta.verbose_name}"
        return context


class ConsoleUpdateView(ConsoleFormMixin, generic.UpdateView):
    permission_action = "change"
    success_message = "Saved"

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        # Named as stored: a refused form's input must never become the page's heading.
        self.stored_name = str(obj)
        return obj

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit {self.stored_name}"
        return context


class ConsoleActionView(ModelPermissionMixin, generic.detail.SingleObjectMixin, generic.View):
    """A confirmed action on one object (publish, retire, suspend): GET asks, POST does.

    Subclasses set ``verb`` and ``explanation`` and implement ``perform`` by calling a service.
    """

    template_name = "core/confirm.html"
    permission_action = "change"
    verb = ""
    explanation = ""
    danger = False

    def get(self, request, *args, **kwargs):
        from django.shortcuts import render

        self.object = self.get_object()
        return render(
            request,
            self.template_name,
            {
                "object": self.object,
                "title": f"{self.verb} {self.object}",
                "verb": self.verb,
                "explanation": self.explanation,
                "danger": self.danger,
                "cancel_url": self.object.get_absolute_url(),
            },
        )

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        try:
            result = self.perform(self.object)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(self.object.get_absolute_url())
        target = (
            result if result is not None and hasattr(result, "get_absolute_url") else (self.object)
        )
        messages.success(request, f"{self.verb}: {target}")
        return HttpResponseRedirect(target.get_absolute_url())
