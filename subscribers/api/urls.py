"""REST API URLs of the subscribers, under /api/v1/subscribers/.

Resources are named as in TM Forum TMF629 (``customer``), TMF666 (``billingAccount``), TMF637
(``product``) and TMF654 (``bucket``, ``accumulatedBalance``, ``balanceAction``, ``bucketAction``,
``topupBalance``, ``adjustBalance``); a trailing slash is optional. Route names are
``api:subscribers-<resource in lower case>-<list|detail|action>``.
"""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from subscribers.api import views

RESOURCES = (
    ("customer", views.CustomerViewSet),
    ("billingAccount", views.BillingAccountViewSet),
    ("product", views.ProductViewSet),
    ("sim", views.SimViewSet),
    ("simBatch", views.SimBatchViewSet),
    ("bucket", views.BucketViewSet),
    ("accumulatedBalance", views.AccumulatedBalanceViewSet),
    ("balanceAction", views.BalanceActionViewSet),
    ("bucketAction", views.BucketActionViewSet),
    ("topupBalance", views.TopupBalanceViewSet),
    ("voucherBatch", views.VoucherBatchViewSet),
)

router = SimpleRouter()
# SimpleRouter(trailing_slash=...) only knows "/" or nothing; "/?" makes the slash optional.
router.trailing_slash = "/?"
for prefix, viewset in RESOURCES:
    router.register(prefix, viewset, basename=f"subscribers-{prefix.lower()}")

urlpatterns: list = [
    *router.urls,
    re_path(
        r"^adjustBalance/?$",
        views.AdjustBalanceView.as_view(),
        name="subscribers-adjustbalance",
    ),
    re_path(
        r"^voucher/redeem/?$",
        views.VoucherRedeemView.as_view(),
        name="subscribers-voucher-redeem",
    ),
]
