"""Console URLs of the outbox, under /webhooks/."""

from django.urls import path

from core.outbox import views

urlpatterns = [
    path("", views.WebhookEndpointListView.as_view(), name="webhook-list"),
    path("new/", views.WebhookEndpointCreateView.as_view(), name="webhook-create"),
    path("<int:pk>/", views.WebhookEndpointDetailView.as_view(), name="webhook-detail"),
    path("<int:pk>/edit/", views.WebhookEndpointUpdateView.as_view(), name="webhook-edit"),
    path("<int:pk>/secret/", views.WebhookEndpointSecretView.as_view(), name="webhook-secret"),
    path("<int:pk>/rotate/", views.WebhookEndpointRotateView.as_view(), name="webhook-rotate"),
    path("<int:pk>/test/", views.WebhookEndpointTestView.as_view(), name="webhook-test"),
    path("deliveries/", views.WebhookDeliveryListView.as_view(), name="webhook-delivery-list"),
    path(
        "deliveries/<int:pk>/",
        views.WebhookDeliveryDetailView.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "deliveries/<int:pk>/retry/",
        views.WebhookDeliveryRetryView.as_view(),
        name="webhook-delivery-retry",
    ),
]
