"""Django admin (the back door for admin users) of the charging."""

from core.admin import register_all

register_all(
    "charging",
    search={
        "usagefile": ("name", "source"),
        "usageevent": ("record_id", "msisdn"),
        "rejectedrecord": ("record_id", "raw"),
    },
)
