"""The event types an app may publish, each with a one-line description for the console."""

import re

# Namespaced, lower case: "invoice.issued", "payment.received", "dunning.step".
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

_EVENT_TYPES: dict[str, str] = {}


def register_event_types(types: dict[str, str]) -> None:
    """Register event types with their one-line descriptions (call it in AppConfig.ready()).

    Registering a type again with the same description is harmless; a different description
    for a registered type, or a name that is not ``noun.verb`` in lower case, is a mistake.
    """
    for name, description in types.items():
        if not EVENT_TYPE_PATTERN.match(name):
            raise ValueError(
                f"event type {name!r} is not namespaced lower case, e.g. invoice.issued"
            )
        if not description or not description.strip():
            raise ValueError(f"event type {name!r} needs a one-line description")
        known = _EVENT_TYPES.get(name)
        if known is not None and known != description:
            raise ValueError(f"event type {name!r} is registered already as {known!r}")
        _EVENT_TYPES[name] = description.strip()


def event_types() -> dict[str, str]:
    """Every registered event type and its description, sorted by name."""
    return dict(sorted(_EVENT_TYPES.items()))


def is_registered(name: str) -> bool:
    return name in _EVENT_TYPES
