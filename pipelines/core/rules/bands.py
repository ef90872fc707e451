"""Price band and spike rules: the price (or size) against a reference learnt from the series."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from pipelines import accel
from pipelines.core.book import Book
from pipelines.events import Trade
from pipelines.registry import RULES

from .base import Rule, RuleInput, RuleParams

__all__ = [
    "PriceBand",
    "PriceBandKernel",
    "PriceBandParams",
    "Spike",
    "SpikeKernel",
    "SpikeParams",
]


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


class _Ewm:
    """Exponentially weighted mean and variance (West's update), O(1)."""

    __slots__ = ("alpha", "count", "mean", "var")

    def __init__(self, window: int) -> None:
        self.alpha = 2.0 / (window + 1)
        self.count = 0
        self.mean = 0.0
        self.var = 0.0

    def add(self, value: float) -> None:
        if not self.count:
            self.mean = value
        else:
            diff = value - self.mean
            increment = self.alpha * diff
            self.mean += increment
            self.var = (1.0 - self.alpha) * (self.var + diff * increment)
        self.count += 1


class PriceBandKernel:
    """The band check and its EWM reference (the reference of ``_cbands``)."""

    __slots__ = ("band", "input", "k", "min_percent", "percent", "reference", "warmup")

    def __init__(self, params: PriceBandParams) -> None:
        self.reference = _Ewm(params.window)
        self.configure(params)

    def configure(self, params: PriceBandParams) -> None:
        self.input = params.input
        self.band = params.band
        self.k = params.k
        self.percent = params.percent
        self.min_percent = params.min_percent
        self.warmup = params.warmup
        self.reference.alpha = 2.0 / (params.window + 1)

    def check_value(self, value: float) -> str | None:
        reference = self.reference
        verdict = None
        if reference.count >= self.warmup:
            mean = reference.mean
            if self.band == "percent":
                width = abs(mean) * self.percent / 100.0
            else:
                width = max(self.k * math.sqrt(reference.var), abs(mean) * self.min_percent / 100.0)
            if abs(value - mean) > width:
                verdict = f"{self.input} {value:g} outside {mean:g} ± {width:g}"
        reference.add(value)
        return verdict

    def check_trade(self, trade: Trade) -> str | None:
        return self.check_value(float(trade.price))

    def check_book(self, book: Book) -> str | None:
        return self.check_top(book.best_bid_price(), book.best_ask_price(), book)

    def check_top(self, bid: int | None, ask: int | None, book: Book) -> str | None:
        if bid is None or ask is None:
            return None
        return self.check_value((bid + ask) / 2.0)


@RULES.register
class PriceBand(Rule[PriceBandParams]):
    kind: ClassVar[str] = "price_band"
    Params: ClassVar[type[msgspec.Struct]] = PriceBandParams

    def __init__(self, params: PriceBandParams) -> None:
        super().__init__(params)
        self.inputs: frozenset[RuleInput] = frozenset(
            {"trade" if params.input == "trade" else "book"}
        )
        self.kernel = kernel = BandKernel(params)
        # The kernel's bound methods are the hooks: no Python frame of the rule per event.
        self.check_trade = kernel.check_trade  # type: ignore[method-assign]
        self.check_book = kernel.check_book  # type: ignore[method-assign]
        self.check_top = kernel.check_top  # type: ignore[method-assign]

    @property
    def reference(self) -> _Ewm:
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


class SpikeKernel:
    """The price move and size checks on trades (the reference of ``_cbands``)."""

    __slots__ = ("last_price", "metric", "sizes", "threshold", "warmup")

    def __init__(self, params: SpikeParams) -> None:
        self.metric = params.metric
        self.last_price = 0
        self.sizes = _Ewm(params.window)
        self.configure(params)

    def configure(self, params: SpikeParams) -> None:
        self.threshold = params.threshold
        self.warmup = params.warmup
        self.sizes.alpha = 2.0 / (params.window + 1)

    def check_trade(self, trade: Trade) -> str | None:
        if self.metric == "price":
            last, self.last_price = self.last_price, trade.price
            if last and abs(trade.price - last) * 100.0 > self.threshold * last:
                return f"price moved {100.0 * (trade.price - last) / last:+.2f}% in one trade"
            return None
        sizes = self.sizes
        verdict = None
        if sizes.count >= self.warmup and trade.size > self.threshold * sizes.mean:
            verdict = f"size {trade.size} > {self.threshold:g} x average {sizes.mean:.0f}"
        sizes.add(float(trade.size))
        return verdict


# The compiled twins of the kernels (None: run the Python ones). Chosen once, at import.
_compiled = accel.load("pipelines.core.rules._cbands")
BandKernel: type[PriceBandKernel] = (
    _compiled.PriceBandKernel if _compiled is not None else PriceBandKernel
)
TradeKernel: type[SpikeKernel] = _compiled.SpikeKernel if _compiled is not None else SpikeKernel


@RULES.register
class Spike(Rule[SpikeParams]):
    kind: ClassVar[str] = "spike"
    Params: ClassVar[type[msgspec.Struct]] = SpikeParams
    inputs: frozenset[RuleInput] = frozenset({"trade"})

    def __init__(self, params: SpikeParams) -> None:
        super().__init__(params)
        self.kernel = kernel = TradeKernel(params)
        self.check_trade = kernel.check_trade  # type: ignore[method-assign]

    @property
    def last_price(self) -> int:
        return self.kernel.last_price

    @property
    def sizes(self) -> _Ewm:
        return self.kernel.sizes

    def reconfigure(self, params: SpikeParams) -> bool:
        if params.metric != self.params.metric:
            return False
        self.params = params
        self.kernel.configure(params)
        return True
