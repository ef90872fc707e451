"""The kernels of the book-shape rules (:mod:`.book_checks`): crossed or locked, and a maximum
spread, on the best prices of a two-sided book.

One source (docs/decisions/0117, 0119): ``book_kernels.pxd`` makes them C classes whose checks the
engine calls in C with the best prices as int64. Python's exact int arithmetic is kept compiled:
sums, differences and their products are done in int64 only where they cannot overflow and their
conversion to a double is exact, else on Python ints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cython

from pipelines.core.rules.engine import RuleKernel
from pipelines.events import parse_scaled

if TYPE_CHECKING:
    from pipelines.core.book import Book
    from pipelines.core.rules.engine import Verdict

__all__ = ["CrossedBookKernel", "MaxSpreadKernel"]


class CrossedBookKernel(RuleKernel):
    """Crossed (and, with ``include_locked``, locked) best prices
    (:class:`~.book_checks.CrossedBookParams`)."""

    __slots__ = ("include_locked",)

    def __init__(self, include_locked: bool) -> None:
        self.include_locked = include_locked

    def top(self, bid: int, ask: int, book: Book, text: bool) -> Verdict:
        if bid > ask:
            return f"crossed: bid {bid} > ask {ask}" if text else True
        if bid == ask and self.include_locked:
            return f"locked: bid = ask = {bid}" if text else True
        return None


class MaxSpreadKernel(RuleKernel):
    """The spread limits of :class:`~.book_checks.MaxSpreadParams`."""

    __slots__ = ("_decimals", "_limit", "max_bps", "max_spread")

    def __init__(self, max_bps: float, max_spread: str) -> None:
        self.configure(max_bps, max_spread)

    def configure(self, max_bps: float, max_spread: str) -> None:
        self.max_bps = max_bps
        self.max_spread = max_spread
        self._decimals: int = -1  # the book scale _limit is at (-1: none yet)
        self._limit = 0  # max_spread at that scale

    def top(self, bid: int, ask: int, book: Book, text: bool) -> Verdict:
        if self.max_spread:
            if self._decimals != book.price_decimals:
                self._limit = parse_scaled(self.max_spread, book.price_decimals)
                self._decimals = book.price_decimals
            spread = _difference(bid, ask)
            if spread > self._limit:
                if not text:
                    return True
                return f"spread {spread} > {self._limit} (scale {book.price_decimals})"
        max_bps = self.max_bps
        if not max_bps:
            return None
        # The spread against max_bps of the mid: (ask - bid) * 20_000 > max_bps * (bid + ask),
        # an int compared with a float, exactly. Compiled (book_kernels.pxd), C computes this in
        # int64 where the sum and difference cannot overflow (|prices| < 2**62) and the scaled
        # spread is an exact double (|spread| <= 2**53 // 20_000), else on Python ints; Python
        # ints need no such guard.
        low, high = -4_611_686_018_427_387_904, 4_611_686_018_427_387_904
        least, most = -450_359_962_737, 450_359_962_737
        if not cython.compiled or (
            low < bid < high and low < ask < high and least <= ask - bid <= most
        ):
            hit = bid + ask > 0 and (ask - bid) * 20_000 > max_bps * (bid + ask)
        else:
            hit = _wider_than_bps(bid, ask, max_bps)
        if not hit:
            return None
        return f"spread {_spread_bps(bid, ask):.1f} bps > {max_bps:g} bps" if text else True


def _wider_than_bps(bid: int, ask: int, max_bps: float) -> bool:
    # On Python ints compiled too (book_kernels.pxd: bid and ask are objects here).
    return bid + ask > 0 and (ask - bid) * 20_000 > max_bps * (bid + ask)


def _spread_bps(bid: int, ask: int) -> float:
    # The spread in basis points of the mid, on Python ints compiled too.
    return (ask - bid) * 20_000 / (bid + ask)


def _difference(bid: int, ask: int) -> int:
    # ask - bid as a Python int compiled too: it may not fit in int64.
    return ask - bid
