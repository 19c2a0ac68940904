from django.apps import AppConfig

from core.console.menu import MenuItem


class AssuranceConfig(AppConfig):
    name = "assurance"
    verbose_name = "Assurance"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_related: dict = {
        "invoicing.invoice": ("assurance.panels.invoice_lineage",),
        "charging.usageevent": ("assurance.panels.event_lineage",),
    }
    console_menu: tuple = (
        MenuItem("Revenue assurance", "assurance:dashboard", "assurance.view_finding"),
        MenuItem("Findings", "assurance:finding-list", "assurance.view_finding"),
    )
