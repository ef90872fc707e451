"""Shard ownership on the NATS bus, and the hand-over that moves a shard between workers.

Ownership of shard ``k`` is the right to pull its durable consumers; a lease in the plant's KV
bucket (key ``s<k>``) says who holds it:

``{"owner": "w1", "state": "owned" | "released", "version": <spec version>, "checkpoint": {...}}``

Hand-over when a new shard map moves ``k`` from A to B (each applies the spec on its own time):

1. A stops pulling ``k``: its fetch loops end, everything fetched is processed and acked, and it
   waits until the server shows no un-acked message and no waiting pull for ``s<k>``;
2. A writes the lease ``released`` with its checkpoint (per lane, ``{stream: last seq}``), by
   compare-and-set on the revision it holds;
3. B, which has been polling the lease since it saw the new map, takes it (compare-and-set from
   ``released``, or from absent) and only then starts pulling, de-duplicating against the
   checkpoint.

So no event is processed by both or skipped. Leases are refreshed every ``ttl / 3`` seconds; the
bucket's TTL makes the lease of a dead owner expire, after which the new owner takes the shard
(a crash is at-least-once: what the dead owner processed after its last refresh and did not ack
is redelivered, and de-duplicated only down to the last refreshed checkpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Literal, TextIO

import msgspec
import nats.js.errors
from nats.aio.client import Client
from nats.js.kv import KeyValue

from pipelines.bus.nats.consumer import Checkpoint, Deliver, ShardConsumer
from pipelines.bus.nats.layout import NatsLayout
from pipelines.spec import shard_of

__all__ = ["Lease", "ShardLeases", "ShardRunner"]

log = logging.getLogger(__name__)


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    owner: str
    state: Literal["owned", "released"]
    version: int = 0
    checkpoint: Checkpoint = {}


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Lease).decode


class ShardLeases:
    """Compare-and-set leases of one owner (``w<index>``) in the plant's KV bucket."""

    def __init__(self, kv: KeyValue, owner: str, *, poll_interval: float = 0.05) -> None:
        self.kv = kv
        self.owner = owner
        self._poll = poll_interval
        self._revisions: dict[int, int] = {}

    async def read(self, shard: int) -> tuple[Lease | None, int]:
        """The lease of ``shard`` and its revision (``None, 0`` when there is none)."""
        try:
            entry = await self.kv.get(NatsLayout.lease_key(shard))
        except nats.js.errors.KeyNotFoundError:
            return None, 0
        if not entry.value:
            return None, entry.revision or 0
        return _decode(entry.value), entry.revision or 0

    async def acquire(self, shard: int, version: int = 0, timeout: float | None = None) -> Lease:
        """Wait until ``shard`` is free (released, expired, never owned, or ours), take it, and
        return the lease as found (its checkpoint is where to resume)."""
        key = NatsLayout.lease_key(shard)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found, revision = await self.read(shard)
            free = found is None or found.state == "released" or found.owner == self.owner
            if free:
                checkpoint = found.checkpoint if found is not None else {}
                mine = Lease(owner=self.owner, state="owned", version=version,
                             checkpoint=checkpoint)  # fmt: skip
                try:
                    if revision:
                        new_revision = await self.kv.update(key, _encode(mine), last=revision)
                    else:
                        new_revision = await self.kv.create(key, _encode(mine))
                except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.APIError):
                    continue  # someone else moved first: look again
                self._revisions[shard] = new_revision
                return found or Lease(owner="", state="released")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"shard {shard} still owned by {found.owner}")  # type: ignore[union-attr]
            await asyncio.sleep(self._poll)

    async def refresh(self, shard: int, checkpoint: Checkpoint, version: int = 0) -> bool:
        """Renew our lease (and record the checkpoint); False if it was lost meanwhile."""
        lease = Lease(owner=self.owner, state="owned", version=version, checkpoint=checkpoint)
        return await self._write(shard, lease)

    async def release(self, shard: int, checkpoint: Checkpoint, version: int = 0) -> bool:
        """Hand the shard over: ``released`` with the final checkpoint; False if not ours."""
        lease = Lease(owner=self.owner, state="released", version=version, checkpoint=checkpoint)
        released = await self._write(shard, lease)
        self._revisions.pop(shard, None)
        return released

    async def _write(self, shard: int, lease: Lease) -> bool:
        revision = self._revisions.get(shard)
        if revision is None:
            return False
        try:
            self._revisions[shard] = await self.kv.update(
                NatsLayout.lease_key(shard), _encode(lease), last=revision
            )
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.APIError):
            self._revisions.pop(shard, None)
            return False
        return True


class ShardRunner:
    """Pulls the shards a worker owns and moves them, with hand-over, when the set changes.

    ``assign(shards, count, version)`` returns at once: lost shards are released in the
    background, gained ones acquired (each waits for its previous owner). :meth:`owns` is the
    pipeline's ownership test: a symbol is kept while its shard is being pulled.
    """

    def __init__(
        self,
        client: Client,
        layout: NatsLayout,
        leases: ShardLeases,
        deliver: Deliver,
        *,
        on_change: Callable[[], None] = lambda: None,
        journal: TextIO | None = None,
        lease_ttl: float = 10.0,
        batch: int = 256,
    ) -> None:
        self._client = client
        self._layout = layout
        self.leases = leases
        self._deliver = deliver
        self._on_change = on_change
        self._journal = journal
        self._ttl = lease_ttl
        self._batch = batch
        self.count = 1
        self.version = 0
        self.pulling: dict[int, ShardConsumer] = {}
        self._moves: dict[int, asyncio.Task[None]] = {}
        self._waiting: set[int] = set()  # acquires still waiting for the previous owner
        self._wanted: frozenset[int] = frozenset()
        self._refresher: asyncio.Task[None] | None = None

    def owns(self, stream: str, symbol: str) -> bool:
        return shard_of(stream, symbol, self.count) in self.pulling

    async def assign(self, shards: frozenset[int], count: int, version: int = 0) -> None:
        """Make ``shards`` (of ``count``) this worker's; returns once the moves are scheduled."""
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh(), name="shard-leases")
        if count != self.count:  # a new partition: every shard is a different key set
            await self.release_all()
            self.count = count
        self.version = version
        self._wanted = shards
        for shard in set(self.pulling) | set(self._moves) | set(shards):
            if (shard in shards) != (shard in self.pulling) or shard in self._moves:
                self._schedule(shard)

    async def settled(self) -> None:
        """Wait until every scheduled move has finished."""
        while self._moves:
            await asyncio.gather(*self._moves.values(), return_exceptions=True)

    async def release_all(self) -> None:
        self._wanted = frozenset()
        for shard, task in list(self._moves.items()):
            await self._finish(shard, task)
        await asyncio.gather(*(self._release(shard) for shard in list(self.pulling)))

    async def close(self) -> None:
        """Hand every shard over (the worker is stopping)."""
        await self.release_all()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher

    def _schedule(self, shard: int) -> None:
        previous = self._moves.get(shard)
        task = asyncio.create_task(self._move(shard, previous), name=f"shard-{shard}-move")
        self._moves[shard] = task
        task.add_done_callback(lambda done: self._forget(shard, done))

    def _forget(self, shard: int, task: asyncio.Task[None]) -> None:
        if self._moves.get(shard) is task:
            del self._moves[shard]
        if not task.cancelled() and task.exception() is not None:
            log.error("shard %d: move failed", shard, exc_info=task.exception())

    async def _finish(self, shard: int, task: asyncio.Task[None]) -> None:
        """Let a move end: one still waiting for a lease is cancelled, a release or a started
        acquire runs to its end (interrupting it would leave a half-handed-over shard)."""
        if shard in self._waiting:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def _move(self, shard: int, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # moves of one shard run in order
            await self._finish(shard, previous)
        if shard in self._wanted and shard not in self.pulling:
            await self._acquire(shard)
        elif shard not in self._wanted and shard in self.pulling:
            await self._release(shard)

    async def _acquire(self, shard: int) -> None:
        self._waiting.add(shard)
        try:
            found = await self.leases.acquire(shard, self.version)
        finally:
            self._waiting.discard(shard)
        try:
            consumer = ShardConsumer(self._client, self._layout, shard, self._deliver,
                                     checkpoint=found.checkpoint, journal=self._journal,
                                     batch=self._batch)  # fmt: skip
            self.pulling[shard] = consumer
            await consumer.start()
        except Exception:
            await self._release(shard, found.checkpoint)  # failed: give the lease back
            raise
        log.info("shard %d: acquired (previous owner %r)", shard, found.owner or None)
        self._on_change()

    async def _release(self, shard: int, checkpoint: Checkpoint | None = None) -> None:
        consumer = self.pulling.get(shard)
        if consumer is not None:
            await consumer.stop()
            checkpoint = consumer.checkpoint()
            del self.pulling[shard]
            self._on_change()
        if not await self.leases.release(shard, checkpoint or {}, self.version):
            log.warning("shard %d: lease was no longer ours at release", shard)
        else:
            log.info("shard %d: released", shard)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            for shard, consumer in list(self.pulling.items()):
                if shard in self._moves:
                    continue
                if not await self.leases.refresh(shard, consumer.checkpoint(), self.version):
                    log.error("shard %d: lease lost (expired?); stopping its pull", shard)
                    await consumer.stop()
                    self.pulling.pop(shard, None)
                    self._on_change()


async def open_runner(
    bus_url: str,
    namespace: str,
    owner: str,
    deliver: Deliver,
    *,
    on_change: Callable[[], None] = lambda: None,
    journal: TextIO | None = None,
    lease_ttl: float = 10.0,
) -> tuple[Client, ShardRunner]:
    """Connect, make sure the plant's streams and lease bucket exist, and build a runner."""
    from pipelines.bus.nats import connect, ensure_lease_bucket, ensure_streams

    client = await connect(bus_url)
    js = client.jetstream()
    layout = NatsLayout(namespace)
    await ensure_streams(js, layout)
    kv = await ensure_lease_bucket(js, layout, ttl=lease_ttl)
    runner = ShardRunner(client, layout, ShardLeases(kv, owner), deliver, on_change=on_change,
                         journal=journal, lease_ttl=lease_ttl)  # fmt: skip
    return client, runner
