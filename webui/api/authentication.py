"""Token authentication that locks a client address out after failed tokens (429)."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from controlplane.audit.actions import do_record_login_failure
from webui.throttle import TOKEN_BY_ADDRESS, client_ip

__all__ = ["ThrottledTokenAuthentication"]


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # no token: another authenticator's turn
        address = client_ip(request.META)
        wait = TOKEN_BY_ADDRESS.retry_after(address)
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many failed token authentications.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            if TOKEN_BY_ADDRESS.failed(address):
                do_record_login_failure(address, address, locked=True, via="token")
            raise
