"""``kind="zscore"``: how many standard deviations the newest value sits from the window's mean.

``z = (x - mean) / std`` over the last N values and/or T seconds, the newest value included, with
the sample standard deviation (``ddof=1``). None below two values; 0.0 when the window's values are
all equal (the variance is zero: the value *is* the mean). Mean and squared deviations follow
Welford's updates (adding and, undone, removing a value), recomputed periodically (see
:mod:`.window`); "all equal" is tracked exactly (the trailing run of equal values).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.core.calculators.zscore_kernel import ZScoreKernel
from pipelines.registry import CALCULATORS

__all__ = ["ZScore", "ZScoreParams"]


class ZScoreParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"


@CALCULATORS.register
class ZScore(Rolling[ZScoreParams]):
    kind: ClassVar[str] = "zscore"
    Params: ClassVar[type[msgspec.Struct]] = ZScoreParams
    kernel: ZScoreKernel

    def __init__(self, params: ZScoreParams) -> None:
        self.kernel = kernel = ZScoreKernel()
        super().__init__(params)
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]

    def reconfigure(self, params: ZScoreParams) -> bool:
        if params.input != self.params.input:
            return False
        self.resize(params)
        return True
