"""WebSocket admission: same-origin check, and DRF token auth (header or ``?token=``).

A foreign Origin is refused; a missing Origin (a non-browser client) is accepted only with a valid
token. A token names the user, whose role is read in the same trip to the database (one
``database_sync_to_async`` hop per handshake: they all queue on one thread); without a token,
Channels' session authentication fills ``scope["user"]``. :func:`stream_auth_stack` puts this
inside Channels' cookie and session middleware, as ``AuthMiddlewareStack`` would.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings

from controlplane.audit.actions import do_record_login_failure
from webui.metrics import WS_REFUSED
from webui.roles import role_of
from webui.throttle import TOKEN_BY_ADDRESS, client_ip

__all__ = ["StreamAuthMiddleware", "stream_auth_stack"]


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
    role_of(token.user)  # cached on the user: the consumer's role check needs no second trip
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
        self.session_auth = AuthMiddleware(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.session_auth(scope, receive, send)
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
                    return await self.inner(dict(scope, user=user), receive, send)
        if reason:
            WS_REFUSED.labels(reason).inc()
            return await WebsocketDenier()(scope, receive, send)
        return await self.session_auth(scope, receive, send)


def stream_auth_stack(inner: Any) -> Any:
    """Cookies, session, then :class:`StreamAuthMiddleware` (token, else the session's user)."""
    return CookieMiddleware(SessionMiddleware(StreamAuthMiddleware(inner)))
