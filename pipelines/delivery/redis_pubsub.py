"""``kind="redis"``: Redis pub/sub, msgpack payloads, the topic as the channel name.

The pipeline only appends to a bounded queue; a background thread drains it in pipelined
``PUBLISH`` bursts. When the queue is full, or Redis is down, events are dropped and counted: a
slow or absent Redis never slows the pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Annotated, ClassVar

import msgspec
import redis
from msgspec import Meta

from pipelines.delivery.base import Routed, Sink, SinkContext
from pipelines.events import encoder
from pipelines.registry import SINKS
from pipelines.spec import SinkSpec

__all__ = ["RedisParams", "RedisSink"]

log = logging.getLogger(__name__)


class RedisParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    """``redis://host:port/db``; the seed's ``[delivery] target`` lands in ``target``."""
    target: str = ""
    channel_prefix: Annotated[str, Meta(max_length=100)] = ""
    queue_size: Annotated[int, Meta(gt=0, le=10_000_000)] = 100_000
    """Events held for the publisher thread before new ones are dropped."""

    @property
    def address(self) -> str:
        return self.url or self.target or "redis://localhost:6379"


@SINKS.register
class RedisSink(Sink[RedisParams]):
    kind: ClassVar[str] = "redis"
    Params: ClassVar[type[msgspec.Struct]] = RedisParams

    def __init__(
        self, name: str, spec: SinkSpec, params: RedisParams, context: SinkContext
    ) -> None:
        super().__init__(name, spec, params, context)
        self._queue: deque[Routed] = deque()
        self._pending = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._client = redis.Redis.from_url(
            params.address, socket_connect_timeout=1.0, socket_timeout=2.0
        )
        self._thread = threading.Thread(target=self._drain, name=f"redis-sink-{name}", daemon=True)
        self._thread.start()

    @property
    def queue_depth(self) -> int:
        return self._pending

    def publish(self, routed: Routed) -> None:
        selected = self.select(routed)
        if not selected:
            return
        size = len(selected)
        with self._lock:
            if self._pending + size > self.params.queue_size:
                self.dropped += size
                return
            self._queue.append(selected)
            self._pending += size
        self._wake.set()

    def _drain(self) -> None:
        backoff = 0.5
        prefix = self.params.channel_prefix
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                batches = list(self._queue)
                self._queue.clear()
                self._pending = 0
            if not batches:
                continue
            count = sum(len(b) for b in batches)
            try:
                pipe = self._client.pipeline(transaction=False)
                for batch in batches:
                    for topic, event in batch:
                        pipe.publish(prefix + topic, encoder.encode(event))
                pipe.execute()
                self.published += count
                backoff = 0.5
            except redis.RedisError as exc:
                self.dropped += count
                log.warning("redis sink %s: %s; dropped %d events", self.name, exc, count)
                self._stop.wait(backoff)  # at most one warning per backoff period
                backoff = min(backoff * 2, 5.0)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=3.0)
        self._client.close()
