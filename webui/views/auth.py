"""Login and logout: throttled after failures, and audited (logins, logouts, failed logins)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse

from controlplane.audit.actions import do_record_login, do_record_login_failure, do_record_logout
from webui.throttle import LOGIN_BY_ADDRESS, LOGIN_BY_USER, client_ip

__all__ = ["AuditedLogoutView", "ThrottledLoginView"]

_USERNAME_MAX = 150


def _username(request: HttpRequest) -> str:
    return str(request.POST.get("username", ""))[:_USERNAME_MAX]


class ThrottledLoginView(LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = client_ip(request.META)
        waits = [
            LOGIN_BY_USER.retry_after(_username(request).lower(), address),
            LOGIN_BY_ADDRESS.retry_after(address),
        ]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is None:
            return super().post(request, *args, **kwargs)
        # Locked: the credentials are not even checked, so the right password does not help.
        context = self.get_context_data(
            form=AuthenticationForm(request),
            throttled=f"Too many failed logins. Try again in {wait} s.",
        )
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        username, address = _username(self.request), client_ip(self.request.META)
        locked = LOGIN_BY_USER.failed(username.lower(), address)
        locked = LOGIN_BY_ADDRESS.failed(address) or locked
        do_record_login_failure(username, address, locked=locked)
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        username, address = form.get_user().get_username(), client_ip(self.request.META)
        LOGIN_BY_USER.clear(_username(self.request).lower(), address)
        do_record_login(username, address)
        return response


class AuditedLogoutView(LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            do_record_logout(user.get_username(), client_ip(request.META))
        return super().post(request, *args, **kwargs)
