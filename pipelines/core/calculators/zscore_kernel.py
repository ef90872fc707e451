# cython: boundscheck=False, wraparound=False
# (every index here is a ring index masked into [0, capacity) or below a count the ring holds)
"""The window and Welford moments of the z-score (see :mod:`.zscore`).

One source (docs/decisions/0117): compiled with ``zscore_kernel.pxd``.
"""

from __future__ import annotations

import cython

from pipelines.core.calculators.exact import fsum
from pipelines.core.calculators.rolling_kernel import RollingKernel

if not cython.compiled:
    from math import sqrt
else:  # C's, which give math's results on these arguments
    from cython.cimports.libc.math import sqrt  # type: ignore[no-redef]

__all__ = ["ZScoreKernel"]


class ZScoreKernel(RollingKernel):
    def __init__(self) -> None:
        super().__init__(1)  # the values
        self._ref = 0.0  # values enter as value - ref: small numbers even for prices near 1e9
        self._mean = 0.0  # of value - ref
        self._m2 = 0.0  # sum of squared deviations from the mean
        self._run = 0  # trailing run of equal values: a zero variance is exact, not a threshold

    def update(self, value: float, ts: int = 0) -> float | None:
        n = self._n
        if not n:
            self._ref = value
        if n and self._c0[self._last()] == value:
            self._run += 1
        else:
            self._run = 1
        self._push(ts, value, 0.0, 0.0)
        # Welford on value - ref: moments stay centred on the current mean.
        n = self._n
        d = value - self._ref
        delta = d - self._mean
        self._mean += delta / n
        self._m2 += delta * (d - self._mean)
        self._evict(ts)
        n = self._n
        if n < 2:
            return None
        if self._run >= n or self._m2 <= 0.0:
            return 0.0  # every value is the same: the value is the mean
        # m2 > 0 here, so sqrt is in its domain compiled or not.
        return (value - self._ref - self._mean) / sqrt(self._m2 / (n - 1))

    def _drop_oldest(self) -> None:
        value = self._c0[self._head] - self._ref
        self._pop()
        n = self._n  # after the removal
        if n == 0:
            self._mean = 0.0
            self._m2 = 0.0
        else:
            mean = self._mean
            previous = mean - (value - mean) / n  # Welford's step, undone
            self._m2 -= (value - previous) * (value - mean)
            self._mean = previous

    def _recompute(self) -> None:
        # Three correctly rounded sums, each over its terms in the scratch column.
        n = self._n
        ref = mean = 0.0
        if n:
            for i in range(n):
                self._scratch[i] = self._c0[(self._head + i) & self._mask]
            ref = fsum(self._scratch, n) / n
            self._ref = ref
            for i in range(n):
                self._scratch[i] = self._c0[(self._head + i) & self._mask] - ref
            mean = fsum(self._scratch, n) / n
        self._ref = ref
        self._mean = mean
        for i in range(n):
            v = self._c0[(self._head + i) & self._mask] - ref - mean
            self._scratch[i] = v * v
        self._m2 = fsum(self._scratch, n)
