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
        ),
        "subscribers.billingaccount": ("charging.dashboard.billing_account_usage",),
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
        from charging.online.notifications import EVENT_TYPES
        from core.outbox import register_event_types

        register_event_types(EVENT_TYPES)
