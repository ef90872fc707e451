"""Rolling windows over the last N events and/or the last T seconds, with running sums.

A rolling calculator keeps its entries in deques (one per column, so no tuple per event) and
running sums of the entries *minus a reference* (shifted sums): with prices near 1e9 and moves of
1e-3, sums of raw squares would lose every significant digit, sums of deviations from a nearby
reference do not. Adding and removing entries lets rounding errors accumulate, so the sums are
recomputed from the retained entries (with a fresh reference) once every ``max(len, 64)``
updates, and whenever removals leave 8 entries or fewer: amortized O(1), and the drift stays
bounded by what one such stretch can add.

Time windows keep the entries with ``ts > now - seconds`` (the half-open ``(now - T, now]`` of
pandas' time-based rolling); timestamps are expected not to go backwards.
"""

from __future__ import annotations

import sys
from abc import abstractmethod
from collections import deque
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from pipelines.core.calculators.base import Calculator

__all__ = ["RECOMPUTE_MIN", "Rolling", "WindowParams"]

RECOMPUTE_MIN = 64
SMALL = 8
Window = Annotated[int, Meta(gt=0, le=10_000_000)]
Seconds = Annotated[float, Meta(gt=0, le=31_622_400)]


class WindowParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A window of the last ``window`` entries, of the last ``seconds``, or both (both apply)."""

    window: Window | None = None
    """Number of entries the window keeps."""
    seconds: Seconds | None = None
    """Time span the window keeps (by the events' ``ts_recv``)."""

    def __post_init__(self) -> None:
        if self.window is None and self.seconds is None:
            raise ValueError("set `window` (entries), `seconds` (time span) or both")


class Rolling(Calculator):
    """A calculator over a window: subclasses keep columns and shifted sums."""

    def __init__(self, params: msgspec.Struct) -> None:
        super().__init__(params)
        self._ts: deque[int] = deque()
        self._since = 0  # updates since the sums were last recomputed
        self._set_window(params)

    def _set_window(self, params: Any) -> None:
        self._limit: int = params.window if params.window is not None else sys.maxsize
        self._span: int = round(params.seconds * 1e9) if params.seconds is not None else 0

    def _evict(self, now: int) -> None:
        """Drop the entries outside the window; called after the newest entry was added."""
        ts = self._ts
        limit = self._limit
        before = len(ts)
        if self._span:
            horizon = now - self._span
            while len(ts) > limit or ts[0] <= horizon:
                self._drop_oldest()
        else:
            while len(ts) > limit:
                self._drop_oldest()
        n = len(ts)
        self._since += 1
        # A window shrunk to a few entries is recomputed at once (O(SMALL)): removals leave a
        # rounding residue of the size of what left, which a few small entries cannot absorb.
        if (self._since >= RECOMPUTE_MIN and self._since >= n) or (n < before and n <= SMALL):
            self._since = 0
            self._recompute()

    def resize(self, params: msgspec.Struct) -> None:
        """A new window keeps the retained entries that fit it (a longer window fills up)."""
        self.params = params
        self._set_window(params)
        ts = self._ts
        if ts:
            self._evict(ts[-1])
            self._since = 0
            self._recompute()

    def clear(self) -> None:
        while self._ts:
            self._drop_oldest()
        self._since = 0
        self._recompute()

    def __len__(self) -> int:
        return len(self._ts)

    @abstractmethod
    def _drop_oldest(self) -> None:
        """Remove the oldest entry from every column and from the running sums."""

    @abstractmethod
    def _recompute(self) -> None:
        """Rebuild the running sums from the retained entries, around a fresh reference."""
