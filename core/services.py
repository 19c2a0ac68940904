"""People and permissions: the actions on console users and their API tokens."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.roles import ADMIN, ROLES


def _check_roles(roles) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationError({"roles": f"unknown role(s): {', '.join(unknown)}"})
    return list(roles)


def user_create(
    *,
    username: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    roles,
    password: str | None = None,
    acting_user=None,
):
    """Create a console user with roles; the admin role also opens the Django admin."""
    roles = _check_roles(roles)
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "a user with this name exists already"})
    with transaction.atomic():
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.is_staff = ADMIN in roles
        user.save()
        user.groups.set(Group.objects.filter(name__in=roles))
    return user


def user_set_roles(*, user, roles, is_active: bool = True, acting_user=None):
    """Replace a user's roles and active flag."""
    roles = _check_roles(roles)
    if (
        acting_user is not None
        and user.pk == acting_user.pk
        and (ADMIN not in roles or not is_active)
    ):
        raise ValidationError("You cannot remove your own admin role or deactivate yourself.")
    with transaction.atomic():
        user.is_staff = ADMIN in roles
        user.is_active = is_active
        user.save(update_fields=["is_staff", "is_active"])
        user.groups.set(Group.objects.filter(name__in=roles))
    return user


def api_token_regenerate(*, user) -> Token:
    """Replace a user's API token with a new one; the old one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)
