"""Fixtures shared by the control-plane and web UI tests (Django, real file config store).

Imported by name from ``tests/controlplane/conftest.py`` and ``tests/webui/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token


@pytest.fixture(autouse=True, scope="session")
def audit_flush_allowed() -> None:
    """The test runner's flush (transactional tests) may empty the append-only audit table."""
    from django.conf import settings

    settings.TICKERPLANT_AUDIT_FLUSH_ALLOWED = True


@pytest.fixture(autouse=True)
def clear_cache() -> None:
    """The failed-login counters (Django's cache) start empty in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def audit_anchor_url(settings: Any, tmp_path: Any) -> str:
    """Every test anchors the audit chain in its own file."""
    url = f"file://{tmp_path}/audit/anchor.json"
    settings.TICKERPLANT_AUDIT_ANCHOR = url
    return url


@pytest.fixture(autouse=True)
def config_store_url(settings: Any, tmp_path: Any) -> str:
    """Every test publishes to its own real file store."""
    url = f"file://{tmp_path}/config/spec.json"
    settings.TICKERPLANT_CONFIG_STORE = url
    return url


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(username: str, role: str | None = None, superuser: bool = False) -> User:
        user = User.objects.create_user(username, password=f"pw-{username}-12345")
        if superuser:
            user.is_superuser = user.is_staff = True
            user.save()
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user("olivia", "operator")


@pytest.fixture
def viewer(make_user: Callable[..., User]) -> User:
    return make_user("victor", "viewer")


@pytest.fixture
def operator_token(operator: User) -> str:
    return Token.objects.create(user=operator).key


@pytest.fixture
def viewer_token(viewer: User) -> str:
    return Token.objects.create(user=viewer).key
