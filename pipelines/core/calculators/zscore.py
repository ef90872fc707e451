"""``kind="zscore"``: how many standard deviations the newest value sits from the window's mean.

``z = (x - mean) / std`` over the last N values and/or T seconds, the newest value included, with
the sample standard deviation (``ddof=1``). None below two values; 0.0 when the window's values are
all equal (the variance is zero: the value *is* the mean). Mean and squared deviations follow
Welford's updates (adding and, undone, removing a value), recomputed periodically (see
:mod:`.window`); "all equal" is tracked exactly (the trailing run of equal values).
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

import msgspec

from pipelines import accel
from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.window import Rolling, RollingKernel, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["ZScore", "ZScoreKernel", "ZScoreParams"]


class ZScoreParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"


class ZScoreKernel(RollingKernel):
    def __init__(self) -> None:
        super().__init__()
        self._x: deque[float] = deque()
        self._ref = 0.0  # values enter as value - ref: small numbers even for prices near 1e9
        self._mean = 0.0  # of value - ref
        self._m2 = 0.0  # sum of squared deviations from the mean
        self._run = 0  # trailing run of equal values: a zero variance is exact, not a threshold

    def update(self, value: float, ts: int = 0) -> float | None:
        x = self._x
        if not self._ts:
            self._ref = value
        self._run = self._run + 1 if x and x[-1] == value else 1
        self._ts.append(ts)
        self._x.append(value)
        # Welford on value - ref: moments stay centred on the current mean.
        n = len(self._x)
        d = value - self._ref
        delta = d - self._mean
        self._mean += delta / n
        self._m2 += delta * (d - self._mean)
        self._evict(ts)
        n = len(self._x)
        if n < 2:
            return None
        mean, m2 = self._mean, self._m2
        if self._run >= n or m2 <= 0.0:
            return 0.0  # every value is the same: the value is the mean
        return (value - self._ref - mean) / math.sqrt(m2 / (n - 1))

    def _drop_oldest(self) -> None:
        self._ts.popleft()
        value = self._x.popleft() - self._ref
        n = len(self._x)  # after the removal
        if n == 0:
            self._mean = self._m2 = 0.0
            return
        mean = self._mean
        previous = mean - (value - mean) / n  # Welford's step, undone
        self._m2 -= (value - previous) * (value - mean)
        self._mean = previous

    def _recompute(self) -> None:
        x = self._x
        self._ref = ref = math.fsum(x) / len(x) if x else 0.0
        self._mean = mean = math.fsum(v - ref for v in x) / len(x) if x else 0.0
        self._m2 = math.fsum((v - ref - mean) ** 2 for v in x)


# The compiled twin of ZScoreKernel (None: run the Python one). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._czscore")
Kernel: type[ZScoreKernel] = _compiled.ZScoreKernel if _compiled is not None else ZScoreKernel


@CALCULATORS.register
class ZScore(Rolling[ZScoreParams]):
    kind: ClassVar[str] = "zscore"
    Params: ClassVar[type[msgspec.Struct]] = ZScoreParams
    kernel: ZScoreKernel  # or its compiled twin

    def __init__(self, params: ZScoreParams) -> None:
        self.kernel = kernel = Kernel()
        super().__init__(params)
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]

    def reconfigure(self, params: ZScoreParams) -> bool:
        if params.input != self.params.input:
            return False
        self.resize(params)
        return True
