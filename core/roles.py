"""People and permissions: the four roles of the console and the API.

Roles are Django groups (created by a migration); their model permissions are kept in step with
the models that exist by ``sync_role_permissions`` after every ``migrate``, so that a model added
by a later issue is covered without a new data migration.

- ``operator``: edits the catalogue, subscribers and usage operations; reads everything.
- ``finance``: edits invoices, payments, settlement and reports; reads everything.
- ``auditor``: reads everything, changes nothing.
- ``admin``: everything, and the Django admin as a back door.
"""

from django.contrib.auth.models import Group, Permission

OPERATOR = "operator"
FINANCE = "finance"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (OPERATOR, FINANCE, AUDITOR, ADMIN)

BUSINESS_APPS = ("catalog", "subscribers", "charging", "invoicing", "settlement", "assurance")

# Apps whose objects a role may add, change and delete. Every role may view every business app.
EDITABLE_APPS = {
    OPERATOR: ("catalog", "subscribers", "charging"),
    FINANCE: ("invoicing", "settlement", "assurance"),
    AUDITOR: (),
    ADMIN: (*BUSINESS_APPS, "auth", "authtoken", "core"),
}
READABLE_APPS = (*BUSINESS_APPS, "core")
# Models outside a role's editable apps that it may still change: finance manages the webhook
# endpoints (invoices, payments and dunning are what they mostly carry) and their deliveries.
EDITABLE_MODELS = {
    FINANCE: (("core", "webhookendpoint"), ("core", "webhookdelivery")),
}
# Single permissions outside a role's editable apps: finance may retry a usage file or a part
# left by a lost worker (issue 13): usage that never gets rated is revenue never billed.
GRANTED_PERMISSIONS = {
    FINANCE: (("charging", "retry_usagefile"),),
}


def role_permissions(role: str):
    """Return the permissions a role should hold, as a queryset."""
    from django.db.models import Q

    editable = EDITABLE_APPS[role]
    query = Q(content_type__app_label__in=READABLE_APPS, codename__startswith="view_")
    if editable:
        query |= Q(content_type__app_label__in=editable)
    for app_label, model in EDITABLE_MODELS.get(role, ()):
        query |= Q(content_type__app_label=app_label, content_type__model=model)
    for app_label, codename in GRANTED_PERMISSIONS.get(role, ()):
        query |= Q(content_type__app_label=app_label, codename=codename)
    if role == ADMIN:
        query |= Q(content_type__app_label__in=("auth", "authtoken"))
    return Permission.objects.filter(query)


def sync_role_permissions(sender=None, **kwargs) -> None:
    """Give each role group exactly the permissions of its role (run after migrate)."""
    using = kwargs.get("using", "default")
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set(role_permissions(role).using(using))


def user_roles(user) -> list[str]:
    """Return the role names of a user, in the order of ROLES."""
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser:
        names.add(ADMIN)
    return [role for role in ROLES if role in names]
