"""Failed-authentication throttling: a few failures per window, then 429 until the window ends.

Counters live in Django's cache (the process's memory in embedded mode, where one daphne serves
every request; Redis in production, shared by every process), keyed by a hash of what is
counted. Two limits guard the login form — per user and client address, and per client address
across users — and one guards tokens (per client address: a wrong token names no user). While
locked, every attempt is refused without checking the credentials, the right ones included.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

__all__ = ["LOGIN_BY_ADDRESS", "LOGIN_BY_USER", "TOKEN_BY_ADDRESS", "FailureLimit", "client_ip"]


def client_ip(meta: Any) -> str:
    """The client's address: REMOTE_ADDR, or the entry ``TICKERPLANT_TRUSTED_PROXY_HOPS`` from
    the end of X-Forwarded-For when that many proxies we run stand in front (nginx appends the
    address it saw; entries further left are whatever the client sent)."""
    hops = settings.TICKERPLANT_TRUSTED_PROXY_HOPS
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if hops > 0 and len(forwarded) >= hops:
        return forwarded[-hops]
    return str(meta.get("REMOTE_ADDR", "") or "unknown")


@dataclass(frozen=True)
class FailureLimit:
    scope: str
    limit_setting: str
    """The settings name of the number of failures allowed per window."""

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting))

    @property
    def window(self) -> float:
        return float(settings.TICKERPLANT_AUTH_FAILURE_WINDOW_SECONDS)

    def _keys(self, *parts: str) -> tuple[str, str]:
        digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
        return f"tp-auth:{self.scope}:{digest}:n", f"tp-auth:{self.scope}:{digest}:t"

    def retry_after(self, *parts: str) -> int | None:
        """Seconds until the next attempt is allowed, or None when it is allowed now."""
        count_key, since_key = self._keys(*parts)
        values = cache.get_many([count_key, since_key])
        count, since = values.get(count_key, 0), values.get(since_key)
        if since is None or count < self.limit:
            return None
        left = self.window - (time.time() - since)
        return max(1, math.ceil(left)) if left > 0 else None

    def failed(self, *parts: str) -> bool:
        """Count a failure; True when it is the one that locks (to audit the lockout once)."""
        count_key, since_key = self._keys(*parts)
        timeout = math.ceil(self.window)
        cache.add(since_key, time.time(), timeout)  # the window starts at the first failure
        cache.add(count_key, 0, timeout)
        try:
            count = cache.incr(count_key)
        except ValueError:  # expired between add and incr: this failure opens a new window
            cache.set(since_key, time.time(), timeout)
            cache.set(count_key, 1, timeout)
            count = 1
        return bool(count == self.limit)

    def clear(self, *parts: str) -> None:
        cache.delete_many(list(self._keys(*parts)))


LOGIN_BY_USER = FailureLimit("login-user", "TICKERPLANT_AUTH_FAILURES_PER_USER")
LOGIN_BY_ADDRESS = FailureLimit("login-address", "TICKERPLANT_AUTH_FAILURES_PER_ADDRESS")
TOKEN_BY_ADDRESS = FailureLimit("token-address", "TICKERPLANT_AUTH_FAILURES_PER_USER")
