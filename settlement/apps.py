from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "settlement"
    verbose_name = "Settlement"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = ()
