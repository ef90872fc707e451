"""Price band and spike rules: the price (or size) against a reference learnt from the series."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from pipelines.core.book import Book
from pipelines.events import Trade
from pipelines.registry import RULES

from .base import Rule, RuleInput, RuleParams

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


@RULES.register
class PriceBand(Rule):
    kind: ClassVar[str] = "price_band"
    Params: ClassVar[type[msgspec.Struct]] = PriceBandParams

    def __init__(self, params: msgspec.Struct) -> None:
        super().__init__(params)
        assert isinstance(params, PriceBandParams)
        self.p = params
        self.inputs: frozenset[RuleInput] = frozenset(
            {"trade" if params.input == "trade" else "book"}
        )
        self.reference = _Ewm(params.window)

    def reconfigure(self, params: msgspec.Struct) -> bool:
        if not isinstance(params, PriceBandParams) or params.input != self.p.input:
            return False
        self.params = self.p = params
        self.reference.alpha = 2.0 / (params.window + 1)
        return True

    def _check(self, value: float) -> str | None:
        reference, p = self.reference, self.p
        verdict = None
        if reference.count >= p.warmup:
            mean = reference.mean
            if p.band == "percent":
                width = abs(mean) * p.percent / 100.0
            else:
                width = max(p.k * math.sqrt(reference.var), abs(mean) * p.min_percent / 100.0)
            if abs(value - mean) > width:
                verdict = f"{p.input} {value:g} outside {mean:g} ± {width:g}"
        reference.add(value)
        return verdict

    def check_trade(self, trade: Trade) -> str | None:
        return self._check(float(trade.price))

    def check_book(self, book: Book) -> str | None:
        bids, asks = book.bids.keys, book.asks.keys
        if not bids or not asks:
            return None
        return self._check((bids[-1] - asks[-1]) / 2.0)


class SpikeParams(RuleParams, frozen=True):
    """``metric="price"``: hit when a trade moves more than ``threshold`` percent from the previous
    trade; ``metric="volume"``: hit when a trade's size exceeds ``threshold`` times the EMA of
    trade sizes (after ``warmup`` trades)."""

    metric: Literal["price", "volume"] = "price"
    threshold: Annotated[float, Meta(gt=0)] = 2.0
    window: Annotated[int, Meta(ge=2, le=1_000_000)] = 50
    warmup: Annotated[int, Meta(ge=1)] = 10


@RULES.register
class Spike(Rule):
    kind: ClassVar[str] = "spike"
    Params: ClassVar[type[msgspec.Struct]] = SpikeParams
    inputs: frozenset[RuleInput] = frozenset({"trade"})

    def __init__(self, params: msgspec.Struct) -> None:
        super().__init__(params)
        assert isinstance(params, SpikeParams)
        self.p = params
        self.last_price = 0
        self.sizes = _Ewm(params.window)

    def reconfigure(self, params: msgspec.Struct) -> bool:
        if not isinstance(params, SpikeParams) or params.metric != self.p.metric:
            return False
        self.params = self.p = params
        self.sizes.alpha = 2.0 / (params.window + 1)
        return True

    def check_trade(self, trade: Trade) -> str | None:
        p = self.p
        if p.metric == "price":
            last, self.last_price = self.last_price, trade.price
            if last and abs(trade.price - last) * 100.0 > p.threshold * last:
                return f"price moved {100.0 * (trade.price - last) / last:+.2f}% in one trade"
            return None
        sizes = self.sizes
        verdict = None
        if sizes.count >= p.warmup and trade.size > p.threshold * sizes.mean:
            verdict = f"size {trade.size} > {p.threshold:g} x average {sizes.mean:.0f}"
        sizes.add(float(trade.size))
        return verdict
