"""Console pages of add-ons (with their allowances) and promotions (R35)."""

from django.urls import reverse, reverse_lazy

from catalog import services
from catalog.filters import AddOnFilter, PromotionFilter
from catalog.forms import AddOnCloneForm, AddOnForm, PromotionForm
from catalog.models import AddOn, Allowance, Promotion, Status
from catalog.selectors import catalog_visible_to
from catalog.services import ADDON_FIELDS, PROMOTION_FIELDS
from catalog.tables import AddOnTable, PromotionTable
from catalog.views.base import (
    CatalogActionView,
    CatalogCloneView,
    CatalogCreateView,
    CatalogDetailView,
    CatalogListView,
    CatalogUpdateView,
    can,
    status_notice,
    visible_or_404,
)


def lifecycle_actions(view, obj, name: str) -> list[dict]:
    """Edit and publish a draft, retire a published one, clone any (as the user may)."""
    actions = []
    may_change = view.can("change")
    if obj.status == Status.DRAFT and may_change:
        actions += [
            {"label": "Edit", "url": reverse(f"catalog:{name}-edit", args=[obj.pk])},
            {
                "label": "Publish",
                "url": reverse(f"catalog:{name}-publish", args=[obj.pk]),
                "style": "primary",
            },
        ]
    if obj.status == Status.PUBLISHED and may_change:
        actions.append(
            {
                "label": "Retire",
                "url": reverse(f"catalog:{name}-retire", args=[obj.pk]),
                "style": "danger",
            }
        )
    if view.can("add"):
        actions.append({"label": "Clone", "url": reverse(f"catalog:{name}-clone", args=[obj.pk])})
    return actions


# --- add-ons --------------------------------------------------------------------------------


class AddOnListView(CatalogListView):
    model = AddOn
    table_class = AddOnTable
    filterset_class = AddOnFilter
    create_url = reverse_lazy("catalog:addon-create")


class AddOnDetailView(CatalogDetailView):
    model = AddOn
    template_name = "catalog/addon_detail.html"
    fields = [
        "code",
        "name",
        "kind",
        "status",
        "currency",
        "price",
        "validity_days",
        "tax_inclusive",
        "tax_category",
        "zone_table",
        "description",
        "published_at",
    ]

    def get_actions(self):
        return lifecycle_actions(self, self.object, "addon")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        add_on = self.object
        editable = add_on.status == Status.DRAFT
        user = self.request.user
        context.update(
            notice=status_notice(add_on, "add-on"),
            eligible_plans=catalog_visible_to(
                add_on.eligible_plans.all(), self.request.user
            ).order_by("code"),
            allowances=add_on.allowances.prefetch_related(
                "destination_zones", "roaming_zones"
            ).order_by("id"),
            can_add_allowance=editable and can(user, Allowance, "add"),
            can_change_allowance=editable and can(user, Allowance, "change"),
            can_delete_allowance=editable and can(user, Allowance, "delete"),
            allowance_create_url=reverse("catalog:addon-allowance-create", args=[add_on.pk]),
        )
        return context


def _add_on_data(form) -> dict:
    data = {name: form.cleaned_data[name] for name in ADDON_FIELDS}
    data["eligible_plans"] = list(form.cleaned_data["eligible_plans"])
    return data


class AddOnCreateView(CatalogCreateView):
    model = AddOn
    form_class = AddOnForm
    intro = "A new add-on is a draft: give it allowances, then publish it."

    def save(self, form):
        return services.add_on_save(data=_add_on_data(form), acting_user=self.request.user)


class AddOnUpdateView(CatalogUpdateView):
    model = AddOn
    form_class = AddOnForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.object, "add-on")
        return context

    def save(self, form):
        return services.add_on_save(
            data=_add_on_data(form), add_on=self.stored(), acting_user=self.request.user
        )


class AddOnPublishView(CatalogActionView):
    model = AddOn
    verb = "Publish"
    explanation = "A published add-on can be sold and never changes again."

    def perform(self, add_on):
        return services.add_on_publish(add_on=add_on, acting_user=self.request.user)


class AddOnRetireView(CatalogActionView):
    model = AddOn
    verb = "Retire"
    danger = True
    explanation = "It is no longer sold; subscriptions that have it keep it."

    def perform(self, add_on):
        return services.add_on_retire(add_on=add_on, acting_user=self.request.user)


class AddOnCloneView(CatalogCloneView):
    model = AddOn
    form_class = AddOnCloneForm
    intro = "The new add-on is a draft with the same price, plans and allowances."

    def get_initial(self):
        return {"code": f"{self.object.code}-NEW"[:32]}

    def perform(self, form):
        return services.add_on_clone(
            add_on=self.object, code=form.cleaned_data["code"], acting_user=self.request.user
        )


# --- promotions -----------------------------------------------------------------------------


class PromotionListView(CatalogListView):
    model = Promotion
    table_class = PromotionTable
    filterset_class = PromotionFilter
    create_url = reverse_lazy("catalog:promotion-create")


class PromotionDetailView(CatalogDetailView):
    model = Promotion
    template_name = "catalog/promotion_detail.html"
    fields = [
        "code",
        "name",
        "status",
        "discount_type",
        "value",
        "currency",
        "periods",
        "available_from",
        "available_until",
        "description",
        "published_at",
    ]

    def get_actions(self):
        return lifecycle_actions(self, self.object, "promotion")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.object, "promotion")
        context["eligible_plans"] = catalog_visible_to(
            self.object.eligible_plans.all(), self.request.user
        ).order_by("code")
        return context


def _promotion_data(form) -> dict:
    data = {name: form.cleaned_data[name] for name in PROMOTION_FIELDS}
    data["eligible_plans"] = list(form.cleaned_data["eligible_plans"])
    return data


class PromotionCreateView(CatalogCreateView):
    model = Promotion
    form_class = PromotionForm
    intro = (
        "A discount line under the recurring fee for the periods it names (R35); a draft "
        "until published."
    )

    def save(self, form):
        return services.promotion_save(data=_promotion_data(form), acting_user=self.request.user)


class PromotionCloneView(PromotionCreateView):
    """A new draft promotion that starts as a copy of another one."""

    def dispatch(self, request, *args, **kwargs):
        self.source = visible_or_404(self.request, Promotion, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        initial = {name: getattr(self.source, name) for name in PROMOTION_FIELDS}
        initial["code"] = f"{self.source.code}-NEW"[:32]
        initial["eligible_plans"] = list(self.source.eligible_plans.all())
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=f"Clone {self.source}", cancel_url=self.source.get_absolute_url())
        return context


class PromotionUpdateView(CatalogUpdateView):
    model = Promotion
    form_class = PromotionForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.object, "promotion")
        return context

    def save(self, form):
        return services.promotion_save(
            data=_promotion_data(form), promotion=self.stored(), acting_user=self.request.user
        )


class PromotionPublishView(CatalogActionView):
    model = Promotion
    verb = "Publish"
    explanation = "A published promotion can be granted and never changes again."

    def perform(self, promotion):
        return services.promotion_publish(promotion=promotion, acting_user=self.request.user)


class PromotionRetireView(CatalogActionView):
    model = Promotion
    verb = "Retire"
    danger = True
    explanation = "It is no longer granted; subscriptions that have it keep it for its periods."

    def perform(self, promotion):
        return services.promotion_retire(promotion=promotion, acting_user=self.request.user)
