"""Everything the pipeline does to one book: apply, guard with health, run rules, publish.

:class:`BookKeeper` owns one (stream, symbol)'s L2 :class:`~pipelines.core.book.Book`, its
:class:`~pipelines.core.health.BookHealth`, its :class:`~pipelines.core.rules.SymbolRules` and,
for feeds that carry only ``Order`` events, an :class:`~pipelines.core.l3.L3Book` aggregating into
the same Book. The pipeline calls one method per event kind; each returns whether the book is now
consistent and changed (time to :meth:`publish` it), and nothing here allocates unless something
changes.

- ``BookDelta``: applied only while the health accepts updates (never across a gap: from a
  decoder's RESYNC/SYNCING/RESET until the next snapshot the deltas are dropped and counted).
- ``BookSnapshot``: replaces the book; the health goes LIVE.
- ``Order``: feeds the L3 book, unless the symbol's book is driven by BookDeltas (the simulator
  sends both: its Orders are then only passed on).
- ``Status`` from a decoder: drives the health; the health's own Status (one per real change)
  is published in its place.

One source (docs/decisions/0117): ``bookkeeper.pxd`` makes :class:`BookKeeper` a C class over
the compiled Book, BookHealth and rule engine (C calls for every per-message step) when the build
compiles this file; the same lines run as Python, on any Book, when it is not built.
"""

from __future__ import annotations

from collections.abc import Callable

import cython

from pipelines.core.book import Book
from pipelines.core.health import BookHealth
from pipelines.core.l3 import L3Book
from pipelines.core.rules.engine import SymbolRules
from pipelines.events import BookDelta, BookSnapshot, Event, Order, Status, Trade

if cython.compiled:  # C calls (a Python import would call them through Python)
    from cython.cimports.pipelines.core.fields import read, slot_offset
else:
    from pipelines.core.fields import read, slot_offset

__all__ = ["BookKeeper"]

Append = Callable[[Event], None]

COMPILED: bool = cython.compiled
# Compiled, a BookDelta's batch_end is read at its slot (pipelines.core.fields; -1: getattr).
BATCH_END = slot_offset(
    BookDelta,
    "batch_end",
    BookDelta(stream="s", symbol="x", seq=1, ts_recv=1, side="bid", price=1, size=1, action="new"),
)


class BookKeeper:
    __slots__ = ("book", "depth", "dropped", "health", "l2_fed", "l3", "rules")

    def __init__(self, book: Book, health: BookHealth, rules: SymbolRules, depth: int = 10) -> None:
        self.book = book
        self.health = health
        self.rules = rules
        self.depth = depth
        self.l3: L3Book | None = None
        self.l2_fed = False
        self.dropped = 0  # deltas and orders not applied while waiting for a snapshot

    def delta(self, delta: BookDelta) -> bool:
        """Apply if the book is in sync; True at ``batch_end`` of an applied message."""
        if self.health.needs_snapshot:
            self.dropped += 1
            return False
        if not self.l2_fed:
            self.l2_fed = True
            self.l3 = None  # the venue sends levels: they are the book
        self.book.apply(delta)
        if COMPILED and type(delta) is BookDelta:
            return bool(read(delta, BATCH_END, "batch_end"))
        return delta.batch_end

    def snapshot(self, snapshot: BookSnapshot, out: Append) -> bool:
        self.book.apply_snapshot(snapshot)
        if self.l3 is not None:
            self.l3.orders.clear()  # an L2 snapshot cannot say which orders rest: start over
        change = self.health.on_snapshot(snapshot.seq, snapshot.ts_recv)
        if change is not None:
            out(change)
        return True

    def order(self, order: Order) -> bool:
        if self.l2_fed:
            return False
        if self.health.needs_snapshot:
            self.dropped += 1
            return False
        l3 = self.l3
        if l3 is None:
            l3 = self.l3 = L3Book(book=self.book)
        return bool(l3.apply(order))

    def status(self, status: Status, out: Append) -> None:
        """A decoder's Status: the health's resulting change replaces it; others pass on."""
        about_book, change = self.health.on_status(status)
        if not about_book:
            out(status)
            return
        if change is not None:
            out(change)
        if self.health.state == "RESYNC" and change is not None:
            self.rules.on_gap(status.ts_recv, status.seq, out)

    def publish(self, seq: int, ts: int, out: Append, build: bool = True) -> bool:
        """After a consistent change: health (first update, crossed flag), book rules, then the
        ``BookSnapshot`` unless a rule drops or halts it. True if it was published (with
        ``build`` false, when no one would read it, True if it would have been, unbuilt)."""
        health, book = self.health, self.book
        change = health.on_update(seq, ts)
        if change is not None:
            out(change)
        crossed = book.crossed()
        if crossed != health.crossed:
            if crossed:
                reason = f"bid {book.top_bid_price()} > ask {book.top_ask_price()}"
            else:
                reason = "uncrossed"
            change = health.set_crossed(crossed, reason, seq, ts)
            if change is not None:
                out(change)
        rules = self.rules
        publish = rules.on_book(book, seq, ts) if rules.book else not rules.halted
        if publish and build:
            out(book.snapshot(self.depth, seq=seq, state=health.state_label(), ts_recv=ts))
        if rules.pending:  # flush does nothing without pending outputs: skip the call
            rules.flush(out)
        return publish

    def trade(self, trade: Trade, out: Append) -> None:
        """Trade rules, then the trade (unless dropped), then what the rules emitted."""
        rules = self.rules
        if not rules.trade or rules.on_trade(trade):
            out(trade)
        rules.flush(out)

    def tick(self, now_ns: int, out: Append) -> None:
        change = self.health.tick(now_ns)
        if change is not None:
            out(change)
        if self.rules.tick:
            self.rules.on_tick(now_ns, self.health.last_active_ns, out)
