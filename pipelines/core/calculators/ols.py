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

from collections.abc import Callable
from typing import ClassVar, Literal

import msgspec

from pipelines.core.calculators.base import CalculatorInput, Feed
from pipelines.core.calculators.ols_kernel import OlsKernel
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Ols", "OlsParams"]


class OlsParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"
    """The dependent series y."""
    x: Literal["time", "mid", "trade"] = "time"
    """The regressor: event time in seconds, or the other series."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.x == self.input:
            raise ValueError(f"`x` and `input` are both {self.x!r}: regress on another series")


@CALCULATORS.register
class Ols(Rolling[OlsParams]):
    kind: ClassVar[str] = "ols"
    Params: ClassVar[type[msgspec.Struct]] = OlsParams
    kernel: OlsKernel
    outputs: ClassVar[tuple[str, ...]] = ("slope", "intercept", "r2")

    def __init__(self, params: OlsParams) -> None:
        self.kernel = kernel = OlsKernel([0.0] * len(self.outputs), params.x == "time")
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
