"""Failed logins and tokens are throttled (429 with Retry-After) and logins are audited."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from controlplane.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _actions() -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in AuditEntry.objects.order_by("position")]


def test_five_failures_lock_the_user_out_even_with_the_right_password(operator: User) -> None:
    client = Client()
    for _ in range(5):
        assert _login(client, "olivia", "wrong").status_code == 200  # the form, with its error
    locked = _login(client, "olivia", "pw-olivia-12345")
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 60
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session
    failures = AuditEntry.objects.filter(action="auth.login_failed")
    assert [e.target for e in failures] == ["olivia"] * 5
    assert [e.data["locked"] for e in failures] == [False] * 4 + [True]
    assert failures[0].data["address"] == "10.0.0.1"


def test_the_lock_is_per_user_and_address(operator: User, make_user: Any) -> None:
    make_user("bob")
    client = Client()
    for _ in range(5):
        _login(client, "olivia", "wrong")
    assert _login(client, "olivia", "pw-olivia-12345").status_code == 429
    assert _login(client, "bob", "pw-bob-12345").status_code == 302  # another user
    assert _login(Client(), "olivia", "pw-olivia-12345", "10.0.0.2").status_code == 302


def test_many_users_from_one_address_lock_the_address(settings: Any, make_user: Any) -> None:
    settings.TICKERPLANT_AUTH_FAILURES_PER_ADDRESS = 8
    make_user("carol")
    client = Client()
    for i in range(8):
        _login(client, f"guess{i}", "wrong")
    assert _login(client, "carol", "pw-carol-12345").status_code == 429


def test_the_lock_ends_with_its_window(operator: User, settings: Any) -> None:
    settings.TICKERPLANT_AUTH_FAILURE_WINDOW_SECONDS = 5
    settings.TICKERPLANT_AUTH_FAILURES_PER_USER = 2
    client = Client()
    for _ in range(2):
        _login(client, "olivia", "wrong")
    assert _login(client, "olivia", "pw-olivia-12345").status_code == 429
    deadline = time.monotonic() + 15
    while (status := _login(client, "olivia", "pw-olivia-12345").status_code) == 429:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == 302


def test_logins_and_logouts_are_audited(operator: User) -> None:
    client = Client()
    assert _login(client, "olivia", "pw-olivia-12345").status_code == 302
    assert client.post("/accounts/logout/", REMOTE_ADDR="10.0.0.1").status_code == 302
    assert _actions() == [
        ("olivia", "auth.login", "olivia"),
        ("olivia", "auth.logout", "olivia"),
    ]
    assert AuditEntry.objects.first().data == {"address": "10.0.0.1"}  # type: ignore[union-attr]


def test_five_bad_tokens_lock_the_address_out_even_with_a_good_token(
    operator_token: str,
) -> None:
    api = APIClient(REMOTE_ADDR="10.0.0.9")
    for i in range(5):
        api.credentials(HTTP_AUTHORIZATION=f"Token bad{i}")
        assert api.get("/api/sources/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {operator_token}")
    locked = api.get("/api/sources/")
    assert locked.status_code == 429 and 1 <= int(locked["Retry-After"]) <= 60
    assert _actions() == [("anonymous", "auth.token_locked", "10.0.0.9")]
    other = APIClient(REMOTE_ADDR="10.0.0.10")
    other.credentials(HTTP_AUTHORIZATION=f"Token {operator_token}")
    assert other.get("/api/sources/").status_code == 200


def test_behind_a_proxy_the_forwarded_address_counts(operator: User, settings: Any) -> None:
    settings.TICKERPLANT_TRUSTED_PROXY_HOPS = 1
    client = Client()
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "olivia", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",  # the client's claim, then nginx's
        )
    assert AuditEntry.objects.last().data["address"] == "203.0.113.7"  # type: ignore[union-attr]
    other = client.post(
        LOGIN,
        {"username": "olivia", "password": "pw-olivia-12345"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302
