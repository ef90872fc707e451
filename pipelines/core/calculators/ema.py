"""Exponential moving averages, O(1) per value.

- ``kind="ema"``: per tick, ``alpha = 2 / (window + 1)``;
- ``kind="ema_time"``: time-decayed with a half-life in seconds: a value arriving ``dt`` seconds
  after the previous one gets the weight ``1 - 2**(-dt / half_life)``, so what happened a
  half-life ago weighs half as much whatever the event rate.

Both are seeded with the first value, and both keep their current value under new params.

The per-value arithmetic is in :class:`EmaKernel` / :class:`EmaTimeKernel` (the reference; a
compiled twin in ``_cema.pyx`` replaces them when built, docs/decisions/0113).
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines import accel
from pipelines.core.calculators.base import Calculator, CalculatorInput
from pipelines.registry import CALCULATORS

__all__ = ["Ema", "EmaKernel", "EmaParams", "EmaTime", "EmaTimeKernel", "EmaTimeParams"]


class EmaKernel:
    """``value += alpha * (x - value)``, seeded with the first value."""

    __slots__ = ("alpha", "value")

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.value: float | None = None

    def update(self, value: float, ts: int = 0) -> float:
        current = self.value
        # Seeded with the first value, so the average starts where the series starts.
        current = value if current is None else current + self.alpha * (value - current)
        self.value = current
        return current


class EmaTimeKernel:
    """``value -= expm1(-rate * dt) * (x - value)``, ``rate`` per ns; same-ns values weigh 0."""

    __slots__ = ("last_ts", "rate", "value")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.value: float | None = None
        self.last_ts = 0

    def update(self, value: float, ts: int = 0) -> float:
        current = self.value
        if current is None:
            current = value
        elif ts > self.last_ts:
            # expm1 keeps the weight exact for dt far below the half-life.
            current -= math.expm1(-self.rate * (ts - self.last_ts)) * (value - current)
        self.last_ts = max(ts, self.last_ts)
        self.value = current
        return current


# The compiled twins (None: run the Python kernels). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._cema")
Kernel: type[EmaKernel] = _compiled.EmaKernel if _compiled is not None else EmaKernel
TimeKernel: type[EmaTimeKernel] = (
    _compiled.EmaTimeKernel if _compiled is not None else EmaTimeKernel
)


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
        self.kernel = kernel = Kernel(2.0 / (params.window + 1))
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
        self.kernel = kernel = TimeKernel(rate)
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
