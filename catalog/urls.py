"""Console URLs of the catalogue."""

from django.urls import include, path

app_name = "catalog"

urlpatterns: list = [
    # Import and export of catalogue documents (catalog/document_urls.py).
    path("", include("catalog.document_urls")),
]
