"""Shard ownership on NATS: leases hand a shard from one worker to the next, and moving shards
between running worker processes (one removed, one added) processes every event exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client

from pipelines.bus.nats import NatsLayout, connect, delete_plant, ensure_lease_bucket
from pipelines.config_stores import open_store
from pipelines.runtime.sharding import ShardLeases
from pipelines.spec import PipelineSpec, ShardMap, SourceSpec

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def nats_client(nats_url: str, namespace: str) -> AsyncIterator[Client]:
    client = await connect(nats_url)
    try:
        yield client
    finally:  # only this test's streams and bucket
        await delete_plant(client.jetstream(), NatsLayout(namespace))
        await client.close()


async def test_a_shard_is_taken_only_after_its_owner_released_it(
    nats_client: Client, namespace: str
) -> None:
    kv = await ensure_lease_bucket(nats_client.jetstream(), NatsLayout(namespace), ttl=30)
    old, new = ShardLeases(kv, "w0"), ShardLeases(kv, "w1")
    assert (await old.acquire(3)).owner == ""  # never owned before
    taking = asyncio.create_task(new.acquire(3))
    await asyncio.sleep(0.3)
    assert not taking.done()  # w0 still owns it
    assert await old.release(3, {"md": {"feed": 41}})
    found = await asyncio.wait_for(taking, 5)
    assert (found.owner, found.state, found.checkpoint) == ("w0", "released", {"md": {"feed": 41}})
    lease, _ = await new.read(3)
    assert lease is not None and (lease.owner, lease.state) == ("w1", "owned")
    assert not await old.refresh(3, {})  # the old owner's lease is gone


async def test_a_dead_owners_lease_expires_and_the_shard_moves(
    nats_client: Client, namespace: str
) -> None:
    kv = await ensure_lease_bucket(nats_client.jetstream(), NatsLayout(namespace), ttl=1.0)
    await ShardLeases(kv, "w0").acquire(0)  # and never refreshed: w0 "died"
    found = await asyncio.wait_for(ShardLeases(kv, "w1").acquire(0), 10)
    assert found.owner == ""  # expired: nothing to resume from but the consumer's acks


# -- worker processes ------------------------------------------------------------------------------
COUNT = 8
EVENTS = 12_000


def spec(version: int, assignment: dict[str, list[int]]) -> PipelineSpec:
    return PipelineSpec(
        version=version,
        sources={
            "sim": SourceSpec(
                kind="simulator",
                symbols=[f"S{i}" for i in range(24)],
                params={"rate": 1500, "max_events": EVENTS},
            )
        },
        shards=ShardMap(count=COUNT, assignment=assignment),
    )


class Fleet:
    def __init__(self, tmp: Path, nats_url: str, namespace: str) -> None:
        self.tmp = tmp
        self.store_url = f"file://{tmp / 'spec.json'}"
        self.nats_url = nats_url
        self.namespace = namespace
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.version = 0

    def put(self, assignment: dict[str, list[int]]) -> None:
        store = open_store(self.store_url)
        try:
            self.version = store.put(spec(self.version + 1, assignment), self.version).version
        finally:
            store.close()

    def start(self, name: str, *args: str) -> None:
        env = {**os.environ, "TICKERPLANT_LOG_LEVEL": "WARNING"}
        bus = ["--bus", self.nats_url, "--namespace", self.namespace]
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "pipelines", *args, "--store", self.store_url, *bus],
            cwd=REPO,
            env=env,
        )

    def start_worker(self, index: int) -> None:
        self.start(f"w{index}", "worker", "--index", str(index), "--metrics-port", "0",
                   "--journal", str(self.journal(index)), "--lease-ttl", "5")  # fmt: skip

    def journal(self, index: int) -> Path:
        return self.tmp / f"w{index}.journal"

    def stop(self, name: str) -> int:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(60)

    def kill_all(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()


@pytest.fixture
def fleet(tmp_path: Path, nats_url: str, namespace: str, nats_client: Client) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, nats_url, namespace)
    try:
        yield fleet
    finally:
        fleet.kill_all()


def journal_lines(fleet: Fleet, indexes: list[int]) -> list[tuple[str, int, int]]:
    lines = []
    for index in indexes:
        path = fleet.journal(index)
        if path.exists():
            for line in path.read_text().splitlines():
                stream, seq, shard, _ = line.split("\t")
                lines.append((stream, int(seq), int(shard)))
    return lines


async def lease_owners(client: Client, namespace: str) -> dict[int, str]:
    kv = await ensure_lease_bucket(client.jetstream(), NatsLayout(namespace))
    leases = ShardLeases(kv, "test")
    owners = {}
    for shard in range(COUNT):
        lease, _ = await leases.read(shard)
        owners[shard] = f"{lease.owner}:{lease.state}" if lease else ""
    return owners


async def wait_owners(client: Client, namespace: str, expected: dict[str, list[int]]) -> None:
    want = {k: f"w{worker}:owned" for worker, shards in expected.items() for k in shards}
    deadline = time.monotonic() + 60
    while (owners := await lease_owners(client, namespace)) != want:
        assert time.monotonic() < deadline, f"leases {owners}, expected {want}"
        await asyncio.sleep(0.1)


async def pending(client: Client, namespace: str) -> int:
    """Messages not yet acknowledged on any shard consumer."""
    layout, js, total = NatsLayout(namespace), client.jetstream(), 0
    for lane in ("md", "ctl"):
        for shard in range(COUNT):
            info = await js.consumer_info(layout.stream(lane), layout.consumer(shard))
            total += (info.num_pending or 0) + (info.num_ack_pending or 0)
    return total


async def stored(client: Client, namespace: str) -> int:
    layout, js = NatsLayout(namespace), client.jetstream()
    return sum(
        [(await js.stream_info(layout.stream(lane))).state.messages for lane in ("md", "ctl")]
    )


@pytest.mark.slow
async def test_removing_and_adding_workers_mid_stream_processes_each_event_exactly_once(
    fleet: Fleet, nats_client: Client, namespace: str
) -> None:
    first = {"0": [0, 1, 2], "1": [3, 4, 5], "2": [6, 7]}
    fleet.put(first)
    for index in range(3):
        fleet.start_worker(index)
    await wait_owners(nats_client, namespace, first)
    fleet.start("ingest", "ingest")

    async def progressed(n: int) -> None:
        deadline = time.monotonic() + 60
        while len(journal_lines(fleet, [0, 1, 2, 3])) < n:
            assert time.monotonic() < deadline, "workers make no progress"
            await asyncio.sleep(0.1)

    await progressed(2_000)
    without_2 = {"0": [0, 1, 2, 6], "1": [3, 4, 5, 7]}  # worker 2 removed
    fleet.put(without_2)
    await wait_owners(nats_client, namespace, without_2)
    assert fleet.stop("w2") == 0

    await progressed(6_000)
    fleet.start_worker(3)  # worker 3 added
    with_3 = {"0": [0, 1], "1": [3, 4], "3": [2, 5, 6, 7]}
    fleet.put(with_3)
    await wait_owners(nats_client, namespace, with_3)

    deadline = time.monotonic() + 120
    while await stored(nats_client, namespace) < EVENTS or await pending(nats_client, namespace):
        assert time.monotonic() < deadline, "the feed was not consumed in time"
        await asyncio.sleep(0.2)
    assert fleet.stop("ingest") == 0
    for name in ("w0", "w1", "w3"):
        assert fleet.stop(name) == 0

    processed = journal_lines(fleet, [0, 1, 2, 3])
    counts = Counter((stream, seq) for stream, seq, _ in processed)
    assert [key for key, n in counts.items() if n > 1] == []  # nothing processed twice
    last = max(seq for _, seq in counts)
    assert last >= EVENTS
    assert sorted(seq for _, seq in counts) == list(range(1, last + 1))  # nothing skipped
    by_worker = {i: len(journal_lines(fleet, [i])) for i in range(4)}
    assert all(by_worker.values()), f"every worker processed a share: {by_worker}"
    # the shards really moved: worker 3 only processed shards it was given
    assert {shard for _, _, shard in journal_lines(fleet, [3])} <= {2, 5, 6, 7}


async def test_static_shard_override_consumes_only_that_shard(
    fleet: Fleet, nats_client: Client, namespace: str
) -> None:
    fleet.put({})  # no map for this worker: --shard wins anyway
    fleet.start("w5", "worker", "--index", "5", "--shard", "1/8", "--metrics-port", "0",
                "--journal", str(fleet.journal(5)))  # fmt: skip
    fleet.start("ingest", "ingest")
    deadline = time.monotonic() + 60
    while len(journal_lines(fleet, [5])) < 200:
        assert time.monotonic() < deadline, "no events consumed"
        await asyncio.sleep(0.1)
    assert fleet.stop("ingest") == 0
    assert fleet.stop("w5") == 0
    seen = journal_lines(fleet, [5])
    assert {shard for _, _, shard in seen} == {1}
    owners = await lease_owners(nats_client, namespace)
    assert owners[1] == "w5:released"  # handed back on the way out
