"""``kind="realized_vol"``: realized volatility of log returns over the last N returns / T seconds.

``rv = sqrt(sum(r_i ** 2))`` over the returns ``r_i = ln(p_i / p_(i-1))`` in the window (not
demeaned: at tick scale the mean return is noise). With ``annualize``, ``rv * sqrt(year_seconds /
elapsed)``, where ``elapsed`` is the time the window's returns cover (from the price before the
oldest return to the newest price); None while that is zero.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.core.calculators.base import CalculatorInput
from pipelines.core.calculators.volatility_kernel import JULIAN_YEAR_SECONDS, RealizedVolKernel
from pipelines.core.calculators.window import Rolling, WindowParams
from pipelines.registry import CALCULATORS

__all__ = ["RealizedVol", "RealizedVolParams"]


class RealizedVolParams(WindowParams, frozen=True, forbid_unknown_fields=True, kw_only=True):
    input: CalculatorInput = "mid"
    annualize: bool = False
    year_seconds: Annotated[float, Meta(gt=0)] = JULIAN_YEAR_SECONDS
    """Seconds in a trading year (a 24/7 market's default; 252 * 6.5 * 3600 for US equities)."""


@CALCULATORS.register
class RealizedVol(Rolling[RealizedVolParams]):
    kind: ClassVar[str] = "realized_vol"
    Params: ClassVar[type[msgspec.Struct]] = RealizedVolParams
    kernel: RealizedVolKernel

    def __init__(self, params: RealizedVolParams) -> None:
        self.kernel = kernel = RealizedVolKernel()
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
