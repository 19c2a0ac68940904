"""The Django admin as a back door for admin users: every model, read through its history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.models import IdempotencyKey


def register_all(app_label: str, *, search: dict | None = None) -> None:
    """Register every model of an app not registered yet, with its history where it has one."""
    from django.apps import apps

    search = search or {}
    for model in apps.get_app_config(app_label).get_models():
        if admin.site.is_registered(model) or model._meta.model_name.startswith("historical"):
            continue
        base = SimpleHistoryAdmin if hasattr(model, "history") else admin.ModelAdmin
        attrs = {
            "list_display": [
                field.name
                for field in model._meta.fields
                if field.name not in ("created_at", "updated_at") and not field.is_relation
            ][:7],
            "search_fields": search.get(model._meta.model_name, ()),
            "list_per_page": 50,
            "show_full_result_count": False,
        }
        admin.site.register(model, type(f"{model.__name__}Admin", (base,), attrs))


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "method", "path", "response_status", "created_at")
    search_fields = ("key", "path")
    readonly_fields = [field.name for field in IdempotencyKey._meta.fields]
