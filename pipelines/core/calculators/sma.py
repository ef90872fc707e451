"""``kind="sma"``: simple moving average over the last N values and/or T seconds."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.sma_kernel import SmaKernel
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["Sma", "SmaParams"]


class SmaParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"


@CALCULATORS.register
class Sma(Rolling[SmaParams]):
    """mean = ref + sum(x - ref) / n over the window; until it fills, the mean of what is there."""

    kind: ClassVar[str] = "sma"
    Params: ClassVar[type[msgspec.Struct]] = SmaParams
    kernel: SmaKernel

    def __init__(self, params: SmaParams) -> None:
        self.kernel = kernel = SmaKernel()
        super().__init__(params)
        # The kernel's bound method is the feed: no Python frame of the plugin per event.
        self.update = kernel.update  # type: ignore[method-assign]

    def reconfigure(self, params: SmaParams) -> bool:
        if params.input != self.params.input:
            return False
        self.resize(params)
        return True
