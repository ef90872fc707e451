"""``kind="sma"``: simple moving average over the last N values and/or T seconds."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

import msgspec

from pipelines import accel
from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.window import Rolling, RollingKernel, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Sma", "SmaKernel", "SmaParams"]


class SmaParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"


class SmaKernel(RollingKernel):
    """mean = ref + sum(x - ref) / n over the window; until it fills, the mean of what is there."""

    def __init__(self) -> None:
        super().__init__()
        self._x: deque[float] = deque()
        self._ref = 0.0
        self._sum = 0.0

    def update(self, value: float, ts: int = 0) -> float | None:
        if not self._ts:
            self._ref = value  # the first value is the reference: sums of small deviations
        self._ts.append(ts)
        self._x.append(value)
        self._sum += value - self._ref
        self._evict(ts)
        return self._ref + self._sum / len(self._x)

    def _drop_oldest(self) -> None:
        self._ts.popleft()
        self._sum -= self._x.popleft() - self._ref

    def _recompute(self) -> None:
        x = self._x
        self._ref = ref = x[-1] if x else 0.0
        self._sum = sum(v - ref for v in x)


# The compiled twin of SmaKernel (None: run the Python one). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._csma")
Kernel: type[SmaKernel] = _compiled.SmaKernel if _compiled is not None else SmaKernel


@CALCULATORS.register
class Sma(Rolling[SmaParams]):
    """mean = ref + sum(x - ref) / n over the window; until it fills, the mean of what is there."""

    kind: ClassVar[str] = "sma"
    Params: ClassVar[type[msgspec.Struct]] = SmaParams
    kernel: SmaKernel  # or its compiled twin

    def __init__(self, params: SmaParams) -> None:
        self.kernel = kernel = Kernel()
        super().__init__(params)
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]

    def reconfigure(self, params: SmaParams) -> bool:
        if params.input != self.params.input:
            return False
        self.resize(params)
        return True
