"""Template context shared by every console page."""

from django.conf import settings

from core.console.menu import menu_for
from core.roles import user_roles


def console(request):
    """Give templates the navigation of the current user and their roles."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"console_menu": [], "user_roles": [], "default_currency": settings.DEFAULT_CURRENCY}
    return {
        "console_menu": menu_for(user),
        "user_roles": user_roles(user),
        "default_currency": settings.DEFAULT_CURRENCY,
    }
