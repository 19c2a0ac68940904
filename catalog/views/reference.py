"""Console pages of brands, tax categories, tax regions (with rates) and host networks."""

from django.db.models import Count
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from catalog import services
from catalog.filters import BrandFilter, HostNetworkFilter, TaxCategoryFilter, TaxRegionFilter
from catalog.forms import (
    BrandForm,
    HostNetworkForm,
    HostNetworkTariffForm,
    TaxCategoryForm,
    TaxRateForm,
    TaxRegionForm,
)
from catalog.models import (
    Brand,
    HostNetwork,
    HostNetworkTariff,
    TaxCategory,
    TaxRate,
    TaxRegion,
)
from catalog.selectors import host_network_tariff_at
from catalog.tables import BrandTable, HostNetworkTable, TaxCategoryTable, TaxRegionTable
from catalog.views.base import (
    CatalogCreateView,
    CatalogDetailView,
    CatalogListView,
    CatalogUpdateView,
    ParentFormView,
)

# --- brands ---------------------------------------------------------------------------------


class BrandListView(CatalogListView):
    model = Brand
    table_class = BrandTable
    filterset_class = BrandFilter
    create_url = reverse_lazy("catalog:brand-create")

    def get_queryset(self):
        return Brand.objects.select_related("parent").annotate(plan_count=Count("plans"))


class BrandDetailView(CatalogDetailView):
    model = Brand
    template_name = "catalog/brand_detail.html"
    fields = ["code", "name", "parent"]

    def get_actions(self):
        if not self.can("change"):
            return []
        return [{"label": "Edit", "url": reverse("catalog:brand-edit", args=[self.object.pk])}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sub_brands"] = self.object.sub_brands.all()
        context["plans"] = self.object.plans.all()
        return context


def _brand_arguments(form) -> dict:
    data = form.cleaned_data
    return {"code": data["code"], "name": data["name"], "parent": data["parent"]}


class BrandCreateView(CatalogCreateView):
    model = Brand
    form_class = BrandForm

    def save(self, form):
        return services.brand_save(**_brand_arguments(form), acting_user=self.request.user)


class BrandUpdateView(CatalogUpdateView):
    model = Brand
    form_class = BrandForm

    def save(self, form):
        return services.brand_save(
            **_brand_arguments(form), brand=self.stored(), acting_user=self.request.user
        )


# --- tax categories -------------------------------------------------------------------------


class TaxCategoryListView(CatalogListView):
    model = TaxCategory
    table_class = TaxCategoryTable
    filterset_class = TaxCategoryFilter
    create_url = reverse_lazy("catalog:taxcategory-create")


class TaxCategoryDetailView(CatalogDetailView):
    model = TaxCategory
    template_name = "catalog/taxcategory_detail.html"
    fields = ["code", "name"]

    def get_actions(self):
        if not self.can("change"):
            return []
        url = reverse("catalog:taxcategory-edit", args=[self.object.pk])
        return [{"label": "Edit", "url": url}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rates"] = self.object.rates.select_related("region").order_by(
            "region__code", "valid_from"
        )
        return context


class TaxCategoryCreateView(CatalogCreateView):
    model = TaxCategory
    form_class = TaxCategoryForm

    def save(self, form):
        return services.tax_category_save(
            code=form.cleaned_data["code"],
            name=form.cleaned_data["name"],
            acting_user=self.request.user,
        )

    def get_success_url(self):
        return reverse("catalog:taxcategory-detail", args=[self.object.pk])


class TaxCategoryUpdateView(CatalogUpdateView):
    model = TaxCategory
    form_class = TaxCategoryForm

    def save(self, form):
        return services.tax_category_save(
            code=form.cleaned_data["code"],
            name=form.cleaned_data["name"],
            category=self.stored(),
            acting_user=self.request.user,
        )

    def get_success_url(self):
        return reverse("catalog:taxcategory-detail", args=[self.object.pk])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cancel_url"] = reverse("catalog:taxcategory-detail", args=[self.object.pk])
        return context


# --- tax regions and their rates ------------------------------------------------------------


class TaxRegionListView(CatalogListView):
    model = TaxRegion
    table_class = TaxRegionTable
    filterset_class = TaxRegionFilter
    create_url = reverse_lazy("catalog:taxregion-create")

    def get_queryset(self):
        return TaxRegion.objects.annotate(rate_count=Count("rates"))


class TaxRegionDetailView(CatalogDetailView):
    model = TaxRegion
    template_name = "catalog/taxregion_detail.html"
    fields = ["code", "name"]

    def get_actions(self):
        actions = []
        if self.can("change"):
            url = reverse("catalog:taxregion-edit", args=[self.object.pk])
            actions.append({"label": "Edit", "url": url})
        if self.can("add", TaxRate):
            url = reverse("catalog:taxrate-create", args=[self.object.pk])
            actions.append({"label": "Set a rate", "url": url, "style": "primary"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rates"] = self.object.rates.select_related("category").order_by(
            "category__code", "valid_from"
        )
        return context


class TaxRegionCreateView(CatalogCreateView):
    model = TaxRegion
    form_class = TaxRegionForm

    def save(self, form):
        return services.tax_region_save(
            code=form.cleaned_data["code"],
            name=form.cleaned_data["name"],
            prepaid_tax_point=form.cleaned_data["prepaid_tax_point"],
            acting_user=self.request.user,
        )


class TaxRegionUpdateView(CatalogUpdateView):
    model = TaxRegion
    form_class = TaxRegionForm

    def save(self, form):
        return services.tax_region_save(
            code=form.cleaned_data["code"],
            name=form.cleaned_data["name"],
            prepaid_tax_point=form.cleaned_data["prepaid_tax_point"],
            region=self.stored(),
            acting_user=self.request.user,
        )


class TaxRateSetView(ParentFormView):
    model = TaxRate
    parent_model = TaxRegion
    form_class = TaxRateForm
    title = "Set a tax rate"
    intro = (
        "A rate applies from its date until the next rate of the same category; setting a rate "
        "on a date that already has one replaces it."
    )

    def perform(self, form):
        data = form.cleaned_data
        rate = services.tax_rate_set(
            region=self.parent,
            category=data["category"],
            rate=data["rate"],
            valid_from=data["valid_from"],
            acting_user=self.request.user,
        )
        return f"Tax rate set: {rate}"


# --- host networks and their wholesale tariffs ----------------------------------------------


class HostNetworkListView(CatalogListView):
    model = HostNetwork
    table_class = HostNetworkTable
    filterset_class = HostNetworkFilter
    create_url = reverse_lazy("catalog:hostnetwork-create")


class HostNetworkDetailView(CatalogDetailView):
    model = HostNetwork
    template_name = "catalog/hostnetwork_detail.html"
    fields = ["code", "name", "country_code"]

    def get_fields(self):
        rows = super().get_fields()
        rows.insert(2, ("PLMN codes", ", ".join(self.object.plmn_codes)))
        return rows

    def get_actions(self):
        actions = []
        if self.can("change"):
            url = reverse("catalog:hostnetwork-edit", args=[self.object.pk])
            actions.append({"label": "Edit", "url": url})
        if self.can("add", HostNetworkTariff):
            url = reverse("catalog:hostnetworktariff-create", args=[self.object.pk])
            actions.append({"label": "Add wholesale tariff", "url": url, "style": "primary"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tariffs"] = self.object.tariffs.select_related("rate_card").order_by(
            "effective_from"
        )
        context["tariff_now"] = host_network_tariff_at(
            host_network=self.object, instant=timezone.now()
        )
        return context


def _host_network_arguments(form) -> dict:
    data = form.cleaned_data
    return {
        "code": data["code"],
        "name": data["name"],
        "plmn_codes": data["plmn_codes"],
        "country_code": data["country_code"],
    }


class HostNetworkCreateView(CatalogCreateView):
    model = HostNetwork
    form_class = HostNetworkForm

    def save(self, form):
        return services.host_network_save(
            **_host_network_arguments(form), acting_user=self.request.user
        )


class HostNetworkUpdateView(CatalogUpdateView):
    model = HostNetwork
    form_class = HostNetworkForm

    def save(self, form):
        return services.host_network_save(
            **_host_network_arguments(form),
            host_network=self.stored(),
            acting_user=self.request.user,
        )


class HostNetworkTariffCreateView(ParentFormView):
    model = HostNetworkTariff
    parent_model = HostNetwork
    form_class = HostNetworkTariffForm
    title = "Add a wholesale tariff"
    intro = (
        "From this instant on, the host network's events are costed on this wholesale card "
        "(R14); a tariff at the same instant is replaced."
    )

    def perform(self, form):
        tariff = services.host_network_tariff_set(
            host_network=self.parent,
            rate_card=form.cleaned_data["rate_card"],
            effective_from=form.cleaned_data["effective_from"],
            # Left empty: no such fee (R31).
            sim_fee=form.cleaned_data["sim_fee"] or 0,
            platform_fee=form.cleaned_data["platform_fee"] or 0,
            minimum_commitment=form.cleaned_data["minimum_commitment"] or 0,
            acting_user=self.request.user,
        )
        return f"Wholesale tariff set: {tariff}"
