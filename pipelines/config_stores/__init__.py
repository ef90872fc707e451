"""Config stores: where the PipelineSpec lives; importing registers the built-in backends.

``open_store(url)``: ``file:///abs/spec.json`` (or a bare path),
``redis://host:port/db?key=tickerplant:spec&poll_interval=1`` and
``consul://host:8500/tickerplant/spec?dc=dc1&wait=30s`` (``consuls://`` for HTTPS; the ACL token
from ``CONSUL_HTTP_TOKEN``, or ``?token=`` where the URL itself is kept secret).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipelines.config_stores import consul_store, file, redis_store
from pipelines.config_stores.base import ConfigStore, VersionConflict
from pipelines.config_stores.consul_store import ConsulStore
from pipelines.config_stores.file import FileStore
from pipelines.config_stores.redis_store import RedisStore
from pipelines.registry import CONFIG_STORES

__all__ = [
    "ConfigStore",
    "ConsulStore",
    "FileStore",
    "RedisStore",
    "VersionConflict",
    "consul_store",
    "file",
    "open_store",
    "redis_store",
]

# Query parameters that belong to the store, not to the redis client's URL.
_STORE_QUERY_KEYS = frozenset({"key", "poll_interval"})


def open_store(url: str) -> ConfigStore[Any]:
    """Open the store a URL names; unknown schemes and bad params raise ValueError/LookupError."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    raw: dict[str, object]
    if parts.scheme in ("", "file"):
        path = parts.path if parts.scheme else url.split("?", 1)[0]
        kind, raw = "file", {"path": path, **query}
    elif parts.scheme in ("redis", "rediss", "unix"):
        own = {k: v for k, v in query.items() if k in _STORE_QUERY_KEYS}
        rest = urlencode([(k, v) for k, v in query.items() if k not in _STORE_QUERY_KEYS])
        kind, raw = "redis", {"url": urlunsplit(parts._replace(query=rest)), **own}
    elif parts.scheme in ("consul", "consuls"):
        raw = {
            "host": parts.hostname or "127.0.0.1",
            "scheme": "https" if parts.scheme == "consuls" else "http",
            **query,
        }
        if parts.port:
            raw["port"] = parts.port
        if parts.path.strip("/"):
            raw["key"] = parts.path.strip("/")
        kind = "consul"
    else:
        kind, raw = parts.scheme, dict(query)
    store_type = CONFIG_STORES.get(kind)
    store: ConfigStore[Any] = store_type(CONFIG_STORES.params(kind, raw))
    return store
