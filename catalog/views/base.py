"""What every catalogue console page shares.

The console pattern (core.console.views) with three additions for the catalogue: a service's
refusal that names a path (``bands[0].windows[1]``, ``members``) lands on the form field it is
about; forms of an object that lives inside another one (a rate row in its card, a zone in its
table) return to the parent's page; and clones are small forms (a new code, an effective date).
"""

import re
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.html import format_html
from django.views import generic

from catalog.models import Status
from catalog.selectors import catalog_visible_to, scope_form_choices
from core.console.views import (
    ConsoleActionView,
    ConsoleCreateView,
    ConsoleDetailView,
    ConsoleListView,
    ConsoleUpdateView,
    ModelPermissionMixin,
)

FIELD_OF_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)")


def add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: on the field it names, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        texts = [text for item in errors for text in item.messages]
        if key in form.fields:
            form.add_error(key, texts)
            continue
        match = FIELD_OF_PATH.match(key)
        field = match.group(1) if match and key != NON_FIELD_ERRORS else None
        if field in form.fields:
            form.add_error(field, [f"{key}: {text}" for text in texts])
        else:
            form.add_error(None, texts)


def amount(value: Decimal | None) -> str:
    """Show a stored price without its padding zeros, keeping at least cents (no rounding)."""
    if value is None:
        return "—"
    normal = value.normalize()
    if normal.as_tuple().exponent > -2:
        normal = normal.quantize(Decimal("0.01"))
    return f"{normal:f}"


def can(user, model, action: str) -> bool:
    """Whether the user may ``add``, ``change`` or ``delete`` objects of a catalogue model."""
    meta = model._meta
    return user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}")


def status_notice(obj, what: str) -> str | None:
    """The line a page shows above an object that can no longer change."""
    if obj.status == Status.DRAFT:
        return None
    return f"This {what} is {obj.status} — immutable; clone it to change."


class BrandScopeMixin:
    """Read only what the user's brands may see; offer only such objects in a form's choices.

    A shared object (a rate card, a zone table) is found here and refused by its service when a
    brand-limited user tries to change it (catalog.selectors.catalog_may_change).
    """

    def __init_subclass__(cls, **kwargs):
        # A view that writes its own get_queryset (select_related, annotations) is scoped too.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("get_queryset")
        if own is not None and not getattr(own, "brand_scoped", False):

            def get_queryset(self, _own=own):
                return catalog_visible_to(_own(self), self.request.user)

            get_queryset.brand_scoped = True
            cls.get_queryset = get_queryset

    def get_queryset(self):
        return catalog_visible_to(super().get_queryset(), self.request.user)

    def get_form(self, form_class=None):
        return scope_form_choices(super().get_form(form_class), self.request.user)

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        scope_form_choices(filterset.form, self.request.user)
        return filterset


def visible_or_404(request, model, **lookup):
    """Return the object of the lookup if the user's brands may see it, else a 404."""
    return get_object_or_404(catalog_visible_to(model.objects.all(), request.user), **lookup)


class CatalogListView(BrandScopeMixin, ConsoleListView):
    """A list of the catalogue, narrowed to what the user's brands may see."""


class ServiceFormMixin(BrandScopeMixin):
    """Save through a catalogue service; its refusals land on the form, never in a 500."""

    template_name = "catalog/form.html"
    intro = ""

    def form_valid(self, form):
        try:
            self.object = self.save(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, format_html("{} {}", self.success_message, self.object))
        return HttpResponseRedirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("intro", self.intro)
        return context


class CatalogCreateView(ServiceFormMixin, ConsoleCreateView):
    """Create a catalogue record through its service."""


class CatalogUpdateView(ServiceFormMixin, ConsoleUpdateView):
    """Edit a catalogue record through its service.

    The model form has already copied its input onto ``self.object`` while validating, so a
    service that compares old and new values gets ``stored()``, the object as saved.
    """

    def stored(self):
        return type(self.object).objects.get(pk=self.object.pk)


class CatalogDetailView(BrandScopeMixin, ConsoleDetailView):
    """A detail page of the catalogue; ``get_actions`` offers only what the user may do."""

    def can(self, action: str, model=None) -> bool:
        return can(self.request.user, model or self.get_model(), action)


class ChildMixin:
    """A form about an object inside a parent (a row in its card): back to the parent's page."""

    parent_model = None

    def dispatch(self, request, *args, **kwargs):
        self.parent = self.get_parent(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def get_parent(self, **kwargs):
        return visible_or_404(self.request, self.parent_model, pk=kwargs["parent_pk"])

    def get_success_url(self):
        return self.parent.get_absolute_url()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cancel_url"] = self.parent.get_absolute_url()
        context["parent"] = self.parent
        return context


class ChildCreateView(ChildMixin, CatalogCreateView):
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"New {self.get_model()._meta.verbose_name} of {self.parent}"
        return context


class ChildUpdateView(ChildMixin, CatalogUpdateView):
    """Edit an object whose parent is found from the object itself."""

    parent_attribute = ""

    def get_parent(self, **kwargs):
        obj = visible_or_404(self.request, self.model, pk=kwargs["pk"])
        return self.parent_of(obj)

    def parent_of(self, obj):
        return getattr(obj, self.parent_attribute)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit {self.stored_name} of {self.parent}"
        return context


class CatalogActionView(BrandScopeMixin, ConsoleActionView):
    """A confirmed action (publish, retire, delete) that returns to ``get_return_url``."""

    def get_return_url(self) -> str:
        return self.object.get_absolute_url()

    def get(self, request, *args, **kwargs):
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
                "cancel_url": self.get_return_url(),
            },
        )

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return_url = self.get_return_url()
        try:
            result = self.perform(self.object)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(return_url)
        messages.success(request, f"{self.verb}: {self.object}")
        if result is not None and hasattr(result, "get_absolute_url"):
            return HttpResponseRedirect(result.get_absolute_url())
        return HttpResponseRedirect(return_url)


class CatalogCloneView(
    BrandScopeMixin, ModelPermissionMixin, generic.detail.SingleObjectMixin, generic.FormView
):
    """Start a new draft from an existing object; the form asks what must differ (a code…)."""

    permission_action = "add"
    template_name = "catalog/form.html"
    intro = ""

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"Clone {self.object}",
            intro=self.intro,
            cancel_url=self.object.get_absolute_url(),
            submit_label="Clone",
        )
        return context

    def perform(self, form):
        """Call the clone service and return the new object."""
        raise NotImplementedError

    def form_valid(self, form):
        try:
            clone = self.perform(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"Cloned {self.object} as {clone}; it is a draft.")
        return HttpResponseRedirect(clone.get_absolute_url())


class ParentFormView(BrandScopeMixin, ModelPermissionMixin, generic.FormView):
    """A plain form that adds something to a parent object through a service."""

    template_name = "catalog/form.html"
    permission_action = "add"
    parent_model = None
    title = ""
    intro = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.parent = visible_or_404(request, self.parent_model, pk=kwargs["parent_pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"{self.title} · {self.parent}",
            intro=self.intro,
            cancel_url=self.parent.get_absolute_url(),
        )
        return context

    def form_valid(self, form):
        try:
            message = self.perform(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return HttpResponseRedirect(self.parent.get_absolute_url())
