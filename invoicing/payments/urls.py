"""Console URLs of the payments (in the invoicing namespace)."""

from django.urls import path

from invoicing.payments import views

urlpatterns: list = [
    path("payments/", views.PaymentListView.as_view(), name="payment-list"),
    path("payments/new/", views.PaymentCreateView.as_view(), name="payment-create"),
    path("payments/<int:pk>/", views.PaymentDetailView.as_view(), name="payment-detail"),
    path(
        "payments/<int:pk>/allocate/", views.PaymentAllocateView.as_view(), name="payment-allocate"
    ),  # fmt: skip
    path("payments/<int:pk>/refund/", views.PaymentRefundView.as_view(), name="payment-refund"),
    path("payments/<int:pk>/return/", views.PaymentReturnView.as_view(), name="payment-return"),
    path(
        "accounts/<int:account_pk>/refund-credit/",
        views.AccountCreditRefundView.as_view(),
        name="account-credit-refund",
    ),  # fmt: skip
    path("statements/", views.StatementListView.as_view(), name="bankstatement-list"),
    path("statements/import/", views.StatementImportView.as_view(), name="bankstatement-import"),
    path(
        "statements/<int:pk>/", views.StatementDetailView.as_view(), name="bankstatement-detail"
    ),  # fmt: skip
    path("bank-lines/", views.StatementLineQueueView.as_view(), name="statementline-queue"),
    path(
        "bank-lines/<int:pk>/", views.StatementLineDetailView.as_view(), name="statementline-detail"
    ),  # fmt: skip
    path(
        "bank-lines/<int:pk>/match/",
        views.StatementLineMatchView.as_view(),
        name="statementline-match",
    ),  # fmt: skip
    path(
        "bank-lines/<int:pk>/discard/",
        views.StatementLineDiscardView.as_view(),
        name="statementline-discard",
    ),  # fmt: skip
    path("mandates/", views.MandateListView.as_view(), name="sepamandate-list"),
    path("mandates/new/", views.MandateCreateView.as_view(), name="sepamandate-create"),
    path("mandates/<int:pk>/", views.MandateDetailView.as_view(), name="sepamandate-detail"),
    path(
        "mandates/<int:pk>/revoke/", views.MandateRevokeView.as_view(), name="sepamandate-revoke"
    ),  # fmt: skip
    path(
        "runs/<int:run_pk>/direct-debit/",
        views.CollectionCreateView.as_view(),
        name="billrun-direct-debit",
    ),  # fmt: skip
    path(
        "direct-debits/<int:pk>/",
        views.CollectionDetailView.as_view(),
        name="sepacollection-detail",
    ),  # fmt: skip
    path(
        "direct-debits/<int:pk>/file/",
        views.CollectionFileView.as_view(),
        name="sepacollection-file",
    ),  # fmt: skip
    path("receivables/", views.AgedReceivablesView.as_view(), name="aged-receivables"),
    path(
        "receivables/invoices/",
        views.AgedReceivablesInvoicesView.as_view(),
        name="aged-receivables-invoices",
    ),  # fmt: skip
]
