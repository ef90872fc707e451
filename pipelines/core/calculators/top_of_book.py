"""Calculators on the book's top levels, read at the end of each venue message (stateless).

``mid``, ``microprice``, ``spread`` (absolute or in basis points of the mid) and ``imbalance``
(top level or top N levels). Each returns None while a side of the book is empty. Prices are in
instrument units (the book's integers over ``10**price_decimals``); sizes stay integers where only
their ratio matters.

They read the book through the reader API both Books have (``two_sided``, ``top_bid_price``,
``top_bid_size``, ..., ``top``, ``price_decimals``). The arithmetic is in small kernels
(:mod:`.top_of_book_kernels`, one source compiled when built, docs/decisions/0117).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import msgspec
from msgspec import Meta

from pipelines.core.book import Book
from pipelines.core.calculators.base import Calculator, Feed
from pipelines.core.calculators.top_of_book_kernels import (
    ImbalanceKernel,
    MicropriceKernel,
    MidKernel,
    SpreadKernel,
)
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
        self.kernel = MidKernel()
        super().__init__(params)


class MicropriceParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


@CALCULATORS.register
class Microprice(BookCalculator[MicropriceParams]):
    """``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``: the size-weighted mid."""

    kind: ClassVar[str] = "microprice"
    Params: ClassVar[type[msgspec.Struct]] = MicropriceParams

    def __init__(self, params: MicropriceParams) -> None:
        self.kernel = MicropriceKernel()
        super().__init__(params)


class SpreadParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    unit: Literal["abs", "bps"] = "abs"
    """``abs``: ask - bid in price units; ``bps``: 10,000 * (ask - bid) / mid."""


@CALCULATORS.register
class Spread(BookCalculator[SpreadParams]):
    kind: ClassVar[str] = "spread"
    Params: ClassVar[type[msgspec.Struct]] = SpreadParams

    def __init__(self, params: SpreadParams) -> None:
        self.kernel = SpreadKernel(params.unit == "bps")
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
        self.kernel = ImbalanceKernel(params.levels)
        super().__init__(params)

    def reconfigure(self, params: ImbalanceParams) -> bool:
        self.params = params
        self.kernel.levels = params.levels
        return True
