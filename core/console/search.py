"""The console's one search box: every app answers for its own things (AppConfig.console_search).

An app lists dotted paths of providers, ``provider(*, user, query) -> list[SearchHit]``, each
answering only with what the user may see (brand scoping) and only for texts that can be one of
its things. Core knows no business app: it asks each in dependency order and puts the answers
together, so a later app (invoices) adds its own without core changing.
"""

from dataclasses import dataclass

from django.apps import apps
from django.utils.module_loading import import_string

HITS_PER_PROVIDER = 20


@dataclass(frozen=True)
class SearchHit:
    """One thing found: what it is, how to name it, where its page is."""

    kind: str
    label: str
    url: str
    detail: str = ""


def search_all(*, user, query: str) -> list[SearchHit]:
    """Ask every app's providers for what matches ``query``, in the order of the apps."""
    query = " ".join(query.split())
    if not query:
        return []
    hits: list[SearchHit] = []
    for config in apps.get_app_configs():
        for dotted in getattr(config, "console_search", ()):
            provider = import_string(dotted)
            hits.extend(provider(user=user, query=query)[:HITS_PER_PROVIDER])
    return hits


def digits_of(query: str) -> str:
    """Return a query's digits when it is a number written with spaces, dashes, dots or a +."""
    stripped = query.strip()
    for mark in " -./()":
        stripped = stripped.replace(mark, "")
    if stripped.startswith("+"):
        stripped = stripped[1:]
    return stripped if stripped.isascii() and stripped.isdigit() else ""
