from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Administration"

    @property
    def console_menu(self):
        from core.console.menu import MenuItem

        return [
            MenuItem("People", "user-list", "auth.view_user"),
            MenuItem("Webhooks", "webhook-list", "core.view_webhookendpoint"),
            MenuItem("Webhook deliveries", "webhook-delivery-list", "core.view_webhookdelivery"),
        ]

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.lookups import register

        register()

        from core.roles import sync_role_permissions

        post_migrate.connect(sync_role_permissions, dispatch_uid="core.sync_role_permissions")

        from core.outbox import register_event_types

        register_event_types(
            {"webhook.test": "A test event sent from the console to check an endpoint."}
        )
