"""REST API URLs of the catalogue, under /api/v1/catalog/.

Resources are named as in TM Forum TMF620 (``productOffering``, ``productOfferingPrice``) or
in the same camelCase style; a trailing slash is optional. Route names are
``api:catalog-<resource in lower case>-<list|detail|action>``.
"""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from catalog.api import views

RESOURCES = (
    ("productOffering", views.ProductOfferingViewSet),
    ("productOfferingPrice", views.ProductOfferingPriceViewSet),
    ("plan", views.PlanViewSet),
    ("planVersion", views.PlanVersionViewSet),
    ("allowance", views.AllowanceViewSet),
    ("fairUsePolicy", views.FairUsePolicyViewSet),
    ("rateCard", views.RateCardViewSet),
    ("zoneTable", views.ZoneTableViewSet),
    ("zone", views.ZoneViewSet),
    ("timeBandSet", views.TimeBandSetViewSet),
    ("timeBand", views.TimeBandViewSet),
    ("taxRegion", views.TaxRegionViewSet),
    ("taxRate", views.TaxRateViewSet),
    ("taxCategory", views.TaxCategoryViewSet),
    ("brand", views.BrandViewSet),
    ("hostNetwork", views.HostNetworkViewSet),
    ("addOn", views.AddOnViewSet),
    ("promotion", views.PromotionViewSet),
)


class OptionalSlashRouter(SimpleRouter):
    """A router whose URLs answer with or without a trailing slash."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
for prefix, viewset in RESOURCES:
    router.register(prefix, viewset, basename=f"catalog-{prefix.lower()}")

urlpatterns: list = [
    # Import and export of catalogue documents (catalog/api/document_urls.py).
    path("", include("catalog.api.document_urls")),
    *router.urls,
]
