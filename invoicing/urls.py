"""Console URLs of the invoicing."""

from django.urls import path

from invoicing import views
from invoicing.payments.urls import urlpatterns as payment_urlpatterns

app_name = "invoicing"

urlpatterns: list = [
    path("cycles/", views.BillCycleListView.as_view(), name="billcycle-list"),
    path("cycles/new/", views.BillCycleCreateView.as_view(), name="billcycle-create"),
    path("cycles/<int:pk>/", views.BillCycleDetailView.as_view(), name="billcycle-detail"),
    path("runs/", views.BillRunListView.as_view(), name="billrun-list"),
    path("runs/new/", views.BillRunCreateView.as_view(), name="billrun-create"),
    path("runs/<int:pk>/", views.BillRunDetailView.as_view(), name="billrun-detail"),
    path("runs/<int:pk>/issue/", views.BillRunIssueView.as_view(), name="billrun-issue"),
    path("runs/<int:pk>/restart/", views.BillRunRestartView.as_view(), name="billrun-restart"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoice-list"),
    path("invoices/register.csv", views.InvoiceRegisterView.as_view(), name="invoice-register"),
    path(
        "invoices/register.xlsx",
        views.InvoiceRegisterXlsxView.as_view(),
        name="invoice-register-xlsx",
    ),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice-detail"),
    path("invoices/<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/exclude/", views.InvoiceExcludeView.as_view(), name="invoice-exclude"),
    path("invoices/<int:pk>/include/", views.InvoiceIncludeView.as_view(), name="invoice-include"),
    path(
        "invoices/<int:pk>/regenerate/",
        views.InvoiceRegenerateView.as_view(),
        name="invoice-regenerate",
    ),
    path("invoices/<int:pk>/credit/", views.CreditNoteCreateView.as_view(), name="invoice-credit"),
    path("invoices/<int:pk>/void/", views.InvoiceVoidView.as_view(), name="invoice-void"),
    path("invoices/<int:pk>/render/", views.InvoiceRenderView.as_view(), name="invoice-render"),
    path("invoices/<int:pk>/pdf/", views.InvoicePdfView.as_view(), name="invoice-pdf"),
    path("archives/", views.InvoiceArchiveListView.as_view(), name="invoicearchive-list"),
    path("archives/new/", views.InvoiceArchiveCreateView.as_view(), name="invoicearchive-create"),
    path(
        "archives/<int:pk>/",
        views.InvoiceArchiveDetailView.as_view(),
        name="invoicearchive-detail",
    ),
    path(
        "archives/<int:pk>/download/",
        views.InvoiceArchiveDownloadView.as_view(),
        name="invoicearchive-download",
    ),
    path("dunning/", views.DunningCaseListView.as_view(), name="dunningcase-list"),
    path("dunning/run/", views.DunningRunView.as_view(), name="dunning-run"),
    path("dunning/policies/", views.DunningPolicyListView.as_view(), name="dunningpolicy-list"),
    path(
        "dunning/policies/new/",
        views.DunningPolicyCreateView.as_view(),
        name="dunningpolicy-create",
    ),
    path(
        "dunning/policies/<int:pk>/",
        views.DunningPolicyDetailView.as_view(),
        name="dunningpolicy-detail",
    ),
    path(
        "dunning/policies/<int:pk>/edit/",
        views.DunningPolicyUpdateView.as_view(),
        name="dunningpolicy-update",
    ),
    path("dunning/pauses/", views.DunningHoldListView.as_view(), name="dunninghold-list"),
    path(
        "dunning/pauses/<int:pk>/",
        views.DunningHoldDetailView.as_view(),
        name="dunninghold-detail",
    ),
    path(
        "dunning/pauses/<int:pk>/resume/",
        views.DunningResumeView.as_view(),
        name="dunning-resume",
    ),
    path(
        "dunning/accounts/<int:pk>/pause/",
        views.DunningPauseView.as_view(),
        name="dunning-pause",
    ),
    *payment_urlpatterns,
]
