# cython: boundscheck=False, wraparound=False
# (every index here is a ring index masked into [0, capacity) or below a count the ring holds)
"""The window and running sum of the simple moving average (see :mod:`.sma`).

One source (docs/decisions/0117): compiled with ``sma_kernel.pxd``.
"""

from __future__ import annotations

from pipelines.core.calculators.rolling_kernel import RollingKernel

__all__ = ["SmaKernel"]


class SmaKernel(RollingKernel):
    """mean = ref + sum(x - ref) / n over the window; until it fills, the mean of what is there."""

    def __init__(self) -> None:
        super().__init__(1)  # the values
        self._ref = 0.0
        self._sum = 0.0

    def update(self, value: float, ts: int = 0) -> float | None:
        if not self._n:
            self._ref = value  # the first value is the reference: sums of small deviations
        self._push(ts, value, 0.0, 0.0)
        self._sum += value - self._ref
        self._evict(ts)
        return self._ref + self._sum / self._n

    def _drop_oldest(self) -> None:
        self._sum -= self._c0[self._head] - self._ref
        self._pop()

    def _recompute(self) -> None:
        # Left to right from the newest value as reference (a loop, not sum(): see .exact).
        ref = self._c0[self._last()] if self._n else 0.0
        total = 0.0
        for i in range(self._n):
            total += self._c0[(self._head + i) & self._mask] - ref
        self._ref = ref
        self._sum = total
