"""REST API URLs of the invoicing, under /api/v1/invoicing/ (TMF678 names).

Route names are ``api:invoicing-<resource in lower case>-<list|detail|action>``.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from invoicing.api import views
from invoicing.payments import api as payments

RESOURCES = (
    ("customerBill", views.CustomerBillViewSet),
    ("appliedCustomerBillingRate", views.AppliedCustomerBillingRateViewSet),
    ("billCycle", views.BillCycleViewSet),
    ("billRun", views.BillRunViewSet),
    ("dunningCase", views.DunningCaseViewSet),
    ("dunningPolicy", views.DunningPolicyViewSet),
    ("dunningPause", views.DunningPauseViewSet),
    ("invoiceArchive", views.InvoiceArchiveViewSet),
    ("payment", payments.PaymentViewSet),
    ("refund", payments.RefundViewSet),
    ("paymentMethod", payments.PaymentMethodViewSet),
    ("bankStatement", payments.BankStatementViewSet),
    ("bankStatementLine", payments.BankStatementLineViewSet),
    ("directDebitCollection", payments.DirectDebitCollectionViewSet),
)

router = SimpleRouter()
router.trailing_slash = "/?"
for prefix, viewset in RESOURCES:
    router.register(prefix, viewset, basename=f"invoicing-{prefix.lower()}")

urlpatterns: list = [
    *router.urls,
    path(
        "agedReceivables", payments.AgedReceivablesApi.as_view(), name="invoicing-agedreceivables"
    ),
]
