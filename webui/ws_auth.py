"""WebSocket admission: same-origin check, and DRF token auth (header or ``?token=``).

Runs inside Channels' AuthMiddlewareStack, so ``scope["user"]`` already holds the session's user;
a token, when given, names the user instead. A foreign Origin is refused; a missing Origin (a
non-browser client) is accepted only with a valid token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings

from controlplane.audit.actions import do_record_login_failure
from webui.metrics import WS_REFUSED
from webui.throttle import TOKEN_BY_ADDRESS, client_ip

__all__ = ["StreamAuthMiddleware"]


def _token(headers: dict[bytes, bytes], query_string: bytes) -> str | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
    if authorization.lower().startswith("token "):
        return authorization[6:].strip() or None
    values = parse_qs(query_string.decode("latin-1")).get("token")
    return values[0] if values else None


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if origin.rstrip("/") in {o.rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    return parts.netloc.lower() == host.lower()


@database_sync_to_async
def _token_user(key: str) -> Any:
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def _client_ip(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    client = scope.get("client") or ("", 0)
    meta = {
        "REMOTE_ADDR": client[0],
        "HTTP_X_FORWARDED_FOR": headers.get(b"x-forwarded-for", b"").decode("latin-1"),
    }
    return client_ip(meta)


@database_sync_to_async
def _token_locked(address: str) -> bool:
    """The API's token lockout applies to the WebSocket's tokens too (one counter per address)."""
    return TOKEN_BY_ADDRESS.retry_after(address) is not None


@database_sync_to_async
def _token_failed(address: str) -> None:
    if TOKEN_BY_ADDRESS.failed(address):
        do_record_login_failure(address, address, locked=True, via="token")


class StreamAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        headers = dict(scope.get("headers", ()))
        token = _token(headers, scope.get("query_string", b""))
        origin = headers.get(b"origin")
        reason = ""
        if origin is None and token is None:
            reason = "missing_origin"
        elif origin is not None and not _same_origin(
            origin.decode("latin-1"), headers.get(b"host", b"").decode("latin-1")
        ):
            reason = "foreign_origin"
        elif token is not None:
            address = _client_ip(scope, headers)
            if await _token_locked(address):
                reason = "throttled"
            else:
                user = await _token_user(token)
                if user is None:
                    reason = "bad_token"
                    await _token_failed(address)
                else:
                    scope = dict(scope, user=user)
        if reason:
            WS_REFUSED.labels(reason).inc()
            return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)
