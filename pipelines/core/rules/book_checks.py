"""Rules on the shape of the book: crossed or locked, and a maximum spread."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.core.book import Book
from pipelines.events import parse_scaled
from pipelines.registry import RULES

from .base import Rule, RuleInput, RuleParams

__all__ = ["CrossedBook", "CrossedBookParams", "MaxSpread", "MaxSpreadParams"]


class CrossedBookParams(RuleParams, frozen=True):
    """Hit when the best bid is above the best ask (and, with ``include_locked``, equal to it)."""

    include_locked: bool = True


@RULES.register
class CrossedBook(Rule):
    kind: ClassVar[str] = "crossed_book"
    Params: ClassVar[type[msgspec.Struct]] = CrossedBookParams
    inputs: frozenset[RuleInput] = frozenset({"book"})

    def __init__(self, params: msgspec.Struct) -> None:
        super().__init__(params)
        assert isinstance(params, CrossedBookParams)
        self.include_locked = params.include_locked

    def reconfigure(self, params: msgspec.Struct) -> bool:
        assert isinstance(params, CrossedBookParams)
        self.params, self.include_locked = params, params.include_locked
        return True

    def check_book(self, book: Book) -> str | None:
        bids, asks = book.bids.keys, book.asks.keys
        if not bids or not asks:
            return None
        bid, ask = bids[-1], -asks[-1]
        if bid > ask:
            return f"crossed: bid {bid} > ask {ask}"
        if bid == ask and self.include_locked:
            return f"locked: bid = ask = {bid}"
        return None


class MaxSpreadParams(RuleParams, frozen=True, kw_only=True):
    """Hit when the spread exceeds ``max_bps`` basis points of the mid, or ``max_spread`` (a
    decimal string in price units, exact at the book's scale). Zero / empty turns a limit off."""

    max_bps: Annotated[float, Meta(ge=0)] = 0.0
    max_spread: str = ""

    def __post_init__(self) -> None:
        if not self.max_bps and not self.max_spread:
            raise ValueError("set max_bps or max_spread")
        if self.max_spread:
            parse_scaled(self.max_spread, 18)  # a ValueError here names a bad decimal


@RULES.register
class MaxSpread(Rule):
    kind: ClassVar[str] = "max_spread"
    Params: ClassVar[type[msgspec.Struct]] = MaxSpreadParams
    inputs: frozenset[RuleInput] = frozenset({"book"})

    def __init__(self, params: msgspec.Struct) -> None:
        super().__init__(params)
        assert isinstance(params, MaxSpreadParams)
        self.p = params
        self._scaled: tuple[int, int] = (-1, 0)  # (price_decimals, max_spread at that scale)

    def reconfigure(self, params: msgspec.Struct) -> bool:
        assert isinstance(params, MaxSpreadParams)
        self.params = self.p = params
        self._scaled = (-1, 0)
        return True

    def check_book(self, book: Book) -> str | None:
        bids, asks = book.bids.keys, book.asks.keys
        if not bids or not asks:
            return None
        bid, ask = bids[-1], -asks[-1]
        spread = ask - bid
        p = self.p
        if p.max_spread:
            decimals, limit = self._scaled
            if decimals != book.price_decimals:
                limit = parse_scaled(p.max_spread, book.price_decimals)
                self._scaled = (book.price_decimals, limit)
            if spread > limit:
                return f"spread {spread} > {limit} (scale {book.price_decimals})"
        if p.max_bps and bid + ask > 0 and spread * 20_000 > p.max_bps * (bid + ask):
            return f"spread {spread * 20_000 / (bid + ask):.1f} bps > {p.max_bps:g} bps"
        return None
