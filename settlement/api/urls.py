"""REST API URLs of the settlement, under /api/v1/settlement/ (TMF651 agreement, TMF678-like
partnerBill). Route names are ``api:settlement-<resource in lower case>-<list|detail|action>``.
"""

from rest_framework.routers import SimpleRouter

from settlement.api import views

RESOURCES = (
    ("partner", views.PartnerViewSet),
    ("agreement", views.AgreementViewSet),
    ("settlementRun", views.SettlementRunViewSet),
    ("partnerBill", views.PartnerBillViewSet),
    ("reconciliation", views.ReconciliationViewSet),
    ("disputeItem", views.DisputeItemViewSet),
)

router = SimpleRouter()
router.trailing_slash = "/?"
for prefix, viewset in RESOURCES:
    router.register(prefix, viewset, basename=f"settlement-{prefix.lower()}")
router.register("margin", views.MarginViewSet, basename="settlement-margin")

urlpatterns: list = [*router.urls]
