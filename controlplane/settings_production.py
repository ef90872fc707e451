"""Production settings: Postgres, Redis (channel layer, Celery), HTTPS only, secrets from env.

Required env: TICKERPLANT_SECRET_KEY, TICKERPLANT_ALLOWED_HOSTS, DATABASE_URL; TICKERPLANT_REDIS_URL
(default redis://127.0.0.1:6379/0). /metrics is restricted to TICKERPLANT_METRICS_NETWORKS
(default loopback) or a bearer TICKERPLANT_METRICS_TOKEN.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from controlplane.settings import *  # noqa: F403 (the embedded defaults, overridden below)
from controlplane.settings import _env_list


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"production settings need the environment variable {name}")
    return value


DEBUG = False
TICKERPLANT_EMBEDDED = False
TICKERPLANT_AUDIT_FLUSH_ALLOWED = False
SECRET_KEY = _required("TICKERPLANT_SECRET_KEY")
ALLOWED_HOSTS = _env_list("TICKERPLANT_ALLOWED_HOSTS") or [_required("TICKERPLANT_ALLOWED_HOSTS")]
REDIS_URL = os.environ.get(
    "TICKERPLANT_REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
)

SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}
# Every process counts failed logins in the same place.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}
TICKERPLANT_TRUSTED_PROXY_HOPS = int(os.environ.get("TICKERPLANT_TRUSTED_PROXY_HOPS", "1"))
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {}

TICKERPLANT_METRICS_NETWORKS = _env_list("TICKERPLANT_METRICS_NETWORKS", "127.0.0.1/32,::1/128")
