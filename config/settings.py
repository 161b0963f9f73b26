"""Concord settings: every knob comes from the environment, with a safe default.

With no environment at all Concord runs the *embedded default*: SQLite under ``var/``,
a filesystem Celery broker (no server), email written to ``var/mail/``, DEBUG on.
Setting ``DATABASE_URL``, ``REDIS_URL``, the SMTP variables, ``SECRET_KEY``,
``ALLOWED_HOSTS`` and ``DEBUG=0`` turns it into production. The README lists every variable.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    return env(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(env(name, str(default)))


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


VAR_DIR = Path(env("CONCORD_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", "1")
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-set-SECRET_KEY-in-production")
if not DEBUG and SECRET_KEY.startswith("dev-only"):
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "alliances",
    "governance",
    "surveys",
    "scorecards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "alliances.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alliances.context_processors.tenancy",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL is set. Connections are health-checked
# so a restarted PostgreSQL costs one reconnect, not a burst of errors.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'concord.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "alliances.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
INVITATION_VALID_DAYS = envint("INVITATION_VALID_DAYS", 14)
# SLA of an escalation that no decision-rights row covers.
ESCALATION_DEFAULT_SLA_DAYS = envint("ESCALATION_DEFAULT_SLA_DAYS", 10)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: files in var/mail/ (readable at /dev/outbox/) unless an SMTP host is configured.
SMTP_HOST = env("EMAIL_HOST")
OUTBOX_PATH = Path(env("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
if SMTP_HOST:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": SMTP_HOST,
                "port": envint("EMAIL_PORT", 587),
                "username": env("EMAIL_HOST_USER"),
                "password": env("EMAIL_HOST_PASSWORD"),
                "use_tls": envbool("EMAIL_USE_TLS", "1"),
                "use_ssl": envbool("EMAIL_USE_SSL", "0"),
                "timeout": envint("EMAIL_TIMEOUT", 20),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "alliances.mail.OutboxEmailBackend"}}
# A failed survey email waits this long before its retry (doubling per failure of the same
# address); while the server cannot be reached, the whole batch waits this long.
EMAIL_RETRY_SECONDS = envint("EMAIL_RETRY_SECONDS", 120)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Concord <concord@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: Redis in production; a filesystem broker (no server) in the embedded default.
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Retry delays stay below this, so a task is never redelivered while it waits.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "0")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
# How often beat ticks each periodic job; jobs decide from the database what is due.
CONCORD_TICK_SECONDS = envint("CONCORD_TICK_SECONDS", 60)

CACHES = {
    # A Redis outage degrades the default cache to "nothing cached" (config/cache.py).
    "default": (
        {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # Rendered dashboards and their version tokens (scorecards/freshness.py). Shared by every
    # process: a job in the worker that changes what a page shows must reach the web process.
    "dashboards": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dashboards",
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "dashboards"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    ),
}

# Security. Inline scripts need the per-request nonce; nothing is loaded from elsewhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
CSRF_FAILURE_VIEW = "alliances.ops_views.csrf_failure"
# Sessions are read from the cache (Redis in production) and written through to the database,
# so a signed-in page does not spend a query on its session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The REST API under /api/v1/ (alliances/api/): personal tokens first, so an anonymous call
# gets a 401 that says how to authenticate; the session serves the browsable API and the docs.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "alliances.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["alliances.api.conventions.ClientRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "alliances.api.conventions.Pagination",
    "DEFAULT_SCHEMA_CLASS": "alliances.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "alliances.api.conventions.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": None,
}
# Webhook endpoints must be https:// on a public address: an admin must not be able to make
# Concord call into its own network. Development and tests only may relax either rule.
WEBHOOKS_ALLOW_HTTP = envbool("WEBHOOKS_ALLOW_HTTP", "0")
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = envbool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "0")
# Requests per client (API token, or signed-in user) and period: "<n>/<second|minute|hour|day>".
API_RATE_LIMIT = env("API_RATE_LIMIT", "600/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Concord API",
    "DESCRIPTION": (
        "Alliances, their health, KPIs and governance, for your CRM, BI tool or scripts. "
        "Authenticate with a personal API token (create one under *API tokens* in Concord: "
        "it is shown once) as `Authorization: Bearer <key>`. Every URL names the "
        "organisation; a token opens only its own. Lists are paginated (`page`, `page_size` "
        "up to 200), filtered by the parameters each documents and sorted with `ordering`. "
        "Errors have one body: `{status, code, detail, errors?}`. Bulk writes accept an "
        "`Idempotency-Key` header: sending the same request again with the same key replays "
        "the first answer instead of writing twice."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used by several resources, named once.
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "alliances.models.Side",
        "StageEnum": "alliances.models.Stage",
        "VisibilityEnum": "alliances.models.Visibility",
        "OutcomeEnum": "alliances.models.Outcome",
        "KpiSourceEnum": "scorecards.models.KpiSource",
        "KpiGroupEnum": "scorecards.models.KpiGroup",
        "KpiUnitEnum": "scorecards.models.KpiUnit",
        "KpiDirectionEnum": "scorecards.models.Direction",
        "ReviewKindEnum": "scorecards.models.ReviewKind",
        "ActionStatusEnum": "governance.models.ActionStatus",
        "ColorEnum": "scorecards.lights.Color",
        "ActionSourceEnum": "governance.models.ActionSource",
        "RiskStatusEnum": "governance.models.RiskStatus",
        "RiskCategoryEnum": "governance.models.RiskCategory",
        "RungEnum": "governance.models.Rung",
        "GovernanceCadenceEnum": "governance.models.Cadence",
        "SurveyCadenceEnum": "surveys.models.Cadence",
        "AlertKindEnum": "scorecards.models.AlertKind",
        "AlertStatusEnum": "scorecards.models.AlertStatus",
        "RoundKindEnum": "surveys.models.RoundKind",
        "MetricEnum": "scorecards.models.Metric",
        "WebhookEventEnum": "alliances.models.WebhookEvent",
    },
}

# Logs go to stderr: one JSON object per line in production (LOG_FORMAT=json, the default
# when DEBUG is off), plain lines in development.
LOG_FORMAT = env("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Errors go to Sentry only when SENTRY_DSN is set; without it nothing is sent anywhere.
SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=env("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0")),
        send_default_pii=False,  # no user emails, cookies or request bodies
    )

# Reverse proxies in front of Concord that append the client's address to X-Forwarded-For.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
# Requests per minute one client may make to the survey pages under /s/.
SURVEY_RATE_LIMIT = envint("SURVEY_RATE_LIMIT", 60)
# Failed sign-ins allowed per account, and per client address, within the cool-off period;
# past either, signing in is refused (even with the right password) until the period ends.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_IP = envint("LOGIN_FAILURE_LIMIT_PER_IP", 20)
LOGIN_COOLOFF_SECONDS = envint("LOGIN_COOLOFF_SECONDS", 15 * 60)

# Mounts /bench/one-query, the yardstick of `make bench` (never in production).
BENCH_VIEWS = envbool("CONCORD_BENCH_VIEWS", "0")

# Shown by /healthz as stale when the heartbeat is older than this.
HEARTBEAT_STALE_AFTER = timedelta(seconds=envint("HEARTBEAT_STALE_SECONDS", 15 * 60))
