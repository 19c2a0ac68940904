"""The audit trail of one object, as shown on its detail page (django-simple-history).

A parent's trail holds its children's changes too (a rate card's rows, a zone table's zones and
members): a model names them in ``audit_children`` (reverse relations whose model is audited),
so a price changed on a draft card's row is seen on the card. Many-to-many changes read as the
names added and removed (``eligible plans: + SMART-10``), not as rows of the link table.
"""

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from core.console.formats import local_text

CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def history_of(obj, limit: int = 50) -> list[dict] | None:
    """Return who changed what and when, newest first; None for an unaudited model."""
    manager = getattr(obj, "history", None)
    if manager is None or not hasattr(manager, "select_related"):
        return None
    streams = [(None, manager.select_related("history_user"))]
    for name in getattr(type(obj), "audit_children", ()):
        relation = obj._meta.get_field(name)
        child_history = getattr(relation.related_model, "history", None)
        if child_history is None:
            continue
        records = child_history.filter(**{relation.field.attname: obj.pk})
        streams.append((relation.related_model, records.select_related("history_user")))
    records = []
    for child_model, queryset in streams:
        for record in queryset.order_by("-history_date", "-history_id")[:limit]:
            records.append((child_model, record))
    records.sort(key=lambda item: (item[1].history_date, item[1].history_id), reverse=True)
    return [_entry(obj, child_model, record) for child_model, record in records[:limit]]


def _entry(obj, child_model, record) -> dict:
    action = CHANGE_TYPES.get(record.history_type, record.history_type)
    if child_model is not None:
        name = child_model._meta.verbose_name
        action = f"{name} {_label(record)} {action}"
    changes = []
    if record.history_type == "~":
        previous = record.prev_record
        if previous is not None:
            delta = record.diff_against(previous)
            model = child_model or type(obj)
            changes = [_change(model, change) for change in delta.changes]
    return {
        "when": record.history_date,
        "who": record.history_user,
        "action": action,
        "reason": record.history_change_reason,
        "changes": changes,
    }


def _label(record) -> str:
    try:
        return str(record.instance)
    except ObjectDoesNotExist:  # a historical row whose related rows are gone keeps its id
        return f"#{record.id}"


def _change(model, change) -> dict:
    """One field's change, a many-to-many one as the names added and removed."""
    field = model._meta.get_field(change.field)
    label = str(field.verbose_name)
    if not field.many_to_many:
        return {"field": label, "old": _shown(change.old), "new": _shown(change.new), "text": ""}
    target = field.related_model._meta.model_name

    def ids(rows):
        return {row[target] for row in rows or () if row.get(target) is not None}

    old, new = ids(change.old), ids(change.new)
    names = {
        pk: str(item) for pk, item in field.related_model._base_manager.in_bulk(old | new).items()
    }
    added = [f"+ {names.get(pk, pk)}" for pk in sorted(new - old)]
    removed = [f"− {names.get(pk, pk)}" for pk in sorted(old - new)]
    return {"field": label, "old": None, "new": None, "text": ", ".join(added + removed) or "—"}


def _shown(value):
    """Show a changed value as every page does: instants in the console's zone, yes and no."""
    if isinstance(value, dt.datetime):
        return local_text(value) if timezone.is_aware(value) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return None if value == "" else value
