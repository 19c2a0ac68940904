"""The console's navigation, gathered from the apps that have pages."""

from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class MenuItem:
    """One entry of an app's menu: a label, a URL name and the permission needed to see it."""

    label: str
    url_name: str
    permission: str | None = None


def menu_for(user) -> list[dict]:
    """Return the sections and entries of the navigation that this user may open."""
    sections = []
    for config in apps.get_app_configs():
        items = []
        for item in getattr(config, "console_menu", ()):
            if item.permission and not user.has_perm(item.permission):
                continue
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            items.append({"label": item.label, "url": url})
        if items:
            sections.append({"label": config.verbose_name, "app": config.label, "items": items})
    return sections
