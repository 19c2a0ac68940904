"""The audit trail of one object, as shown on its detail page (django-simple-history)."""

CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


def history_of(obj, limit: int = 50) -> list[dict] | None:
    """Return who changed what and when, newest first; None for an unaudited model."""
    manager = getattr(obj, "history", None)
    if manager is None or not hasattr(manager, "select_related"):
        return None
    records = list(manager.select_related("history_user").order_by("-history_date")[: limit + 1])
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            changes = [(change.field, change.old, change.new) for change in delta.changes]
        entries.append(
            {
                "when": record.history_date,
                "who": record.history_user,
                "action": CHANGE_TYPES.get(record.history_type, record.history_type),
                "reason": record.history_change_reason,
                "changes": changes,
            }
        )
    return entries
