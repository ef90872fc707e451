"""The in-process bus: synchronous dispatch through bounded queues with a priority lane.

``publish`` enqueues a batch and, unless a dispatch is already running further up the stack,
dispatches at once: handlers run in the publisher's call, and a handler that publishes (derived
events) has its batch queued behind the current one instead of recursing. The priority lane
(``Alert``, ``Status``: priority >= ``PRIORITY_CONTROL``) is always drained first. Each lane is
bounded in events; a batch that does not fit is dropped and counted, never blocking the producer.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from pipelines.events import PRIORITY_CONTROL, Event

__all__ = ["Handler", "InProcessBus"]

Handler = Callable[[list[Event]], None]

log = logging.getLogger(__name__)

_WARN_INTERVAL_S = 10.0


class InProcessBus:
    def __init__(self, capacity: int = 1_000_000, priority_capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.priority_capacity = priority_capacity
        self._handlers: list[Handler] = []
        self._normal: deque[list[Event]] = deque()
        self._priority: deque[list[Event]] = deque()
        self._normal_depth = 0
        self._priority_depth = 0
        self._dispatching = False
        self._last_warning = 0.0
        self.published = 0
        self.dispatched = 0
        self.dropped = 0
        self.handler_errors = 0

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def unsubscribe(self, handler: Handler) -> None:
        self._handlers.remove(handler)

    @property
    def depth(self) -> int:
        """Events queued and not yet dispatched (both lanes)."""
        return self._normal_depth + self._priority_depth

    def publish(self, batch: list[Event], priority: bool | None = None) -> None:
        """Queue ``batch`` and dispatch; ``priority=None`` looks at the first event's priority
        (a batch is one lane: publishers keep control events in batches of their own)."""
        if not batch:
            return
        if priority is None:
            priority = batch[0].priority >= PRIORITY_CONTROL
        size = len(batch)
        if priority:
            if self._priority_depth + size > self.priority_capacity:
                self._drop(size)
                return
            self._priority.append(batch)
            self._priority_depth += size
        else:
            if self._normal_depth + size > self.capacity:
                self._drop(size)
                return
            self._normal.append(batch)
            self._normal_depth += size
        self.published += size
        if not self._dispatching:
            self.dispatch()

    def publish_control(self, event: Event) -> None:
        self.publish([event], priority=True)

    def dispatch(self) -> None:
        """Deliver every queued batch, priority lane first, until both lanes are empty."""
        self._dispatching = True
        try:
            priority, normal = self._priority, self._normal
            while priority or normal:
                if priority:
                    batch = priority.popleft()
                    self._priority_depth -= len(batch)
                else:
                    batch = normal.popleft()
                    self._normal_depth -= len(batch)
                for handler in self._handlers:
                    try:
                        handler(batch)
                    except Exception:
                        # One failing consumer must not stop the others or the source.
                        self.handler_errors += 1
                        log.exception("bus handler %r failed on a batch", handler)
                self.dispatched += len(batch)
        finally:
            self._dispatching = False

    def _drop(self, size: int) -> None:
        self.dropped += size
        now = time.monotonic()
        if now - self._last_warning >= _WARN_INTERVAL_S:
            self._last_warning = now
            log.warning("bus full: dropped %d events so far", self.dropped)
