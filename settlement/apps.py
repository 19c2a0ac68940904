from django.apps import AppConfig

from core.console.menu import MenuItem


class SettlementConfig(AppConfig):
    name = "settlement"
    verbose_name = "Settlement"
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = (
        MenuItem("Partners", "settlement:partner-list", "settlement.view_partner"),
        MenuItem("Agreements", "settlement:agreement-list", "settlement.view_agreement"),
        MenuItem("Settlement runs", "settlement:run-list", "settlement.view_settlementrun"),
        MenuItem("Statements", "settlement:statement-list", "settlement.view_statement"),
        MenuItem(
            "Host invoices", "settlement:reconciliation-list", "settlement.view_reconciliation"
        ),
        MenuItem("Disputes", "settlement:dispute-list", "settlement.view_disputeitem"),
        MenuItem("Margin", "settlement:margin", "settlement.view_statement"),
    )

    def ready(self) -> None:
        from core.outbox import register_event_types

        register_event_types(
            {
                "settlement.statement_issued": "A partner's settlement statement was issued: "
                "its number, partner, period, total and direction (R31, R32).",
            }
        )
