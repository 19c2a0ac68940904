from django.apps import AppConfig

from core.console.menu import MenuItem


class ChargingConfig(AppConfig):
    name = "charging"
    verbose_name = "Charging"
    # The console's search box and home page ask this app for its matches and panels.
    console_search: tuple = ("charging.search.search_charging",)
    console_dashboard: tuple = ("charging.dashboard.charging_panels",)
    console_related: dict = {
        "subscribers.subscription": (
            "charging.dashboard.subscription_usage",
            "charging.online.panels.subscription_sessions",
            "charging.online.ledger.subscription_reservations",
        ),
        "subscribers.billingaccount": ("charging.dashboard.billing_account_usage",),
        "subscribers.customer": ("charging.dashboard.customer_usage",),
    }
    # The causes of the ledger movements this app writes (subscribers.ledger).
    ledger_references: dict = {
        "usage": "charging.online.ledger.usage_event_links",
        "online": "charging.online.ledger.reservation_links",
    }
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = (
        MenuItem("Usage files", "charging:usagefile-list", "charging.view_usagefile"),
        MenuItem(
            "Rejected records", "charging:rejectedrecord-list", "charging.view_rejectedrecord"
        ),
        MenuItem("Missing files", "charging:sequencegap-list", "charging.view_sequencegap"),
        MenuItem("Rating errors", "charging:usageevent-errors", "charging.view_usageevent"),
        MenuItem("Usage", "charging:usageevent-list", "charging.view_usageevent"),
        MenuItem(
            "Live sessions",
            "charging:chargingsession-list",
            "charging.view_chargingsession",
        ),
        MenuItem("Simulator", "charging:simulator", "charging.view_usageevent"),
        MenuItem("Rerating", "charging:reratejob-list", "charging.view_reratejob"),
    )

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        connection_created.connect(_sqlite_split_part, dispatch_uid="charging_split_part")
        from charging.online.notifications import EVENT_TYPES
        from core.outbox import register_event_types

        register_event_types(EVENT_TYPES)


def _split_part(text, delimiter, position):
    """PostgreSQL's ``split_part`` for SQLite: field ``position`` (1-based), or ''."""
    if text is None or delimiter is None or position is None:
        return None
    parts = text.split(delimiter)
    return parts[position - 1] if 0 < position <= len(parts) else ""


def _sqlite_split_part(sender, connection, **kwargs) -> None:
    """Give an SQLite connection the ``split_part`` that brand scoping of rejects reads."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("split_part", 3, _split_part, deterministic=True)
