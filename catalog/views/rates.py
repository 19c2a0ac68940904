"""Console pages of rate cards and their rows (R7, R9); immutable once published."""

from django.db.models import Count
from django.urls import reverse, reverse_lazy

from catalog import services
from catalog.filters import RateCardFilter
from catalog.forms import RateCardCloneForm, RateCardForm, RateRowForm
from catalog.models import COUNTED_SERVICES, RateCard, RateRow, Status
from catalog.selectors import catalog_visible_to
from catalog.tables import RateCardTable
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
    status_notice,
)


class RateCardListView(CatalogListView):
    model = RateCard
    table_class = RateCardTable
    filterset_class = RateCardFilter
    create_url = reverse_lazy("catalog:ratecard-create")

    def get_queryset(self):
        return RateCard.objects.select_related("zone_table", "time_band_set").annotate(
            row_count=Count("rows")
        )


def increments(row: RateRow) -> str:
    """Write a row's increments as operators do: ``60/60``; none for messages and events."""
    if row.service in COUNTED_SERVICES:
        return "—"
    return f"{row.increment_first}/{row.increment_next}"


class RateCardDetailView(CatalogDetailView):
    model = RateCard
    template_name = "catalog/ratecard_detail.html"
    fields = ["code", "name", "kind", "currency", "zone_table", "time_band_set", "status"]

    def get_fields(self):
        rows = super().get_fields()
        if self.object.published_at:
            rows.append(("published at", self.object.published_at))
        return rows

    def get_actions(self):
        card, actions = self.object, []
        if card.status == Status.DRAFT and self.can("change"):
            actions.append(
                {"label": "Edit", "url": reverse("catalog:ratecard-edit", args=[card.pk])}
            )
            actions.append(
                {
                    "label": "Publish",
                    "url": reverse("catalog:ratecard-publish", args=[card.pk]),
                    "style": "primary",
                }
            )
        if card.status == Status.PUBLISHED and self.can("change"):
            actions.append(
                {
                    "label": "Retire",
                    "url": reverse("catalog:ratecard-retire", args=[card.pk]),
                    "style": "danger",
                }
            )
        if self.can("add"):
            actions.append(
                {"label": "Clone", "url": reverse("catalog:ratecard-clone", args=[card.pk])}
            )
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        card = self.object
        rows = list(
            card.rows.select_related("time_band", "tax_category")
            .prefetch_related("destination_zones", "roaming_zones")
            .order_by("service", "id")
        )
        for row in rows:
            row.increments = increments(row)
            row.price_text = amount(row.price)
            row.connection_fee_text = amount(row.connection_fee) if row.connection_fee else "—"
            row.minimum_charge_text = amount(row.minimum_charge) if row.minimum_charge else "—"
        editable = card.status == Status.DRAFT
        context.update(
            rows=rows,
            notice=status_notice(card, "rate card"),
            can_add_row=editable and self.can("add", RateRow),
            can_change_row=editable and self.can("change", RateRow),
            can_delete_row=editable and self.can("delete", RateRow),
            # A shared card lists only the plan versions of the user's brands.
            plan_versions=catalog_visible_to(card.plan_versions.all(), self.request.user)
            .select_related("plan")
            .order_by("plan__code", "version"),
        )
        return context


def _card_arguments(form) -> dict:
    data = form.cleaned_data
    return {
        "code": data["code"],
        "name": data["name"],
        "kind": data["kind"],
        "currency": data["currency"],
        "zone_table": data["zone_table"],
        "time_band_set": data["time_band_set"],
    }


class RateCardCreateView(CatalogCreateView):
    model = RateCard
    form_class = RateCardForm
    intro = "A new card is a draft: add its rows, then publish it."

    def save(self, form):
        return services.rate_card_save(**_card_arguments(form), acting_user=self.request.user)


class RateCardUpdateView(CatalogUpdateView):
    model = RateCard
    form_class = RateCardForm

    def save(self, form):
        return services.rate_card_save(
            **_card_arguments(form), rate_card=self.stored(), acting_user=self.request.user
        )


class RateCardPublishView(CatalogActionView):
    model = RateCard
    verb = "Publish"
    explanation = (
        "A published card never changes again: plan versions and wholesale tariffs can use it. "
        "To change a price later, clone it."
    )

    def perform(self, card):
        return services.rate_card_publish(rate_card=card, acting_user=self.request.user)


class RateCardRetireView(CatalogActionView):
    model = RateCard
    verb = "Retire"
    danger = True
    explanation = (
        "New plan versions and tariffs can no longer choose it; versions that use it keep "
        "rating with it."
    )

    def perform(self, card):
        return services.rate_card_retire(rate_card=card, acting_user=self.request.user)


class RateCardCloneView(CatalogCloneView):
    model = RateCard
    form_class = RateCardCloneForm
    intro = "The new card is a draft with the same zone table, band set and rows."

    def get_initial(self):
        return {"code": f"{self.object.code}-NEW"[:32]}

    def perform(self, form):
        return services.rate_card_clone(
            rate_card=self.object,
            code=form.cleaned_data["code"],
            name=form.cleaned_data["name"],
            acting_user=self.request.user,
        )


def _row_data(form) -> dict:
    data = form.cleaned_data
    return {
        "service": data["service"],
        "destination_zones": list(data["destination_zones"]),
        "roaming_zones": list(data["roaming_zones"]),
        "time_band": data["time_band"],
        "price": data["price"],
        "unit": data["unit"],
        "increment_first": data["increment_first"],
        "increment_next": data["increment_next"],
        "connection_fee": data["connection_fee"],
        "minimum_charge": data["minimum_charge"],
        "tax_category": data["tax_category"],
        "description": data["description"],
    }


class RateRowCreateView(ChildCreateView):
    model = RateRow
    parent_model = RateCard
    form_class = RateRowForm
    intro = (
        "An event takes the most specific row that matches its service, zones and band (R7); "
        "two rows equally specific for the same events are refused."
    )

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["rate_card"] = self.parent
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.parent, "rate card")
        return context

    def save(self, form):
        return services.rate_row_save(
            rate_card=self.parent, data=_row_data(form), acting_user=self.request.user
        )


class RateRowUpdateView(ChildUpdateView):
    model = RateRow
    form_class = RateRowForm
    parent_attribute = "rate_card"
    intro = RateRowCreateView.intro

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["rate_card"] = self.parent
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = status_notice(self.parent, "rate card")
        return context

    def save(self, form):
        return services.rate_row_save(
            rate_card=self.parent,
            data=_row_data(form),
            row=self.stored(),
            acting_user=self.request.user,
        )


class RateRowDeleteView(CatalogActionView):
    model = RateRow
    permission_action = "delete"
    verb = "Delete"
    danger = True
    explanation = "Events that only this row priced will find no rate (R7) until another does."

    def get_return_url(self) -> str:
        return self.object.rate_card.get_absolute_url()

    def perform(self, row):
        services.rate_row_delete(row=row, acting_user=self.request.user)
