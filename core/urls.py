from django.contrib.auth import views as auth_views
from django.urls import include, path

from core import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("help/rules/", views.RulesHelpView.as_view(), name="help-rules"),
    path("account/", views.AccountView.as_view(), name="account"),
    path("people/", views.UserListView.as_view(), name="user-list"),
    path("people/new/", views.UserCreateView.as_view(), name="user-create"),
    path("people/<int:pk>/roles/", views.UserRolesView.as_view(), name="user-roles"),
    path("webhooks/", include("core.outbox.urls")),
    path("healthz", views.healthz, name="healthz"),
]
