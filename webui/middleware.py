"""Login required for every URL except the open ones (health, readiness, metrics, login)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

__all__ = ["OPEN_PATHS", "LoginRequiredMiddleware"]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class LoginRequiredMiddleware:
    """Pages redirect to the login form; the API answers for itself (DRF: 401/403)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_prefixes = (settings.LOGIN_URL, settings.STATIC_URL, "/api/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if (
            path.rstrip("/") in OPEN_PATHS
            or path.startswith(self._open_prefixes)
            or request.user.is_authenticated
        ):
            return self.get_response(request)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
