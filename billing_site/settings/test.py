"""Settings for the test suite: the same as production but for speed and determinism.

Tests run against DATABASE_URL (PostgreSQL in CI) or the embedded SQLite default. Tasks run
eagerly in the test process; the tests marked ``broker`` switch eager mode off and talk to a
real worker through CELERY_BROKER_URL.
"""

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests change the catalogue between requests: no catalogue shared across online requests.
ONLINE_CATALOG_CACHE_SECONDS = 0
# Tests deactivate clients between requests: every request checks its token.
ONLINE_CLIENT_CACHE_SECONDS = 0
