# cython: boundscheck=False, wraparound=False
# (every index here is a ring index masked into [0, capacity) or below a count the ring holds)
"""The window of log returns and their compensated sum of squares (see :mod:`.volatility`).

One source (docs/decisions/0117): compiled with ``volatility_kernel.pxd``.
"""

from __future__ import annotations

import cython

from pipelines.core.calculators.exact import fsum
from pipelines.core.calculators.rolling_kernel import RollingKernel

if not cython.compiled:
    from math import fabs, log, sqrt
else:  # C's, which give math's results on these arguments
    from cython.cimports.libc.math import fabs, log, sqrt  # type: ignore[no-redef]

__all__ = ["JULIAN_YEAR_SECONDS", "RealizedVolKernel"]

JULIAN_YEAR_SECONDS = 365.25 * 86_400


class RealizedVolKernel(RollingKernel):
    """Log returns in the window, their compensated sum of squares, and the annualization."""

    def __init__(self) -> None:
        super().__init__(1)  # the returns
        self._sum_sq = 0.0
        self._carry = 0.0  # Neumaier compensation of _sum_sq
        self._prev = 0.0  # the previous price; 0 until the first one
        self._prev_ts = 0
        self._start = 0  # ts of the price before the oldest retained return
        self.annualize = False
        self.year_seconds = JULIAN_YEAR_SECONDS

    def configure(self, annualize: bool, year_seconds: float) -> None:
        self.annualize = annualize
        self.year_seconds = year_seconds

    def update(self, value: float, ts: int = 0) -> float | None:
        prev = self._prev
        if value <= 0.0:
            return None  # no log return of a non-positive price
        prev_ts = self._prev_ts
        self._prev = value
        self._prev_ts = ts
        if prev == 0.0:
            return None
        ratio = value / prev
        if ratio <= 0.0:
            # Two positive prices whose ratio underflows to 0: math.log's domain error, in C too.
            raise ValueError("math domain error")
        r = log(ratio)
        if not self._n:
            self._start = prev_ts
        self._push(ts, r, 0.0, 0.0)
        self._add(r * r)
        self._evict(ts)
        sum_sq = self._sum_sq + self._carry
        sum_sq = sum_sq if sum_sq > 0.0 else 0.0  # rounding never goes negative
        if not self.annualize:
            return sqrt(sum_sq)
        elapsed = (ts - self._start) / 1e9
        return sqrt(sum_sq * self.year_seconds / elapsed) if elapsed > 0 else None

    def _drop_oldest(self) -> None:
        self._start = self._t[self._head]
        r = self._c0[self._head]
        self._pop()
        self._add(-r * r)

    def _add(self, term: float) -> None:
        # Compensated (Neumaier): after big returns leave the window, a small sum keeps its digits.
        total = self._sum_sq
        new = total + term
        if fabs(total) >= fabs(term):
            self._carry += (total - new) + term
        else:
            self._carry += (term - new) + total
        self._sum_sq = new

    def _recompute(self) -> None:
        for i in range(self._n):
            r = self._c0[(self._head + i) & self._mask]
            self._scratch[i] = r * r
        self._sum_sq = fsum(self._scratch, self._n)
        self._carry = 0.0
