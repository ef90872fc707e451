"""Calculators on the book's top levels, read at the end of each venue message (stateless).

``mid``, ``microprice``, ``spread`` (absolute or in basis points of the mid) and ``imbalance``
(top level or top N levels). Each returns None while a side of the book is empty. Prices are in
instrument units (the book's integers over ``10**price_decimals``); sizes stay integers where only
their ratio matters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta

from pipelines.core.book import Book
from pipelines.core.calculators.base import Calculator, Feed
from pipelines.registry import CALCULATORS

__all__ = [
    "BookCalculator",
    "Imbalance",
    "ImbalanceParams",
    "Microprice",
    "MicropriceParams",
    "Mid",
    "MidParams",
    "Spread",
    "SpreadParams",
]


class BookCalculator(Calculator):
    """Fed with the consistent book; new params always apply in place (there is no state)."""

    @property
    def input(self) -> str:
        return "book"

    def feeds(self) -> list[tuple[Feed, Callable[..., float | None]]]:
        return [("book", self.update_book)]

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        raise NotImplementedError

    def reconfigure(self, params: msgspec.Struct) -> bool:
        self.params = params
        return True


class MidParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


@CALCULATORS.register
class Mid(BookCalculator):
    """``(best_bid + best_ask) / 2``."""

    kind: ClassVar[str] = "mid"
    Params: ClassVar[type[msgspec.Struct]] = MidParams

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        bids, asks = book.bids.keys, book.asks.keys
        if not bids or not asks:
            return None
        return (bids[-1] - asks[-1]) / (2 * 10.0**book.price_decimals)


class MicropriceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


@CALCULATORS.register
class Microprice(BookCalculator):
    """``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: the size-weighted mid."""

    kind: ClassVar[str] = "microprice"
    Params: ClassVar[type[msgspec.Struct]] = MicropriceParams

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        bids, asks = book.bids, book.asks
        if not bids.keys or not asks.keys:
            return None
        bid = bids.keys[-1]
        ask = -asks.keys[-1]
        bid_size = bids.levels[bid]
        ask_size = asks.levels[ask]
        return (bid * ask_size + ask * bid_size) / (
            (bid_size + ask_size) * 10.0**book.price_decimals
        )


class SpreadParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    unit: Literal["abs", "bps"] = "abs"
    """``abs``: ask - bid in price units; ``bps``: 10,000 * (ask - bid) / mid."""


@CALCULATORS.register
class Spread(BookCalculator):
    kind: ClassVar[str] = "spread"
    Params: ClassVar[type[msgspec.Struct]] = SpreadParams

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        bids, asks = book.bids.keys, book.asks.keys
        if not bids or not asks:
            return None
        bid, ask = bids[-1], -asks[-1]
        if self.params.unit == "bps":  # type: ignore[attr-defined]
            return 20_000.0 * (ask - bid) / (ask + bid) if ask + bid else None
        return (ask - bid) / 10.0**book.price_decimals


class ImbalanceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    levels: Annotated[int, Meta(gt=0, le=1000)] = 1
    """How many levels of each side count (1: top of book)."""


@CALCULATORS.register
class Imbalance(BookCalculator):
    """``(bid_volume - ask_volume) / (bid_volume + ask_volume)`` over the top levels, in [-1, 1]."""

    kind: ClassVar[str] = "imbalance"
    Params: ClassVar[type[msgspec.Struct]] = ImbalanceParams

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        bids, asks = book.bids, book.asks
        bid_keys, ask_keys = bids.keys, asks.keys
        if not bid_keys or not ask_keys:
            return None
        levels: int = self.params.levels  # type: ignore[attr-defined]
        if levels == 1:
            bid_volume = bids.levels[bid_keys[-1]]
            ask_volume = asks.levels[-ask_keys[-1]]
        else:
            # Walk the keys from the best end (the last element): no slice, no list per call.
            bid_levels, ask_levels = bids.levels, asks.levels
            bid_volume = ask_volume = 0
            for i in range(1, min(levels, len(bid_keys)) + 1):
                bid_volume += bid_levels[bid_keys[-i]]
            for i in range(1, min(levels, len(ask_keys)) + 1):
                ask_volume += ask_levels[-ask_keys[-i]]
        total = bid_volume + ask_volume
        return (bid_volume - ask_volume) / total if total else None
