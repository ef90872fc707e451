"""The common base of the series kernels: ``update(value, ts)`` folds in one value.

A series calculator (ema, sma, zscore, ...) keeps its per-event state and arithmetic in a kernel,
a subclass of :class:`SeriesKernel` in its own module (``<calculator>_kernel.py``), so the plugin
class and its msgspec ``Params`` are never compiled (docs/decisions/0117). The pipeline loop calls
``update`` on the kernel itself: compiled, that is a C call (``kernel.pxd``) with the value as a
C double and the time as int64; as Python, an ordinary method call.
"""

from __future__ import annotations

__all__ = ["SeriesKernel"]


class SeriesKernel:
    """A kernel of one series: each subclass overrides :meth:`update`."""

    def update(self, value: float, ts: int = 0) -> float | None:
        """Fold in one value of the series (with its time in ns) and return the new output
        (None while there is nothing to say)."""
        raise TypeError(f"{type(self).__name__} is not a series kernel")
