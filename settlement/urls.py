"""Console URLs of the settlement."""

from django.urls import path

from settlement import views

app_name = "settlement"

urlpatterns: list = [
    path("partners/", views.PartnerListView.as_view(), name="partner-list"),
    path("partners/new/", views.PartnerCreateView.as_view(), name="partner-create"),
    path("partners/<int:pk>/", views.PartnerDetailView.as_view(), name="partner-detail"),
    path("partners/<int:pk>/edit/", views.PartnerUpdateView.as_view(), name="partner-edit"),
    path("agreements/", views.AgreementListView.as_view(), name="agreement-list"),
    path("agreements/new/", views.AgreementCreateView.as_view(), name="agreement-create"),
    path("agreements/<int:pk>/", views.AgreementDetailView.as_view(), name="agreement-detail"),
    path("agreements/<int:pk>/edit/", views.AgreementUpdateView.as_view(), name="agreement-edit"),
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/new/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/rerun/", views.RunRerunView.as_view(), name="run-rerun"),
    path("statements/", views.StatementListView.as_view(), name="statement-list"),
    path("statements/<int:pk>/", views.StatementDetailView.as_view(), name="statement-detail"),
    path("statements/<int:pk>/issue/", views.StatementIssueView.as_view(), name="statement-issue"),
    path("statements/<int:pk>/agree/", views.StatementAgreeView.as_view(), name="statement-agree"),
    path(
        "statements/<int:pk>/dispute/",
        views.StatementDisputeView.as_view(),
        name="statement-dispute",
    ),
    path("statements/<int:pk>/pdf/", views.StatementPdfView.as_view(), name="statement-pdf"),
    path("reconciliations/", views.ReconciliationListView.as_view(), name="reconciliation-list"),
    path(
        "reconciliations/new/",
        views.ReconciliationCreateView.as_view(),
        name="reconciliation-create",
    ),
    path(
        "reconciliations/<int:pk>/",
        views.ReconciliationDetailView.as_view(),
        name="reconciliation-detail",
    ),
    path("disputes/", views.DisputeListView.as_view(), name="dispute-list"),
    path("disputes/<int:pk>/", views.DisputeDetailView.as_view(), name="dispute-detail"),
    path("disputes/<int:pk>/decide/", views.DisputeDecideView.as_view(), name="dispute-decide"),
    path(
        "disputes/<int:pk>/evidence/", views.DisputeEvidenceView.as_view(), name="dispute-evidence"
    ),
    path("margin/", views.MarginView.as_view(), name="margin"),
    path("margin/events/", views.MarginEventsView.as_view(), name="margin-events"),
]
