"""Postroom settings: one module, driven by the environment.

Development needs no variable at all. With DEBUG=False the start refuses to go on without a
SECRET_KEY and ENCRYPTION_KEYS, so a production server never runs on development secrets.
Every variable is documented in `.env.example`; `NAME_FILE` reads a secret from a file.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets generic Django classes (ModelAdmin[Model], QuerySet[Model]) be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("POSTROOM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.smart_cast = False
# A .env file beside manage.py is read when present; real environment variables win.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _secret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker/K8s secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path} cannot be read: {exc}") from exc
    return str(env.str(name, default=default))


DEBUG = env.bool("DEBUG", default=True)
TESTING = env.bool("POSTROOM_TESTING", default=False)

# Development only; with DEBUG=False a missing SECRET_KEY stops the start instead.
_DEV_SECRET_KEY = "postroom-development-only-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = _secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG=False Postroom needs a long random SECRET_KEY "
            "(or SECRET_KEY_FILE); generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = _DEV_SECRET_KEY


def _fernet_keys(raw: str) -> list[str]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for key in keys:
        try:
            decoded = base64.urlsafe_b64decode(key.encode())
        except ValueError:
            decoded = b""
        if len(decoded) != 32:
            raise ImproperlyConfigured(
                "ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes); generate one "
                "with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
    return keys


# Stored secrets (SMTP passwords, API keys, OAuth tokens) are encrypted with these keys, newest
# first; older keys only decrypt until `manage.py rotate_secrets` has re-encrypted everything.
ENCRYPTION_KEYS = _fernet_keys(_secret("ENCRYPTION_KEYS"))
if not ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is not set. With DEBUG=False Postroom needs at least one Fernet key "
            "to encrypt stored passwords and tokens; generate one with: "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    # Development only: a key derived from the development secret, stable across restarts.
    ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
if DEBUG or TESTING:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "postroom",
    "accounts",
    "audience",
    "content",
    "sending",
    "campaigns",
    "tracking",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "postroom.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.WorkspaceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks, so that it sees the outcome of every login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "postroom.urls"
WSGI_APPLICATION = "postroom.wsgi.application"
ASGI_APPLICATION = "postroom.asgi.application"

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
                "accounts.context_processors.workspace",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite under var/ by default; PostgreSQL through DATABASE_URL for production and many workers.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'postroom.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and one writer work together; IMMEDIATE takes the write lock at BEGIN,
    # so two writers queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA foreign_keys=ON;"
            ),
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Users and sign-in ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Links in verification, reset and invitation e-mails stay valid this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)
# Reset mails one address may receive per hour; further requests send nothing.
PASSWORD_RESET_MAILS_PER_HOUR = env.int("PASSWORD_RESET_MAILS_PER_HOUR", default=3)
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=60 * 60 * 24 * 3)
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=14)

# django-axes: five wrong passwords for one address from one client lock that pair for a while.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list(
    "AXES_IPWARE_META_PRECEDENCE_ORDER", default=["REMOTE_ADDR"]
)

# --- System mail (verification, password reset, invitations) --------------------------------
# EMAIL_URL: smtp://user:pass@host:587/?tls=True, smtps://…:465, consolemail://, filemail://path
_email_default = "consolemail://" if DEBUG else "smtp://localhost:25"
vars().update(env.email_url("EMAIL_URL", default=_email_default))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Postroom <postroom@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The address users click back to in system e-mails; otherwise the request's own host is used.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.JwtAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.access.WorkspaceRole"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "principal": env.str("API_RATE", default="1200/min"),
        "login": env.str("API_LOGIN_RATE", default="30/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "USER_AUTHENTICATION_RULE": "api.authentication.user_may_authenticate",
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Postroom API",
    "DESCRIPTION": (
        "Everything the Postroom UI can do. Authenticate with a JWT from /api/login/ "
        "(Authorization: Bearer <access>) or a workspace API key (Authorization: Bearer pr_… "
        "or X-API-Key). Users in several workspaces choose one with the X-Workspace header."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` (or `kind`) with their own choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.CampaignStatus",
        "DeliveryStatusEnum": "campaigns.models.DeliveryStatus",
        "RecipientStatusEnum": "audience.models.RecipientStatus",
        "AudienceJobStatusEnum": "audience.models.JobStatus",
        "AudienceJobKindEnum": "audience.models.JobKind",
        "AccountKindEnum": "sending.models.AccountKind",
        "AccountStatusEnum": "sending.models.AccountStatus",
    },
}

# Days the capture transport keeps its messages (0 = for ever); the worker deletes older ones.
CAPTURED_RETENTION_DAYS = env.int("CAPTURED_RETENTION_DAYS", default=30)

# --- Background work ------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "postroom"
# Beat queues an engine pass this often; each pass works for at most this long.
CELERY_ENGINE_PASS_SECONDS = env.int("CELERY_ENGINE_PASS_SECONDS", default=20)
CELERY_BEAT_SCHEDULE = {
    "engine": {
        "task": "campaigns.engine_pass",
        "schedule": env.float("CELERY_ENGINE_INTERVAL", default=2.0),
        "options": {"expires": 10},
    },
    "audience-jobs": {
        "task": "audience.job_pass",
        "schedule": env.float("CELERY_JOBS_INTERVAL", default=2.0),
        "options": {"expires": 10},
    },
    "webhooks": {
        "task": "webhooks.webhook_pass",
        "schedule": env.float("CELERY_WEBHOOKS_INTERVAL", default=5.0),
        "options": {"expires": 10},
    },
    "housekeeping": {"task": "postroom.housekeeping", "schedule": 3600.0},
}
# Task modules outside campaigns.workers (which postroom/celery.py autodiscovers).
CELERY_IMPORTS = ("webhooks.tasks", "postroom.housekeeping")

# --- Sending --------------------------------------------------------------------------------
# Connections to loopback and private networks are refused unless this is on (development).
SENDING_ALLOW_PRIVATE_HOSTS = env.bool("SENDING_ALLOW_PRIVATE_HOSTS", default=DEBUG)
# The delivery engine: retries back off from base to max seconds (±jitter), and a delivery
# not sent within its campaign's lifetime ends `expired`.
DELIVERY_RETRY_BASE_SECONDS = env.int("DELIVERY_RETRY_BASE_SECONDS", default=300)
DELIVERY_RETRY_MAX_SECONDS = env.int("DELIVERY_RETRY_MAX_SECONDS", default=3600)
DELIVERY_RETRY_JITTER = env.float("DELIVERY_RETRY_JITTER", default=0.2)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
DELIVERY_LIFETIME_SECONDS = env.int("DELIVERY_LIFETIME_SECONDS", default=3 * 24 * 3600)
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=120)
# A campaign pauses itself once servers refused this many of its messages on policy (5.7.x),
# if they are also at least this share of its attempts.
CAMPAIGN_PAUSE_POLICY_REFUSALS = env.int("CAMPAIGN_PAUSE_POLICY_REFUSALS", default=20)
CAMPAIGN_PAUSE_POLICY_SHARE = env.float("CAMPAIGN_PAUSE_POLICY_SHARE", default=0.1)

# --- Outgoing webhooks ----------------------------------------------------------------------
# Requests carry up to this many events; each waits this long for an answer (no redirects).
# Days delivered and failed webhook requests stay listed (0 = for ever).
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=14)
WEBHOOK_EVENTS_PER_REQUEST = env.int("WEBHOOK_EVENTS_PER_REQUEST", default=100)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Failed requests are retried from base to max seconds (±jitter), up to this many tries.
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600)
WEBHOOK_RETRY_JITTER = env.float("WEBHOOK_RETRY_JITTER", default=0.2)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
# An endpoint failing for this long and this many requests in a row is disabled.
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=3 * 24 * 3600)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=20)
# After a rotation the old secret also signs requests for this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env.int("WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600)
# The worker's step: attempts read per workspace and pass, requests sent per step and the
# step's time budget; on PostgreSQL, attempts younger than the settle time wait a pass.
WEBHOOK_COLLECT_LIMIT = env.int("WEBHOOK_COLLECT_LIMIT", default=1000)
WEBHOOK_SENDS_PER_STEP = env.int("WEBHOOK_SENDS_PER_STEP", default=20)
WEBHOOK_STEP_SECONDS = env.float("WEBHOOK_STEP_SECONDS", default=5.0)
WEBHOOK_SETTLE_SECONDS = env.int("WEBHOOK_SETTLE_SECONDS", default=10)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and not TESTING
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if env.bool("BEHIND_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
if not DEBUG and not SECURE_HSTS_PRELOAD:
    # Preload is a one-way commitment an operator opts into; its absence is not a defect.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# --- Postroom -------------------------------------------------------------------------------
# Called with workspace=… inside the transaction that creates a workspace, in this order.
WORKSPACE_INITIALIZERS = [
    "audience.services.workspace_initialize",
    "sending.services.workspace_initialize",
]
POSTROOM_PORT = env.int("PORT", default=8000)
DEMO_ADMIN_EMAIL = env.str("DEMO_ADMIN_EMAIL", default="admin@postroom.localhost")

# --- Content (templates) --------------------------------------------------------------------
# Largest rendered message bodies (text + HTML, characters) before rendering refuses.
CONTENT_MAX_RENDERED_BYTES = env.int("CONTENT_MAX_RENDERED_BYTES", default=2 * 1024 * 1024)
# Attachments: per file, and all the files of one template together.
CONTENT_ATTACHMENT_MAX_BYTES = env.int("CONTENT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES = env.int(
    "CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES", default=10 * 1024 * 1024
)
# Content types an attachment may have; the type is derived from the file, never the browser.
CONTENT_ATTACHMENT_TYPES = env.list(
    "CONTENT_ATTACHMENT_TYPES",
    default=[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "text/plain",
        "text/csv",
        "text/calendar",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ],
)

# --- Audience (recipients, imports, bulk actions) -------------------------------------------
# Largest CSV file an import accepts; a bigger upload is refused with a message saying so.
AUDIENCE_IMPORT_MAX_BYTES = env.int("AUDIENCE_IMPORT_MAX_MB", default=150) * 1_000_000
# Rows (imports) or recipients (bulk actions) per transaction in a background job.
AUDIENCE_BATCH_SIZE = env.int("AUDIENCE_BATCH_SIZE", default=5000)
# Bulk actions over at most this many recipients run at once; more go to a background job.
AUDIENCE_BULK_INLINE_MAX = env.int("AUDIENCE_BULK_INLINE_MAX", default=1000)
# A running job whose last batch is older than this lost its worker and is resumed by another.
AUDIENCE_JOB_STALE_SECONDS = env.int("AUDIENCE_JOB_STALE_SECONDS", default=300)

# --- Sending accounts (sending app) ---------------------------------------------------------
# Seconds before a connection, a command or an OAuth token request to a provider gives up.
SENDING_TIMEOUT = env.int("SENDING_TIMEOUT", default=30)
# A PEM file of extra CAs trusted for SMTP TLS (a private CA, or the tests' own); verification
# is never turned off.
SENDING_EXTRA_CA_FILE = env.str("SENDING_EXTRA_CA_FILE", default="")
# The name Postroom gives in EHLO; empty: the machine's fully qualified name.
SENDING_HELO_NAME = env.str("SENDING_HELO_NAME", default="")
# Connections the delivery engine keeps open to one account's server, per worker process
# (pipelined, several messages in flight; an account with a minimum wait uses one).
SENDING_CONNECTIONS_PER_ACCOUNT = env.int("SENDING_CONNECTIONS_PER_ACCOUNT", default=4)
