# cython: boundscheck=False, wraparound=False
# (every index here is a ring index masked into [0, capacity) or below a count the ring holds)
"""The window and running sums of the volume-weighted average price (see :mod:`.vwap`).

One source (docs/decisions/0117): compiled with ``vwap_kernel.pxd``.
"""

from __future__ import annotations

from pipelines.core.calculators.rolling_kernel import RollingKernel

__all__ = ["VwapKernel"]


class VwapKernel(RollingKernel):
    """``ref + sum(q * (p - ref)) / sum(q)``; None while the window holds no size."""

    def __init__(self) -> None:
        super().__init__(2)  # prices, sizes
        self._ref = 0.0
        self._notional = 0.0  # sum of size * (price - ref)
        self._volume = 0.0

    def update_trade(self, price: float, size: float, ts: int = 0) -> float | None:
        if not self._n:
            self._ref = price
        self._push(ts, price, size, 0.0)
        self._notional += size * (price - self._ref)
        self._volume += size
        self._evict(ts)
        volume = self._volume
        return self._ref + self._notional / volume if volume > 0 else None

    def _drop_oldest(self) -> None:
        size = self._c1[self._head]
        self._notional -= size * (self._c0[self._head] - self._ref)
        self._volume -= size
        self._pop()

    def _recompute(self) -> None:
        # Left to right from 0, around the newest price (loops, not sum(): see .exact).
        ref = self._c0[self._last()] if self._n else 0.0
        notional = volume = 0.0
        for i in range(self._n):
            k = (self._head + i) & self._mask
            notional += self._c1[k] * (self._c0[k] - ref)
            volume += self._c1[k]
        self._ref = ref
        self._notional = notional
        self._volume = volume
