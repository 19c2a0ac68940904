"""Fixtures shared by every test: users of each role and API clients that act as them."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import ROLES


@pytest.fixture(autouse=True)
def celery_may_join_results():
    """Start every test with Celery allowing ``result.get()``.

    Celery keeps "a task is running here, joining would block" in one process-wide flag that an
    eager ``apply_async`` sets and restores. Eager tasks sent from several threads at once (the
    Gy server's worker threads, a live server) can restore it in the wrong order and leave it
    set, and a later test's ``result.get()`` then fails although no task is running.
    """
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture
def make_user(db, django_user_model):
    """Create a user holding the given roles."""

    def make(username: str, *roles: str, password: str = "pw-Secret-123"):
        user = django_user_model.objects.create_user(username=username, password=password)
        user.groups.set(Group.objects.filter(name__in=roles))
        if "admin" in roles:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        return user

    return make


@pytest.fixture
def role_users(make_user):
    """One user per role, keyed by role name."""
    return {role: make_user(f"{role}-user", role) for role in ROLES}


@pytest.fixture
def operator(role_users):
    return role_users["operator"]


@pytest.fixture
def finance(role_users):
    return role_users["finance"]


@pytest.fixture
def auditor(role_users):
    return role_users["auditor"]


@pytest.fixture
def admin_user(role_users):
    return role_users["admin"]


@pytest.fixture
def api_client_for():
    """Return an API client authenticated with the user's token."""

    def make(user) -> APIClient:
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def console_client_for(client):
    """Return the Django test client logged in as the user."""

    def make(user):
        client.force_login(user)
        return client

    return make


@pytest.fixture
def golden_catalog(db):
    """The published catalogue of the golden October scenario (tests/catalog/builders.py)."""
    from tests.catalog.builders import build_golden_catalog

    return build_golden_catalog()


@pytest.fixture
def golden_draft_catalog(db):
    """The golden catalogue with its cards and SMART-10 v1 still in draft."""
    from tests.catalog.builders import build_golden_catalog

    return build_golden_catalog(publish=False)


@pytest.fixture
def golden_subscribers(golden_catalog):
    """Customers A, B and C of the golden October scenario on SMART-10."""
    from tests.subscribers.builders import build_golden_subscribers

    return build_golden_subscribers(golden_catalog)


def _shares_module_data(item) -> bool:
    """Whether a test uses a module-scoped fixture that keeps database rows for the module."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definitions
        and definitions[-1].scope == "module"
        and "django_db_blocker" in definitions[-1].argnames
        for definitions in info.name2fixturedefs.values()
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Within each module, run the tests that share a module-scoped database fixture last.

    Such a fixture (charging's ``golden_api``, ``golden_usage``) keeps its rows in a
    transaction that stays open until the module's last test; a test of the same module that
    expects an empty database must run before it is built. Runs after pytest-randomly's shuffle
    (tryfirst), so the order stays random otherwise.
    """
    modules: dict = {}
    for item in items:
        modules.setdefault(item.module.__name__ if item.module else "", len(modules))
    items.sort(
        key=lambda item: (
            modules[item.module.__name__ if item.module else ""],
            _shares_module_data(item),
        )
    )
