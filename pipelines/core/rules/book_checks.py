"""Rules on the shape of the book: crossed or locked, and a maximum spread."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines import accel
from pipelines.core.book import Book
from pipelines.events import parse_scaled
from pipelines.registry import RULES

from .base import Rule, RuleInput, RuleParams

__all__ = [
    "CrossedBook",
    "CrossedBookKernel",
    "CrossedBookParams",
    "MaxSpread",
    "MaxSpreadKernel",
    "MaxSpreadParams",
]


class CrossedBookParams(RuleParams, frozen=True):
    """Hit when the best bid is above the best ask (and, with ``include_locked``, equal to it)."""

    include_locked: bool = True


class CrossedBookKernel:
    """The crossed/locked check on the best prices (the reference of ``_cbook_checks``)."""

    __slots__ = ("include_locked",)

    def __init__(self, include_locked: bool) -> None:
        self.include_locked = include_locked

    def check_book(self, book: Book) -> str | None:
        return self.check_top(book.best_bid_price(), book.best_ask_price(), book)

    def check_top(self, bid: int | None, ask: int | None, book: Book) -> str | None:
        if bid is None or ask is None:
            return None
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


class MaxSpreadKernel:
    """The spread limits on the best prices (the reference of ``_cbook_checks``)."""

    __slots__ = ("_scaled", "max_bps", "max_spread")

    def __init__(self, max_bps: float, max_spread: str) -> None:
        self.configure(max_bps, max_spread)

    def configure(self, max_bps: float, max_spread: str) -> None:
        self.max_bps = max_bps
        self.max_spread = max_spread
        self._scaled: tuple[int, int] = (-1, 0)  # (price_decimals, max_spread at that scale)

    def check_book(self, book: Book) -> str | None:
        return self.check_top(book.best_bid_price(), book.best_ask_price(), book)

    def check_top(self, bid: int | None, ask: int | None, book: Book) -> str | None:
        if bid is None or ask is None:
            return None
        spread = ask - bid
        if self.max_spread:
            decimals, limit = self._scaled
            if decimals != book.price_decimals:
                limit = parse_scaled(self.max_spread, book.price_decimals)
                self._scaled = (book.price_decimals, limit)
            if spread > limit:
                return f"spread {spread} > {limit} (scale {book.price_decimals})"
        max_bps = self.max_bps
        if max_bps and bid + ask > 0 and spread * 20_000 > max_bps * (bid + ask):
            return f"spread {spread * 20_000 / (bid + ask):.1f} bps > {max_bps:g} bps"
        return None


# The compiled twins of the kernels (None: run the Python ones). Chosen once, at import.
_compiled = accel.load("pipelines.core.rules._cbook_checks")
CrossedKernel: type[CrossedBookKernel] = (
    _compiled.CrossedBookKernel if _compiled is not None else CrossedBookKernel
)
SpreadKernel: type[MaxSpreadKernel] = (
    _compiled.MaxSpreadKernel if _compiled is not None else MaxSpreadKernel
)


@RULES.register
class CrossedBook(Rule[CrossedBookParams]):
    kind: ClassVar[str] = "crossed_book"
    Params: ClassVar[type[msgspec.Struct]] = CrossedBookParams
    inputs: frozenset[RuleInput] = frozenset({"book"})

    def __init__(self, params: CrossedBookParams) -> None:
        super().__init__(params)
        self.kernel = kernel = CrossedKernel(params.include_locked)
        # The kernel's bound methods are the hooks: no Python frame of the rule per event.
        self.check_book = kernel.check_book  # type: ignore[method-assign]
        self.check_top = kernel.check_top  # type: ignore[method-assign]

    @property
    def include_locked(self) -> bool:
        return self.kernel.include_locked

    def reconfigure(self, params: CrossedBookParams) -> bool:
        self.params = params
        self.kernel.include_locked = params.include_locked
        return True


@RULES.register
class MaxSpread(Rule[MaxSpreadParams]):
    kind: ClassVar[str] = "max_spread"
    Params: ClassVar[type[msgspec.Struct]] = MaxSpreadParams
    inputs: frozenset[RuleInput] = frozenset({"book"})

    def __init__(self, params: MaxSpreadParams) -> None:
        super().__init__(params)
        self.kernel = kernel = SpreadKernel(params.max_bps, params.max_spread)
        self.check_book = kernel.check_book  # type: ignore[method-assign]
        self.check_top = kernel.check_top  # type: ignore[method-assign]

    def reconfigure(self, params: MaxSpreadParams) -> bool:
        self.params = params
        self.kernel.configure(params.max_bps, params.max_spread)
        return True
