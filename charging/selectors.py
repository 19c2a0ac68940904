"""Reads of charging that are more than one ORM call."""

from charging.models import UsageFile


class StoredContentMissing(Exception):
    """A usage file's stored copy cannot be read: lost from storage or unreadable there."""


def usage_file_content_open(*, usage_file: UsageFile):
    """Open a usage file's stored copy for reading, or say plainly why it cannot be read."""
    if not usage_file.content:
        raise StoredContentMissing(f"{usage_file.name}: its content was not kept.")
    try:
        return usage_file.content.open("rb")
    except OSError as error:
        raise StoredContentMissing(
            f"{usage_file.name}: the stored copy ({usage_file.content.name}) cannot be read "
            f"from storage ({error.strerror or error}). Restore it from the file storage's "
            "backup; the file's records and counts in the database are untouched."
        ) from error


def usage_file_content_type(*, usage_file: UsageFile) -> str:
    """Say the media type a usage file was received as."""
    if usage_file.name.endswith(".gz"):
        return "application/gzip"
    if usage_file.name.endswith(".json"):
        return "application/json"
    return "text/csv; charset=utf-8"
