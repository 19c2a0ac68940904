"""URLs: the console at /, the REST API under /api/v1/, the Django admin as a back door."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

BUSINESS_APPS = ("catalog", "subscribers", "charging", "invoicing", "settlement", "assurance")

api_patterns = [
    *[path(f"{app}/", include(f"{app}.api.urls")) for app in BUSINESS_APPS],
    # The outbox's webhooks and events (core.outbox), named after TMF688 Event Management.
    path("eventManagement/", include("core.outbox.api_urls")),
]

urlpatterns = [
    path("", include("core.urls")),
    *[path(f"{app}/", include(f"{app}.urls")) for app in BUSINESS_APPS],
    path("api/v1/", include((api_patterns, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/", admin.site.urls),
    # The 5G CHF front door of online charging (TS 32.291), for host networks, not people.
    path("nchf-convergedcharging/v3/", include("charging.online.urls")),
]

handler400 = "core.views.error_400"
handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"

admin.site.site_header = "MVNO Billing — admin back door"
admin.site.site_title = "MVNO Billing admin"
