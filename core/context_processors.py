"""Template context shared by every console page."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from core.console.menu import menu_for
from core.roles import user_roles


def console(request):
    """Give templates the navigation of the current user and their roles."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "console_menu": [],
            "user_roles": [],
            "default_currency": settings.DEFAULT_CURRENCY,
            "breadcrumbs": [],
        }
    menu = menu_for(user)
    return {
        "console_menu": menu,
        "user_roles": user_roles(user),
        "default_currency": settings.DEFAULT_CURRENCY,
        "breadcrumbs": breadcrumbs_of(request, menu),
        "console_time_zone": settings.TIME_ZONE,
    }


def breadcrumbs_of(request, menu: list[dict]) -> list[dict]:
    """Home, the page's section, and the list its object belongs to (the page's title follows).

    The list is found by the console's URL naming: ``charging:usageevent-detail`` belongs to
    ``charging:usageevent-list``, named as in the menu.
    """
    match = getattr(request, "resolver_match", None)
    if match is None or not match.namespace or match.url_name in (None, "home"):
        return []
    crumbs = [{"label": "Home", "url": reverse("home")}]
    section = next((s for s in menu if s["app"] == match.namespace), None)
    if section is None:
        return crumbs
    crumbs.append({"label": section["label"], "url": section["items"][0]["url"]})
    list_name = f"{match.url_name.split('-', 1)[0]}-list"
    if match.url_name != list_name:
        try:
            list_url = reverse(f"{match.namespace}:{list_name}")
        except NoReverseMatch:
            return crumbs
        item = next((i for i in section["items"] if i["url"] == list_url), None)
        if item is not None:
            crumbs.append({"label": item["label"], "url": list_url})
    return crumbs
