"""Django admin (the back door for admin users) of the subscribers."""

from core.admin import register_all

register_all(
    "subscribers",
    search={
        "customer": ("number", "last_name", "company_name", "email"),
        "subscription": ("msisdn",),
        "sim": ("iccid", "imsi"),
        "billingaccount": ("number", "name"),
    },
)
