"""Fixtures of the web UI tests: the shared Django ones, plus rings and a gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.django_fixtures import (  # noqa: F401 (fixtures, found by pytest by name)
    audit_anchor_url,
    audit_flush_allowed,
    clear_cache,
    config_store_url,
    make_user,
    operator,
    operator_token,
    viewer,
    viewer_token,
)


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
