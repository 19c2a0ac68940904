"""REST API URLs of charging, under /api/v1/charging/.

Resources are named as in TM Forum TMF635 (``usage``) or in the same camelCase style
(``usageFile``, ``sequenceGap``, ``ratingError``, ``rejectedRecord``, ``rerateJob``); a trailing
slash is optional. Route names are ``api:charging-<resource in lower case>-<list|detail|action>``.
"""

from rest_framework.routers import SimpleRouter

from charging.api import views

RESOURCES = (
    ("usageFile", views.UsageFileViewSet),
    ("sequenceGap", views.SequenceGapViewSet),
    ("usage", views.UsageViewSet),
    ("ratingError", views.RatingErrorViewSet),
    ("rejectedRecord", views.RejectedRecordViewSet),
    ("rerateJob", views.RerateJobViewSet),
    ("chargingSession", views.ChargingSessionViewSet),
    ("chargingNotification", views.ChargingNotificationViewSet),
)

router = SimpleRouter()
# SimpleRouter(trailing_slash=...) only knows "/" or nothing; "/?" makes the slash optional.
router.trailing_slash = "/?"
for prefix, viewset in RESOURCES:
    router.register(prefix, viewset, basename=f"charging-{prefix.lower()}")

urlpatterns: list = [*router.urls]
