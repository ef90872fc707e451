"""Where the audit anchor is kept: a file, a Redis key or a Consul KV key, named by a URL.

The URLs are the config stores' (docs/operations.md, "Config stores"):

- ``file:///srv/tickerplant/var/audit/anchor.json`` (the embedded default; mode 0600, replaced
  atomically);
- ``redis://host:6379/2?key=tickerplant:audit-anchor`` (``rediss://`` for TLS);
- ``consul://host:8500/tickerplant/audit-anchor`` (``consuls://`` for HTTPS; the ACL token from
  ``CONSUL_HTTP_TOKEN`` or ``?token=``; ``?dc=``).

The anchor is worth most where the database's users cannot write: another host, another service,
other credentials.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["AnchorStore", "open_anchor_store"]

DEFAULT_KEY = "tickerplant:audit-anchor"


class AnchorStore(Protocol):
    url: str

    def read(self) -> bytes | None:
        """The stored anchor, None when none was stored yet."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class FileAnchorStore:
    def __init__(self, path: str, url: str) -> None:
        self.path = Path(path)
        self.url = url

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".anchor-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)

    def close(self) -> None:
        pass


class RedisAnchorStore:
    def __init__(self, client_url: str, key: str, url: str) -> None:
        import redis

        self.url = url
        self.key = key
        self._client = redis.Redis.from_url(client_url, socket_timeout=5, socket_connect_timeout=5)

    def read(self) -> bytes | None:
        value: Any = self._client.get(self.key)
        return bytes(value) if value is not None else None

    def write(self, data: bytes) -> None:
        self._client.set(self.key, data)

    def close(self) -> None:
        self._client.close()


class ConsulAnchorStore:
    def __init__(self, host: str, port: int, scheme: str, key: str, options: dict[str, str]):
        import consul

        self.url = f"{scheme}://{host}:{port}/{key}"
        self.key = key
        token = options.get("token") or os.environ.get("CONSUL_HTTP_TOKEN") or None
        self._client = consul.Consul(
            host=host, port=port, scheme=scheme, token=token, dc=options.get("dc") or None
        )

    def read(self) -> bytes | None:
        _index, entry = self._client.kv.get(self.key)
        if entry is None:
            return None
        value: bytes | None = entry.get("Value")
        return value or b""

    def write(self, data: bytes) -> None:
        if not self._client.kv.put(self.key, data):
            raise OSError(f"Consul refused the write of {self.key}")

    def close(self) -> None:
        pass


def open_anchor_store(url: str) -> AnchorStore:
    """Open the store a URL names; an unknown scheme raises ValueError."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme in ("", "file"):
        path = parts.path if parts.scheme else url.split("?", 1)[0]
        if not path:
            raise ValueError(f"audit anchor URL {url!r} names no file")
        return FileAnchorStore(path, url)
    if parts.scheme in ("redis", "rediss", "unix"):
        key = query.pop("key", DEFAULT_KEY)
        client_url = urlunsplit(parts._replace(query=urlencode(query)))
        safe = urlunsplit(parts._replace(netloc=parts.hostname or "", query=f"key={key}"))
        return RedisAnchorStore(client_url, key, safe)
    if parts.scheme in ("consul", "consuls"):
        key = parts.path.strip("/") or DEFAULT_KEY.replace(":", "/")
        return ConsulAnchorStore(
            parts.hostname or "127.0.0.1",
            parts.port or 8500,
            "https" if parts.scheme == "consuls" else "http",
            key,
            query,
        )
    raise ValueError(
        f"audit anchor URL {url!r}: unknown scheme {parts.scheme!r} "
        "(file://, redis://, rediss://, consul:// or consuls://)"
    )
