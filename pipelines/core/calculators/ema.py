"""Exponential moving averages, O(1) per value.

- ``kind="ema"``: per tick, ``alpha = 2 / (window + 1)``;
- ``kind="ema_time"``: time-decayed with a half-life in seconds: a value arriving ``dt`` seconds
  after the previous one gets the weight ``1 - 2**(-dt / half_life)``, so what happened a
  half-life ago weighs half as much whatever the event rate.

Both are seeded with the first value, and both keep their current value under new params.

The per-value arithmetic is in :mod:`.ema_kernel` (one source, compiled when built).
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.core.calculators.base import Calculator, CalculatorInput
from pipelines.core.calculators.ema_kernel import EmaKernel, EmaTimeKernel
from pipelines.registry import CALCULATORS

__all__ = ["Ema", "EmaParams", "EmaTime", "EmaTimeParams"]


class EmaParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window: Annotated[int, Meta(gt=0, le=1_000_000)] = 10
    """Number of updates the average spans (the usual N of an N-period EMA)."""
    input: CalculatorInput = "mid"


@CALCULATORS.register
class Ema(Calculator[EmaParams]):
    kind: ClassVar[str] = "ema"
    Params: ClassVar[type[msgspec.Struct]] = EmaParams

    def __init__(self, params: EmaParams) -> None:
        super().__init__(params)
        self.kernel = kernel = EmaKernel(2.0 / (params.window + 1))
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]

    @property
    def value(self) -> float | None:
        """The current average (None before the first value)."""
        return self.kernel.value

    def reconfigure(self, params: EmaParams) -> bool:
        if params.input != self.params.input:
            return False  # a different input series: the old average means nothing
        self.params = params
        self.kernel.alpha = 2.0 / (params.window + 1)
        return True

    def describe(self) -> str:
        return f"ema(window={self.params.window})"


class EmaTimeParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    half_life: Annotated[float, Meta(gt=0, le=31_622_400)] = 1.0
    """Seconds after which a value's weight has halved."""
    input: CalculatorInput = "mid"


@CALCULATORS.register
class EmaTime(Calculator[EmaTimeParams]):
    """``ema += (1 - exp(-ln2 * dt / half_life)) * (x - ema)``; values at the same ns weigh 0."""

    kind: ClassVar[str] = "ema_time"
    Params: ClassVar[type[msgspec.Struct]] = EmaTimeParams

    def __init__(self, params: EmaTimeParams) -> None:
        super().__init__(params)
        rate = math.log(2.0) / (params.half_life * 1e9)  # per nanosecond
        self.kernel = kernel = EmaTimeKernel(rate)
        self.update = kernel.update  # type: ignore[method-assign]

    @property
    def value(self) -> float | None:
        """The current average (None before the first value)."""
        return self.kernel.value

    def reconfigure(self, params: EmaTimeParams) -> bool:
        if params.input != self.params.input:
            return False
        self.params = params
        self.kernel.rate = math.log(2.0) / (params.half_life * 1e9)
        return True
