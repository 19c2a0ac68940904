"""REST API URLs of the invoicing, under /api/v1/invoicing/ (TMF678 names).

Route names are ``api:invoicing-<resource in lower case>-<list|detail|action>``.
"""

from rest_framework.routers import SimpleRouter

from invoicing.api import views

RESOURCES = (
    ("customerBill", views.CustomerBillViewSet),
    ("appliedCustomerBillingRate", views.AppliedCustomerBillingRateViewSet),
    ("billCycle", views.BillCycleViewSet),
    ("billRun", views.BillRunViewSet),
    ("dunningCase", views.DunningCaseViewSet),
    ("dunningPolicy", views.DunningPolicyViewSet),
    ("dunningPause", views.DunningPauseViewSet),
    ("invoiceArchive", views.InvoiceArchiveViewSet),
)

router = SimpleRouter()
router.trailing_slash = "/?"
for prefix, viewset in RESOURCES:
    router.register(prefix, viewset, basename=f"invoicing-{prefix.lower()}")

urlpatterns: list = [*router.urls]
