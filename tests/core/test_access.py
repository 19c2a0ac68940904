"""People and permissions: login everywhere, roles as groups, tokens carry the roles."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.roles import ROLES, role_permissions

pytestmark = pytest.mark.django_db


def test_roles_exist_as_groups_after_migrate():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_auditor_holds_only_view_permissions():
    codenames = set(role_permissions("auditor").values_list("codename", flat=True))
    assert codenames
    assert all(codename.startswith("view_") for codename in codenames)


def test_anonymous_console_visitor_is_sent_to_login(client):
    for url in ["/", reverse("account"), reverse("user-list"), reverse("user-create")]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_login_and_health_are_open_to_anonymous(client):
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("healthz")).status_code == 200


def test_anonymous_api_client_gets_401_with_error_body(client):
    response = client.get("/api/schema/")
    assert response.status_code == 401
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code in (401, 404)


def test_login_with_password_opens_the_console(client, make_user):
    make_user("olga", "operator", password="pw-Secret-123")
    response = client.post(
        reverse("login"), {"username": "olga", "password": "pw-Secret-123"}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"].username == "olga"
    assert b"operator" in response.content


def test_people_page_is_for_admins_only(console_client_for, finance, admin_user):
    client = console_client_for(finance)
    assert client.get(reverse("user-list")).status_code == 403
    client = console_client_for(admin_user)
    assert client.get(reverse("user-list")).status_code == 200


def test_403_page_is_rendered_for_a_forbidden_page(console_client_for, auditor):
    response = console_client_for(auditor).get(reverse("user-create"))
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_404_page_is_rendered_for_an_unknown_page(console_client_for, auditor):
    response = console_client_for(auditor).get("/no/such/page/")
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_admin_creates_a_user_with_roles(console_client_for, admin_user):
    client = console_client_for(admin_user)
    response = client.post(
        reverse("user-create"),
        {
            "username": "fiona",
            "roles": ["finance"],
            "password1": "long-Enough-pw-42",
            "password2": "long-Enough-pw-42",
        },
    )
    assert response.status_code == 302
    from django.contrib.auth import get_user_model

    fiona = get_user_model().objects.get(username="fiona")
    assert list(fiona.groups.values_list("name", flat=True)) == ["finance"]
    assert fiona.has_perm("invoicing.view_invoice") or fiona.groups.exists()


def test_admin_cannot_remove_own_admin_role(console_client_for, admin_user):
    client = console_client_for(admin_user)
    response = client.post(reverse("user-roles", args=[admin_user.pk]), {"roles": ["auditor"]})
    assert response.status_code == 200
    assert b"cannot remove your own admin role" in response.content
    admin_user.refresh_from_db()
    assert admin_user.groups.filter(name="admin").exists()


def test_people_list_exports_filtered_csv(console_client_for, admin_user, role_users):
    client = console_client_for(admin_user)
    response = client.get(reverse("user-list"), {"role": "finance", "_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("Username,Name,Email address,Roles")
    assert len(lines) == 2
    assert lines[1].startswith("finance-user,")


def test_user_can_create_and_rotate_own_api_token(console_client_for, api_client_for, auditor):
    from rest_framework.authtoken.models import Token

    client = console_client_for(auditor)
    client.post(reverse("account"))
    first = Token.objects.get(user=auditor).key
    client.post(reverse("account"))
    second = Token.objects.get(user=auditor).key
    assert first != second
    page = client.get(reverse("account"))
    assert second.encode() in page.content
