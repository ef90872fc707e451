"""``kind="ols"``: rolling least-squares line of a price on time or on another series.

Outputs ``slope``, ``intercept`` and ``r2`` (Metrics ``<name>_slope``, ``<name>_intercept``,
``<name>_r2``) over the last N points and/or T seconds, from running co-moments updated
Welford-style (a point added, and the step undone for a point leaving) on the points minus a
reference (the means, re-taken whenever the moments are recomputed, see :mod:`.window`), so prices
near 1e9 keep their small moves:

    cxx = sum((x - mx)^2), cxy = sum((x - mx)(y - my)), cyy = sum((y - my)^2)
    slope = cxy / cxx,  r2 = cxy^2 / (cxx * cyy)

- ``x = "time"``: x is the event time in seconds, so ``slope`` is price units per second and
  ``intercept`` is the fitted line's value at the newest point's time (the usable number; the
  line's value at the epoch is not);
- ``x = "mid" | "trade"``: each new value of ``input`` is paired with the latest value of the other
  series (sample and hold); ``intercept`` is the line at x = 0.

None below two points or while x has no spread (slope undefined). When y has no spread the line is
flat and fits exactly: slope 0, r2 1 (scikit-learn's convention).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import ClassVar, Literal

import msgspec

from pipelines import accel
from pipelines.core.calculators.base import CalculatorInput, Feed
from pipelines.core.calculators.window import Rolling, RollingKernel, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Ols", "OlsKernel", "OlsParams"]


class OlsParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"
    """The dependent series y."""
    x: Literal["time", "mid", "trade"] = "time"
    """The regressor: event time in seconds, or the other series."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.x == self.input:
            raise ValueError(f"`x` and `input` are both {self.x!r}: regress on another series")


class OlsKernel(RollingKernel):
    """The points, their co-moments and the line; writes slope, intercept, r2 into ``results``."""

    def __init__(self, results: list[float], on_time: bool) -> None:
        super().__init__()
        self.results = results
        self._xs: deque[float] = deque()
        self._ys: deque[float] = deque()
        self._rx = self._ry = 0.0  # references the points are taken relative to
        self._mx = self._my = 0.0  # means of x - rx, y - ry
        self._cxx = self._cxy = self._cyy = 0.0  # co-moments around the means
        # Trailing runs of equal x / equal y: "no spread" is exact, not a rounding threshold.
        self._run_x = self._run_y = 0
        self._on_time = on_time
        self._t0 = 0  # ns origin of x on time (int, so ns stay exact)
        self._held_x: float | None = None  # latest value of the x series

    def observe_x(self, value: float, ts: int = 0) -> None:
        """A new value of the x series: held until the next y."""
        self._held_x = value

    def update(self, value: float, ts: int = 0) -> float | None:
        if self._on_time:
            if not self._ts and not self._t0:
                self._t0 = ts
            x = (ts - self._t0) * 1e-9
        else:
            held = self._held_x
            if held is None:
                return None
            x = held
        xs, ys, times = self._xs, self._ys, self._ts
        if not times:
            self._rx, self._ry = x, value
        self._run_x = self._run_x + 1 if xs and xs[-1] == x else 1
        self._run_y = self._run_y + 1 if ys and ys[-1] == value else 1
        times.append(ts)
        xs.append(x)
        ys.append(value)
        n = len(times)
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
        n = len(self._ts)
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
            r2 = min(1.0, cxy * cxy / (cxx * cyy))
        at = x_now if self._on_time else 0.0
        results = self.results
        results[0] = slope
        results[1] = mean_y + slope * (at - mean_x)
        results[2] = r2
        return slope

    def _drop_oldest(self) -> None:
        self._ts.popleft()
        u = self._xs.popleft() - self._rx
        v = self._ys.popleft() - self._ry
        n = len(self._ts)  # after the removal
        if n == 0:
            self._mx = self._my = self._cxx = self._cxy = self._cyy = 0.0
            return
        mx, my = self._mx, self._my
        # Welford's step undone: the means before this point was added, then its co-moments.
        previous_x = mx - (u - mx) / n
        previous_y = my - (v - my) / n
        self._cxx -= (u - previous_x) * (u - mx)
        self._cxy -= (u - previous_x) * (v - my)
        self._cyy -= (v - previous_y) * (v - my)
        self._mx, self._my = previous_x, previous_y

    def _recompute(self) -> None:
        xs, ys = self._xs, self._ys
        n = len(xs)
        if not n:
            self._mx = self._my = self._cxx = self._cxy = self._cyy = 0.0
            return
        self._rx = rx = math.fsum(xs) / n
        self._ry = ry = math.fsum(ys) / n
        self._mx = mx = math.fsum(x - rx for x in xs) / n
        self._my = my = math.fsum(y - ry for y in ys) / n
        self._cxx = math.fsum((x - rx - mx) ** 2 for x in xs)
        self._cxy = math.fsum((x - rx - mx) * (y - ry - my) for x, y in zip(xs, ys, strict=True))
        self._cyy = math.fsum((y - ry - my) ** 2 for y in ys)


# The compiled twin of OlsKernel (None: run the Python one). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._cols")
Kernel: type[OlsKernel] = _compiled.OlsKernel if _compiled is not None else OlsKernel


@CALCULATORS.register
class Ols(Rolling[OlsParams]):
    kind: ClassVar[str] = "ols"
    Params: ClassVar[type[msgspec.Struct]] = OlsParams
    kernel: OlsKernel  # or its compiled twin
    outputs: ClassVar[tuple[str, ...]] = ("slope", "intercept", "r2")

    def __init__(self, params: OlsParams) -> None:
        self.kernel = kernel = Kernel([0.0] * len(self.outputs), params.x == "time")
        super().__init__(params)
        self.results = kernel.results  # the kernel writes the outputs there
        # The kernel's bound methods are the feeds: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]
        self.observe_x = kernel.observe_x  # type: ignore[method-assign]

    def feeds(self) -> list[tuple[Feed, Callable[..., float | None]]]:
        params = self.params
        own: list[tuple[Feed, Callable[..., float | None]]] = [(params.input, self.update)]
        if params.x != "time":
            own.append((params.x, self.observe_x))
        return own

    def observe_x(self, value: float, ts: int = 0) -> None:
        """A new value of the x series: held until the next y (replaced by the kernel's)."""
        self.kernel.observe_x(value, ts)

    def reconfigure(self, params: OlsParams) -> bool:
        old = self.params
        if params.input != old.input or params.x != old.x:
            return False
        self.resize(params)
        return True
