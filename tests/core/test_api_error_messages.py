"""Every API field's error message can be written out: a bad request gets a 400, never a 500.

DRF formats a field's message with ``str.format`` when the field fails: a literal brace in an
example such as ``{"id": "7"}`` is read as a placeholder, raises KeyError, and the request that
should have been told what was wrong gets a 500 instead. Braces in messages are doubled.
"""

import string

from django.urls import get_resolver
from rest_framework import serializers

PROJECT_APPS = ("core", "catalog", "subscribers", "charging", "invoicing", "settlement",
                "assurance")  # fmt: skip


def _field_classes():
    assert get_resolver().url_patterns  # imports every API module through the URL configuration
    seen, pending = set(), [serializers.Field]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                pending.append(sub)
    return sorted(
        (cls for cls in seen if cls.__module__.split(".")[0] in PROJECT_APPS),
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


def test_the_project_has_api_fields_to_check():
    names = {cls.__qualname__ for cls in _field_classes()}
    assert {"MoneyInputField", "RefField", "SimRefField"} <= names


def test_every_field_message_formats_without_stray_placeholders():
    broken = []
    for cls in _field_classes():
        for key, message in getattr(cls, "default_error_messages", {}).items():
            try:
                names = [name for _, name, _, _ in string.Formatter().parse(str(message)) if name]
            except ValueError as error:  # a lone brace
                broken.append(f"{cls.__module__}.{cls.__qualname__}[{key}]: {error}")
                continue
            for name in names:
                if not name.isidentifier():
                    broken.append(f"{cls.__module__}.{cls.__qualname__}[{key}]: {{{name}}}")
    assert broken == []
