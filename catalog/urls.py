"""Console URLs of the catalogue."""

from django.urls import include, path

from catalog.views import bands, offers, people, plans, rates, reference, zones

app_name = "catalog"

urlpatterns: list = [
    # Import and export of catalogue documents (catalog/document_urls.py).
    path("", include("catalog.document_urls")),
    # The brands a console or API user is limited to (linked from the People page).
    path("people/<int:pk>/brands/", people.UserBrandsView.as_view(), name="user-brands"),
    # Brands.
    path("brands/", reference.BrandListView.as_view(), name="brand-list"),
    path("brands/new/", reference.BrandCreateView.as_view(), name="brand-create"),
    path("brands/<int:pk>/", reference.BrandDetailView.as_view(), name="brand-detail"),
    path("brands/<int:pk>/edit/", reference.BrandUpdateView.as_view(), name="brand-edit"),
    # Tax categories, regions and rates.
    path("tax-categories/", reference.TaxCategoryListView.as_view(), name="taxcategory-list"),
    path(
        "tax-categories/new/",
        reference.TaxCategoryCreateView.as_view(),
        name="taxcategory-create",
    ),
    path(
        "tax-categories/<int:pk>/",
        reference.TaxCategoryDetailView.as_view(),
        name="taxcategory-detail",
    ),
    path(
        "tax-categories/<int:pk>/edit/",
        reference.TaxCategoryUpdateView.as_view(),
        name="taxcategory-edit",
    ),
    path("tax-regions/", reference.TaxRegionListView.as_view(), name="taxregion-list"),
    path("tax-regions/new/", reference.TaxRegionCreateView.as_view(), name="taxregion-create"),
    path("tax-regions/<int:pk>/", reference.TaxRegionDetailView.as_view(), name="taxregion-detail"),
    path(
        "tax-regions/<int:pk>/edit/",
        reference.TaxRegionUpdateView.as_view(),
        name="taxregion-edit",
    ),
    path(
        "tax-regions/<int:parent_pk>/rates/new/",
        reference.TaxRateSetView.as_view(),
        name="taxrate-create",
    ),
    # Zone tables and their zones.
    path("zone-tables/", zones.ZoneTableListView.as_view(), name="zonetable-list"),
    path("zone-tables/new/", zones.ZoneTableCreateView.as_view(), name="zonetable-create"),
    path("zone-tables/<int:pk>/", zones.ZoneTableDetailView.as_view(), name="zonetable-detail"),
    path("zone-tables/<int:pk>/edit/", zones.ZoneTableUpdateView.as_view(), name="zonetable-edit"),
    path("zone-tables/<int:pk>/clone/", zones.ZoneTableCloneView.as_view(), name="zonetable-clone"),
    path(
        "zone-tables/<int:parent_pk>/zones/new/<str:zone_type>/",
        zones.ZoneCreateView.as_view(),
        name="zone-create",
    ),
    path("zones/<int:pk>/edit/", zones.ZoneUpdateView.as_view(), name="zone-edit"),
    path("zones/<int:pk>/delete/", zones.ZoneDeleteView.as_view(), name="zone-delete"),
    # Time band sets.
    path("time-bands/", bands.TimeBandSetListView.as_view(), name="timebandset-list"),
    path("time-bands/new/", bands.TimeBandSetCreateView.as_view(), name="timebandset-create"),
    path("time-bands/<int:pk>/", bands.TimeBandSetDetailView.as_view(), name="timebandset-detail"),
    path(
        "time-bands/<int:pk>/edit/",
        bands.TimeBandSetUpdateView.as_view(),
        name="timebandset-edit",
    ),
    path(
        "time-bands/<int:pk>/clone/",
        bands.TimeBandSetCloneView.as_view(),
        name="timebandset-clone",
    ),
    # Rate cards and their rows.
    path("rate-cards/", rates.RateCardListView.as_view(), name="ratecard-list"),
    path("rate-cards/new/", rates.RateCardCreateView.as_view(), name="ratecard-create"),
    path("rate-cards/<int:pk>/", rates.RateCardDetailView.as_view(), name="ratecard-detail"),
    path("rate-cards/<int:pk>/edit/", rates.RateCardUpdateView.as_view(), name="ratecard-edit"),
    path(
        "rate-cards/<int:pk>/publish/",
        rates.RateCardPublishView.as_view(),
        name="ratecard-publish",
    ),
    path("rate-cards/<int:pk>/retire/", rates.RateCardRetireView.as_view(), name="ratecard-retire"),
    path("rate-cards/<int:pk>/clone/", rates.RateCardCloneView.as_view(), name="ratecard-clone"),
    path(
        "rate-cards/<int:parent_pk>/rows/new/",
        rates.RateRowCreateView.as_view(),
        name="raterow-create",
    ),
    path("rate-rows/<int:pk>/edit/", rates.RateRowUpdateView.as_view(), name="raterow-edit"),
    path("rate-rows/<int:pk>/delete/", rates.RateRowDeleteView.as_view(), name="raterow-delete"),
    # Host networks and their wholesale tariffs.
    path("host-networks/", reference.HostNetworkListView.as_view(), name="hostnetwork-list"),
    path(
        "host-networks/new/",
        reference.HostNetworkCreateView.as_view(),
        name="hostnetwork-create",
    ),
    path(
        "host-networks/<int:pk>/",
        reference.HostNetworkDetailView.as_view(),
        name="hostnetwork-detail",
    ),
    path(
        "host-networks/<int:pk>/edit/",
        reference.HostNetworkUpdateView.as_view(),
        name="hostnetwork-edit",
    ),
    path(
        "host-networks/<int:parent_pk>/tariffs/new/",
        reference.HostNetworkTariffCreateView.as_view(),
        name="hostnetworktariff-create",
    ),
    # Plans, their versions, allowances and fair-use policies.
    path("plans/", plans.PlanListView.as_view(), name="plan-list"),
    path("plans/new/", plans.PlanCreateView.as_view(), name="plan-create"),
    path("plans/<int:pk>/", plans.PlanDetailView.as_view(), name="plan-detail"),
    path("plans/<int:pk>/edit/", plans.PlanUpdateView.as_view(), name="plan-edit"),
    path(
        "plans/<int:parent_pk>/versions/new/",
        plans.PlanVersionCreateView.as_view(),
        name="planversion-create",
    ),
    path("plan-versions/", plans.PlanVersionListView.as_view(), name="planversion-list"),
    path(
        "plan-versions/<int:pk>/",
        plans.PlanVersionDetailView.as_view(),
        name="planversion-detail",
    ),
    path(
        "plan-versions/<int:pk>/edit/",
        plans.PlanVersionUpdateView.as_view(),
        name="planversion-edit",
    ),
    path(
        "plan-versions/<int:pk>/publish/",
        plans.PlanVersionPublishView.as_view(),
        name="planversion-publish",
    ),
    path(
        "plan-versions/<int:pk>/retire/",
        plans.PlanVersionRetireView.as_view(),
        name="planversion-retire",
    ),
    path(
        "plan-versions/<int:pk>/clone/",
        plans.PlanVersionCloneView.as_view(),
        name="planversion-clone",
    ),
    path(
        "plan-versions/<int:parent_pk>/allowances/new/",
        plans.AllowanceCreateView.as_view(),
        name="allowance-create",
    ),
    path(
        "plan-versions/<int:parent_pk>/fair-use/new/",
        plans.FairUsePolicyCreateView.as_view(),
        name="fairusepolicy-create",
    ),
    path("allowances/<int:pk>/edit/", plans.AllowanceUpdateView.as_view(), name="allowance-edit"),
    path(
        "allowances/<int:pk>/delete/",
        plans.AllowanceDeleteView.as_view(),
        name="allowance-delete",
    ),
    path(
        "fair-use/<int:pk>/edit/",
        plans.FairUsePolicyUpdateView.as_view(),
        name="fairusepolicy-edit",
    ),
    path(
        "fair-use/<int:pk>/delete/",
        plans.FairUsePolicyDeleteView.as_view(),
        name="fairusepolicy-delete",
    ),
    # Add-ons (with their allowances) and promotions.
    path("add-ons/", offers.AddOnListView.as_view(), name="addon-list"),
    path("add-ons/new/", offers.AddOnCreateView.as_view(), name="addon-create"),
    path("add-ons/<int:pk>/", offers.AddOnDetailView.as_view(), name="addon-detail"),
    path("add-ons/<int:pk>/edit/", offers.AddOnUpdateView.as_view(), name="addon-edit"),
    path("add-ons/<int:pk>/publish/", offers.AddOnPublishView.as_view(), name="addon-publish"),
    path("add-ons/<int:pk>/retire/", offers.AddOnRetireView.as_view(), name="addon-retire"),
    path("add-ons/<int:pk>/clone/", offers.AddOnCloneView.as_view(), name="addon-clone"),
    path(
        "add-ons/<int:parent_pk>/allowances/new/",
        plans.AddOnAllowanceCreateView.as_view(),
        name="addon-allowance-create",
    ),
    path("promotions/", offers.PromotionListView.as_view(), name="promotion-list"),
    path("promotions/new/", offers.PromotionCreateView.as_view(), name="promotion-create"),
    path("promotions/<int:pk>/", offers.PromotionDetailView.as_view(), name="promotion-detail"),
    path("promotions/<int:pk>/edit/", offers.PromotionUpdateView.as_view(), name="promotion-edit"),
    path(
        "promotions/<int:pk>/publish/",
        offers.PromotionPublishView.as_view(),
        name="promotion-publish",
    ),
    path(
        "promotions/<int:pk>/retire/",
        offers.PromotionRetireView.as_view(),
        name="promotion-retire",
    ),
    path("promotions/<int:pk>/clone/", offers.PromotionCloneView.as_view(), name="promotion-clone"),
]
