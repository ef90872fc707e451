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

The per-event state and arithmetic of a rolling calculator live in a *kernel*
(:class:`RollingKernel` subclasses, one per calculator module): this Python code is the reference,
and a compiled twin (``_c<module>.pyx``, docs/decisions/0113) replaces it when built. The plugin
(:class:`Rolling`) owns one kernel and hands the kernel's bound methods to the pipeline.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections import deque
from typing import Annotated, Any, Protocol, TypeVar

import msgspec
from msgspec import Meta

from pipelines.core.calculators.base import Calculator

__all__ = [
    "RECOMPUTE_MIN",
    "Rolling",
    "RollingKernel",
    "WindowKernel",
    "WindowParams",
    "window_limits",
]

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


def window_limits(params: Any) -> tuple[int, int]:
    """``(entries, span_ns)`` of a window's params: ``sys.maxsize`` / ``0`` when not set."""
    limit: int = params.window if params.window is not None else sys.maxsize
    span: int = round(params.seconds * 1e9) if params.seconds is not None else 0
    return limit, span


class WindowKernel(Protocol):
    """What :class:`Rolling` needs from a kernel (the Python one and its compiled twin)."""

    def set_window(self, limit: int, span: int) -> None: ...

    def resize(self, limit: int, span: int) -> None: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


class RollingKernel(ABC):
    """The reference window: a deque of times, the eviction rule and the recompute schedule.

    Subclasses keep their columns and shifted sums, and implement ``_drop_oldest`` and
    ``_recompute``. Times are integer ns (``ts_recv``), from 0 up (the compiled twin holds them
    in int64).
    """

    def __init__(self) -> None:
        self._ts: deque[int] = deque()
        self._since = 0  # updates since the sums were last recomputed
        self._limit = sys.maxsize
        self._span = 0

    def set_window(self, limit: int, span: int) -> None:
        """Keep at most ``limit`` entries and/or those of the last ``span`` ns (0: no span)."""
        self._limit = limit
        self._span = span

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

    def resize(self, limit: int, span: int) -> None:
        """A new window keeps the retained entries that fit it (a longer window fills up)."""
        self.set_window(limit, span)
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


W = TypeVar("W", bound=WindowParams)


class Rolling(Calculator[W]):
    """A calculator over a window: owns a kernel (see :class:`RollingKernel`) built by the
    subclass's ``__init__`` (before calling this one), sized here from the params."""

    kernel: WindowKernel

    def __init__(self, params: W) -> None:
        super().__init__(params)
        self.kernel.set_window(*window_limits(params))

    def resize(self, params: W) -> None:
        """A new window keeps the retained entries that fit it (a longer window fills up)."""
        self.params = params
        self.kernel.resize(*window_limits(params))

    def clear(self) -> None:
        self.kernel.clear()

    def __len__(self) -> int:
        return len(self.kernel)
