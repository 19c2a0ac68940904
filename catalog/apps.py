from django.apps import AppConfig

from core.console.menu import MenuItem


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = (
        MenuItem("Plans", "catalog:plan-list", "catalog.view_plan"),
        MenuItem("Plan versions", "catalog:planversion-list", "catalog.view_planversion"),
        MenuItem("Rate cards", "catalog:ratecard-list", "catalog.view_ratecard"),
        MenuItem("Zones", "catalog:zonetable-list", "catalog.view_zonetable"),
        MenuItem("Time bands", "catalog:timebandset-list", "catalog.view_timebandset"),
        MenuItem("Add-ons", "catalog:addon-list", "catalog.view_addon"),
        MenuItem("Promotions", "catalog:promotion-list", "catalog.view_promotion"),
        MenuItem("Tax regions", "catalog:taxregion-list", "catalog.view_taxregion"),
        MenuItem("Tax categories", "catalog:taxcategory-list", "catalog.view_taxcategory"),
        MenuItem("Host networks", "catalog:hostnetwork-list", "catalog.view_hostnetwork"),
        MenuItem("Brands", "catalog:brand-list", "catalog.view_brand"),
        MenuItem("Export", "catalog:document-export", "catalog.view_plan"),
        MenuItem("Import", "catalog:document-import", "catalog.add_plan"),
    )
