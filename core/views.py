"""Console pages of the core app: home, my account, people, health, error pages."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView
from rest_framework.authtoken.models import Token

from core import services
from core.api.errors import json_error_response
from core.console.dashboard import panels_for
from core.console.search import search_all
from core.console.views import ConsoleListView
from core.forms import UserCreateForm, UserRolesForm
from core.health import health_report
from core.roles import user_roles
from core.rules import RULES
from core.tables import UserFilter, UserTable


class HomeView(TemplateView):
    """The operations dashboard: each app's panels of what this user acts on, linked to records."""

    template_name = "core/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        panels = panels_for(user=self.request.user, now=timezone.now())
        context.update(title="Home", panels=panels)
        return context


class RulesHelpView(TemplateView):
    """The billing rules in plain words; pages link their rule numbers here."""

    template_name = "core/help_rules.html"
    extra_context = {"title": "How billing works", "rules": list(RULES.items())}


class SearchView(TemplateView):
    """The search box of every page: straight to the one match, or the list of matches."""

    template_name = "core/search.html"

    def get(self, request, *args, **kwargs):
        query = request.GET.get("q", "")[:200]
        hits = search_all(user=request.user, query=query)
        if len(hits) == 1:
            return HttpResponseRedirect(hits[0].url)
        return self.render_to_response(
            self.get_context_data(query=query.strip(), hits=hits, title="Search")
        )


class AccountView(TemplateView):
    """The user's own page: roles and the API token for integrations."""

    template_name = "core/account.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["token"] = Token.objects.filter(user=self.request.user).first()
        context["title"] = "My account"
        return context

    def post(self, request, *args, **kwargs):
        services.api_token_regenerate(user=request.user)
        messages.success(request, "A new API token was created; the previous one no longer works.")
        return HttpResponseRedirect(reverse("account"))


class UserListView(ConsoleListView):
    model = get_user_model()
    table_class = UserTable
    filterset_class = UserFilter
    title = "People"
    export_name = "people"

    def get_queryset(self):
        return (
            get_user_model()
            .objects.prefetch_related("groups", "brand_scopes__brand")
            .order_by("username")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.request.user.has_perm("auth.add_user"):
            context["create_url"] = reverse("user-create")
        return context


class UserCreateView(PermissionRequiredMixin, FormView):
    permission_required = "auth.add_user"
    raise_exception = True
    form_class = UserCreateForm
    template_name = "core/form.html"
    extra_context = {"title": "New user", "cancel_url": "/people/"}

    def form_valid(self, form):
        data = form.cleaned_data
        user = services.user_create(
            username=data["username"],
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            roles=data["roles"],
            password=data["password1"],
            acting_user=self.request.user,
        )
        messages.success(self.request, f"User {user.username} created.")
        return HttpResponseRedirect(reverse("user-list"))


class UserRolesView(PermissionRequiredMixin, View):
    permission_required = "auth.change_user"
    raise_exception = True

    def dispatch(self, request, *args, **kwargs):
        self.person = get_object_or_404(get_user_model(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        form = UserRolesForm(
            initial={"roles": user_roles(self.person), "is_active": self.person.is_active}
        )
        return self._render(form)

    def post(self, request, *args, **kwargs):
        form = UserRolesForm(request.POST)
        if form.is_valid():
            from django.core.exceptions import ValidationError

            try:
                services.user_set_roles(
                    user=self.person,
                    roles=form.cleaned_data["roles"],
                    is_active=form.cleaned_data["is_active"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Roles of {self.person.username} saved.")
                return HttpResponseRedirect(reverse("user-list"))
        return self._render(form)

    def _render(self, form):
        return render(
            self.request,
            "core/form.html",
            {
                "form": form,
                "title": f"Roles of {self.person.username}",
                "cancel_url": reverse("user-list"),
            },
        )


@login_not_required
def healthz(request):
    """Report whether the database and the broker are reachable (200) or not (503)."""
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


def _wants_json(request) -> bool:
    return request.path_info.startswith("/api/")


def error_400(request, exception=None):
    """A request Django refused before any view (too many fields, a suspicious header)."""
    if _wants_json(request):
        reason = str(exception) if exception is not None and str(exception) else "Bad request."
        return json_error_response(400, reason)
    return render(request, "400.html", status=400)


def error_403(request, exception=None):
    if _wants_json(request):
        return json_error_response(403, "You do not have permission to perform this action.")
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    if _wants_json(request):
        return json_error_response(404, "Not found.")
    return render(request, "404.html", status=404)


def error_500(request):
    if _wants_json(request):
        return json_error_response(500, "An internal error occurred; it has been logged.")
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("500.html").render())
