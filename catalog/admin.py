"""Django admin (the back door for admin users) of the catalogue."""

from core.admin import register_all

register_all(
    "catalog",
    search={
        "plan": ("code", "name"),
        "ratecard": ("code", "name"),
        "zone": ("code",),
        "brand": ("code", "name"),
    },
)
