"""Type stub of the compiled BookKeeper (``_cbookkeeper.pyx``); the reference is
:mod:`.bookkeeper`."""

from collections.abc import Callable

from pipelines.core._cbook import Book
from pipelines.core._chealth import BookHealth
from pipelines.core.l3 import L3Book
from pipelines.core.rules.engine import SymbolRules
from pipelines.events import BookDelta, BookSnapshot, Event, Order, Status, Trade

__all__ = ["BookKeeper"]

Append = Callable[[Event], None]

class BookKeeper:
    book: Book
    health: BookHealth
    rules: SymbolRules
    depth: int
    l3: L3Book | None
    l2_fed: bool
    dropped: int
    def __init__(
        self, book: Book, health: BookHealth, rules: SymbolRules, depth: int = 10
    ) -> None: ...
    def delta(self, delta: BookDelta) -> bool: ...
    def snapshot(self, snapshot: BookSnapshot, out: Append) -> bool: ...
    def order(self, order: Order) -> bool: ...
    def status(self, status: Status, out: Append) -> None: ...
    def publish(self, seq: int, ts: int, out: Append, build: bool = True) -> bool: ...
    def trade(self, trade: Trade, out: Append) -> None: ...
    def tick(self, now_ns: int, out: Append) -> None: ...
