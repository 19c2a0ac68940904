"""REST API URLs of the catalogue, under /api/v1/catalog/."""

from django.urls import include, path

urlpatterns: list = [
    # Import and export of catalogue documents (catalog/api/document_urls.py).
    path("", include("catalog.api.document_urls")),
]
