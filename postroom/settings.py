"""Postroom settings: one module, driven by the environment.

`make run` needs no variable at all: it starts in development mode, with a random key made once
under var/. Every other start is production (DEBUG=False) and refuses to go on without a
SECRET_KEY and ENCRYPTION_KEYS, so a production server never runs on development secrets.
Every variable is documented in `.env.example`; `NAME_FILE` reads a secret from a file.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from kombu.entity import Exchange, Queue

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


# `make run` sets POSTROOM_DEVELOPMENT; every other start (the web server, Celery, the image, a
# bare manage.py) is production unless DEBUG says otherwise.
DEVELOPMENT = env.bool("POSTROOM_DEVELOPMENT", default=False)
DEBUG = env.bool("DEBUG", default=DEVELOPMENT)
TESTING = env.bool("POSTROOM_TESTING", default=False)

_NOT_IN_PRODUCTION = (
    "Postroom starts in production mode (DEBUG=False) unless it is started by `make run` or "
    "with DEBUG=True."
)


def _development_secret(path: Path) -> str:
    """A random key made once for this checkout and kept in `path` (mode 0600).

    Development only: it signs sessions, tokens and links, and keys the encryption of stored
    secrets, so it must be the same at every start and must never be a constant in the code.
    Two processes starting at once agree on one key: it is written aside and linked into place.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass  # another process made it first; use theirs
        finally:
            scratch.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} does not hold a usable key; delete it to make another.")
    return key


SECRET_KEY = _secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. " + _NOT_IN_PRODUCTION + " Production needs a long random "
            "SECRET_KEY (or SECRET_KEY_FILE); generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = _development_secret(VAR_DIR / "development-secret-key")


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
            "ENCRYPTION_KEYS is not set. " + _NOT_IN_PRODUCTION + " Production needs at least "
            "one Fernet key to encrypt stored passwords and tokens; generate one with: "
            "python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    # Development only: derived from the random development key (or the SECRET_KEY given),
    # with a label of its own so that the two never coincide.
    ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"postroom.encryption-keys:" + SECRET_KEY.encode()).digest()
        ).decode()
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
    # With TemplatesSetting below, templates/django/forms/ replaces Django's form templates,
    # which show help text unescaped; django.forms supplies the rest (widgets).
    "django.forms",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "postroom",
    "accounts",
    "accounts.audit",  # the audit log; app label "audit"
    "audience",
    "content",
    "sending",
    "campaigns",
    "tracking",
    "automation",  # A/B tests
    "subscriptions",
    "archive",  # the public archive of campaigns
    "rest_framework",
    "django_filters",  # the API's list filters (core.api.filters)
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts.keys",  # API keys; app label "api"
    "webhooks",
    "notifications",
]

MIDDLEWARE = [
    # First, so that its time covers every other middleware (postroom.metrics).
    "postroom.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Opens and clicks answered here: none of the page middleware below is for them.
    "tracking.middleware.TrackingHitMiddleware",
    "postroom.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: Django's cookie (the switcher), else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in user's chosen language wins over the cookie and the browser (accounts).
    "accounts.middleware.UserLanguageMiddleware",
    # Who acts and from where, for the audit log (accounts.audit).
    "accounts.audit.context.AuditContextMiddleware",
    "accounts.middleware.WorkspaceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: they tell why a page was refused. Notes the session's last request.
    "accounts.security_middleware.SessionActivityMiddleware",
    "accounts.security_middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A step the cache guards, refused while it cannot be reached: 503, not a server error.
    "postroom.cache_outage.CacheOutageMiddleware",
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
                "postroom.htmx.context",
                "postroom.layout.context",
            ],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

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
    # The test database is a file, never in memory: Django hands an in-memory database's one
    # connection to the live server, whose request threads then share it with the test, and
    # two threads on one sqlite3 connection deadlock holding the GIL when one fetches rows
    # while the other runs a Python SQL function (TruncDay, TruncHour): no timeout ends that.
    # One file per test run (its process id): two runs in one checkout at once (an editor's
    # test runner beside `make test`) shared one file and failed with "disk I/O error".
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(VAR_DIR / f"test-postroom-{os.getpid()}.sqlite3")
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES: dict[str, dict[str, Any]] = {
    "default": (
        {
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache that cannot be reached fails fast: the figures are counted without it
            # (core.soft_cache), and a sign-in's limits answer an error, not after minutes.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
            # Instances sharing one Redis database keep apart, and clearing one keeps the rest.
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default=""),
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}


# --- Proxies --------------------------------------------------------------------------------
# Addresses or networks of the reverse proxies in front of Postroom, comma-separated. Only a
# request that comes from one of them may name its client in X-Forwarded-For (rate limits and
# the sign-in lockout key on the client); empty, the header is ignored.
def _networks(name: str) -> list[str]:
    raw: list[str] = env.list(name, default=[])
    for item in raw:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.0/8)."
            ) from exc
    return raw


TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")

# --- Users and sign-in ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
# The first makes new hashes (see accounts.hashers); the others check older ones, which are
# replaced by the first's at their owner's next sign-in.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
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
# Sign-ins are recorded by the audit log (accounts.audit) and the sessions page; axes' own
# access log kept a second copy of each one's address and browser, forever (no retention, no
# erasure), and cost each sign-in two more writes. Its lockout (AccessAttempt) stays.
AXES_DISABLE_ACCESS_LOG = True
# The client's address comes from core.client_ip, as for the API's throttles: behind a
# proxy the lockout keys on the real client, and a client cannot dodge it with a header.
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
# The second step of sign-in (the authenticator or recovery code): this many wrong codes for
# one user refuse further codes for the cool-off, from any address.
TWO_FACTOR_FAILURE_LIMIT = env.int("TWO_FACTOR_FAILURE_LIMIT", default=5)
TWO_FACTOR_COOLOFF = timedelta(minutes=env.int("TWO_FACTOR_COOLOFF_MINUTES", default=15))
# How long the password step of a sign-in waits for its code.
TWO_FACTOR_PENDING_SECONDS = env.int("TWO_FACTOR_PENDING_SECONDS", default=300)
# The issuer name authenticator apps show next to the account.
OTP_TOTP_ISSUER = "Postroom"

# --- Single sign-on (OpenID Connect) --------------------------------------------------------
# Off unless both an issuer and a client id are set: then the sign-in page shows a button and
# /accounts/sso/ routes answer. Endpoints come from the issuer's discovery document unless all
# four are set here. Accounts are matched by a verified e-mail address only (accounts.sso).
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_DISCOVERY_URL = env.str("OIDC_DISCOVERY_URL", default="") or (
    f"{OIDC_ISSUER}/.well-known/openid-configuration" if OIDC_ISSUER else ""
)
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_JWKS_URI", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = _secret("OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGORITHM", default="RS256")
# The label of the button; empty: "Sign in with single sign-on" in the page's language.
SSO_BUTTON_LABEL = env.str("OIDC_BUTTON_LABEL", default="")
# Whether an unknown (verified) address gets a new account with a personal workspace.
SSO_ALLOW_SIGNUP = env.bool("OIDC_ALLOW_SIGNUP", default=False)
# Only addresses of these domains may sign in through the provider; empty: any.
SSO_ALLOWED_DOMAINS = [d.lower().lstrip("@") for d in env.list("OIDC_ALLOWED_DOMAINS", default=[])]
# Off (the default): a user who has set up Postroom's own two-factor sign-in types its code
# after the provider too, since Postroom cannot tell whether the provider asked for a second
# factor. On: the provider is trusted for it, except for members of a workspace that requires
# two-factor sign-in.
SSO_SKIP_TWO_FACTOR = env.bool("OIDC_SKIP_TWO_FACTOR", default=False)
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
SSO_ENABLED = bool(OIDC_ISSUER and OIDC_RP_CLIENT_ID)
if OIDC_RP_CLIENT_ID and not OIDC_ISSUER:
    raise ImproperlyConfigured("OIDC_CLIENT_ID is set without OIDC_ISSUER (the provider's URL).")
if OIDC_RP_SIGN_ALGO.startswith("HS") or OIDC_RP_SIGN_ALGO == "none":
    raise ImproperlyConfigured("OIDC_SIGN_ALGORITHM must be a public-key one (RS256, ES256, ...).")
# mozilla-django-oidc's own settings, fixed: PKCE and a nonce on every request, and its
# callback is ours (accounts.sso.views).
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:sso_callback"

# --- System mail (verification, password reset, invitations) --------------------------------
# EMAIL_URL: smtp://user:pass@host:587/?tls=True, smtps://…:465, consolemail://, filemail://path
_email_default = "consolemail://" if DEBUG else "smtp://localhost:25"
vars().update(env.email_url("EMAIL_URL", default=_email_default))
if vars().get("EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend":
    # Printed readably in the console of `make run`: links whole, easy to find.
    EMAIL_BACKEND = "postroom.console_mail.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Postroom <postroom@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The address users click back to in system e-mails; otherwise the request's own host is used.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

# Where Amazon SNS's signing certificates and subscription confirmations may come from
# (tracking.esp.sns); tests point it at a local server, production never needs to change it.
TRACKING_SNS_URL_RE = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
# How far back an e-mail service's event may find its delivery by the recipient's address
# alone, when the service sent back neither our Message-ID nor a known message id.
TRACKING_ESP_MATCH_DAYS = env.int("TRACKING_ESP_MATCH_DAYS", default=30)

# --- Sign-up forms -------------------------------------------------------------------------
# Sign-ups one client address may send (all forms together), and one e-mail address may
# receive per workspace, as "count/period" (s, min, hour, day); past them the form answers 429.
SIGNUP_IP_RATE = env.str("SIGNUP_IP_RATE", default="10/min")
SIGNUP_ADDRESS_RATE = env.str("SIGNUP_ADDRESS_RATE", default="3/hour")
# Confirmation links work this long (seconds); unconfirmed sign-ups are deleted after it.
SIGNUP_CONFIRM_MAX_AGE = env.int("SIGNUP_CONFIRM_MAX_AGE", default=60 * 60 * 24 * 3)
# The proof-of-work challenge of forms that ask one (ALTCHA): its key derivation and cost set
# how long a browser works per sign-up (about a second with these), and how long it is valid.
ALTCHA_ALGORITHM = env.str("ALTCHA_ALGORITHM", default="PBKDF2/SHA-256")
ALTCHA_COST = env.int("ALTCHA_COST", default=5000)
ALTCHA_MAX_AGE = env.int("ALTCHA_MAX_AGE", default=600)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiKeyAuthentication",
        "accounts.api.authentication.JwtAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.access.WorkspaceRole"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # Our throttles take the client from core.client_ip (TRUSTED_PROXIES); any other DRF
    # throttle must not believe X-Forwarded-For either (DRF's default, None, does).
    "NUM_PROXIES": 0,
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "principal": env.str("API_RATE", default="1200/min"),
        "login": env.str("API_LOGIN_RATE", default="30/min"),
        # The public sign-up API: per client address, apart from the principal's budget.
        "signup": env.str("API_SIGNUP_RATE", default="30/min"),
        "signup_confirm": env.str("API_SIGNUP_CONFIRM_RATE", default="30/min"),
        # The public preference-centre API, per client address too.
        "preferences": env.str("API_PREFERENCES_RATE", default="60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    # Each refresh returns a new refresh token and blacklists the one it used (accounts.api.tokens).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "USER_AUTHENTICATION_RULE": "accounts.api.authentication.user_may_authenticate",
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
        "ResendKindEnum": "campaigns.models.ResendKind",
        "AbTestStateEnum": "campaigns.models.AbTestState",
        "AbTestKindEnum": "campaigns.models.AbTestKind",
        "AbCriterionEnum": "campaigns.models.AbCriterion",
        "SequenceStatusEnum": "automation.models.SequenceStatus",
        "EnrollmentStateEnum": "automation.models.EnrollmentState",
    },
}

# Days the capture transport keeps its messages (0 = for ever); the worker deletes older ones.
CAPTURED_RETENTION_DAYS = env.int("CAPTURED_RETENTION_DAYS", default=30)
# Attempts and tracking events are kept this month and so many whole months before it
# (0 = for ever); the hourly housekeeping forgets older ones (PostgreSQL drops their months'
# partitions). Old campaigns keep their counts, but their reports lose what events counted.
ATTEMPT_RETENTION_MONTHS = env.int("ATTEMPT_RETENTION_MONTHS", default=0)
EVENT_RETENTION_MONTHS = env.int("EVENT_RETENTION_MONTHS", default=0)
for _name, _months in (
    ("ATTEMPT_RETENTION_MONTHS", ATTEMPT_RETENTION_MONTHS),
    ("EVENT_RETENTION_MONTHS", EVENT_RETENTION_MONTHS),
):
    # The dashboard, the bounce and complaint rates and the bounce rules read 30 days back.
    if _months < 0 or _months == 1:
        raise ImproperlyConfigured(f"{_name} must be 0 (keep for ever) or at least 2.")

# --- Background work ------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# A broker outage (a restart, a network cut) is waited out, however long: the worker retries
# the connection for ever instead of exiting after 100 tries (about 50 minutes), and starts
# even while the broker is still down.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport with the fix that keeps the worker alive through a broker
    # restart (postroom/broker.py).
    CELERY_BROKER_TRANSPORT = "postroom.broker:Transport"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "postroom"
# One queue per duty, as the embedded worker has one thread per duty: a worker started without
# -Q takes them all; `-Q postroom.imports` on another machine keeps long imports off the
# machines that send (README, "Which duty runs where"). Tasks not named here (webhooks,
# notifications, mailboxes, A/B decisions, clean-up) go to the default queue.
DUTY_QUEUES = {
    "campaigns.engine_pass": "postroom.engine",
    "audience.job_pass": "postroom.imports",
    "automation.sequence_pass": "postroom.sequences",
}
CELERY_TASK_ROUTES = {task: {"queue": queue} for task, queue in DUTY_QUEUES.items()}
# Each bound by its own name: a message sent to the exchange reaches one queue, never all.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(CELERY_TASK_DEFAULT_QUEUE, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]
    for name in (CELERY_TASK_DEFAULT_QUEUE, *DUTY_QUEUES.values())
)
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
    "notifications": {
        "task": "notifications.notification_pass",
        "schedule": env.float("CELERY_NOTICES_INTERVAL", default=10.0),
        "options": {"expires": 30},
    },
    "bounce-mailboxes": {
        "task": "postroom.bounce_mailbox_pass",
        # how often beat looks; each mailbox is polled every BOUNCE_MAILBOX_INTERVAL seconds
        "schedule": env.float("CELERY_BOUNCE_MAILBOX_INTERVAL", default=15.0),
        "options": {"expires": 60},
    },
    "signup-confirmations": {
        "task": "subscriptions.confirmation_pass",
        "schedule": env.float("CELERY_SIGNUP_CONFIRMATIONS_INTERVAL", default=5.0),
        "options": {"expires": 30},
    },
    "ab-tests": {
        "task": "automation.ab_test_pass",
        "schedule": env.float("CELERY_AB_TESTS_INTERVAL", default=30.0),
        "options": {"expires": 60},
    },
    "sequences": {
        "task": "automation.sequence_pass",
        "schedule": env.float("CELERY_SEQUENCES_INTERVAL", default=10.0),
        "options": {"expires": 30},
    },
    "housekeeping": {"task": "postroom.housekeeping", "schedule": 3600.0},
}
# Task modules outside campaigns.workers (which postroom/celery.py autodiscovers).
CELERY_IMPORTS = (
    "webhooks.tasks",
    "notifications.duty",
    "subscriptions.tasks",
    "automation.tasks",
    "postroom.housekeeping",
    "postroom.duties",
)

# --- Sending --------------------------------------------------------------------------------
# Connections to loopback and private networks are refused unless this is on (development).
SENDING_ALLOW_PRIVATE_HOSTS = env.bool("SENDING_ALLOW_PRIVATE_HOSTS", default=DEBUG)
# Ports an SMTP account may connect to besides 25, 465, 587 and 2525, and a webhook besides 80
# and 443 (comma-separated); any port is allowed where private hosts are.
SENDING_SMTP_PORTS = env.list("SENDING_SMTP_PORTS", cast=int, default=[])
WEBHOOK_PORTS = env.list("WEBHOOK_PORTS", cast=int, default=[])
# The delivery engine: retries back off from base to max seconds (±jitter), and a delivery
# not sent within its campaign's lifetime ends `expired`.
DELIVERY_RETRY_BASE_SECONDS = env.int("DELIVERY_RETRY_BASE_SECONDS", default=300)
DELIVERY_RETRY_MAX_SECONDS = env.int("DELIVERY_RETRY_MAX_SECONDS", default=3600)
DELIVERY_RETRY_JITTER = env.float("DELIVERY_RETRY_JITTER", default=0.2)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
DELIVERY_LIFETIME_SECONDS = env.int("DELIVERY_LIFETIME_SECONDS", default=3 * 24 * 3600)
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=120)
# An account's sending thread (lane) sends this long at most per batch; the rest goes back to
# the queue untried, so that a server slow with every message holds up only its own account.
DELIVERY_LANE_SECONDS = env.float("DELIVERY_LANE_SECONDS", default=20.0)
# A sending batch re-reads its campaign's status at most this often, so that a pause or a
# cancel made meanwhile stops it before its next message (0: before every message).
DELIVERY_STATUS_CHECK_SECONDS = env.float("DELIVERY_STATUS_CHECK_SECONDS", default=0.5)
# A campaign pauses itself once servers refused this many of its messages on policy (5.7.x),
# if they are also at least this share of its attempts.
CAMPAIGN_PAUSE_POLICY_REFUSALS = env.int("CAMPAIGN_PAUSE_POLICY_REFUSALS", default=20)
CAMPAIGN_PAUSE_POLICY_SHARE = env.float("CAMPAIGN_PAUSE_POLICY_SHARE", default=0.1)
# ... and once its hard bounces pass this share of the messages servers took, counted once it
# has this many (the providers' bulk-sender rules); likewise its complaints.
CAMPAIGN_PAUSE_BOUNCE_RATE = env.float("CAMPAIGN_PAUSE_BOUNCE_RATE", default=0.05)
CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES = env.int("CAMPAIGN_PAUSE_BOUNCE_MIN_DELIVERIES", default=500)
CAMPAIGN_PAUSE_COMPLAINT_RATE = env.float("CAMPAIGN_PAUSE_COMPLAINT_RATE", default=0.003)
CAMPAIGN_PAUSE_COMPLAINT_MIN_DELIVERIES = env.int(
    "CAMPAIGN_PAUSE_COMPLAINT_MIN_DELIVERIES", default=500
)
# A warming-up account's ramp holds (its day limit stops rising) once its hard bounces or
# complaints pass these shares of what servers took from it in the last WARMUP_RATE_DAYS days,
# judged from this many messages on (warm-up volumes are small: a low floor).
WARMUP_HOLD_BOUNCE_RATE = env.float("WARMUP_HOLD_BOUNCE_RATE", default=0.03)
WARMUP_HOLD_COMPLAINT_RATE = env.float("WARMUP_HOLD_COMPLAINT_RATE", default=0.001)
WARMUP_HOLD_MIN_DELIVERIES = env.int("WARMUP_HOLD_MIN_DELIVERIES", default=50)
WARMUP_RATE_DAYS = env.int("WARMUP_RATE_DAYS", default=7)

# --- Feedback: bounces, complaints, replies -------------------------------------------------
# Soft bounces of one address that suppress it: this many within this many days.
BOUNCE_SOFT_LIMIT = env.int("BOUNCE_SOFT_LIMIT", default=3)
BOUNCE_SOFT_DAYS = env.int("BOUNCE_SOFT_DAYS", default=15)
# Seconds between two polls of a workspace's bounce mailbox by the worker.
BOUNCE_MAILBOX_INTERVAL = env.float("BOUNCE_MAILBOX_INTERVAL", default=60.0)
# Messages taken from one mailbox per poll, and the largest one downloaded.
BOUNCE_MAILBOX_BATCH = env.int("BOUNCE_MAILBOX_BATCH", default=500)
BOUNCE_MAILBOX_MAX_BYTES = env.int("BOUNCE_MAILBOX_MAX_BYTES", default=10 * 1024 * 1024)
# Each fetched chunk written in one transaction (set-based); off: one transaction per message
# (slower, the reference bench-bounces measures against).
BOUNCE_MAILBOX_BATCH_WRITES = env.bool("BOUNCE_MAILBOX_BATCH_WRITES", default=True)
# Days back a bounce without token or Message-ID of ours is matched by its address.
BOUNCE_MATCH_DAYS = env.int("BOUNCE_MATCH_DAYS", default=30)

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
# How often the running campaigns' bounce and complaint rates are compared with the pause
# thresholds, to tell members before a campaign is paused (a count per running campaign).
NOTIFICATION_RATE_CHECK_SECONDS = env.int("NOTIFICATION_RATE_CHECK_SECONDS", default=300)

# --- Internationalisation -------------------------------------------------------------------
# The interface speaks these; a user's profile chooses one, else the browser's Accept-Language
# does, else LANGUAGE_CODE. Catalogs live in locale/ (README: Languages).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
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
# Sessions in the database (Django's store; the read each request makes is written once).
SESSION_ENGINE = "core.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
# The language switcher's choice (accounts.views.language_switch), kept for a year.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
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
# "plain" (one readable line) or "json" (one JSON object per line, for log shippers).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# E-mail addresses in log lines are replaced by <address> unless this is on.
LOG_ADDRESSES = env.bool("LOG_ADDRESSES", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "filters": {
        "quiet_forbidden": {"()": "postroom.log_filters.QuietForbidden"},
        "redact_addresses": {"()": "postroom.logs.RedactAddresses"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_addresses"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"filters": ["quiet_forbidden"]},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        # the bounce detectors log every detector they try, for every message, at INFO
        "flufl.bounce": {"level": "WARNING"},
    },
}

# --- Watching (metrics, error reports, probes) -----------------------------------------------
# /metrics answers 404 unless one of these is set (both set: both must pass). A bearer token
# Prometheus sends (authorization: credentials), and/or the networks it scrapes from
# (comma-separated CIDRs; the client address as TRUSTED_PROXIES decides it).
METRICS_TOKEN = _secret("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = _networks("METRICS_ALLOWED_NETWORKS")
# With several processes (web server processes, worker, Celery) on one host, the directory where
# each writes its counters so that /metrics adds them up; prometheus-client reads it from the
# environment itself. Empty it before the processes start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# What one scrape reads at most, so that it stays cheap on a big database: the newest tracking
# events (for "the last hour") and the waiting deliveries; past these the figures are floors,
# flagged by postroom_tracking_events_capped and postroom_deliveries_capped.
METRICS_TRACKING_SCAN_ROWS = env.int("METRICS_TRACKING_SCAN_ROWS", default=100_000)
METRICS_WAITING_SCAN_ROWS = env.int("METRICS_WAITING_SCAN_ROWS", default=500_000)

# The audit log (accounts.audit) keeps this many days; older entries are purged hourly.
AUDIT_LOG_DAYS = env.int("AUDIT_LOG_DAYS", default=365)
# Errors go to Sentry (or a compatible service) only when a DSN is given; without one the
# SDK is not even imported.
SENTRY_DSN = _secret("SENTRY_DSN")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from postroom.errors import sentry_init

    sentry_init(SENTRY_DSN, SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE)
# /ready answers 503 when the workers were seen, but none within this many seconds.
READY_WORKER_SECONDS = env.int("READY_WORKER_SECONDS", default=60)

# --- Postroom -------------------------------------------------------------------------------
# Called with workspace=… inside the transaction that creates a workspace, in this order.
WORKSPACE_INITIALIZERS = [
    "audience.services.workspace_initialize",
    "sending.services.workspace_initialize",
]
# Called with workspace=… and key=… before a custom field is deleted; each returns what uses
# the field (["template “Welcome”"]), so that the user is warned: audience imports none of them.
CUSTOM_FIELD_USERS = ["content.selectors.templates_using_field"]
# A person's data kept by the layers above audience, for the privacy export and erasure:
# each provider is called with workspace=… and email=… and returns {section: data}; each
# eraser deletes what it keeps of that address.
RECIPIENT_DATA_PROVIDERS = [
    "campaigns.selectors.person_messages",
    "tracking.selectors.person_events",
    "tracking.mailboxes.person_mailbox_messages",
    "subscriptions.selectors.person_signups",
]
RECIPIENT_ERASERS = [
    "campaigns.erasure.deliveries_erase",
    "tracking.services.events_erase",
    "tracking.mailboxes.mailbox_messages_erase",
    "subscriptions.services.signups_erase",
    "webhooks.erasure.requests_erase",
]
POSTROOM_PORT = env.int("PORT", default=8000)
DEMO_ADMIN_EMAIL = env.str("DEMO_ADMIN_EMAIL", default="admin@postroom.localhost")

# --- Content (templates) --------------------------------------------------------------------
# Largest rendered message bodies (text + HTML, characters) before rendering refuses.
CONTENT_MAX_RENDERED_BYTES = env.int("CONTENT_MAX_RENDERED_BYTES", default=2 * 1024 * 1024)
# Template previews one user (or API key) may render, the API's and the pages' together; a
# preview page renders twice (the page and its frame). DRF's rate syntax: N/sec|min|hour|day.
PREVIEW_RATE = env.str("PREVIEW_RATE", default="60/min")
# Attachments: per file, and all the files of one template together.
CONTENT_ATTACHMENT_MAX_BYTES = env.int("CONTENT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES = env.int(
    "CONTENT_ATTACHMENTS_TOTAL_MAX_BYTES", default=10 * 1024 * 1024
)
# The image library: largest upload, and the width images are scaled down to (e-mail layouts
# are 600 pixels wide; twice that stays sharp on high-density screens).
CONTENT_IMAGE_MAX_BYTES = env.int("CONTENT_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
CONTENT_IMAGE_MAX_WIDTH = env.int("CONTENT_IMAGE_MAX_WIDTH", default=1200)
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
# Largest JSON body of the API's bulk calls (thousands of rows; read apart from Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE); a bigger one is answered 413.
AUDIENCE_API_BODY_MAX_BYTES = env.int("AUDIENCE_API_BODY_MAX_MB", default=64) * 2**20
# Rows (imports) or recipients (bulk actions) per transaction in a background job.
AUDIENCE_BATCH_SIZE = env.int("AUDIENCE_BATCH_SIZE", default=5000)
# Batches of an import written at once on PostgreSQL, each by a database connection of its
# own (they still commit in the file's order). Two let PostgreSQL maintain the recipients'
# indexes on two cores (bench/bench_import.py); 1 writes one batch at a time.
IMPORT_WRITERS = max(1, env.int("IMPORT_WRITERS", default=2))
# Duplicate rows of a file listed with their lines in the import's report (all are counted).
AUDIENCE_DUPLICATES_LISTED = env.int("AUDIENCE_DUPLICATES_LISTED", default=1000)
# Bulk actions over at most this many recipients run at once; more go to a background job.
AUDIENCE_BULK_INLINE_MAX = env.int("AUDIENCE_BULK_INLINE_MAX", default=1000)
# Uploaded files waiting to be imported (not mapped yet, queued or running) that one workspace
# may hold on disk together; a new upload past it is refused with a message saying so.
AUDIENCE_UPLOADS_MAX_BYTES = env.int("AUDIENCE_UPLOADS_MAX_MB", default=500) * 1_000_000
# Hours an upload may wait for its columns to be mapped before the hourly housekeeping
# discards it (and any stray upload file as old).
AUDIENCE_UPLOAD_KEEP_HOURS = env.int("AUDIENCE_UPLOAD_KEEP_HOURS", default=24)
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
