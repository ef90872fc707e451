"""Rolling windows over the last N events and/or the last T seconds, with running sums.

A rolling calculator keeps its entries in a ring of arrays (one per column, no tuple per event) and
running sums of the entries *minus a reference* (shifted sums): with prices near 1e9 and moves of
1e-3, sums of raw squares would lose every significant digit, sums of deviations from a nearby
reference do not. Adding and removing entries lets rounding errors accumulate, so the sums are
recomputed from the retained entries (with a fresh reference) once every ``max(len, 64)``
updates, and whenever removals leave 8 entries or fewer: amortized O(1), and the drift stays
bounded by what one such stretch can add.

Time windows keep the entries with ``ts > now - seconds`` (the half-open ``(now - T, now]`` of
pandas' time-based rolling); timestamps are expected not to go backwards.

The per-event state and arithmetic of a rolling calculator live in a *kernel*, a subclass of
:class:`~pipelines.core.calculators.rolling_kernel.RollingKernel` in its own module
(``<calculator>_kernel.py``, one source compiled when built, docs/decisions/0117). The plugin
(:class:`Rolling`) owns one kernel and hands the kernel's bound methods to the pipeline.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Protocol, TypeVar

import msgspec
from msgspec import Meta

from pipelines.core.calculators.base import Calculator

__all__ = ["Rolling", "WindowKernel", "WindowParams", "window_limits"]

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
    """What :class:`Rolling` needs from a kernel."""

    def set_window(self, limit: int, span: int) -> None: ...

    def resize(self, limit: int, span: int) -> None: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


W = TypeVar("W", bound=WindowParams)


class Rolling(Calculator[W]):
    """A calculator over a window: owns a kernel (a ``RollingKernel``) built by the
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
