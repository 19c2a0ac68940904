from django.apps import AppConfig


class AssuranceConfig(AppConfig):
    name = "assurance"
    verbose_name = "Assurance"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = ()
