"""Per-socket bounded state: the latest update per topic, conflated, with counted drops."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec

from pipelines.events import Event, to_json_dict
from pipelines.topics import matches
from webui.metrics import GATEWAY_DROPS, GATEWAY_MERGED

__all__ = ["CachedEvent", "Mailbox", "Subscriber", "valid_pattern"]


class CachedEvent:
    """The latest event of a topic; its JSON form is encoded once, on first use."""

    __slots__ = ("_data_json", "event", "seq", "topic")

    def __init__(self, topic: str, seq: int, event: Event) -> None:
        self.topic = topic
        self.seq = seq
        self.event = event
        self._data_json: bytes | None = None

    def data(self) -> dict[str, Any]:
        return to_json_dict(self.event)

    def data_json(self) -> bytes:
        if self._data_json is None:
            self._data_json = msgspec.json.encode(to_json_dict(self.event))
        return self._data_json

    def frame(self, op: str, merged: int) -> str:
        head = json.dumps({"op": op, "topic": self.topic, "seq": self.seq, "merged": merged})
        return f'{head[:-1]}, "data": {self.data_json().decode()}}}'


class Mailbox:
    """Pending frames keyed by topic. A newer update replaces the pending one (``merged`` + 1);
    a new topic when ``capacity`` topics are pending is dropped and counted."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._pending: dict[str, list[Any]] = {}  # topic -> [op, CachedEvent, merged]
        self._ready = asyncio.Event()
        self.dropped = 0
        self.merged = 0

    def offer(self, op: str, cached: CachedEvent) -> None:
        entry = self._pending.get(cached.topic)
        if entry is not None:
            entry[1] = cached  # keep the first op: a pending snapshot stays a snapshot
            entry[2] += 1
            self.merged += 1
            GATEWAY_MERGED.inc()
        elif len(self._pending) >= self.capacity:
            self.dropped += 1
            GATEWAY_DROPS.inc()
            return
        else:
            self._pending[cached.topic] = [op, cached, 0]
        self._ready.set()

    def discard(self, keep: Any) -> None:
        """Forget pending topics for which ``keep(topic)`` is false (after an unsubscribe)."""
        for topic in [t for t in self._pending if not keep(t)]:
            del self._pending[topic]

    def drain(self) -> list[str]:
        pending, self._pending = self._pending, {}
        self._ready.clear()
        return [cached.frame(op, merged) for op, cached, merged in pending.values()]

    async def wait(self) -> None:
        await self._ready.wait()

    def __len__(self) -> int:
        return len(self._pending)


def valid_pattern(pattern: Any) -> bool:
    if not isinstance(pattern, str) or not pattern or len(pattern) > 512:
        return False
    tokens = pattern.split(".")
    return all(tokens) and ">" not in tokens[:-1]


class Subscriber:
    """One socket's topic patterns and mailbox."""

    def __init__(self, capacity: int) -> None:
        self.patterns: set[str] = set()
        self.mailbox = Mailbox(capacity)

    def wants(self, topic: str) -> bool:
        return any(matches(pattern, topic) for pattern in self.patterns)
