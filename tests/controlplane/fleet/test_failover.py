"""The failover observer: when a dead worker's shards move, when they come back, and what it
publishes and audits. Driven with child snapshots on a made-up clock (the supervisor's own
behaviour is tested in test_supervisor.py and, with real workers, in test_failover_workers.py)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import controlplane.catalog.publish as publish_module
from controlplane.audit.models import AuditEntry
from controlplane.catalog import actions
from controlplane.catalog.compile import compile_spec
from controlplane.catalog.models import PublishedSpec
from controlplane.catalog.publish import publish_catalog
from controlplane.fleet.failover import FailoverPolicy, ShardFailover
from controlplane.fleet.supervisor import ChildSpec, ChildState, Supervisor
from pipelines.config_stores import open_store
from pipelines.spec import PipelineSpec

pytestmark = pytest.mark.django_db

MOVED = {"0": [0, 1], "1": []}


class Fleet:
    """Two workers' snapshots, as the supervisor would report them."""

    def __init__(self) -> None:
        self.children = {
            name: ChildState(name, pid, 0.0, 0, 0.0, None)
            for name, pid in (("worker-0", 100), ("worker-1", 101))
        }

    def die(self, name: str, at: float, code: int = -9) -> None:
        child = self.children[name]
        self.children[name] = ChildState(name, None, child.started_at, child.exits + 1, at, code)

    def restart(self, name: str, at: float) -> None:
        child = self.children[name]
        self.children[name] = ChildState(
            name, 1000 + child.exits, at, child.exits, child.last_exit_at, child.last_exit_code
        )


def stored(url: str) -> PipelineSpec:
    spec = open_store(url).get()
    assert spec is not None
    return spec


@pytest.fixture
def default_published(config_store_url: str) -> str:
    """What runplatform does first: publish the catalog with the default placement."""
    publish_catalog("runplatform", workers=2, placement=lambda count: {})
    return config_store_url


def test_a_dead_workers_shard_moves_then_returns_once_it_is_up(default_published: str) -> None:
    failover = ShardFailover(2)  # move after 1 s down, up after 3 s running, 5 s between changes
    fleet = Fleet()
    failover(1.0, fleet.children)
    fleet.die("worker-1", at=10.0)
    failover(10.5, fleet.children)
    assert stored(default_published).shards.assignment == {}  # not down long enough yet

    failover(11.0, fleet.children)
    spec = stored(default_published)
    assert spec.shards.assignment == MOVED
    assert spec.shards.shards_for(0, 2) == {0, 1} and not spec.shards.shards_for(1, 2)
    row = PublishedSpec.objects.get(version=spec.version)
    assert row.created_by == "system" and row.document["shards"]["assignment"] == MOVED
    move = AuditEntry.objects.get(action="shards.move")
    assert (move.actor, move.target) == ("system", "worker-1")
    assert move.data["moved"] == {"1": {"from": 1, "to": 0}}
    assert move.data["version"] == spec.version
    assert "worker-1 exited (signal 9)" in move.data["reason"]

    fleet.restart("worker-1", at=11.5)
    failover(14.0, fleet.children)  # running 2.5 s: not up yet
    failover(15.0, fleet.children)  # up, but the last change was 4 s ago
    assert stored(default_published).shards.assignment == MOVED
    failover(16.0, fleet.children)
    back = stored(default_published)
    assert back.shards.assignment == {} and back.version == spec.version + 1
    restore = AuditEntry.objects.get(action="shards.restore")
    assert restore.actor == "system" and restore.data["moved"] == {"1": {"from": 0, "to": 1}}
    assert "worker-1 is up again" in restore.data["reason"]


def test_a_worker_back_up_before_the_move_costs_no_spec(default_published: str) -> None:
    failover = ShardFailover(2, policy=FailoverPolicy(move_after=5.0, up_after=1.0))
    fleet = Fleet()
    fleet.die("worker-1", at=10.0)
    failover(10.1, fleet.children)
    fleet.restart("worker-1", at=10.6)
    for now in (11.0, 12.0, 13.0, 20.0):
        failover(now, fleet.children)
    assert PublishedSpec.objects.count() == 1  # the initial one
    assert not AuditEntry.objects.filter(action__startswith="shards.").exists()


def test_a_crash_loop_costs_one_move_and_one_restore(default_published: str) -> None:
    failover = ShardFailover(2)
    fleet = Fleet()
    now = 10.0
    for _ in range(40):  # dies 0.5 s after every start, for 40 s
        fleet.die("worker-1", at=now)
        failover(now + 0.25, fleet.children)
        fleet.restart("worker-1", at=now + 0.5)
        failover(now + 0.75, fleet.children)
        now += 1.0
    assert stored(default_published).shards.assignment == MOVED
    for step in range(10):  # then it stays up
        failover(now + step, fleet.children)
    assert stored(default_published).shards.assignment == {}
    actions_ = list(
        AuditEntry.objects.filter(action__startswith="shards.").values_list("action", flat=True)
    )
    assert actions_ == ["shards.move", "shards.restore"]
    assert PublishedSpec.objects.count() == 3


def test_up_needs_the_metrics_port_to_answer(default_published: str) -> None:
    answering: set[int] = set()
    failover = ShardFailover(
        2, metrics_ports={0: 9500, 1: 9501}, port_answers=answering.__contains__
    )
    fleet = Fleet()
    fleet.die("worker-1", at=10.0)
    failover(11.0, fleet.children)
    fleet.restart("worker-1", at=11.0)
    failover(30.0, fleet.children)  # running 19 s, but its port does not answer
    assert stored(default_published).shards.assignment == MOVED
    answering.add(9501)
    failover(31.0, fleet.children)
    assert stored(default_published).shards.assignment == {}


def test_a_catalog_edit_keeps_the_moved_shards_and_the_restore_keeps_the_edit(
    default_published: str, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TICKERPLANT_WORKERS = 2
    failover = ShardFailover(2)
    fleet = Fleet()
    fleet.die("worker-1", at=10.0)
    failover(11.0, fleet.children)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_create_source(
            None, name="feed", kind="simulator", symbols=["ETH-USD"], params={"rate": 100}
        )
    edited = stored(default_published)
    assert "feed" in edited.sources and edited.shards.assignment == MOVED

    fleet.restart("worker-1", at=11.0)
    failover(20.0, fleet.children)
    restored = stored(default_published)
    assert "feed" in restored.sources and restored.shards.assignment == {}


def test_a_concurrent_publish_is_retried_with_the_latest_catalog(
    default_published: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process publishes a catalog edit between our read and our compare-and-set."""
    raced: list[int] = []

    def compile_then_race(workers: int) -> PipelineSpec:
        spec = compile_spec(workers)  # the catalog before the edit
        if not raced:
            actions.do_create_source(
                None, name="feed", kind="simulator", symbols=["ETH-USD"], params={"rate": 100}
            )
            store = open_store(default_published)
            current = store.get()
            assert current is not None
            raced.append(store.put(compile_spec(workers), current.version).version)
        return spec

    monkeypatch.setattr(publish_module, "compile_spec", compile_then_race)
    fleet = Fleet()
    fleet.die("worker-1", at=10.0)
    ShardFailover(2)(11.0, fleet.children)
    final = stored(default_published)
    assert final.version == raced[0] + 1
    assert "feed" in final.sources and final.shards.assignment == MOVED


def test_stopping_the_platform_moves_nothing(default_published: str, tmp_path: Path) -> None:
    """As systemd stops a unit: SIGTERM to the supervisor and to every worker at once."""
    failover = ShardFailover(2, policy=FailoverPolicy(move_after=0.0))
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    supervisor = Supervisor(
        [ChildSpec("worker-0", sleeper), ChildSpec("worker-1", sleeper)],
        env=dict(os.environ),
        cwd=tmp_path,
        grace_seconds=2.0,
        observers=[failover],
    )

    def stop_everything() -> None:
        for state in supervisor.states().values():
            if state.pid is not None:
                os.kill(state.pid, signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # run() installed its handler

    timer = threading.Timer(1.0, stop_everything)
    timer.start()
    supervisor.run()
    timer.join()
    assert stored(default_published).shards.assignment == {}
    assert PublishedSpec.objects.count() == 1
    assert not AuditEntry.objects.filter(action__startswith="shards.").exists()
