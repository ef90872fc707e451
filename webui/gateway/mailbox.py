"""Per-socket bounded state: the latest update per topic, conflated, with counted drops."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import msgspec

from pipelines.events import Event, to_json_dict
from pipelines.topics import matches
from webui.metrics import GATEWAY_DROPS

__all__ = ["CachedEvent", "Mailbox", "Socket", "Subscriber", "valid_pattern"]

Entry = list[Any]  # [op, CachedEvent, merged]


class CachedEvent:
    """The latest event of a topic; its JSON form is encoded once, on first use, and shared by
    every socket that is sent it (only ``op`` and ``merged`` differ between their frames)."""

    __slots__ = ("_head", "_tail", "event", "seq", "topic")

    def __init__(self, topic: str, seq: int, event: Event) -> None:
        self.topic = topic
        self.seq = seq
        self.event = event
        self._head: str | None = None
        self._tail: str | None = None

    def data(self) -> dict[str, Any]:
        return to_json_dict(self.event)

    def data_json(self) -> bytes:
        return msgspec.json.encode(to_json_dict(self.event))

    def frame(self, op: str, merged: int) -> str:
        if self._head is None or self._tail is None:
            self._head = f', "topic": {json.dumps(self.topic)}, "seq": {self.seq}, "merged": '
            self._tail = f', "data": {self.data_json().decode()}}}'
        return f'{{"op": "{op}"{self._head}{merged}{self._tail}'


class Mailbox:
    """Pending frames keyed by topic. A newer update replaces the pending one (``merged`` grows
    by one plus what the newer one had already absorbed); a new topic when ``capacity`` topics
    are pending is dropped and counted. ``on_ready`` is called when the box stops being empty."""

    def __init__(self, capacity: int, on_ready: Callable[[], None] | None = None) -> None:
        self.capacity = capacity
        self.on_ready = on_ready
        self._pending: dict[str, Entry] = {}
        self.dropped = 0
        self.merged = 0

    def offer(self, op: str, cached: CachedEvent, merged: int = 0) -> int:
        """Queue ``cached`` (which already absorbed ``merged`` updates); returns the number of
        updates this offer conflated into a pending one (0 when none was pending)."""
        entry = self._pending.get(cached.topic)
        if entry is not None:
            if entry[1] is cached:  # the same update, reaching this socket by a second pattern
                return 0
            entry[1] = cached  # keep the first op: a pending snapshot stays a snapshot
            entry[2] += 1 + merged
            self.merged += 1 + merged
            return 1 + merged
        if len(self._pending) >= self.capacity:
            self.dropped += 1
            GATEWAY_DROPS.inc()
            return 0
        self._pending[cached.topic] = [op, cached, merged]
        if len(self._pending) == 1 and self.on_ready is not None:
            self.on_ready()
        return 0

    def discard(self, keep: Callable[[str], bool]) -> None:
        """Forget pending topics for which ``keep(topic)`` is false (after an unsubscribe)."""
        for topic in [t for t in self._pending if not keep(t)]:
            del self._pending[topic]

    def take(self) -> list[Entry]:
        """Every pending entry, oldest topic first; the box is empty afterwards."""
        pending, self._pending = self._pending, {}
        return list(pending.values())

    def requeue(self, entries: Iterable[Entry]) -> None:
        """Put back entries that were taken but not sent, ahead of what arrived meanwhile (the
        caller, which holds the socket back, arranges the next flush)."""
        arrived, self._pending = self._pending, {}
        for entry in entries:
            self._pending[entry[1].topic] = entry
        for topic, newer in arrived.items():
            older = self._pending.get(topic)
            if older is None:
                self._pending[topic] = newer
            else:
                older[1] = newer[1]
                older[2] += 1 + newer[2]
                self.merged += 1 + newer[2]

    def drain(self) -> list[str]:
        return [cached.frame(op, merged) for op, cached, merged in self.take()]

    def __len__(self) -> int:
        return len(self._pending)


def valid_pattern(pattern: Any) -> bool:
    if not isinstance(pattern, str) or not pattern or len(pattern) > 512:
        return False
    tokens = pattern.split(".")
    return all(tokens) and ">" not in tokens[:-1]


class Socket(Protocol):
    """What the fan-out needs of a WebSocket connection (the consumer provides it)."""

    async def send_text(self, text: str) -> bool:
        """Send one frame; False when the connection is already gone (nothing is raised)."""
        ...

    def backlog(self) -> int:
        """Bytes accepted for this connection but not yet written to the network."""
        ...

    async def cut_off(self, code: str, message: str) -> None:
        """Send an error frame and close (the client could not keep up)."""
        ...


class Subscriber:
    """One socket's topic patterns, mailbox and pacing state (owned by the fan-out)."""

    __slots__ = (
        "backlog_limit",
        "closed",
        "heartbeat_seconds",
        "mailbox",
        "next_heartbeat",
        "patterns",
        "socket",
        "stall_seconds",
        "stalled_since",
    )

    def __init__(
        self,
        capacity: int,
        socket: Socket | None = None,
        heartbeat_seconds: float = 5.0,
        backlog_limit: int = 256 * 1024,
        stall_seconds: float = 15.0,
    ) -> None:
        self.patterns: set[str] = set()
        self.mailbox = Mailbox(capacity)
        self.socket = socket
        self.heartbeat_seconds = heartbeat_seconds
        self.backlog_limit = backlog_limit
        self.stall_seconds = stall_seconds
        self.stalled_since: float | None = None
        self.next_heartbeat = 0.0
        self.closed = False

    def wants(self, topic: str) -> bool:
        return any(matches(pattern, topic) for pattern in self.patterns)
