"""REST API URLs of the assurance, under /api/v1/assurance/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from assurance.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("finding", views.FindingViewSet, basename="assurance-finding")
router.register("reconciliation", views.ReconciliationViewSet, basename="assurance-reconciliation")
router.register("whatIfRun", views.WhatIfRunViewSet, basename="assurance-whatifrun")

urlpatterns: list = [
    path("kpi", views.KpiView.as_view(), name="assurance-kpi"),
    *router.urls,
]
