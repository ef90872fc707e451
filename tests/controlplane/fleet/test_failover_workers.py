"""kill -9 a real worker: its shard moves to the other worker, whose ring then carries the moved
symbols' books (rebuilt from the feed), and comes back once the restarted worker is up.

The supervisor is driven step by step (``start``/``poll``/``stop``) with two real
``python -m pipelines worker`` processes, as runplatform starts them, on a file config store.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from controlplane.audit.models import AuditEntry
from controlplane.catalog.models import DataSource, PublishedSpec
from controlplane.catalog.publish import publish_catalog
from controlplane.fleet.failover import ShardFailover, metrics_port_answers, worker_name
from controlplane.fleet.supervisor import ChildSpec, Supervisor, unlink_rings
from pipelines.config_stores import open_store
from pipelines.delivery.shm_ring import RingReader, ring_path
from pipelines.events import BookSnapshot, decode
from pipelines.spec import shard_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SYMBOLS = ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL"]
T = TypeVar("T")


def wait_for(supervisor: Supervisor, condition: Callable[[], T | None], timeout: float) -> T:
    """Keep the supervisor watching until ``condition()`` is truthy (returned) or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.poll()
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {condition.__doc__}")


class Books:
    """The symbols whose books (BookSnapshot) a worker's ring carried since we attached."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.reader: RingReader | None = None
        self.symbols: set[str] = set()

    def read(self) -> set[str]:
        if self.reader is None:
            try:
                self.reader = RingReader(self.path)
            except (FileNotFoundError, ValueError):
                return self.symbols  # the worker has not created its ring yet
        for _, _, payload in self.reader.poll(4096):
            event = decode(payload)
            if isinstance(event, BookSnapshot):
                assert event.stream == "sim"
                self.symbols.add(event.symbol)
        return self.symbols

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


def test_kill_9_moves_the_shard_and_the_restarted_worker_takes_it_back(
    config_store_url: str, free_port: Callable[[], int], tmp_path: Path, settings: Any
) -> None:
    settings.TICKERPLANT_WORKERS = 2
    DataSource.objects.create(name="sim", kind="simulator", symbols=SYMBOLS, params={"rate": 2000})
    publish_catalog("runplatform", workers=2, placement=lambda count: {})
    moved_symbols = {s for s in SYMBOLS if shard_of("sim", s, 2) == 1}
    assert moved_symbols and len(moved_symbols) < len(SYMBOLS)
    prefix = f"tp-failover-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    ports = {0: free_port(), 1: free_port()}
    env = {
        **os.environ,
        "TICKERPLANT_SHM_PREFIX": prefix,
        "TICKERPLANT_VAR_DIR": str(tmp_path / "var"),
        "TICKERPLANT_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    worker = [sys.executable, "-m", "pipelines", "worker", "--store", config_store_url]
    children = [
        ChildSpec(
            worker_name(i),
            [*worker, "--index", str(i), "--count", "2", "--metrics-port", str(ports[i])],
        )
        for i in range(2)
    ]
    supervisor = Supervisor(
        children,
        env=env,
        cwd=REPO,
        grace_seconds=5.0,
        observers=[ShardFailover(2, metrics_ports=ports)],
    )
    store = open_store(config_store_url)

    def assignment() -> dict[str, list[int]]:
        spec = store.get()
        assert spec is not None
        return spec.shards.assignment

    supervisor.start()
    try:

        def both_up() -> bool:
            """both workers answer on their metrics ports"""
            return all(metrics_port_answers(port) for port in ports.values())

        wait_for(supervisor, both_up, 90)
        ring0 = Books(ring_path(prefix, 0))
        wait_for(supervisor, lambda: ring0.read() - moved_symbols, 30)
        assert not ring0.read() & moved_symbols  # worker 0 keeps only its own shard's books
        pid = supervisor.states()[worker_name(1)].pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        def moved() -> bool:
            """the published shard map gives shard 1 to worker 0"""
            return assignment() == {"0": [0, 1], "1": []}

        wait_for(supervisor, moved, 30)
        # Embedded mode: worker 0 runs the feed itself, so it rebuilds the moved books from it.
        wait_for(supervisor, lambda: ring0.read() & moved_symbols, 30)
        ring0.close()

        def restored() -> bool:
            """the default placement is published again"""
            return assignment() == {}

        wait_for(supervisor, restored, 60)
        ring1 = Books(ring_path(prefix, 1))  # the restarted worker's ring
        wait_for(supervisor, lambda: ring1.read() & moved_symbols, 30)
        ring1.close()
    finally:
        supervisor.stop()
        unlink_rings(prefix)

    shard_entries = AuditEntry.objects.filter(action__startswith="shards.").order_by("position")
    assert [(e.actor, e.action, e.target) for e in shard_entries] == [
        ("system", "shards.move", "worker-1"),
        ("system", "shards.restore", "worker-1"),
    ]
    assert shard_entries[0].data["moved"] == {"1": {"from": 1, "to": 0}}
    assert list(PublishedSpec.objects.values_list("created_by", flat=True)) == [
        "system",
        "system",
        "runplatform",
    ]
