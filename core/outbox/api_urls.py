"""REST API URLs of the outbox, under /api/v1/eventManagement/ (TMF688 names).

Route names are ``api:core-<resource>-<list|detail|action>``; a trailing slash is optional.
"""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from core.outbox import api

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("hub", api.HubViewSet, basename="core-hub")
router.register("event", api.EventViewSet, basename="core-event")
router.register("delivery", api.DeliveryViewSet, basename="core-delivery")

urlpatterns: list = [
    *router.urls,
    re_path(r"^eventType/?$", api.EventTypeView.as_view(), name="core-eventtype-list"),
]
