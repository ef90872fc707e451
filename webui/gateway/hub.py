"""The Gateway: poll every ring of the prefix, keep the latest event per topic, fan out.

Runs as one asyncio task in the daphne process, started lazily (first request or WebSocket).
Rings that appear later (a restarted worker) are picked up by a rescan once a second; a ring
whose file was replaced, or whose writer started over, is re-attached from its start.

What one poll reads is conflated per topic before anything else: only the newest record of a
topic is decoded (an older one only when the newer does not decode) and handed to the fan-out
(:mod:`webui.gateway.fanout`) with the number of updates it absorbed, which reaches the
clients as ``merged``. Superseded records are never decoded, so ``decode_errors`` counts the
records that would have been delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time

import msgspec
from django.conf import settings

from pipelines.delivery.shm_ring import RingReader, ring_paths
from pipelines.events import BookSnapshot, Event, decode
from pipelines.topics import md_topic
from webui.gateway.fanout import FanOut
from webui.gateway.mailbox import CachedEvent, Subscriber
from webui.metrics import GATEWAY_EVENTS, GATEWAY_OVERRUNS, GATEWAY_RINGS

__all__ = ["Gateway", "get_gateway", "set_gateway"]

log = logging.getLogger(__name__)

_BATCH = 4096
_RESCAN_SECONDS = 1.0


class _Ring:
    def __init__(self, path: str, from_start: bool) -> None:
        self.path = path
        self.inode = os.stat(path).st_ino
        self.reader = RingReader(path, from_start=from_start)
        self.overruns_seen = 0


class Gateway:
    def __init__(self, prefix: str, poll_seconds: float = 0.02) -> None:
        self.prefix = prefix
        self.poll_seconds = poll_seconds
        self.latest: dict[str, CachedEvent] = {}
        self.fanout = FanOut(self.latest)
        self.decode_errors = 0
        self._rings: dict[str, _Ring] = {}
        self._last_scan = -_RESCAN_SECONDS
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Start the polling task on the running loop unless it already runs there."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self._task = loop.create_task(self._run(), name=f"gateway:{self.prefix}")
        self.fanout.ensure_started()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.fanout.stop()
        self.close()

    def close(self) -> None:
        for ring in self._rings.values():
            ring.reader.close()
        self._rings.clear()
        GATEWAY_RINGS.set(0)

    async def _run(self) -> None:
        log.info("gateway: reading rings %s-w*", self.prefix)
        while True:
            try:
                count = self.poll_once()
            except Exception:  # a bad ring must not end the gateway; log and go on
                log.exception("gateway: poll failed")
                count = 0
            await asyncio.sleep(0 if count >= _BATCH else self.poll_seconds)

    # --- reading -----------------------------------------------------------------------------
    def rescan(self) -> None:
        paths = set(ring_paths(self.prefix))
        for path in list(self._rings):
            if path not in paths:
                self._rings.pop(path).reader.close()
        for path in paths:
            ring = self._rings.get(path)
            try:
                inode = os.stat(path).st_ino
                if ring is not None and ring.inode != inode:
                    ring.reader.close()
                    ring = None
                if ring is None:
                    # From the oldest record held: the cache has every topic's latest at once.
                    self._rings[path] = _Ring(path, from_start=True)
            except (OSError, ValueError) as exc:  # vanished, or its writer is still creating it
                self._rings.pop(path, None)
                log.debug("gateway: ring %s not ready: %s", path, exc)
        GATEWAY_RINGS.set(len(self._rings))

    def poll_once(self, now: float | None = None) -> int:
        """Read what the rings hold now and fan it out; returns the number of records."""
        now = time.monotonic() if now is None else now
        if now - self._last_scan >= _RESCAN_SECONDS or not self._rings:
            self.rescan()
            self._last_scan = now
        total = 0
        for path, ring in list(self._rings.items()):
            reader = ring.reader
            if reader.head < reader.next_seq - 1:  # the writer started over in the same file
                reader.close()
                ring = self._rings[path] = _Ring(path, from_start=True)
                reader = ring.reader
            records = reader.poll(_BATCH)
            if reader.overruns != ring.overruns_seen:
                GATEWAY_OVERRUNS.inc(reader.overruns - ring.overruns_seen)
                ring.overruns_seen = reader.overruns
            self._publish_conflated(records)
            total += len(records)
        if total:
            GATEWAY_EVENTS.inc(total)
        return total

    def _publish_conflated(self, records: list[tuple[int, str, bytes]]) -> None:
        """Publish the newest decodable record of each topic, newest last."""
        absorbed: dict[str, int] = {}  # topic decoded -> its older records in this batch
        newest: list[tuple[str, int, Event]] = []
        for ring_seq, topic, payload in reversed(records):
            if topic in absorbed:
                absorbed[topic] += 1
                continue
            try:
                event = decode(payload)
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.decode_errors += 1  # an older record of the topic is tried instead
                continue
            absorbed[topic] = 0
            newest.append((topic, event.seq or ring_seq, event))
        for topic, seq, event in reversed(newest):
            self.publish(topic, seq, event, absorbed[topic])

    # --- fan-out -----------------------------------------------------------------------------
    def publish(self, topic: str, seq: int, event: Event, absorbed: int = 0) -> None:
        """``event`` is now the latest of ``topic``; it absorbed ``absorbed`` earlier updates."""
        cached = CachedEvent(topic, seq, event)
        self.latest[topic] = cached
        self.fanout.publish(topic, cached, absorbed)

    @property
    def subscribers(self) -> set[Subscriber]:
        return self.fanout.subscribers

    def register(self, subscriber: Subscriber) -> None:
        self.fanout.register(subscriber)

    def unregister(self, subscriber: Subscriber) -> None:
        self.fanout.unregister(subscriber)

    def subscribe(self, subscriber: Subscriber, patterns: list[str]) -> None:
        """Add patterns and queue a snapshot of every cached topic that they newly match."""
        self.fanout.subscribe(subscriber, patterns)

    def unsubscribe(self, subscriber: Subscriber, patterns: list[str]) -> None:
        self.fanout.unsubscribe(subscriber, patterns)

    def book(self, stream: str, symbol: str) -> BookSnapshot | None:
        cached = self.latest.get(md_topic(stream, symbol, "book"))
        if cached is None or not isinstance(cached.event, BookSnapshot):
            return None
        return cached.event


_gateway: Gateway | None = None


def get_gateway() -> Gateway:
    """The process's gateway for ``settings.TICKERPLANT_SHM_PREFIX`` (created on first use)."""
    global _gateway
    if _gateway is None:
        _gateway = Gateway(
            settings.TICKERPLANT_SHM_PREFIX, settings.TICKERPLANT_GATEWAY_POLL_SECONDS
        )
    return _gateway


def set_gateway(gateway: Gateway | None) -> Gateway | None:
    """Replace the process's gateway (tests); returns the previous one."""
    global _gateway
    previous, _gateway = _gateway, gateway
    return previous
