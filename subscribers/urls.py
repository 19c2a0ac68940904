"""Console URLs of the subscribers."""

from django.urls import path

from subscribers.views import customers, inventory, subscriptions

app_name = "subscribers"

urlpatterns: list = [
    # customers and the customer-360 page
    path("customers/", customers.CustomerListView.as_view(), name="customer-list"),
    path("customers/new/", customers.CustomerCreateView.as_view(), name="customer-create"),
    path("customers/<int:pk>/", customers.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<int:pk>/edit/", customers.CustomerUpdateView.as_view(), name="customer-edit"),
    path(
        "customers/<int:customer_pk>/accounts/new/",
        customers.BillingAccountCreateView.as_view(),
        name="billingaccount-create",
    ),
    # billing accounts and their balances
    path("accounts/", customers.BillingAccountListView.as_view(), name="billingaccount-list"),
    path(
        "accounts/<int:pk>/",
        customers.BillingAccountDetailView.as_view(),
        name="billingaccount-detail",
    ),
    path(
        "accounts/<int:pk>/edit/",
        customers.BillingAccountUpdateView.as_view(),
        name="billingaccount-edit",
    ),
    path(
        "accounts/<int:pk>/top-up/",
        customers.TopUpCreateView.as_view(),
        name="billingaccount-top-up",
    ),
    path(
        "accounts/<int:pk>/adjust/",
        customers.BalanceAdjustView.as_view(),
        name="billingaccount-adjust",
    ),
    path(
        "accounts/<int:pk>/redeem/",
        customers.VoucherRedeemView.as_view(),
        name="billingaccount-redeem",
    ),
    path(
        "accounts/<int:account_pk>/subscriptions/new/",
        subscriptions.SubscriptionCreateView.as_view(),
        name="subscription-create",
    ),
    # subscriptions and their lifecycle
    path("subscriptions/", subscriptions.SubscriptionListView.as_view(), name="subscription-list"),
    path(
        "subscriptions/<int:pk>/",
        subscriptions.SubscriptionDetailView.as_view(),
        name="subscription-detail",
    ),
    *[
        path(f"subscriptions/<int:pk>/{name}/", view.as_view(), name=f"subscription-{name}")
        for name, view in (
            ("activate", subscriptions.SubscriptionActivateView),
            ("suspend", subscriptions.SubscriptionSuspendView),
            ("bar", subscriptions.SubscriptionBarView),
            ("reactivate", subscriptions.SubscriptionReactivateView),
            ("change-plan", subscriptions.SubscriptionChangePlanView),
            ("add-addon", subscriptions.SubscriptionAddAddOnView),
            ("swap-sim", subscriptions.SubscriptionSwapSimView),
            ("user", subscriptions.SubscriptionUserView),
            ("terminate", subscriptions.SubscriptionTerminateView),
            ("port-out", subscriptions.SubscriptionPortOutView),
        )
    ],
    path(
        "subscriptions/<int:pk>/ledger/",
        subscriptions.SubscriptionLedgerView.as_view(),
        name="subscription-ledger",
    ),
    path(
        "subscriptions/<int:pk>/adjust-bucket/",
        subscriptions.SubscriptionAdjustBucketView.as_view(),
        name="subscription-adjust-bucket",
    ),
    path(
        "subscriptions/<int:pk>/add-ons/<int:addon_pk>/remove/",
        subscriptions.SubscriptionRemoveAddOnView.as_view(),
        name="subscription-remove-addon",
    ),
    # SIM stock, vouchers, top-ups
    path("sims/", inventory.SimListView.as_view(), name="sim-list"),
    path("sims/load/", inventory.SimBatchUploadView.as_view(), name="simbatch-create"),
    path("vouchers/", inventory.VoucherBatchListView.as_view(), name="voucherbatch-list"),
    path("vouchers/new/", inventory.VoucherBatchCreateView.as_view(), name="voucherbatch-create"),
    path(
        "vouchers/<int:pk>/",
        inventory.VoucherBatchDetailView.as_view(),
        name="voucherbatch-detail",
    ),
    path("top-ups/", inventory.TopUpListView.as_view(), name="topup-list"),
]
