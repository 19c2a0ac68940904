"""List, detail, form and action views that every console page is built from."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.views import generic
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from core.console.export import table_csv_response, table_xlsx_response
from core.console.history import history_of


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
            table = self.get_table_class()(queryset, order_by=request.GET.get("sort"))
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
        context.update(
            title=self.get_title(),
            export_query=csv_query,
            export_xlsx_query=query.urlencode(),
            create_url=self.create_url if self.create_url and self.can("add") else None,
        )
        return context


class ConsoleDetailView(ModelPermissionMixin, generic.DetailView):
    """A detail page: fields, actions the user may take, and the audit trail."""

    template_name = "core/detail.html"
    fields: list[str] = []

    def get_fields(self):
        obj = self.object
        rows = []
        for name in self.fields:
            field = obj._meta.get_field(name)
            display = getattr(obj, f"get_{name}_display", None)
            value = display() if display else getattr(obj, name)
            rows.append((field.verbose_name, value))
        return rows

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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit {self.object}"
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
