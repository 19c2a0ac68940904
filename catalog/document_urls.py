"""Console URLs of catalogue import and export."""

from django.urls import path

from catalog.views_document import CatalogExportView, CatalogImportView

urlpatterns: list = [
    path("export/", CatalogExportView.as_view(), name="document-export"),
    path("import/", CatalogImportView.as_view(), name="document-import"),
]
