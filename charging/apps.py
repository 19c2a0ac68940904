from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "charging"
    verbose_name = "Charging"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = ()
