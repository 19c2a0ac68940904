from django.apps import AppConfig

from core.console.menu import MenuItem


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Subscribers"
    # The console's search box and home page ask this app for its matches and panels.
    console_search: tuple = ("subscribers.search.search_subscribers",)
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = (
        MenuItem("Customers", "subscribers:customer-list", "subscribers.view_customer"),
        MenuItem(
            "Billing accounts", "subscribers:billingaccount-list", "subscribers.view_billingaccount"
        ),
        MenuItem("Subscriptions", "subscribers:subscription-list", "subscribers.view_subscription"),
        MenuItem("SIMs", "subscribers:sim-list", "subscribers.view_sim"),
        MenuItem("Vouchers", "subscribers:voucherbatch-list", "subscribers.view_voucherbatch"),
        MenuItem("Top-ups", "subscribers:topup-list", "subscribers.view_topup"),
    )
