"""Tables and filters of the core app's console pages."""

import django_filters
import django_tables2 as tables
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html

from core.console.filters import ConsoleFilter
from core.console.tables import ConsoleTable
from core.roles import ROLES, user_roles


class UserTable(ConsoleTable):
    username = tables.Column()
    full_name = tables.Column(accessor="get_full_name", verbose_name="Name", orderable=False)
    email = tables.Column()
    roles = tables.Column(empty_values=(), orderable=False)
    brands = tables.Column(empty_values=(), orderable=False)
    is_active = tables.BooleanColumn(verbose_name="Active")
    last_login = tables.DateTimeColumn()
    edit = tables.Column(
        empty_values=(), orderable=False, verbose_name="", exclude_from_export=True
    )

    class Meta(ConsoleTable.Meta):
        model = get_user_model()
        fields = ("username", "full_name", "email", "roles", "brands", "is_active", "last_login")

    def render_roles(self, record):
        return ", ".join(user_roles(record)) or "—"

    def value_roles(self, record):
        return " ".join(user_roles(record))

    def render_brands(self, record):
        return self.value_brands(record) or "every brand"

    def value_brands(self, record):
        # The brands a user is limited to (catalog's BrandScope, read through the relation so
        # that core imports no business app); none means every brand.
        if record.is_superuser:
            return ""
        return " ".join(sorted(scope.brand.code for scope in record.brand_scopes.all()))

    def render_edit(self, record):
        return format_html(
            '<a href="{}">Roles</a> · <a href="{}">Brands</a>',
            reverse("user-roles", args=[record.pk]),
            reverse("catalog:user-brands", args=[record.pk]),
        )


class UserFilter(ConsoleFilter):
    username = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    role = django_filters.ChoiceFilter(
        choices=[(role, role) for role in ROLES], field_name="groups__name", label="Role"
    )
    is_active = django_filters.BooleanFilter(label="Active")

    class Meta:
        model = get_user_model()
        fields = ["username", "role", "is_active"]
