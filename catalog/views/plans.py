"""Console pages of plans, their versions side by side, allowances and fair-use policies."""

import datetime as dt

from django.db.models import Count, Prefetch
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from catalog import services
from catalog.filters import PlanFilter, PlanVersionFilter
from catalog.forms import (
    AllowanceForm,
    FairUsePolicyForm,
    PlanForm,
    PlanVersionCloneForm,
    PlanVersionForm,
)
from catalog.models import (
    AddOn,
    Allowance,
    FairUsePolicy,
    Plan,
    PlanVersion,
    Service,
    Status,
)
from catalog.selectors import plan_version_at
from catalog.services import VERSION_FIELDS
from catalog.tables import PlanTable, PlanVersionTable
from catalog.views.base import (
    CatalogActionView,
    CatalogCloneView,
    CatalogCreateView,
    CatalogDetailView,
    CatalogListView,
    CatalogUpdateView,
    ChildCreateView,
    ChildUpdateView,
    amount,
    can,
    status_notice,
)

SERVICE_LABELS = dict(Service.choices)


def _zones(zones) -> str:
    return ", ".join(zone.code for zone in zones) or "any"


def describe_allowance(allowance: Allowance) -> str:
    """One line for an allowance: what, how much, where."""
    services_text = ", ".join(SERVICE_LABELS.get(s, s) for s in allowance.services)
    text = (
        f"{allowance.quantity} {allowance.unit} · {services_text} · "
        f"to {_zones(allowance.destination_zones.all())} · "
        f"in {_zones(allowance.roaming_zones.all())}"
    )
    return f"{text} · shared" if allowance.shared else text


def describe_policy(policy: FairUsePolicy) -> str:
    """One line for a fair-use policy: the cap and what happens past it (R13)."""
    services_text = ", ".join(SERVICE_LABELS.get(s, s) for s in policy.services)
    then = (
        f"then {amount(policy.overage_price)}/{policy.overage_unit}"
        if policy.action == "overage"
        else "then throttled"
    )
    return (
        f"{policy.cap_quantity} {policy.cap_unit} of {services_text} · "
        f"to {_zones(policy.destination_zones.all())} · "
        f"in {_zones(policy.roaming_zones.all())} · {then}"
    )


def _local(instant: dt.datetime | None) -> str:
    return "—" if instant is None else f"{timezone.localtime(instant):%Y-%m-%d %H:%M %Z}"


VERSION_ROWS = (
    ("Effective from", lambda v: _local(v.effective_from)),
    ("Status", lambda v: v.get_status_display()),
    ("Rate card", lambda v: v.rate_card.code),
    ("Recurring fee", lambda v: f"{amount(v.recurring_fee)} {v.plan.currency}"),
    ("Fee period", lambda v: v.get_fee_period_display()),
    ("Fee timing", lambda v: v.get_fee_timing_display()),
    ("Activation fee", lambda v: f"{amount(v.activation_fee)} {v.plan.currency}"),
    ("Tax inclusive", lambda v: "yes" if v.tax_inclusive else "no"),
    ("Tax category", lambda v: v.tax_category.code if v.tax_category_id else "—"),
)


def _versions_for_comparison(plan: Plan) -> list[PlanVersion]:
    zones = ("destination_zones", "roaming_zones")
    return list(
        plan.versions.select_related("plan", "rate_card", "tax_category")
        .prefetch_related(
            Prefetch("allowances", Allowance.objects.prefetch_related(*zones).order_by("id")),
            Prefetch(
                "fair_use_policies", FairUsePolicy.objects.prefetch_related(*zones).order_by("id")
            ),
        )
        .order_by("version")
    )


def _row(label: str, values: list[str], group: str = "") -> dict:
    cells = [
        {"value": value, "changed": index > 0 and value != values[index - 1]}
        for index, value in enumerate(values)
    ]
    return {"label": label, "group": group, "cells": cells}


def version_comparison(versions: list[PlanVersion]) -> list[dict]:
    """Rows of the side-by-side table: one cell per version, marked where it changed.

    A cell is ``changed`` when it differs from the same row of the version before it (the
    column to its left); allowances and policies are matched by name.
    """
    rows = [_row(label, [value(v) for v in versions]) for label, value in VERSION_ROWS]
    for group, related, describe in (
        ("Allowance", "allowances", describe_allowance),
        ("Fair use", "fair_use_policies", describe_policy),
    ):
        names: list[str] = []
        by_version = []
        for version in versions:
            items = {item.name: item for item in getattr(version, related).all()}
            by_version.append(items)
            names.extend(name for name in items if name not in names)
        for name in names:
            values = [describe(items[name]) if name in items else "—" for items in by_version]
            rows.append(_row(name, values, group))
    return rows


def next_month_start(after: dt.datetime) -> dt.datetime:
    """00:00 of the first day of the month after ``after``, in the console's time zone."""
    local = timezone.localtime(after)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return timezone.make_aware(dt.datetime(year, month, 1), timezone.get_current_timezone())


# --- plans ----------------------------------------------------------------------------------


class PlanListView(CatalogListView):
    model = Plan
    table_class = PlanTable
    filterset_class = PlanFilter
    create_url = reverse_lazy("catalog:plan-create")

    def get_queryset(self):
        return Plan.objects.select_related("brand").annotate(version_count=Count("versions"))


class PlanDetailView(CatalogDetailView):
    """The plan, then its versions side by side with what changed from one to the next."""

    model = Plan
    template_name = "catalog/plan_detail.html"
    fields = ["code", "name", "brand", "payment_model", "currency", "description"]

    def get_actions(self):
        plan, actions = self.object, []
        if self.can("change"):
            actions.append(
                {"label": "Edit plan", "url": reverse("catalog:plan-edit", args=[plan.pk])}
            )
        if self.can("add", PlanVersion):
            latest = plan.versions.order_by("-version").first()
            if latest is None:
                url = reverse("catalog:planversion-create", args=[plan.pk])
            else:
                url = reverse("catalog:planversion-clone", args=[latest.pk])
            actions.append({"label": "New version", "url": url, "style": "primary"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        plan = self.object
        versions = _versions_for_comparison(plan)
        in_force = plan_version_at(plan=plan, instant=timezone.now())
        may_change = can(self.request.user, PlanVersion, "change")
        columns = []
        for version in versions:
            buttons = []
            if may_change and version.status == Status.DRAFT:
                buttons += [
                    ("Edit", reverse("catalog:planversion-edit", args=[version.pk]), ""),
                    (
                        "Publish",
                        reverse("catalog:planversion-publish", args=[version.pk]),
                        "primary",
                    ),
                ]
            if may_change and version.status == Status.PUBLISHED:
                buttons.append(
                    ("Retire", reverse("catalog:planversion-retire", args=[version.pk]), "danger")
                )
            columns.append(
                {
                    "version": version,
                    "in_force": in_force is not None and in_force.pk == version.pk,
                    "buttons": buttons,
                }
            )
        context.update(
            columns=columns,
            comparison=version_comparison(versions),
            in_force=in_force,
            add_ons=plan.add_ons.order_by("code"),
            promotions=plan.promotions.order_by("code"),
        )
        return context


def _plan_arguments(form) -> dict:
    data = form.cleaned_data
    return {
        "code": data["code"],
        "name": data["name"],
        "brand": data["brand"],
        "payment_model": data["payment_model"],
        "currency": data["currency"],
        "description": data["description"],
    }


class PlanCreateView(CatalogCreateView):
    model = Plan
    form_class = PlanForm
    intro = "What the plan costs lives in its versions: add the first one on the plan's page."

    def save(self, form):
        return services.plan_save(**_plan_arguments(form), acting_user=self.request.user)


class PlanUpdateView(CatalogUpdateView):
    model = Plan
    form_class = PlanForm

    def save(self, form):
        return services.plan_save(
            **_plan_arguments(form), plan=self.stored(), acting_user=self.request.user
        )


# --- plan versions --------------------------------------------------------------------------


class PlanVersionListView(CatalogListView):
    model = PlanVersion
    table_class = PlanVersionTable
    filterset_class = PlanVersionFilter
    title = "Plan versions"

    def get_queryset(self):
        return PlanVersion.objects.select_related("plan", "rate_card")


class PlanVersionDetailView(CatalogDetailView):
    model = PlanVersion
    template_name = "catalog/planversion_detail.html"
    fields = [
        "plan",
        "version",
        "status",
        "effective_from",
        "rate_card",
        "recurring_fee",
        "fee_period",
        "fee_timing",
        "activation_fee",
        "tax_inclusive",
        "tax_category",
        "notes",
        "published_at",
    ]

    def get_queryset(self):
        return PlanVersion.objects.select_related("plan", "rate_card", "tax_category")

    def get_actions(self):
        version, actions = self.object, []
        may_change = self.can("change")
        if version.status == Status.DRAFT and may_change:
            actions += [
                {"label": "Edit", "url": reverse("catalog:planversion-edit", args=[version.pk])},
                {
                    "label": "Publish",
                    "url": reverse("catalog:planversion-publish", args=[version.pk]),
                    "style": "primary",
                },
            ]
        if version.status == Status.PUBLISHED and may_change:
            actions.append(
                {
                    "label": "Retire",
                    "url": reverse("catalog:planversion-retire", args=[version.pk]),
                    "style": "danger",
                }
            )
        if self.can("add"):
            actions.append(
                {
                    "label": "New version from this",
                    "url": reverse("catalog:planversion-clone", args=[version.pk]),
                }
            )
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        version = self.object
        editable = version.status == Status.DRAFT
        in_force = plan_version_at(plan=version.plan, instant=timezone.now())
        zones = ("destination_zones", "roaming_zones")
        user = self.request.user
        context.update(
            notice=status_notice(version, "plan version"),
            in_force=in_force is not None and in_force.pk == version.pk,
            allowances=version.allowances.prefetch_related(*zones).order_by("id"),
            policies=version.fair_use_policies.prefetch_related(*zones).order_by("id"),
            can_add_allowance=editable and can(user, Allowance, "add"),
            can_change_allowance=editable and can(user, Allowance, "change"),
            can_delete_allowance=editable and can(user, Allowance, "delete"),
            can_add_policy=editable and can(user, FairUsePolicy, "add"),
            can_change_policy=editable and can(user, FairUsePolicy, "change"),
            can_delete_policy=editable and can(user, FairUsePolicy, "delete"),
            allowance_create_url=reverse("catalog:allowance-create", args=[version.pk]),
        )
        return context


def _version_data(form) -> dict:
    return {name: form.cleaned_data[name] for name in VERSION_FIELDS if name in form.cleaned_data}


class PlanVersionCreateView(ChildCreateView):
    model = PlanVersion
    parent_model = Plan
    form_class = PlanVersionForm
    intro = "A new version is a draft: give it allowances, then publish it."

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["plan"] = self.parent
        kwargs["instance"] = PlanVersion(plan=self.parent, version=0)
        return kwargs

    def get_initial(self):
        return {"effective_from": next_month_start(timezone.now())}

    def get_success_url(self):
        return self.object.get_absolute_url()

    def save(self, form):
        return services.plan_version_create(
            plan=self.parent, data=_version_data(form), acting_user=self.request.user
        )


class PlanVersionUpdateView(CatalogUpdateView):
    model = PlanVersion
    form_class = PlanVersionForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["plan"] = self.object.plan
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.object, "plan version")
        return context

    def save(self, form):
        return services.plan_version_update(
            version=self.stored(), data=_version_data(form), acting_user=self.request.user
        )


class PlanVersionPublishView(CatalogActionView):
    model = PlanVersion
    verb = "Publish"

    @property
    def explanation(self):
        return (
            f"From {_local(self.object.effective_from)} on, {self.object.plan} is rated and "
            "charged on this version. A published version never changes again."
        )

    def get_return_url(self) -> str:
        return self.object.plan.get_absolute_url()

    def perform(self, version):
        services.plan_version_publish(version=version, acting_user=self.request.user)


class PlanVersionRetireView(CatalogActionView):
    model = PlanVersion
    verb = "Retire"
    danger = True
    explanation = "The version is no longer sold; usage and fees in its time still rate on it."

    def get_return_url(self) -> str:
        return self.object.plan.get_absolute_url()

    def perform(self, version):
        services.plan_version_retire(version=version, acting_user=self.request.user)


class PlanVersionCloneView(CatalogCloneView):
    model = PlanVersion
    form_class = PlanVersionCloneForm
    intro = (
        "The new version is a draft copy of this one, with its allowances and fair-use "
        "policies; change what differs, then publish it."
    )

    def get_initial(self):
        latest = self.object.plan.versions.order_by("-effective_from").first()
        after = max(timezone.now(), latest.effective_from) if latest else timezone.now()
        return {"effective_from": next_month_start(after)}

    def perform(self, form):
        return services.plan_version_clone(
            version=self.object,
            effective_from=form.cleaned_data["effective_from"],
            acting_user=self.request.user,
        )


# --- allowances and fair-use policies -------------------------------------------------------


def _allowance_data(form) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "services": data["services"],
        "quantity": data["quantity"],
        "unit": data["unit"],
        "destination_zones": list(data["destination_zones"]),
        "roaming_zones": list(data["roaming_zones"]),
        "shared": data["shared"],
    }


def owner_zone_table(owner):
    """The zone table an allowance of this owner names zones of."""
    if isinstance(owner, PlanVersion):
        return owner.rate_card.zone_table
    return owner.zone_table


class AllowanceFormMixin:
    model = Allowance
    form_class = AllowanceForm
    intro = (
        "Included units are drawn before anything is charged (R11); an allowance covers only "
        "the services and zones it names."
    )

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["zone_table"] = owner_zone_table(self.parent)
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        what = "plan version" if isinstance(self.parent, PlanVersion) else "add-on"
        context["notice"] = status_notice(self.parent, what)
        return context


class AllowanceCreateView(AllowanceFormMixin, ChildCreateView):
    """Add an allowance to a plan version (or, with ``parent_model = AddOn``, an add-on)."""

    parent_model = PlanVersion

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        owner = self.parent
        kwargs["instance"] = Allowance(
            plan_version=owner if isinstance(owner, PlanVersion) else None,
            add_on=owner if isinstance(owner, AddOn) else None,
        )
        return kwargs

    def save(self, form):
        return services.allowance_save(
            owner=self.parent, data=_allowance_data(form), acting_user=self.request.user
        )


class AddOnAllowanceCreateView(AllowanceCreateView):
    parent_model = AddOn


class AllowanceUpdateView(AllowanceFormMixin, ChildUpdateView):
    def parent_of(self, allowance):
        return allowance.plan_version or allowance.add_on

    def save(self, form):
        return services.allowance_save(
            owner=self.parent,
            data=_allowance_data(form),
            allowance=self.stored(),
            acting_user=self.request.user,
        )


class AllowanceDeleteView(CatalogActionView):
    model = Allowance
    permission_action = "delete"
    verb = "Delete"
    danger = True
    explanation = "Subscriptions granted this allowance before keep their buckets."

    def get_return_url(self) -> str:
        return (self.object.plan_version or self.object.add_on).get_absolute_url()

    def perform(self, allowance):
        services.allowance_delete(allowance=allowance, acting_user=self.request.user)


def _policy_data(form) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "services": data["services"],
        "destination_zones": list(data["destination_zones"]),
        "roaming_zones": list(data["roaming_zones"]),
        "cap_quantity": data["cap_quantity"],
        "cap_unit": data["cap_unit"],
        "action": data["action"],
        "overage_price": data["overage_price"],
        "overage_unit": data["overage_unit"],
    }


class FairUsePolicyFormMixin:
    model = FairUsePolicy
    form_class = FairUsePolicyForm
    intro = (
        "A cap counts charged units of the services and zones it names per subscription and "
        "period; past it, an overage price or throttling (R13)."
    )

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["zone_table"] = self.parent.rate_card.zone_table
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.parent, "plan version")
        return context


class FairUsePolicyCreateView(FairUsePolicyFormMixin, ChildCreateView):
    parent_model = PlanVersion

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = FairUsePolicy(plan_version=self.parent)
        return kwargs

    def save(self, form):
        return services.fair_use_policy_save(
            version=self.parent, data=_policy_data(form), acting_user=self.request.user
        )


class FairUsePolicyUpdateView(FairUsePolicyFormMixin, ChildUpdateView):
    parent_attribute = "plan_version"

    def save(self, form):
        return services.fair_use_policy_save(
            version=self.parent,
            data=_policy_data(form),
            policy=self.stored(),
            acting_user=self.request.user,
        )


class FairUsePolicyDeleteView(CatalogActionView):
    model = FairUsePolicy
    permission_action = "delete"
    verb = "Delete"
    danger = True
    explanation = "Usage from now on is no longer capped by this policy."

    def get_return_url(self) -> str:
        return self.object.plan_version.get_absolute_url()

    def perform(self, policy):
        services.fair_use_policy_delete(policy=policy, acting_user=self.request.user)
