"""Load the demo data: users of every role, then each app's demo (idempotent)."""

import importlib

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.roles import ROLES

DEMO_PASSWORD_SUFFIX = "-demo"


def demo_users() -> list[tuple[str, str, str]]:
    """Return (username, password, role) of the demo users: one per role."""
    return [(role, f"{role}{DEMO_PASSWORD_SUFFIX}", role) for role in ROLES]


class Command(BaseCommand):
    help = "Load demo data for every capability that exists; safe to run again."

    def handle(self, *args, **options):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        User = get_user_model()
        with transaction.atomic():
            for username, password, role in demo_users():
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={"first_name": role.capitalize(), "last_name": "Demo"},
                )
                if created:
                    user.set_password(password)
                user.is_staff = role == "admin"
                user.is_superuser = role == "admin"
                user.save()
                user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(f"users: {', '.join(u for u, _, _ in demo_users())}")
            for config in apps.get_app_configs():
                try:
                    module = importlib.import_module(f"{config.name}.demo")
                except ModuleNotFoundError as error:
                    if error.name != f"{config.name}.demo":
                        raise
                    continue
                summary = module.load()
                self.stdout.write(f"{config.label}: {summary}")
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
