"""Price band and spike rules: the price (or size) against a reference learnt from the series.

The plugins (registry, params, reconfiguration); their checks and state are kernels of
:mod:`.band_kernels`, whose bound methods are the plugins' hooks.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from pipelines.core.rules.band_kernels import Ewm, PriceBandKernel, SpikeKernel
from pipelines.core.rules.base import Rule, RuleInput, RuleParams
from pipelines.registry import RULES

__all__ = ["PriceBand", "PriceBandParams", "Spike", "SpikeParams"]


class PriceBandParams(RuleParams, frozen=True):
    """``band="sigma"``: hit when |x - EMA| > k·σ (σ: exponentially weighted); ``band="percent"``:
    hit when |x - EMA| > percent % of the EMA. ``x`` is each trade price or the book's mid."""

    input: Literal["trade", "mid"] = "trade"
    window: Annotated[int, Meta(ge=2, le=1_000_000)] = 100
    band: Literal["sigma", "percent"] = "sigma"
    k: Annotated[float, Meta(gt=0)] = 4.0
    percent: Annotated[float, Meta(gt=0)] = 5.0
    min_percent: Annotated[float, Meta(ge=0)] = 0.0
    """Floor of the sigma band (a flat market has σ = 0)."""
    warmup: Annotated[int, Meta(ge=1)] = 20
    """Values folded in before the band is enforced."""


@RULES.register
class PriceBand(Rule[PriceBandParams]):
    kind: ClassVar[str] = "price_band"
    Params: ClassVar[type[msgspec.Struct]] = PriceBandParams

    def __init__(self, params: PriceBandParams) -> None:
        super().__init__(params)
        self.inputs: frozenset[RuleInput] = frozenset(
            {"trade" if params.input == "trade" else "book"}
        )
        self.kernel = kernel = PriceBandKernel(params)
        # The kernel's bound methods are the hooks: no Python frame of the rule per event.
        self.check_trade = kernel.check_trade  # type: ignore[method-assign]
        self.check_book = kernel.check_book  # type: ignore[method-assign]
        self.check_top = kernel.check_top  # type: ignore[method-assign]

    @property
    def reference(self) -> Ewm:
        """The EWM mean and variance the band is centred on."""
        return self.kernel.reference

    def reconfigure(self, params: PriceBandParams) -> bool:
        if params.input != self.params.input:
            return False
        self.params = params
        self.kernel.configure(params)
        return True


class SpikeParams(RuleParams, frozen=True):
    """``metric="price"``: hit when a trade moves more than ``threshold`` percent from the previous
    trade; ``metric="volume"``: hit when a trade's size exceeds ``threshold`` times the EMA of
    trade sizes (after ``warmup`` trades)."""

    metric: Literal["price", "volume"] = "price"
    threshold: Annotated[float, Meta(gt=0)] = 2.0
    window: Annotated[int, Meta(ge=2, le=1_000_000)] = 50
    warmup: Annotated[int, Meta(ge=1)] = 10


@RULES.register
class Spike(Rule[SpikeParams]):
    kind: ClassVar[str] = "spike"
    Params: ClassVar[type[msgspec.Struct]] = SpikeParams
    inputs: frozenset[RuleInput] = frozenset({"trade"})

    def __init__(self, params: SpikeParams) -> None:
        super().__init__(params)
        self.kernel = kernel = SpikeKernel(params)
        self.check_trade = kernel.check_trade  # type: ignore[method-assign]

    @property
    def last_price(self) -> int:
        return self.kernel.last_price

    @property
    def sizes(self) -> Ewm:
        return self.kernel.sizes

    def reconfigure(self, params: SpikeParams) -> bool:
        if params.metric != self.params.metric:
            return False
        self.params = params
        self.kernel.configure(params)
        return True
