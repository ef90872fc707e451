"""``kind="realized_vol"``: realized volatility of log returns over the last N returns / T seconds.

``rv = sqrt(sum(r_i ** 2))`` over the returns ``r_i = ln(p_i / p_(i-1))`` in the window (not
demeaned: at tick scale the mean return is noise). With ``annualize``, ``rv * sqrt(year_seconds /
elapsed)``, where ``elapsed`` is the time the window's returns cover (from the price before the
oldest return to the newest price); None while that is zero.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines import accel
from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.window import Rolling, RollingKernel, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["RealizedVol", "RealizedVolKernel", "RealizedVolParams"]

JULIAN_YEAR_SECONDS = 365.25 * 86_400


class RealizedVolParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"
    annualize: bool = False
    year_seconds: Annotated[float, Meta(gt=0)] = JULIAN_YEAR_SECONDS
    """Seconds in a trading year (a 24/7 market's default; 252 * 6.5 * 3600 for US equities)."""


class RealizedVolKernel(RollingKernel):
    """Log returns in the window, their compensated sum of squares, and the annualization."""

    def __init__(self) -> None:
        super().__init__()
        self._r: deque[float] = deque()
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
        r = math.log(value / prev)
        if not self._ts:
            self._start = prev_ts
        self._ts.append(ts)
        self._r.append(r)
        self._add(r * r)
        self._evict(ts)
        sum_sq = self._sum_sq + self._carry
        sum_sq = sum_sq if sum_sq > 0.0 else 0.0  # rounding never goes negative
        if not self.annualize:
            return math.sqrt(sum_sq)
        elapsed = (ts - self._start) / 1e9
        return math.sqrt(sum_sq * self.year_seconds / elapsed) if elapsed > 0 else None

    def _drop_oldest(self) -> None:
        self._start = self._ts.popleft()
        r = self._r.popleft()
        self._add(-r * r)

    def _add(self, term: float) -> None:
        # Compensated (Neumaier): after big returns leave the window, a small sum keeps its digits.
        total = self._sum_sq
        new = total + term
        if abs(total) >= abs(term):
            self._carry += (total - new) + term
        else:
            self._carry += (term - new) + total
        self._sum_sq = new

    def _recompute(self) -> None:
        self._sum_sq = math.fsum(r * r for r in self._r)
        self._carry = 0.0


# The compiled twin of RealizedVolKernel (None: run the Python one). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._cvolatility")
Kernel: type[RealizedVolKernel] = (
    _compiled.RealizedVolKernel if _compiled is not None else RealizedVolKernel
)


@CALCULATORS.register
class RealizedVol(Rolling[RealizedVolParams]):
    kind: ClassVar[str] = "realized_vol"
    Params: ClassVar[type[msgspec.Struct]] = RealizedVolParams
    kernel: RealizedVolKernel  # or its compiled twin

    def __init__(self, params: RealizedVolParams) -> None:
        self.kernel = kernel = Kernel()
        kernel.configure(params.annualize, params.year_seconds)
        super().__init__(params)
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]

    def reconfigure(self, params: RealizedVolParams) -> bool:
        if params.input != self.params.input:
            return False
        self.kernel.configure(params.annualize, params.year_seconds)
        self.resize(params)
        return True
