"""The ingest-side publisher: sources' batches onto JetStream, asynchronously, bounded.

``publish(batch)`` is synchronous and never blocks (it is a bus handler on the source's path): the
batch is queued, or dropped and counted when the queue holds ``capacity`` events already. A drain
task publishes queued events, priority lane first, with ``publish_async``; at most
``max_in_flight`` publishes wait for their JetStream ack (the drain task waits beyond that, the
producer never does). Every event is one message with ``Nats-Msg-Id: <stream>:<seq>``, so a
re-published event (a restarted replay, a retried batch) is stored once within the stream's
duplicate window. Events with ``seq == 0`` (not sequenced at ingest) carry no id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Final

from nats.aio.client import Client
from nats.js.api import PubAck

from pipelines.bus.nats.layout import NatsLayout, lane_of
from pipelines.events import PRIORITY_CONTROL, Event, encoder
from pipelines.spec import shard_of
from pipelines.topics import event_topic

__all__ = ["NatsPublisher"]

log = logging.getLogger(__name__)

_MSG_ID: Final = "Nats-Msg-Id"
_WARN_INTERVAL_S = 10.0


class NatsPublisher:
    def __init__(
        self,
        client: Client,
        layout: NatsLayout,
        shard_count: int,
        *,
        capacity: int = 200_000,
        max_in_flight: int = 4096,
    ) -> None:
        self.layout = layout
        self.capacity = capacity
        self._js = client.jetstream(publish_async_max_pending=max_in_flight)
        self._shard_count = shard_count
        self._prefixes: dict[tuple[str, str, type], str] = {}
        self._normal: deque[list[Event]] = deque()
        self._priority: deque[list[Event]] = deque()
        self._depth = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_warning = 0.0
        self._task: asyncio.Task[None] | None = None
        self.queued = 0
        self.sent = 0
        self.stored = 0
        self.duplicates = 0
        self.failed = 0
        self.dropped = 0

    @property
    def shard_count(self) -> int:
        return self._shard_count

    @shard_count.setter
    def shard_count(self, count: int) -> None:
        if count != self._shard_count:
            self._shard_count = count
            self._prefixes.clear()

    @property
    def depth(self) -> int:
        """Events queued, not yet handed to the connection."""
        return self._depth

    @property
    def in_flight(self) -> int:
        return self._js.publish_async_pending()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="nats-publisher")

    async def close(self, timeout: float = 10.0) -> None:
        """Publish what is queued, wait for the acks (up to ``timeout``), stop."""
        with contextlib.suppress(TimeoutError):
            await self.flush(timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def publish(self, batch: list[Event]) -> None:
        """Queue ``batch`` (one lane, chosen by its first event's priority) or drop it, counted."""
        size = len(batch)
        if not size:
            return
        if self._depth + size > self.capacity:
            self.dropped += size
            now = time.monotonic()
            if now - self._last_warning >= _WARN_INTERVAL_S:
                self._last_warning = now
                log.warning("NATS publisher full: %d events dropped so far", self.dropped)
            return
        if batch[0].priority >= PRIORITY_CONTROL:
            self._priority.append(batch)
        else:
            self._normal.append(batch)
        self._depth += size
        self.queued += size
        self._idle.clear()
        self._wake.set()

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued event was published and acknowledged; TimeoutError after
        ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()
            await self._js.publish_async_completed()

    def _prefix(self, event: Event) -> str:
        key = (event.stream, event.symbol, type(event))
        prefix = self._prefixes.get(key)
        if prefix is None:
            shard = shard_of(event.stream, event.symbol, self._shard_count)
            token = self.layout.lane_token(lane_of(event))
            prefix = self._prefixes[key] = self.layout.shard_prefix(shard) + token
        return prefix

    async def _drain(self) -> None:
        priority, normal = self._priority, self._normal
        publish = self._js.publish_async
        encode = encoder.encode
        while True:
            if not priority and not normal:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = priority.popleft() if priority else normal.popleft()
            self._depth -= len(batch)
            for event in batch:
                subject = self._prefix(event) + event_topic(event)
                seq = event.seq
                headers = {_MSG_ID: f"{event.stream}:{seq}"} if seq else None
                try:
                    future = await publish(subject, encode(event), headers=headers)
                except Exception:
                    self._failed()
                    continue
                future.add_done_callback(self._acked)
                self.sent += 1

    def _acked(self, future: asyncio.Future[PubAck]) -> None:
        if future.cancelled() or future.exception() is not None:
            self._failed()
            return
        if future.result().duplicate:
            self.duplicates += 1
        else:
            self.stored += 1

    def _failed(self) -> None:
        self.failed += 1
        now = time.monotonic()
        if now - self._last_warning >= _WARN_INTERVAL_S:
            self._last_warning = now
            log.warning("NATS publish failed: %d events so far", self.failed)
