from django.apps import AppConfig

from core.console.menu import MenuItem


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = (
        MenuItem("Bill runs", "invoicing:billrun-list", "invoicing.view_billrun"),
        MenuItem("Invoices", "invoicing:invoice-list", "invoicing.view_invoice"),
        MenuItem("Bill cycles", "invoicing:billcycle-list", "invoicing.view_billcycle"),
    )
