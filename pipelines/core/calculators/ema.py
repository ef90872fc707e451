"""``kind="ema"``: exponential moving average, ``alpha = 2 / (window + 1)``, O(1) per value."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.core.calculators.base import Calculator, CalculatorInput
from pipelines.registry import CALCULATORS

__all__ = ["Ema", "EmaParams"]


class EmaParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window: Annotated[int, Meta(gt=0, le=1_000_000)] = 10
    """Number of updates the average spans (the usual N of an N-period EMA)."""
    input: CalculatorInput = "mid"


@CALCULATORS.register
class Ema(Calculator):
    kind: ClassVar[str] = "ema"
    Params: ClassVar[type[msgspec.Struct]] = EmaParams

    def __init__(self, params: msgspec.Struct) -> None:
        super().__init__(params)
        assert isinstance(params, EmaParams)
        self._alpha = 2.0 / (params.window + 1)
        self.value: float | None = None

    def update(self, value: float) -> float:
        current = self.value
        # Seeded with the first value, so the average starts where the series starts.
        current = value if current is None else current + self._alpha * (value - current)
        self.value = current
        return current

    def reconfigure(self, params: msgspec.Struct) -> bool:
        assert isinstance(params, EmaParams)
        if params.input != getattr(self.params, "input", "mid"):
            return False  # a different input series: the old average means nothing
        self.params = params
        self._alpha = 2.0 / (params.window + 1)
        return True

    def describe(self) -> str:
        assert isinstance(self.params, EmaParams)
        return f"ema(window={self.params.window})"
