"""Settings shared by every environment, read from the environment.

With no variable set the project runs on an embedded default (SQLite file, Celery tasks run
eagerly in-process) so that a newcomer's first command works without any server. Set
``DATABASE_URL`` (``postgres://user@127.0.0.1:5432/billing``) and ``CELERY_BROKER_URL``
(``redis://127.0.0.1:6379/0``) for the real thing.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable (1/true/yes/on)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
# Former keys, still accepted for sessions and signed values while a new SECRET_KEY settles in
# (docs/operations.md: rotating SECRET_KEY); comma-separated.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_tables2",
    "djmoney",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "core",
    # The business, in dependency order: an app imports only the apps above it (README).
    "catalog",
    "subscribers",
    "charging",
    "invoicing",
    "settlement",
    "assurance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.MachineApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.ConsoleLoginRequiredMiddleware",
    "core.middleware.RuleLinkMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

# Front doors for network elements, served past the console's middleware (MachineApiMiddleware).
MACHINE_API_PREFIXES = ("/nchf-convergedcharging/",)

ROOT_URLCONF = "billing_site.urls"
WSGI_APPLICATION = "billing_site.wsgi.application"
ASGI_APPLICATION = "billing_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.console",
            ],
        },
    },
]

# Database: PostgreSQL (psycopg 3) through DATABASE_URL, else an embedded SQLite file.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] not in {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}:
    raise ImproperlyConfigured("DATABASE_URL must name PostgreSQL or SQLite.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend, reading computed money back at its declared places (R1).
    DATABASES["default"]["ENGINE"] = "billing_site.sqlite"
    # Tests in memory, as Django does for its own SQLite engine (pytest-django's xdist workers
    # tell that engine by name and would otherwise name a test file after the database path).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Index scans cost about as much as sequential ones on SSD storage; with the server
    # default (4) the batched subscriber look-up of mediation reads the whole terms table.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ.get(
        "PG_SESSION_OPTIONS", "-c random_page_cost=1.1"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Time: every stored instant is aware UTC (billing-rules R6). TIME_ZONE is the console's
# display default; billing accounts carry their own timezone for periods and bands.
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Berlin")
# The country whose national number format (0151 ...) the console's search box understands.
PHONE_REGION = os.environ.get("PHONE_REGION", "DE")
LANGUAGE_CODE = "en-gb"
USE_I18N = True

# Money (billing-rules R1): Decimal amounts with their currency, never floats.
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "EUR")
CURRENCIES = tuple(env_list("CURRENCIES", ["EUR", "GBP", "USD", "CHF", "PLN", "JPY"]))
if DEFAULT_CURRENCY not in CURRENCIES:
    CURRENCIES = (*CURRENCIES, DEFAULT_CURRENCY)

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# REST API (DRF) under /api/v1/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.RolePermissions"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MVNO Billing API",
    "DESCRIPTION": (
        "REST API of the MVNO billing platform. Resource and field names follow the TM Forum "
        "Open APIs where they fit (TMF620, TMF629, TMF635, TMF637, TMF654, TMF666, TMF678, "
        "TMF676). Authenticate with `Authorization: Token <key>`. Money moving POSTs accept an "
        "`Idempotency-Key` header: the same key and body replay the first response; the same "
        "key with another body is refused with 409."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.document_errors",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name per choice set that several fields or resources share (else schema warnings).
    "ENUM_NAME_OVERRIDES": {
        "CatalogStatusEnum": "catalog.models.Status",
        "ServiceEnum": "catalog.models.Service",
        "UnitEnum": "catalog.models.Unit",
        "ZoneKindEnum": "catalog.models.ZoneKind",
        "RateCardKindEnum": "catalog.models.RateCardKind",
        "AddOnKindEnum": "catalog.models.AddOnKind",
        "FairUseActionEnum": "catalog.models.FairUseAction",
        "SubscriptionStatusEnum": "subscribers.models.SubscriptionStatus",
    },
}

# Celery: a real broker through CELERY_BROKER_URL, else tasks run eagerly in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "cache+memory://")
else:
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# A usage file this large or larger is rated by CHARGING_FILE_PARTS workers in parallel
# (charging.partitions); 1 part rates every file whole.
CHARGING_FILE_PARTS = int(os.environ.get("CHARGING_FILE_PARTS", "2"))
CHARGING_SPLIT_MIN_BYTES = int(os.environ.get("CHARGING_SPLIT_MIN_BYTES", str(20 * 1024 * 1024)))
# A bill run with BILL_RUN_SPLIT_MIN_ACCOUNTS accounts or more to draft is split into
# BILL_RUN_PARTS disjoint parts (account id modulo parts), each drafted by a task of its own.
BILL_RUN_PARTS = int(os.environ.get("BILL_RUN_PARTS", "2"))
BILL_RUN_SPLIT_MIN_ACCOUNTS = int(os.environ.get("BILL_RUN_SPLIT_MIN_ACCOUNTS", "5000"))
# Tasks that rate or bill money are acknowledged when done, not when taken: a task whose worker
# process dies is handed back to the queue at once (reject on worker lost), and one whose whole
# worker vanished (kill -9, a lost machine) is redelivered by Redis after the visibility timeout,
# which must outlast the longest task (a part of a large usage file) but not hold a file for an
# hour. Redelivery is safe: every such task is idempotent (a part or an account counts once).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "900")),
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 24 * 3600
# Host-network usage files dropped here are picked up by the charging.inbox_scan task.
USAGE_INBOX_DIR = Path(os.environ.get("USAGE_INBOX_DIR", BASE_DIR / "var" / "inbox"))
USAGE_INBOX_SCAN_SECONDS = int(os.environ.get("USAGE_INBOX_SCAN_SECONDS", "60"))
# The outbox (core.outbox, docs/webhooks.md): a delivery is retried after 30 s, doubling (with
# jitter) up to 6 h, and is failed after OUTBOX_MAX_ATTEMPTS; the sweep picks up due deliveries.
OUTBOX_RETRY_BASE_SECONDS = int(os.environ.get("OUTBOX_RETRY_BASE_SECONDS", "30"))
OUTBOX_RETRY_MAX_SECONDS = int(os.environ.get("OUTBOX_RETRY_MAX_SECONDS", str(6 * 3600)))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "15"))
OUTBOX_TIMEOUT_SECONDS = float(os.environ.get("OUTBOX_TIMEOUT_SECONDS", "10"))
OUTBOX_SWEEP_SECONDS = int(os.environ.get("OUTBOX_SWEEP_SECONDS", "30"))
# Online charging (charging.online): how long a grant is valid (R22) and how often the beat task
# charging.reservations_expire releases the grants nobody committed or released in time.
ONLINE_VALIDITY_SECONDS = int(os.environ.get("ONLINE_VALIDITY_SECONDS", "300"))
ONLINE_CATALOG_CACHE_SECONDS = float(os.environ.get("ONLINE_CATALOG_CACHE_SECONDS", "30"))
ONLINE_EXPIRY_SWEEP_SECONDS = int(os.environ.get("ONLINE_EXPIRY_SWEEP_SECONDS", "30"))
# A balance below this (in the account's currency) raises a balance.low webhook, once a period.
ONLINE_LOW_BALANCE = os.environ.get("ONLINE_LOW_BALANCE", "2.00")
# Online charging in two database calls a request on PostgreSQL (charging.online.onetrip,
# issue 16); "0" keeps the ORM path (the benchmark measures both).
ONLINE_ONE_TRIP = os.environ.get("ONLINE_ONE_TRIP", "1") != "0"
# How long a server process trusts a host network's token it has checked (0 = every request).
ONLINE_CLIENT_CACHE_SECONDS = float(os.environ.get("ONLINE_CLIENT_CACHE_SECONDS", "10"))
# The hour (UTC) of the daily dunning run.
DUNNING_RUN_HOUR = int(os.environ.get("DUNNING_RUN_HOUR", "5"))
# How often the prepaid renewals and bucket expiry run, and new top-ups get their receipts.
PREPAID_RENEWAL_SWEEP_SECONDS = int(os.environ.get("PREPAID_RENEWAL_SWEEP_SECONDS", "300"))
RECEIPT_SWEEP_SECONDS = int(os.environ.get("RECEIPT_SWEEP_SECONDS", "60"))
CELERY_BEAT_SCHEDULE: dict = {
    "charging-reservations-expire": {
        "task": "charging.reservations_expire",
        "schedule": ONLINE_EXPIRY_SWEEP_SECONDS,
    },
    "charging-inbox-scan": {
        "task": "charging.inbox_scan",
        "schedule": USAGE_INBOX_SCAN_SECONDS,
    },
    "core-outbox-sweep": {
        "task": "core.outbox_sweep",
        "schedule": OUTBOX_SWEEP_SECONDS,
    },
    # The usage store's months are created ahead (charging.usage_store): daily is plenty.
    "charging-usage-months-ahead": {
        "task": "charging.usage_months_ahead",
        "schedule": 6 * 3600,
    },
    # Revenue assurance: the last closed period reconciled and checked for leaks (R33).
    "assurance-reconciliation": {
        "task": "assurance.reconciliation_scheduled",
        "schedule": 24 * 3600,
    },
    # Dunning (R30): overdue invoices moved along once a day, early, before finance starts.
    "invoicing-dunning-run": {
        "task": "invoicing.dunning_run",
        "schedule": crontab(hour=DUNNING_RUN_HOUR, minute=0),
    },
    # Prepaid life (subscribers.prepaid): plans renewed when their period begins (once per
    # period), expired buckets written off; invoicing receipts new top-ups.
    "subscribers-prepaid-renewals": {
        "task": "subscribers.prepaid_renewals_run",
        "schedule": PREPAID_RENEWAL_SWEEP_SECONDS,
    },
    "subscribers-buckets-expire": {
        "task": "subscribers.buckets_expire",
        "schedule": PREPAID_RENEWAL_SWEEP_SECONDS,
    },
    "invoicing-receipts-issue": {
        "task": "invoicing.receipts_issue",
        "schedule": RECEIPT_SWEEP_SECONDS,
    },
}

# Revenue assurance (issue 18): a file closes the traffic of the period its file time falls in
# once moved back this many hours; a period is closed (bills out) this many days after its end;
# rating errors older than this many days and online sessions silent this many hours are leaks.
ASSURANCE_FILE_LAG_HOURS = int(os.environ.get("ASSURANCE_FILE_LAG_HOURS", "24"))
ASSURANCE_CLOSE_DAYS = int(os.environ.get("ASSURANCE_CLOSE_DAYS", "5"))
ASSURANCE_ERROR_AGE_DAYS = int(os.environ.get("ASSURANCE_ERROR_AGE_DAYS", "14"))
ASSURANCE_SESSION_STALE_HOURS = int(os.environ.get("ASSURANCE_SESSION_STALE_HOURS", "24"))
# PostgreSQL work_mem of the reconciliation's reads (they group a month of events at once).
ASSURANCE_WORK_MEM = os.environ.get("ASSURANCE_WORK_MEM", "128MB")

# Key of the voucher code hashes; changing it invalidates every unredeemed voucher.
VOUCHER_SECRET = os.environ.get("VOUCHER_SECRET", "") or SECRET_KEY or "vouchers-local-only"

# Idempotency-Key records are kept this long (hours) before they may be purged.
IDEMPOTENCY_KEY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "48"))
# A request waits this long (seconds) for a concurrent one with the same Idempotency-Key, then
# is answered 409 IDEMPOTENCY_IN_PROGRESS with Retry-After.
IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("IDEMPOTENCY_WAIT_SECONDS", "10"))

# Audit trail (django-simple-history).
SIMPLE_HISTORY_REVERT_DISABLED = True

DJANGO_TABLES2_TEMPLATE = "core/table.html"
DJANGO_TABLES2_PAGE_RANGE = 8

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every layout step of every PDF at INFO: only its warnings matter.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# SEPA direct debit: the creditor identifier used when a brand's invoice profile names none.
SEPA_CREDITOR_ID = os.environ.get("SEPA_CREDITOR_ID", "")
