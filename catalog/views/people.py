"""The People page's brands of a user: whom a console or API user sees (brand scoping).

The People page itself belongs to core, which knows no brand; it links here for each user.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from catalog.models import Brand, BrandScope
from catalog.selectors import require_every_brand
from catalog.services import user_brands_set


class UserBrandsForm(forms.Form):
    brands = forms.ModelMultipleChoiceField(
        queryset=Brand.objects.order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: the user sees every brand.",
    )


def brand_scope_trail(user, limit: int = 50) -> list[dict]:
    """Return who added or removed which brand of a user, and when, newest first."""
    records = (
        BrandScope.history.filter(user_id=user.pk)
        .select_related("history_user", "brand")
        .order_by("-history_date", "-history_id")[:limit]
    )
    actions = {"+": "brand added", "-": "brand removed", "~": "changed"}
    return [
        {
            "when": record.history_date,
            "who": record.history_user,
            "action": actions.get(record.history_type, record.history_type),
            "reason": "",
            "changes": [("brand", "", record.brand.code if record.brand else record.brand_id)],
        }
        for record in records
    ]


class UserBrandsView(PermissionRequiredMixin, View):
    """Set the brands a user is limited to (admins who see every brand); audited."""

    permission_required = "auth.change_user"
    raise_exception = True

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require_every_brand(request.user, "who sees which brand")
        self.person = get_object_or_404(get_user_model(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        current = Brand.objects.filter(pk__in=self.person.brand_scopes.values("brand_id"))
        return self._render(UserBrandsForm(initial={"brands": list(current)}))

    def post(self, request, *args, **kwargs):
        form = UserBrandsForm(request.POST)
        if form.is_valid():
            scopes = user_brands_set(
                user=self.person, brands=form.cleaned_data["brands"], acting_user=request.user
            )
            codes = ", ".join(scope.brand.code for scope in scopes) or "every brand"
            messages.success(request, f"{self.person.username} now sees: {codes}.")
            return HttpResponseRedirect(reverse("user-list"))
        return self._render(form)

    def _render(self, form):
        return render(
            self.request,
            "catalog/user_brands.html",
            {
                "form": form,
                "title": f"Brands of {self.person.username}",
                "cancel_url": reverse("user-list"),
                "history": brand_scope_trail(self.person),
            },
        )
