from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = ()
