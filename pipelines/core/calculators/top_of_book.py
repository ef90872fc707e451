"""Calculators on the book's top levels, read at the end of each venue message (stateless).

``mid``, ``microprice``, ``spread`` (absolute or in basis points of the mid) and ``imbalance``
(top level or top N levels). Each returns None while a side of the book is empty. Prices are in
instrument units (the book's integers over ``10**price_decimals``); sizes stay integers where only
their ratio matters.

They read the book through its public methods only (``best_bid``, ``best_ask``, ``*_price``,
``top``, ``price_decimals``), so any Book implementation with that API serves. The arithmetic is in
small kernels (the reference here; a compiled twin in ``_ctop_of_book.pyx``, decision 0113).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import msgspec
from msgspec import Meta

from pipelines import accel
from pipelines.core.book import Book
from pipelines.core.calculators.base import Calculator, Feed
from pipelines.registry import CALCULATORS

__all__ = [
    "BookCalculator",
    "Imbalance",
    "ImbalanceKernel",
    "ImbalanceParams",
    "Microprice",
    "MicropriceKernel",
    "MicropriceParams",
    "Mid",
    "MidKernel",
    "MidParams",
    "Spread",
    "SpreadKernel",
    "SpreadParams",
]


class MidKernel:
    """``(best_bid + best_ask) / 2`` in price units."""

    __slots__ = ()

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        bid, ask = book.best_bid_price(), book.best_ask_price()
        if bid is None or ask is None:
            return None
        return (bid + ask) / (2 * 10.0**book.price_decimals)


class MicropriceKernel:
    """``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: the size-weighted mid."""

    __slots__ = ()

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is None or best_ask is None:
            return None
        bid, bid_size = best_bid
        ask, ask_size = best_ask
        return (bid * ask_size + ask * bid_size) / (
            (bid_size + ask_size) * 10.0**book.price_decimals
        )


class SpreadKernel:
    """``ask - bid`` in price units, or (``bps``) ``10,000 * (ask - bid) / mid``."""

    __slots__ = ("bps",)

    def __init__(self, bps: bool) -> None:
        self.bps = bps

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        bid, ask = book.best_bid_price(), book.best_ask_price()
        if bid is None or ask is None:
            return None
        if self.bps:
            return 20_000.0 * (ask - bid) / (ask + bid) if ask + bid else None
        return (ask - bid) / 10.0**book.price_decimals


class ImbalanceKernel:
    """``(bid_volume - ask_volume) / (bid_volume + ask_volume)`` over the top ``levels``."""

    __slots__ = ("levels",)

    def __init__(self, levels: int) -> None:
        self.levels = levels

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        levels = self.levels
        if levels == 1:
            best_bid, best_ask = book.best_bid(), book.best_ask()
            if best_bid is None or best_ask is None:
                return None
            bid_volume, ask_volume = best_bid[1], best_ask[1]
        else:
            bids, asks = book.top(levels)
            if not bids or not asks:
                return None
            bid_volume = ask_volume = 0
            for _, size in bids:
                bid_volume += size
            for _, size in asks:
                ask_volume += size
        total = bid_volume + ask_volume
        return (bid_volume - ask_volume) / total if total else None


# The compiled twins (None: run the Python kernels). Chosen once, at import.
_compiled = accel.load("pipelines.core.calculators._ctop_of_book")
_kernels = _compiled if _compiled is not None else sys.modules[__name__]


P = TypeVar("P", bound=msgspec.Struct)


class BookCalculator(Calculator[P]):
    """Fed with the consistent book; new params always apply in place (there is no state).

    A subclass sets ``kernel`` (an object with ``update_book(book, ts)``) before calling this
    ``__init__``; the kernel's bound method is the feed."""

    kernel: Any

    def __init__(self, params: P) -> None:
        super().__init__(params)
        self.update_book = self.kernel.update_book  # type: ignore[method-assign]

    @property
    def input(self) -> str:
        return "book"

    def feeds(self) -> list[tuple[Feed, Callable[..., float | None]]]:
        return [("book", self.update_book)]

    def update_book(self, book: Book, ts: int = 0) -> float | None:
        raise NotImplementedError

    def reconfigure(self, params: P) -> bool:
        self.params = params
        return True


class MidParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


@CALCULATORS.register
class Mid(BookCalculator[MidParams]):
    """``(best_bid + best_ask) / 2``."""

    kind: ClassVar[str] = "mid"
    Params: ClassVar[type[msgspec.Struct]] = MidParams

    def __init__(self, params: MidParams) -> None:
        self.kernel = _kernels.MidKernel()
        super().__init__(params)


class MicropriceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


@CALCULATORS.register
class Microprice(BookCalculator[MicropriceParams]):
    """``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: the size-weighted mid."""

    kind: ClassVar[str] = "microprice"
    Params: ClassVar[type[msgspec.Struct]] = MicropriceParams

    def __init__(self, params: MicropriceParams) -> None:
        self.kernel = _kernels.MicropriceKernel()
        super().__init__(params)


class SpreadParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    unit: Literal["abs", "bps"] = "abs"
    """``abs``: ask - bid in price units; ``bps``: 10,000 * (ask - bid) / mid."""


@CALCULATORS.register
class Spread(BookCalculator[SpreadParams]):
    kind: ClassVar[str] = "spread"
    Params: ClassVar[type[msgspec.Struct]] = SpreadParams

    def __init__(self, params: SpreadParams) -> None:
        self.kernel = _kernels.SpreadKernel(params.unit == "bps")
        super().__init__(params)

    def reconfigure(self, params: SpreadParams) -> bool:
        self.params = params
        self.kernel.bps = params.unit == "bps"
        return True


class ImbalanceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    levels: Annotated[int, Meta(gt=0, le=1000)] = 1
    """How many levels of each side count (1: top of book)."""


@CALCULATORS.register
class Imbalance(BookCalculator[ImbalanceParams]):
    """``(bid_volume - ask_volume) / (bid_volume + ask_volume)`` over the top levels, in [-1, 1]."""

    kind: ClassVar[str] = "imbalance"
    Params: ClassVar[type[msgspec.Struct]] = ImbalanceParams

    def __init__(self, params: ImbalanceParams) -> None:
        self.kernel = _kernels.ImbalanceKernel(params.levels)
        super().__init__(params)

    def reconfigure(self, params: ImbalanceParams) -> bool:
        self.params = params
        self.kernel.levels = params.levels
        return True
