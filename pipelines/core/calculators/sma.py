"""``kind="sma"``: simple moving average over the last N values and/or T seconds."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

import msgspec

from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Sma", "SmaParams"]


class SmaParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"


@CALCULATORS.register
class Sma(Rolling):
    """mean = ref + sum(x - ref) / n over the window; until it fills, the mean of what is there."""

    kind: ClassVar[str] = "sma"
    Params: ClassVar[type[msgspec.Struct]] = SmaParams

    def __init__(self, params: msgspec.Struct) -> None:
        self._x: deque[float] = deque()
        self._ref = 0.0
        self._sum = 0.0
        super().__init__(params)

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

    def reconfigure(self, params: msgspec.Struct) -> bool:
        assert isinstance(params, SmaParams)
        if params.input != getattr(self.params, "input", None):
            return False
        self.resize(params)
        return True
