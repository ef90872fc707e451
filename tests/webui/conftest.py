"""Fixtures of the control-plane and web UI tests (Django, real file config store)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token


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


@pytest.fixture
def ring_prefix() -> Any:
    """A fresh shared-memory prefix; its rings are removed afterwards."""
    import os
    import uuid

    from controlplane.fleet.supervisor import unlink_rings

    prefix = f"tickerplant-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield prefix
    unlink_rings(prefix)


@pytest.fixture
def gateway(ring_prefix: str) -> Any:
    """The process's gateway, reading this test's rings; restored afterwards."""
    from webui.gateway import Gateway, set_gateway

    gateway = Gateway(ring_prefix, poll_seconds=0.005)
    previous = set_gateway(gateway)
    yield gateway
    gateway.close()
    set_gateway(previous)


@pytest.fixture
def ring_writer(ring_prefix: str) -> Any:
    """A real RingWriter for worker 0 of the test prefix."""
    from pipelines.delivery.shm_ring import RingWriter, ring_path

    writer = RingWriter(ring_path(ring_prefix, 0), slots=256, slot_size=1024)
    yield writer
    writer.close(unlink=True)


def book_event(symbol: str = "BTC-USD", seq: int = 1, bid: int = 100_00) -> Any:
    from pipelines.events import BookSnapshot

    return BookSnapshot(
        stream="sim",
        symbol=symbol,
        seq=seq,
        price_decimals=2,
        size_decimals=3,
        state="LIVE",
        bids=[(bid - 50 * i, 1_000 + i) for i in range(10)],
        asks=[(bid + 50 + 50 * i, 2_000 + i) for i in range(10)],
    )


@pytest.fixture
def publish_book(ring_writer: Any) -> Callable[..., Any]:
    from pipelines.events import encode
    from pipelines.topics import event_topic

    def publish(symbol: str = "BTC-USD", seq: int = 1, bid: int = 100_00) -> Any:
        event = book_event(symbol, seq, bid)
        ring_writer.publish(event_topic(event), encode(event))
        return event

    return publish


@pytest.fixture
def make_book() -> Callable[..., Any]:
    return book_event
