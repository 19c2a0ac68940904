"""API permissions: the console's roles, applied to tokens and sessions alike."""

from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


class RolePermissions(DjangoModelPermissions):
    """Read with the model's view permission, write with add/change/delete.

    Every role holds the view permissions of every business app, so any logged-in user reads;
    writes follow the role (core.roles). A view without a queryset (an action endpoint) names
    the permission it needs in ``required_permission`` instead.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        required = getattr(view, "required_permission", None)
        if required is not None:
            if isinstance(required, dict):
                required = required.get("read" if request.method in SAFE_METHODS else "write")
            return required is None or request.user.has_perm(required)
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return True
        return super().has_permission(request, view)
