"""REST API URLs of catalogue import and export."""

from django.urls import path

from catalog.api.document_views import CatalogExportApi, CatalogImportApi

urlpatterns: list = [
    path("export", CatalogExportApi.as_view(), name="catalog-export"),
    path("import", CatalogImportApi.as_view(), name="catalog-import"),
]
