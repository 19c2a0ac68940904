"""The home page's panels: every app shows what its users act on (AppConfig.console_dashboard).

An app lists dotted paths of providers, ``provider(*, user, now) -> list[Panel]``; a provider
answers only with panels the user may open (their permissions, their brands). Every figure
links to the records behind it.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.apps import apps
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Figure:
    """A number on the dashboard and the list that shows the records behind it."""

    label: str
    value: object
    url: str
    tone: str = ""  # "", "warn" (something waits for someone), "ok"


@dataclass(frozen=True)
class Chart:
    """A small chart: labels on the x axis and one or more series (label, values, link)."""

    title: str
    labels: list[str]
    series: list[dict]
    unit: str = ""
    note: str = ""

    def rows(self) -> list[tuple[str, list]]:
        """Return the chart as a table: each x label with the value of every series."""
        return [
            (label, [series["values"][index] for series in self.series])
            for index, label in enumerate(self.labels)
        ]

    def data(self) -> dict:
        """Return what the page's script draws (static/js/charts.js)."""
        return {"labels": self.labels, "series": self.series, "unit": self.unit}


@dataclass
class Panel:
    title: str
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    note: str = ""
    order: int = 50


def panels_for(*, user, now: dt.datetime) -> list[Panel]:
    """Gather the panels of every app for this user, the ones to act on first."""
    panels: list[Panel] = []
    for config in apps.get_app_configs():
        for dotted in getattr(config, "console_dashboard", ()):
            panels.extend(import_string(dotted)(user=user, now=now))
    return sorted(panels, key=lambda panel: panel.order)


def related_panels_for(*, obj, user, now: dt.datetime) -> list[Panel]:
    """Gather what later apps show on an earlier app's detail page (AppConfig.console_related).

    ``console_related`` maps a model label (``subscribers.subscription``) to dotted paths of
    providers ``provider(*, obj, user, now) -> list[Panel]``: a subscription's page shows its
    usage without subscribers importing charging.
    """
    label = obj._meta.label_lower
    panels: list[Panel] = []
    for config in apps.get_app_configs():
        for dotted in getattr(config, "console_related", {}).get(label, ()):
            panels.extend(import_string(dotted)(obj=obj, user=user, now=now))
    return sorted(panels, key=lambda panel: panel.order)
