from django.apps import AppConfig

from core.console.menu import MenuItem


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing"
    # The console's home page asks this app for its panel (what finance acts on).
    console_dashboard: tuple = ("invoicing.dashboard.invoicing_panels",)
    # What a customer's and a billing account's pages show of their bills, payments, credit,
    # mandate and dunning (paused or not).
    console_related: dict = {
        "subscribers.customer": ("invoicing.panels.customer_bills",),
        "subscribers.billingaccount": (
            "invoicing.panels.billing_account_bills",
            "invoicing.payments.panels.billing_account_payments",
            "invoicing.dashboard.billing_account_dunning_panels",
        ),
    }
    # The causes of the ledger movements this app writes (subscribers.ledger).
    ledger_references: dict = {"invoice": "invoicing.prepaid.invoice_links"}
    # The console menu of this app: core.console.menu.MenuItem entries, shown only when the
    # user holds their permission.
    console_menu: tuple = (
        MenuItem("Bill runs", "invoicing:billrun-list", "invoicing.view_billrun"),
        MenuItem("Invoices", "invoicing:invoice-list", "invoicing.view_invoice"),
        MenuItem("Bill cycles", "invoicing:billcycle-list", "invoicing.view_billcycle"),
        MenuItem("Dunning", "invoicing:dunningcase-list", "invoicing.view_dunningcase"),
        MenuItem(
            "Dunning policies", "invoicing:dunningpolicy-list", "invoicing.view_dunningpolicy"
        ),
        MenuItem(
            "Invoice archives", "invoicing:invoicearchive-list", "invoicing.view_invoicearchive"
        ),
        MenuItem("Payments", "invoicing:payment-list", "invoicing.view_payment"),
        MenuItem("Bank statements", "invoicing:bankstatement-list", "invoicing.view_bankstatement"),
        MenuItem(
            "Unmatched bank lines",
            "invoicing:statementline-queue",
            "invoicing.view_bankstatementline",
        ),  # fmt: skip
        MenuItem(
            "Direct debit mandates", "invoicing:sepamandate-list", "invoicing.view_sepamandate"
        ),
        MenuItem("Aged receivables", "invoicing:aged-receivables", "invoicing.view_invoice"),
    )

    def ready(self) -> None:
        from core.outbox import register_event_types

        register_event_types(
            {
                "invoice.issued": "An invoice was issued: its number, account, totals, due date.",
                "credit_note.issued": "A credit note was issued against an invoice.",
                "statement.issued": "A prepaid account's statement of a period was issued.",
                "receipt.issued": "A receipt of a prepaid top-up was issued.",
                "dunning.step_taken": "A dunning step was taken on an overdue invoice (R30): "
                "reminder, final notice, outgoing services barred or terminated.",
                "invoice.paid": "An invoice was paid in full (its amount due reached zero).",
                "payment.received": "A payment was recorded (gateway, bank transfer, statement "
                "or direct debit) with the invoices it was allocated to.",
                "payment.refunded": "Money of a payment was paid back to the customer.",
                "payment.returned": "A payment came back (a SEPA direct debit return) with its "
                "reason code; the invoices it paid reopened.",
            }
        )
