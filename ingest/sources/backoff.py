"""Reconnect delays: capped exponential backoff with full jitter.

Attempt ``n`` (0-based) waits a uniform random time in ``[0, min(maximum, initial * factor**n))``
("full jitter"): many clients cut off by one venue outage spread their reconnects instead of
returning in lock-step. A connection that stayed up for ``reset_after`` seconds counts as healthy,
so the next failure starts again from ``initial``; a venue that accepts and then drops every
connection keeps backing off. Randomness and the clock are injected so tests pin both.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Delays between reconnect attempts of one source."""

    def __init__(
        self,
        initial: float = 0.1,
        maximum: float = 30.0,
        *,
        factor: float = 2.0,
        reset_after: float = 10.0,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.reset_after = reset_after
        self.random = random
        self.clock = clock
        self.attempt = 0
        self._connected_at: float | None = None

    def ceiling(self, attempt: int) -> float:
        """The cap of attempt ``attempt``'s delay (before jitter)."""
        # Cap the exponent too: factor**attempt overflows a float after ~1000 attempts.
        if attempt > 64:
            return self.maximum
        return min(self.maximum, self.initial * self.factor**attempt)

    def connected(self) -> None:
        """A connection is up: remember when, to judge whether it was healthy once it drops."""
        self._connected_at = self.clock()

    def next_delay(self) -> float:
        """The delay before the next attempt; call once per failed or dropped connection."""
        if self._connected_at is not None:
            if self.clock() - self._connected_at >= self.reset_after:
                self.attempt = 0
            self._connected_at = None
        delay = self.random() * self.ceiling(self.attempt)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
        self._connected_at = None
