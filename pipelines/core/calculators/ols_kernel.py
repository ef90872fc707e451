# cython: boundscheck=False, wraparound=False
# (every index here is a ring index masked into [0, capacity) or below a count the ring holds)
"""The window, co-moments and line of the rolling least-squares fit (see :mod:`.ols`).

One source (docs/decisions/0117): compiled with ``ols_kernel.pxd``.
"""

from __future__ import annotations

from pipelines.core.calculators.exact import fsum
from pipelines.core.calculators.rolling_kernel import RollingKernel

__all__ = ["OlsKernel"]


class OlsKernel(RollingKernel):
    """The points, their co-moments and the line; writes slope, intercept, r2 into ``results``."""

    def __init__(self, results: list[float], on_time: bool) -> None:
        super().__init__(2)  # x, y
        self.results = results
        self._rx = self._ry = 0.0  # references the points are taken relative to
        self._mx = self._my = 0.0  # means of x - rx, y - ry
        self._cxx = self._cxy = self._cyy = 0.0  # co-moments around the means
        # Trailing runs of equal x / equal y: "no spread" is exact, not a rounding threshold.
        self._run_x = self._run_y = 0
        self._on_time = on_time
        self._t0 = 0  # ns origin of x on time (an integer, so ns stay exact)
        self._held_x = 0.0  # latest value of the x series ...
        self._held = False  # ... once there is one

    def observe_x(self, value: float, ts: int = 0) -> None:
        """A new value of the x series: held until the next y."""
        self._held_x = value
        self._held = True

    def update(self, value: float, ts: int = 0) -> float | None:
        if self._on_time:
            if not self._n and not self._t0:
                self._t0 = ts
            x = (ts - self._t0) * 1e-9
        else:
            if not self._held:
                return None
            x = self._held_x
        if not self._n:
            self._rx, self._ry = x, value
            self._run_x = self._run_y = 1
        else:
            last = self._last()
            self._run_x = self._run_x + 1 if self._c0[last] == x else 1
            self._run_y = self._run_y + 1 if self._c1[last] == value else 1
        self._push(ts, x, value, 0.0)
        n = self._n
        u, v = x - self._rx, value - self._ry
        # Welford's step on locals (each attribute read or written once).
        mx, my = self._mx, self._my
        dx, dy = u - mx, v - my
        mx += dx / n
        my += dy / n
        self._mx, self._my = mx, my
        self._cxx += dx * (u - mx)
        self._cxy += dx * (v - my)
        self._cyy += dy * (v - my)
        self._evict(ts)
        return self._solve(x)

    def _solve(self, x_now: float) -> float | None:
        n = self._n
        if n < 2:
            return None
        mean_x, mean_y = self._rx + self._mx, self._ry + self._my
        cxx, cyy = self._cxx, self._cyy
        if self._run_x >= n or cxx <= 0.0:
            return None  # every x is the same: no line
        if self._run_y >= n or cyy <= 0.0:
            slope, r2 = 0.0, 1.0
        else:
            cxy = self._cxy
            slope = cxy / cxx
            r2 = cxy * cxy / (cxx * cyy)
            r2 = r2 if r2 < 1.0 else 1.0  # rounding may pass 1 (and NaN is no fit)
        at = x_now if self._on_time else 0.0
        results = self.results
        results[0] = slope
        results[1] = mean_y + slope * (at - mean_x)
        results[2] = r2
        return slope

    def _drop_oldest(self) -> None:
        u = self._c0[self._head] - self._rx
        v = self._c1[self._head] - self._ry
        self._pop()
        n = self._n  # after the removal
        if n == 0:
            self._mx = self._my = self._cxx = self._cxy = self._cyy = 0.0
        else:
            mx, my = self._mx, self._my
            # Welford's step undone: the means before this point was added, then its co-moments.
            previous_x = mx - (u - mx) / n
            previous_y = my - (v - my) / n
            self._cxx -= (u - previous_x) * (u - mx)
            self._cxy -= (u - previous_x) * (v - my)
            self._cyy -= (v - previous_y) * (v - my)
            self._mx, self._my = previous_x, previous_y

    def _recompute(self) -> None:
        n = self._n
        if not n:
            self._mx = self._my = self._cxx = self._cxy = self._cyy = 0.0
        else:
            self._moments(n)

    def _moments(self, n: int) -> None:
        """The means and co-moments of the ``n`` points: seven correctly rounded sums, each over
        its terms in the scratch column, each statistic assigned as soon as it is known."""
        head, mask = self._head, self._mask
        for i in range(n):
            self._scratch[i] = self._c0[(head + i) & mask]
        self._rx = rx = fsum(self._scratch, n) / n
        for i in range(n):
            self._scratch[i] = self._c1[(head + i) & mask]
        self._ry = ry = fsum(self._scratch, n) / n
        for i in range(n):
            self._scratch[i] = self._c0[(head + i) & mask] - rx
        self._mx = mx = fsum(self._scratch, n) / n
        for i in range(n):
            self._scratch[i] = self._c1[(head + i) & mask] - ry
        self._my = my = fsum(self._scratch, n) / n
        for i in range(n):
            d = self._c0[(head + i) & mask] - rx - mx
            self._scratch[i] = d * d
        self._cxx = fsum(self._scratch, n)
        for i in range(n):
            k = (head + i) & mask
            self._scratch[i] = (self._c0[k] - rx - mx) * (self._c1[k] - ry - my)
        self._cxy = fsum(self._scratch, n)
        for i in range(n):
            d = self._c1[(head + i) & mask] - ry - my
            self._scratch[i] = d * d
        self._cyy = fsum(self._scratch, n)
