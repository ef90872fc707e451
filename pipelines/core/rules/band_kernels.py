"""The kernels of the price band and spike rules (:mod:`.bands`): a value against an exponentially
weighted reference learnt from the series, and the move or size of each trade.

One source (docs/decisions/0117, 0119): ``band_kernels.pxd`` makes them C classes (the EWM state
and the band in C doubles, the same operations in the same order as here); trade prices and sizes
stay Python ints where they are compared exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cython

from pipelines.core.rules.engine import RuleKernel

if cython.compiled:
    from cython.cimports.libc.math import sqrt
else:
    from math import sqrt

if TYPE_CHECKING:
    from pipelines.core.book import Book
    from pipelines.core.rules.bands import PriceBandParams, SpikeParams
    from pipelines.core.rules.engine import Verdict
    from pipelines.events import Trade

__all__ = ["Ewm", "PriceBandKernel", "SpikeKernel"]


class Ewm:
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


class PriceBandKernel(RuleKernel):
    """The band of :class:`~.bands.PriceBandParams` around its EWM reference, on each trade
    price or the book's mid."""

    __slots__ = ("band", "input", "k", "min_percent", "percent", "reference", "sigma", "warmup")

    def __init__(self, params: PriceBandParams) -> None:
        self.reference = Ewm(params.window)
        self.configure(params)

    def configure(self, params: PriceBandParams) -> None:
        self.input = params.input
        self.band = params.band
        self.sigma = params.band != "percent"
        self.k = params.k
        self.percent = params.percent
        self.min_percent = params.min_percent
        self.warmup = params.warmup
        self.reference.alpha = 2.0 / (params.window + 1)

    def check_value(self, value: float, text: bool = True) -> Verdict:
        """Check ``value`` against the band, then fold it into the reference."""
        reference = self.reference
        verdict: Verdict = None
        if reference.count >= self.warmup:
            mean = reference.mean
            if self.sigma:
                # var >= 0 or NaN (West's update): C's sqrt gives what math.sqrt does.
                width = self.k * sqrt(reference.var)
                floor = abs(mean) * self.min_percent / 100.0
                if floor > width:  # max(width, floor), NaN included
                    width = floor
            else:
                width = abs(mean) * self.percent / 100.0
            if abs(value - mean) > width:
                verdict = f"{self.input} {value:g} outside {mean:g} ± {width:g}" if text else True
        reference.add(value)
        return verdict

    def trade(self, trade: Trade, text: bool) -> Verdict:
        return self.check_value(float(trade.price), text)

    def top(self, bid: int, ask: int, book: Book, text: bool) -> Verdict:
        # The mid as Python computes it: the exact sum, rounded once to a double. Compiled,
        # bid + ask is int64 where it cannot overflow (|prices| < 2**62; C rounds an int64 to a
        # double as Python rounds an int), else a Python int; Python ints need no such guard.
        low, high = -4_611_686_018_427_387_904, 4_611_686_018_427_387_904
        if not cython.compiled or (low < bid < high and low < ask < high):
            return self.check_value((bid + ask) / 2.0, text)
        return self.check_value(_half_sum(bid, ask), text)


def _half_sum(bid: int, ask: int) -> float:
    # On Python ints compiled too (band_kernels.pxd: bid and ask are objects here).
    return (bid + ask) / 2.0


class SpikeKernel(RuleKernel):
    """The price move or the size of each trade (:class:`~.bands.SpikeParams`)."""

    __slots__ = ("last_price", "metric", "on_price", "sizes", "threshold", "warmup")

    def __init__(self, params: SpikeParams) -> None:
        self.metric = params.metric
        self.on_price = params.metric == "price"
        self.last_price = 0
        self.sizes = Ewm(params.window)
        self.configure(params)

    def configure(self, params: SpikeParams) -> None:
        self.threshold = params.threshold
        self.warmup = params.warmup
        self.sizes.alpha = 2.0 / (params.window + 1)

    def trade(self, trade: Trade, text: bool) -> Verdict:
        # Prices and sizes are ints compared with floats: Python objects compiled too, exactly.
        if self.on_price:
            last = self.last_price
            price = trade.price
            self.last_price = price
            if last and abs(price - last) * 100.0 > self.threshold * last:
                if not text:
                    return True
                return f"price moved {100.0 * (price - last) / last:+.2f}% in one trade"
            return None
        sizes = self.sizes
        size = trade.size
        verdict: Verdict = None
        if sizes.count >= self.warmup and size > self.threshold * sizes.mean:
            if text:
                verdict = f"size {size} > {self.threshold:g} x average {sizes.mean:.0f}"
            else:
                verdict = True
        sizes.add(float(size))
        return verdict
