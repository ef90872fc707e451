"""A worker's pull of one shard: the durable consumers ``s<k>`` of the ctl and md streams.

Each lane is fetched in batches by a task of its own (the priority lane never waits behind a
market-data backlog); a batch is decoded, de-duplicated, handed to ``deliver`` (the worker's bus:
synchronous, so when it returns the batch is processed) and only then acknowledged, message by
message (explicit acks: a message fetched but never processed is redelivered, never skipped).

De-duplication: ``seq`` rises per ``stream`` within a shard and lane (the publisher keeps a
stream's order), so an event at or below the last processed ``seq`` of its stream is a
redelivery and is dropped (counted). :meth:`checkpoint` is that per-lane ``{stream: seq}`` map:
the shard's hand-over state, which the next owner starts from.

:meth:`stop` hands the shard over cleanly: the loops finish their fetch, everything fetched is
processed and acked, and it waits until the server shows no un-acked message and no waiting
pull request of this consumer before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TextIO

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from pipelines.bus.nats.admin import ensure_consumer
from pipelines.bus.nats.layout import CONSUMED_LANES, Lane, NatsLayout
from pipelines.events import Event, decoder

__all__ = ["Checkpoint", "Deliver", "ShardConsumer"]

log = logging.getLogger(__name__)

Deliver = Callable[[list[Event]], None]
Checkpoint = dict[str, dict[str, int]]
"""Lane -> stream -> last processed seq."""

_QUIET_TIMEOUT_S = 10.0


class ShardConsumer:
    def __init__(
        self,
        client: Client,
        layout: NatsLayout,
        shard: int,
        deliver: Deliver,
        *,
        checkpoint: Checkpoint | None = None,
        journal: TextIO | None = None,
        batch: int = 256,
        fetch_timeout: float = 0.5,
    ) -> None:
        self.shard = shard
        self._client = client
        self._js: JetStreamContext = client.jetstream()
        self._layout = layout
        self._deliver = deliver
        self._journal = journal
        self._batch = batch
        self._fetch_timeout = fetch_timeout
        checkpoint = checkpoint or {}
        self._last: dict[str, dict[str, int]] = {
            lane: dict(checkpoint.get(lane, {})) for lane in CONSUMED_LANES
        }
        self._subs: dict[Lane, JetStreamContext.PullSubscription] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.processed = 0
        self.duplicates = 0
        self.decode_errors = 0

    def checkpoint(self) -> Checkpoint:
        return {lane: dict(last) for lane, last in self._last.items()}

    async def start(self) -> None:
        for lane in CONSUMED_LANES:
            name = await ensure_consumer(self._js, self._layout, lane, self.shard)
            self._subs[lane] = await self._js.pull_subscribe_bind(
                durable=name, stream=self._layout.stream(lane)
            )
        self._tasks = [
            asyncio.create_task(self._pull(lane, sub), name=f"shard-{self.shard}-{lane}")
            for lane, sub in self._subs.items()
        ]

    async def stop(self) -> None:
        """Finish, ack, wait until the server agrees nothing is outstanding, unsubscribe."""
        self._stopping = True
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for lane, sub in self._subs.items():
            await self._quiesce(lane, sub)
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs = {}
        if self._journal is not None:
            self._journal.flush()

    async def _pull(self, lane: Lane, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            try:
                messages = await sub.fetch(self._batch, timeout=self._fetch_timeout)
            except TimeoutError:
                continue
            except Exception as exc:  # connection trouble: the client reconnects; try again
                log.warning("shard %d %s: fetch failed: %s", self.shard, lane, exc)
                await asyncio.sleep(0.2)
                continue
            await self._handle(lane, messages)

    async def _handle(self, lane: Lane, messages: list[Msg]) -> None:
        self._process(lane, messages)
        for message in messages:  # after the batch was processed: a crash before redelivers it
            await message.ack()

    def _process(self, lane: Lane, messages: list[Msg]) -> None:
        last = self._last[lane]
        events: list[Event] = []
        append = events.append
        decode = decoder.decode
        for message in messages:
            try:
                event: Event = decode(message.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.decode_errors += 1  # a bad message never stops the worker: acked, counted
                continue
            seq = event.seq
            if seq:
                stream = event.stream
                if seq <= last.get(stream, 0):
                    self.duplicates += 1
                    continue
                last[stream] = seq
            append(event)
        if not events:
            return
        self._deliver(events)
        self.processed += len(events)
        if self._journal is not None:
            shard = self.shard
            self._journal.write("".join(f"{e.stream}\t{e.seq}\t{shard}\t{lane}\n" for e in events))

    async def _quiesce(self, lane: Lane, sub: JetStreamContext.PullSubscription) -> None:
        deadline = time.monotonic() + _QUIET_TIMEOUT_S
        while time.monotonic() < deadline:
            await self._client.flush()
            info = await sub.consumer_info()
            if info.num_ack_pending:  # delivered to us by a pull that outlived the loop
                try:
                    messages = await sub.fetch(self._batch, timeout=0.2)
                except TimeoutError:
                    continue
                await self._handle(lane, messages)
                continue
            if info.num_waiting:  # our last pull request has not expired yet
                await asyncio.sleep(0.05)
                continue
            return
        log.warning("shard %d %s: not quiet after %.0f s; un-acked messages will be redelivered "
                    "to the next owner", self.shard, lane, _QUIET_TIMEOUT_S)  # fmt: skip
