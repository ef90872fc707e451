"""Fan-out: which sockets want a topic, and one task that writes every socket's frames.

The work is per topic, not per event and socket. ``publish`` only marks a topic dirty with its
latest event (and how many updates that one absorbed). Once per round (every 20 ms at most,
less often when a round itself takes longer, so load turns into conflation rather than delay)
each dirty topic is offered to the sockets that want it, found through an index kept current
on (un)subscribe: pattern -> sockets, topic -> matching patterns. No socket's patterns are
matched per event.

A socket is written only while its backlog (bytes the server accepted but has not yet written
to the network) is under its limit; meanwhile its mailbox conflates (latest per topic,
bounded). A socket that stays over the limit for its stall period, a client that stopped
reading or a dead peer, gets a ``slow_consumer`` error frame and is closed: a slow or dead
client costs its own bounded backlog and nothing else. A send to a socket that is already
gone drops the socket, counted, with no traceback. Heartbeats go out from the same task.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
import time
from collections.abc import Mapping

from pipelines.topics import matches
from webui.gateway.mailbox import CachedEvent, Subscriber
from webui.metrics import (
    GATEWAY_FRAMES,
    GATEWAY_MERGED,
    WS_CUT_OFF,
    WS_SEND_CLOSED,
    WS_SUBSCRIBERS,
)

__all__ = ["FanOut"]

log = logging.getLogger(__name__)

_SLICE_SECONDS = 0.005  # a long round yields to the event loop this often (handshakes, /healthz)


class FanOut:
    def __init__(self, latest: Mapping[str, CachedEvent], round_seconds: float = 0.02) -> None:
        self.latest = latest  # the gateway's cache: snapshots come from it
        self.round_seconds = round_seconds
        self.subscribers: set[Subscriber] = set()
        self._pattern_subs: dict[str, set[Subscriber]] = {}
        self._pattern_topics: dict[str, dict[str, None]] = {}  # insertion-ordered sets
        self._topic_patterns: dict[str, tuple[str, ...]] = {}
        self._dirty: dict[str, tuple[CachedEvent, int]] = {}
        self._ready: dict[Subscriber, None] = {}
        self._heartbeats: list[tuple[float, int, Subscriber]] = []
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self._task = loop.create_task(self._run(), name="gateway-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.round(started)
            except Exception:  # one bad round must not end delivery to every socket
                log.exception("gateway: fan-out round failed")
            await asyncio.sleep(max(self.round_seconds - (time.monotonic() - started), 0))

    # --- sockets and subscriptions (synchronous: called from the consumers) -----------------
    def register(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        subscriber.mailbox.on_ready = lambda: self._ready.__setitem__(subscriber, None)
        if subscriber.socket is not None and subscriber.heartbeat_seconds > 0:
            subscriber.next_heartbeat = time.monotonic() + subscriber.heartbeat_seconds
            heapq.heappush(
                self._heartbeats, (subscriber.next_heartbeat, next(self._order), subscriber)
            )
        WS_SUBSCRIBERS.set(len(self.subscribers))

    def unregister(self, subscriber: Subscriber) -> None:
        """Forget the socket everywhere; idempotent, and it never awaits."""
        subscriber.closed = True
        self.subscribers.discard(subscriber)
        WS_SUBSCRIBERS.set(len(self.subscribers))
        self._ready.pop(subscriber, None)
        for pattern in list(subscriber.patterns):
            self._drop(pattern, subscriber)
        subscriber.patterns.clear()
        subscriber.mailbox.on_ready = None
        subscriber.mailbox.take()

    def subscribe(self, subscriber: Subscriber, patterns: list[str]) -> None:
        """Add patterns and queue a snapshot of every cached topic that they newly match."""
        if subscriber.closed:
            return
        old = subscriber.patterns
        new = [p for p in dict.fromkeys(patterns) if p not in old]
        for pattern in new:
            self._track(pattern).add(subscriber)
        seen: set[str] = set()
        for pattern in new:
            for topic in self._pattern_topics[pattern]:
                if topic in seen:
                    continue
                seen.add(topic)
                if any(p in old for p in self._topic_patterns[topic]):
                    continue
                cached = self.latest.get(topic)
                if cached is not None:
                    subscriber.mailbox.offer("snapshot", cached)
        old.update(new)

    def unsubscribe(self, subscriber: Subscriber, patterns: list[str]) -> None:
        removed = [p for p in dict.fromkeys(patterns) if p in subscriber.patterns]
        subscriber.patterns.difference_update(removed)
        for pattern in removed:
            self._drop(pattern, subscriber)
        subscriber.mailbox.discard(subscriber.wants)

    def wanted_by(self, topic: str) -> set[Subscriber]:
        """The sockets a topic goes to (from the index)."""
        found: set[Subscriber] = set()
        for pattern in self._patterns_of(topic):
            found |= self._pattern_subs[pattern]
        return found

    # --- the index -------------------------------------------------------------------------
    def _patterns_of(self, topic: str) -> tuple[str, ...]:
        patterns = self._topic_patterns.get(topic)
        if patterns is None:
            patterns = tuple(p for p in self._pattern_subs if matches(p, topic))
            for pattern in patterns:
                self._pattern_topics[pattern][topic] = None
            self._topic_patterns[topic] = patterns
        return patterns

    def _track(self, pattern: str) -> set[Subscriber]:
        subscribers = self._pattern_subs.get(pattern)
        if subscribers is not None:
            return subscribers
        subscribers = self._pattern_subs[pattern] = set()
        topics = self._pattern_topics[pattern] = {}
        for topic, known in self._topic_patterns.items():
            if matches(pattern, topic):
                self._topic_patterns[topic] = (*known, pattern)
                topics[topic] = None
        for topic in self.latest:
            self._patterns_of(topic)  # a cached topic not indexed yet: this pattern included
        return subscribers

    def _drop(self, pattern: str, subscriber: Subscriber) -> None:
        subscribers = self._pattern_subs.get(pattern)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if subscribers:
            return
        del self._pattern_subs[pattern]
        for topic in self._pattern_topics.pop(pattern, {}):
            self._topic_patterns[topic] = tuple(
                p for p in self._topic_patterns[topic] if p != pattern
            )

    # --- delivery ----------------------------------------------------------------------------
    def publish(self, topic: str, cached: CachedEvent, absorbed: int = 0) -> None:
        """``cached`` is now the topic's latest; it absorbed ``absorbed`` earlier updates."""
        if not self._patterns_of(topic):
            return
        pending = self._dirty.get(topic)
        self._dirty[topic] = (cached, absorbed if pending is None else pending[1] + 1 + absorbed)

    def route(self) -> None:
        """Offer every dirty topic's latest to the mailboxes of the sockets that want it."""
        dirty, self._dirty = self._dirty, {}
        pattern_subs = self._pattern_subs
        for topic, (cached, absorbed) in dirty.items():
            patterns = self._topic_patterns.get(topic, ())
            if len(patterns) == 1:
                for subscriber in pattern_subs[patterns[0]]:
                    subscriber.mailbox.offer("delta", cached, absorbed)
            else:
                for subscriber in self.wanted_by(topic):
                    subscriber.mailbox.offer("delta", cached, absorbed)

    async def round(self, now: float) -> None:
        self.route()
        await self._flush(now)
        await self._beat(now)

    def _writable(self, subscriber: Subscriber, now: float) -> bool | None:
        """True: under its backlog limit; False: hold; None: held too long, cut it off."""
        assert subscriber.socket is not None
        if subscriber.socket.backlog() <= subscriber.backlog_limit:
            subscriber.stalled_since = None
            return True
        if subscriber.stalled_since is None:
            subscriber.stalled_since = now
        elif now - subscriber.stalled_since > subscriber.stall_seconds:
            return None
        return False

    async def _cut_off(self, subscriber: Subscriber) -> None:
        assert subscriber.socket is not None
        self.unregister(subscriber)
        WS_CUT_OFF.inc()
        await subscriber.socket.cut_off(
            "slow_consumer",
            f"more than {subscriber.backlog_limit} bytes stayed unsent for "
            f"{subscriber.stall_seconds:g} s; the connection is closed",
        )

    def _gone(self, subscriber: Subscriber) -> None:
        WS_SEND_CLOSED.inc()
        self.unregister(subscriber)

    async def _flush(self, now: float) -> None:
        ready, self._ready = self._ready, {}
        sent = merged = 0
        slice_started = time.perf_counter()
        for subscriber in ready:
            socket = subscriber.socket
            if subscriber.closed or socket is None:
                continue
            writable = self._writable(subscriber, now)
            if writable is None:
                await self._cut_off(subscriber)
                continue
            if not writable:
                self._ready[subscriber] = None  # try again next round
                continue
            entries = subscriber.mailbox.take()
            for i, (op, cached, absorbed) in enumerate(entries):
                if not await socket.send_text(cached.frame(op, absorbed)):
                    self._gone(subscriber)
                    break
                sent += 1
                merged += absorbed
                if i + 1 < len(entries) and socket.backlog() > subscriber.backlog_limit:
                    subscriber.mailbox.requeue(entries[i + 1 :])
                    self._ready[subscriber] = None
                    break
            if time.perf_counter() - slice_started > _SLICE_SECONDS:
                await asyncio.sleep(0)
                slice_started = time.perf_counter()
        if sent:
            GATEWAY_FRAMES.labels("data").inc(sent)
        if merged:
            GATEWAY_MERGED.inc(merged)

    async def _beat(self, now: float) -> None:
        heap = self._heartbeats
        if not heap or heap[0][0] > now:
            return
        frame = json.dumps({"op": "heartbeat", "ts": time.time_ns()})
        sent = 0
        while heap and heap[0][0] <= now:
            due, _, subscriber = heapq.heappop(heap)
            socket = subscriber.socket
            if subscriber.closed or socket is None:
                continue
            writable = self._writable(subscriber, now)
            if writable is None:
                await self._cut_off(subscriber)
                continue
            if writable:
                if not await socket.send_text(frame):
                    self._gone(subscriber)
                    continue
                sent += 1
            subscriber.next_heartbeat = max(due + subscriber.heartbeat_seconds, now)
            heapq.heappush(heap, (subscriber.next_heartbeat, next(self._order), subscriber))
        if sent:
            GATEWAY_FRAMES.labels("heartbeat").inc(sent)
