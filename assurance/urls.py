"""Console URLs of the assurance."""

from django.urls import path

from assurance import views

app_name = "assurance"

urlpatterns: list = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("reconcile/", views.ReconcileView.as_view(), name="reconcile"),
    path("findings/", views.FindingListView.as_view(), name="finding-list"),
    path("findings/<int:pk>/", views.FindingDetailView.as_view(), name="finding-detail"),
    path(
        "reconciliations/<int:pk>/",
        views.ReconciliationDetailView.as_view(),
        name="reconciliation-detail",
    ),
    path("lineage/line/<int:pk>/", views.LineLineageView.as_view(), name="lineage-line"),
    path("lineage/event/<int:pk>/", views.EventLineageView.as_view(), name="lineage-event"),
    path("what-if/", views.WhatIfRunView.as_view(), name="whatif-run"),
    path("what-if/<int:pk>/", views.WhatIfDetailView.as_view(), name="whatif-detail"),
]
