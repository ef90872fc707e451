"""The per-value arithmetic of the exponential moving averages (see :mod:`.ema`).

One source (docs/decisions/0117): compiled with ``ema_kernel.pxd``, the pipeline loop calls
``update`` in C.
"""

from __future__ import annotations

import cython

from pipelines.core.calculators.kernel import SeriesKernel

if not cython.compiled:
    from math import expm1
else:  # C's, which give math's results on these arguments
    from cython.cimports.libc.math import expm1  # type: ignore[no-redef]

__all__ = ["EmaKernel", "EmaTimeKernel"]


class EmaKernel(SeriesKernel):
    """``value += alpha * (x - value)``, seeded with the first value."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self._value = 0.0
        self._seeded = False

    @property
    def value(self) -> float | None:
        """The current average (None before the first value)."""
        return self._value if self._seeded else None

    def update(self, value: float, ts: int = 0) -> float | None:
        # Seeded with the first value, so the average starts where the series starts.
        if self._seeded:
            self._value = self._value + self.alpha * (value - self._value)
        else:
            self._value = value
            self._seeded = True
        return self._value


class EmaTimeKernel(SeriesKernel):
    """``value -= expm1(-rate * dt) * (x - value)``, ``rate`` per ns; same-ns values weigh 0."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.last_ts = 0
        self._value = 0.0
        self._seeded = False

    @property
    def value(self) -> float | None:
        """The current average (None before the first value)."""
        return self._value if self._seeded else None

    def update(self, value: float, ts: int = 0) -> float | None:
        if not self._seeded:
            self._value = value
            self._seeded = True
        elif ts > self.last_ts:
            # expm1 keeps the weight exact for dt far below the half-life (its argument is <= 0:
            # never the overflow Python's math.expm1 would raise).
            self._value -= expm1(-self.rate * (ts - self.last_ts)) * (value - self._value)
        if ts > self.last_ts:
            self.last_ts = ts
        return self._value
