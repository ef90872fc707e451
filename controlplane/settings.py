"""Embedded-mode settings: everything on one machine, no service needed, env-driven.

Environment: TICKERPLANT_SECRET_KEY (else generated once into var/secret_key), DATABASE_URL
(default SQLite at var/db.sqlite3), TICKERPLANT_VAR_DIR (default <checkout>/var),
TICKERPLANT_CONFIG_STORE (default file://<var>/config/spec.json), TICKERPLANT_WORKERS (2),
TICKERPLANT_PORT (8000), TICKERPLANT_SHM_PREFIX (tickerplant-<port>), TICKERPLANT_ALLOWED_HOSTS,
TICKERPLANT_DEBUG. Production overrides live in :mod:`controlplane.settings_production`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dj_database_url
from django.core.management.utils import get_random_secret_key

from controlplane.paths import BASE_DIR, var_dir


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _private(path: Path, mode: int) -> None:
    """Make a file or directory of ours private (tokens, session keys, secrets live there)."""
    with contextlib.suppress(FileNotFoundError):
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o777 != mode:
            path.chmod(mode)


def _private_sqlite(name: str) -> None:
    """The SQLite database and its WAL files 0600: SQLite creates the WAL and shared-memory files
    with the database file's mode, so an empty file created 0600 before the first connection is
    enough for a new database."""
    if name in ("", ":memory:") or name.startswith("file:"):
        return
    path = Path(name)
    if not path.exists() and path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, Path(f"{name}-wal"), Path(f"{name}-shm"), Path(f"{name}-journal")):
        _private(file, 0o600)


def _secret_key(var: Path) -> str:
    """The env's key, else one generated once and kept in var/secret_key (mode 0600)."""
    key = os.environ.get("TICKERPLANT_SECRET_KEY", "").strip()
    if key:
        return key
    path = var / "secret_key"
    if path.exists():
        _private(path, 0o600)
        return path.read_text().strip()
    # Processes started together (daphne, workers, Celery) race here: each writes its key to a
    # file of its own, then links it into place, which only one can do. The link is atomic and
    # the file is whole before it, so every process reads the same complete key.
    own = var / f".secret_key.{os.getpid()}"
    fd = os.open(own, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(get_random_secret_key())
            handle.flush()
            os.fsync(handle.fileno())
        # FileExistsError: another process linked its key first, and that one is the key.
        with contextlib.suppress(FileExistsError):
            os.link(own, path)
    finally:
        own.unlink(missing_ok=True)
    return path.read_text().strip()


VAR_DIR = var_dir()
VAR_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
_private(VAR_DIR, 0o700)

SECRET_KEY = _secret_key(VAR_DIR)
DEBUG = os.environ.get("TICKERPLANT_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", *_env_list("TICKERPLANT_ALLOWED_HOSTS")]
CSRF_TRUSTED_ORIGINS = _env_list("TICKERPLANT_CSRF_TRUSTED_ORIGINS")

# --- Tickerplant ---------------------------------------------------------------------------
TICKERPLANT_PORT = int(os.environ.get("TICKERPLANT_PORT", "8000"))
TICKERPLANT_WORKERS = int(os.environ.get("TICKERPLANT_WORKERS", "2"))
TICKERPLANT_CONFIG_STORE = os.environ.get(
    "TICKERPLANT_CONFIG_STORE", f"file://{VAR_DIR / 'config' / 'spec.json'}"
)
TICKERPLANT_SHM_PREFIX = os.environ.get("TICKERPLANT_SHM_PREFIX", f"tickerplant-{TICKERPLANT_PORT}")
TICKERPLANT_EMBEDDED = True
# /readyz: worker states older than this mean the supervisor is gone; Celery's heartbeat task
# runs every 10 s. TICKERPLANT_CELERY=0 when no Celery runs (runplatform --no-celery).
TICKERPLANT_FLEET_REPORT_STALE_SECONDS = 10.0
TICKERPLANT_CELERY_EXPECTED = os.environ.get("TICKERPLANT_CELERY", "1") != "0"
TICKERPLANT_CELERY_STALE_SECONDS = 35.0
# WebSocket gateway: heartbeat period, per-socket conflation capacity (topics), ring poll period.
TICKERPLANT_WS_HEARTBEAT_SECONDS = float(os.environ.get("TICKERPLANT_WS_HEARTBEAT_SECONDS", "5"))
TICKERPLANT_WS_MAILBOX_TOPICS = 1024
TICKERPLANT_WS_MAX_PATTERNS = 256
# Client frames are checked before they are parsed: a larger or deeper one gets an error frame and
# a close. 64 KiB holds a subscribe of 256 patterns of 250 characters (subscribing adds, so a
# larger set goes in several frames).
TICKERPLANT_WS_MAX_FRAME_BYTES = 64 * 1024
TICKERPLANT_WS_MAX_FRAME_DEPTH = 32
# A socket whose unsent bytes stay above the backlog limit for the stall period (a client that
# stopped reading, or a dead peer) gets a ``slow_consumer`` error frame and is closed.
TICKERPLANT_WS_BACKLOG_BYTES = int(os.environ.get("TICKERPLANT_WS_BACKLOG_BYTES", str(256 * 1024)))
TICKERPLANT_WS_STALL_SECONDS = float(os.environ.get("TICKERPLANT_WS_STALL_SECONDS", "15"))
TICKERPLANT_GATEWAY_POLL_SECONDS = 0.02
# Audit: the chain head is anchored outside the database (a file here; Redis or Consul in
# production: docs/operations.md) every TICKERPLANT_AUDIT_ANCHOR_SECONDS and at shutdown; an
# optional key makes every hash an HMAC. Only the test fixtures allow flush past the triggers.
TICKERPLANT_AUDIT_ANCHOR = os.environ.get(
    "TICKERPLANT_AUDIT_ANCHOR", f"file://{VAR_DIR / 'audit' / 'anchor.json'}"
)
TICKERPLANT_AUDIT_ANCHOR_SECONDS = float(os.environ.get("TICKERPLANT_AUDIT_ANCHOR_SECONDS", "60"))
TICKERPLANT_AUDIT_KEY = os.environ.get("TICKERPLANT_AUDIT_KEY", "")
TICKERPLANT_AUDIT_OLD_KEYS = _env_list("TICKERPLANT_AUDIT_OLD_KEYS")
TICKERPLANT_AUDIT_FLUSH_ALLOWED = False
# /metrics: open in embedded mode; production restricts it to networks or a bearer token.
TICKERPLANT_METRICS_NETWORKS: list[str] = []
TICKERPLANT_METRICS_TOKEN = os.environ.get("TICKERPLANT_METRICS_TOKEN", "")

# --- Django --------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "controlplane.audit",
    "controlplane.catalog",
    "controlplane.fleet",
    "controlplane.jobs",
    "webui",
]

MIDDLEWARE = [
    "webui.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webui.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
ASGI_APPLICATION = "controlplane.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webui.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=0, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Daphne, Celery and management commands share the file: wait for locks, take the write lock
    # at BEGIN (no upgrade deadlocks), and let readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    _private_sqlite(str(DATABASES["default"]["NAME"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Embedded mode serves static files straight from the apps (no collectstatic step).
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_HTTPONLY = True

# Failed logins and tokens (webui.throttle): this many failures per window per user and client
# address (tokens: per address), this many per address across users; then 429 with Retry-After
# until the window ends. Behind N proxies of ours, the client is N entries from the end of
# X-Forwarded-For (production: 1, nginx).
TICKERPLANT_AUTH_FAILURES_PER_USER = 5
TICKERPLANT_AUTH_FAILURES_PER_ADDRESS = 50
TICKERPLANT_AUTH_FAILURE_WINDOW_SECONDS = 60
TICKERPLANT_TRUSTED_PROXY_HOPS = int(os.environ.get("TICKERPLANT_TRUSTED_PROXY_HOPS", "0"))
# The throttle's counters: one daphne process serves every request in embedded mode.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Channels, DRF, Celery -----------------------------------------------------------------
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "webui.api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["webui.api.permissions.CatalogPermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": None,
    # Bounded bodies (size, JSON depth): webui.api.parsers. No multipart: the API takes JSON.
    "DEFAULT_PARSER_CLASSES": [
        "webui.api.parsers.LimitedJSONParser",
        "webui.api.parsers.LimitedFormParser",
    ],
}
TICKERPLANT_API_MAX_BODY_BYTES = 1024 * 1024
TICKERPLANT_API_MAX_JSON_DEPTH = 32
SPECTACULAR_SETTINGS = {
    "TITLE": "Tickerplant control plane API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is behind the same login as the API it describes.
    "SERVE_PERMISSIONS": ["webui.api.permissions.CatalogPermission"],
}

CELERY_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(CELERY_DIR / "queue"),
    "data_folder_out": str(CELERY_DIR / "queue"),
    "processed_folder": str(CELERY_DIR / "processed"),
    "control_folder": str(CELERY_DIR / "control"),
    "store_processed": False,
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DIR / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    "control-plane-heartbeat": {
        "task": "controlplane.fleet.tasks.record_heartbeat",
        "schedule": 10.0,
    },
    "audit-anchor": {
        "task": "controlplane.audit.tasks.anchor_audit_head",
        "schedule": TICKERPLANT_AUDIT_ANCHOR_SECONDS,
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Logging: everything to stdout ---------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("TICKERPLANT_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
