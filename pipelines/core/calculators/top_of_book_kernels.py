# cython: overflowcheck=True
# (compiled, int64 sums and products raise OverflowError instead of wrapping: see below)
"""The arithmetic of the calculators on the book's top levels (see :mod:`.top_of_book`).

One source (docs/decisions/0117): compiled with ``top_of_book_kernels.pxd``, the book is the
compiled Book and its top prices and sizes are C int64 (the Book's contract). Integer arithmetic
on them runs in int64 with overflow checks: where a product or sum leaves int64 (a microprice's
``price * size`` can), the same expression runs again on Python integers, so the value is the
exact one Python computes, never a wrapped one. A float is made of an integer the way Python makes
it (rounded once), so the results are bit-identical compiled or not.
"""

from __future__ import annotations

from pipelines.core.book import Book

__all__ = ["ImbalanceKernel", "MicropriceKernel", "MidKernel", "SpreadKernel"]


def _ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator`` of Python integers (None when the denominator is 0)."""
    return numerator / denominator if denominator else None


def _bps(difference: int, total: int) -> float | None:
    """``20,000 * difference / total`` of Python integers (None when the total is 0)."""
    return 20_000.0 * difference / total if total else None


def _scaled(numerator: int, denominator: int, decimals: int) -> float:
    """``numerator / (denominator * 10.0**decimals)`` of Python integers."""
    return numerator / (denominator * 10.0**decimals)


def _volume(levels: list[tuple[int, int]]) -> int:
    """The summed size of some levels of a side."""
    total = 0
    for _price, size in levels:
        total += size
    return total


class MidKernel:
    """``(best_bid + best_ask) / 2`` in price units."""

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        if not book.two_sided():
            return None
        bid, ask = book.top_bid_price(), book.top_ask_price()
        decimals = book.price_decimals
        try:
            total = bid + ask
        except OverflowError:  # compiled, past int64
            return _scaled(int(bid) + int(ask), 2, decimals)
        return total / (2 * 10.0**decimals)


class MicropriceKernel:
    """``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: the size-weighted mid."""

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        if not book.two_sided():
            return None
        bid, bid_size = book.top_bid_price(), book.top_bid_size()
        ask, ask_size = book.top_ask_price(), book.top_ask_size()
        decimals = book.price_decimals
        try:
            numerator = bid * ask_size + ask * bid_size
            volume = bid_size + ask_size
        except OverflowError:  # compiled, past int64
            return _scaled(
                int(bid) * int(ask_size) + int(ask) * int(bid_size),
                int(bid_size) + int(ask_size),
                decimals,
            )
        return numerator / (volume * 10.0**decimals)


class SpreadKernel:
    """``ask - bid`` in price units, or (``bps``) ``10,000 * (ask - bid) / mid``."""

    def __init__(self, bps: bool) -> None:
        self.bps = bps

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        if not book.two_sided():
            return None
        bid, ask = book.top_bid_price(), book.top_ask_price()
        try:
            difference = ask - bid
            total = ask + bid
        except OverflowError:  # compiled, past int64
            if self.bps:
                return _bps(int(ask) - int(bid), int(ask) + int(bid))
            return _scaled(int(ask) - int(bid), 1, book.price_decimals)
        if self.bps:
            return 20_000.0 * difference / total if total else None
        decimals = book.price_decimals
        return difference / 10.0**decimals


class ImbalanceKernel:
    """``(bid_volume - ask_volume) / (bid_volume + ask_volume)`` over the top ``levels``."""

    def __init__(self, levels: int) -> None:
        self.levels = levels

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        if self.levels == 1:
            if not book.two_sided():
                return None
            bid_volume, ask_volume = book.top_bid_size(), book.top_ask_size()
        else:
            bids, asks = book.top(self.levels)
            if not bids or not asks:
                return None
            try:
                bid_volume, ask_volume = _volume(bids), _volume(asks)
            except OverflowError:  # compiled, past int64
                return _imbalance_wide(bids, asks)
        try:
            difference = bid_volume - ask_volume
            total = bid_volume + ask_volume
        except OverflowError:  # compiled, past int64
            return _ratio(int(bid_volume) - int(ask_volume), int(bid_volume) + int(ask_volume))
        # Doubles hold every integer up to 2**53 exactly, and a quotient of two such doubles is
        # Python's correctly rounded integer quotient; beyond, Python's integer division.
        if -(2**53) <= difference <= 2**53 and -(2**53) <= total <= 2**53:
            return float(difference) / total if total else None
        return _ratio(difference, total)


def _imbalance_wide(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> float | None:
    """The imbalance of levels whose summed sizes leave int64, on Python integers."""
    bid_volume = ask_volume = 0
    for level in bids:
        bid_volume += level[1]
    for level in asks:
        ask_volume += level[1]
    return _ratio(bid_volume - ask_volume, bid_volume + ask_volume)
