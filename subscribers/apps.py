from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Subscribers"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = ()
