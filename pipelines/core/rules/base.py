"""The shape every rule plugin has.

One instance per (rule spec, stream, symbol): its state (an EMA, a gap window) belongs to one
series. A rule declares the inputs it needs in ``inputs``; the pipeline calls only those hooks,
once per relevant event (a venue message that changed the book, a trade, a timer tick, a gap), and
each hook is O(1). A hook returns ``None`` when the condition is clear and a short message when it
is hit; what a hit does (tag, drop, alert, halt) is the spec's ``action``, not the rule's business.

Rules read the book through its public methods only (``best_bid_price``, ``top``, ...). The
built-in rules keep their state and arithmetic in a kernel (a :class:`~.engine.RuleKernel`, in
``book_kernels``/``band_kernels``: one source, compiled when built; docs/decisions/0119) and expose
its bound methods as their hooks; the engine calls a kernel itself, in C when compiled.
"""

from __future__ import annotations

from abc import ABC
from typing import ClassVar, Generic, Literal, TypeVar

import msgspec

from pipelines.core.book import Book
from pipelines.events import Trade

__all__ = ["Rule", "RuleInput", "RuleParams"]

RuleInput = Literal["book", "trade", "tick", "gap"]


class RuleParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every rule's ``Params``: unknown fields are errors; ``severity`` is the level of
    the Alert the ``alert`` action emits."""

    severity: Literal["info", "warning", "critical"] = "warning"


P = TypeVar("P", bound=msgspec.Struct)


class Rule(ABC, Generic[P]):
    """Generic in its params: ``class Spike(Rule[SpikeParams])`` gets ``self.params`` typed
    ``SpikeParams``. ``Params`` names the same struct at run time (a ClassVar cannot hold a type
    variable); ``Registry.register`` refuses a plugin whose two disagree."""

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]
    inputs: frozenset[RuleInput] = frozenset()

    def __init__(self, params: P) -> None:
        self.params = params

    def check_book(self, book: Book) -> str | None:
        """After a venue message changed the book (the book is consistent)."""
        return None

    def check_top(self, bid: int | None, ask: int | None, book: Book) -> str | None:
        """:meth:`check_book` with the best bid and ask prices read once for every rule of the
        symbol (None: that side is empty); what the engine calls. By default: ``check_book``."""
        return self.check_book(book)

    def check_trade(self, trade: Trade) -> str | None:
        return None

    def check_tick(self, now_ns: int, last_active_ns: int) -> str | None:
        """On the timer: ``last_active_ns`` is the tick time at which the book last changed."""
        return None

    def check_gap(self, ts_ns: int) -> str | None:
        """A gap in the book's sequence was seen at ``ts_ns``."""
        return None

    def reconfigure(self, params: P) -> bool:
        """Take new params keeping state; False means the caller must build a fresh instance."""
        return False
