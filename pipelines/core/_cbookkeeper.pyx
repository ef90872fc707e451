"""Compiled twin of :mod:`pipelines.core.bookkeeper` (docs/decisions/0112, 0115).

The same steps in the same order (health, crossed flag, book rules, snapshot, rule outputs), the
same events. The book and the health are the compiled twins (``_cbook``, ``_chealth``), reached
through C calls; the rules stay whatever :class:`~pipelines.core.rules.SymbolRules` is, called
through its documented interface (``on_book``, ``on_trade``, ``on_tick``, ``on_gap``, ``flush``
and the ``book``/``trade``/``tick``/``halted`` attributes).
"""

cimport cython

from pipelines.core._cbook cimport Book
from pipelines.core._cfields cimport field, field_offset, tp_descr_value
from pipelines.core._chealth cimport BookHealth
from pipelines.core.rules._cengine cimport SymbolRules as CompiledRules

from pipelines.core.l3 import L3Book
from pipelines.core.rules.engine import PySymbolRules
from pipelines.events import BookDelta

__all__ = ["BookKeeper"]

cdef object _BookDelta = BookDelta
cdef Py_ssize_t _BATCH_END = field_offset(BookDelta, "batch_end")
cdef str RESYNC = "RESYNC"

# The rules of a symbol are a SymbolRules: the compiled engine's, reached in C through its
# _cengine.pxd (in _publish), or engine.py's reference (a __slots__ class, no instance __dict__):
# its ``book``, ``halted`` and ``pending`` are read through the class's data descriptors (no
# per-read type lookup), ``on_book`` and ``flush`` called as the class's functions, and ``flush``
# -- which does nothing while ``pending`` is empty, the usual case, in both implementations --
# only when something is pending. Any other class gets the plain documented calls.
cdef object _Rules = None
cdef object _D_BOOK = None, _D_HALTED = None, _D_PENDING = None, _ON_BOOK = None, _FLUSH = None
if getattr(PySymbolRules, "__dictoffset__", 1) == 0:
    try:
        _D_BOOK = PySymbolRules.__dict__["book"]
        _D_HALTED = PySymbolRules.__dict__["halted"]
        _D_PENDING = PySymbolRules.__dict__["pending"]
        _ON_BOOK = PySymbolRules.__dict__["on_book"]
        _FLUSH = PySymbolRules.__dict__["flush"]
        if all(hasattr(type(d), "__set__") for d in (_D_BOOK, _D_HALTED, _D_PENDING)):
            _Rules = PySymbolRules
    except KeyError:
        pass


@cython.final
cdef class BookKeeper:
    def __init__(self, Book book, BookHealth health, rules, depth=10):
        self.book = book
        self.health = health
        self.rules = rules
        self.depth = depth
        self.l3 = None
        self.l2_fed = False
        self.dropped = 0  # deltas and orders not applied while waiting for a snapshot

    cdef bint _delta(self, object delta) except -1:
        if self.health.needs_snapshot:
            self.dropped += 1
            return False
        if not self.l2_fed:
            self.l2_fed = True
            self.l3 = None  # the venue sends levels: they are the book
        self.book.apply(delta)
        if type(delta) is _BookDelta:
            return bool(field(delta, _BATCH_END, "batch_end"))
        return bool(delta.batch_end)

    def delta(self, delta):
        """Apply if the book is in sync; True at ``batch_end`` of an applied message."""
        if self.health.needs_snapshot:
            self.dropped += 1
            return False
        if not self.l2_fed:
            self.l2_fed = True
            self.l3 = None
        self.book.apply(delta)
        return delta.batch_end  # the object itself, as the reference returns it

    def snapshot(self, snapshot, out):
        self.book.apply_snapshot(snapshot)
        if self.l3 is not None:
            self.l3.orders.clear()  # an L2 snapshot cannot say which orders rest: start over
        change = self.health.on_snapshot(snapshot.seq, snapshot.ts_recv)
        if change is not None:
            out(change)
        return True

    cdef bint _order(self, object order) except -1:
        if self.l2_fed:
            return False
        if self.health.needs_snapshot:
            self.dropped += 1
            return False
        l3 = self.l3
        if l3 is None:
            l3 = self.l3 = L3Book(book=self.book)
        return bool(l3.apply(order))

    def order(self, order):
        return self._order(order)

    def status(self, status, out):
        """A decoder's Status: the health's resulting change replaces it; others pass on."""
        about_book, change = self.health.on_status(status)
        if not about_book:
            out(status)
            return
        if change is not None:
            out(change)
        if self.health.state == RESYNC and change is not None:
            self.rules.on_gap(status.ts_recv, status.seq, out)

    cdef bint _publish(self, object seq, object ts, object out, bint build) except -1:
        cdef BookHealth health = self.health
        cdef Book book = self.book
        change = health.on_update(seq, ts)
        if change is not None:
            out(change)
        cdef bint crossed = book._crossed()
        if crossed != health.crossed:
            if crossed:
                reason = f"bid {book.best_bid_price()} > ask {book.best_ask_price()}"
            else:
                reason = "uncrossed"
            change = health.set_crossed(crossed, reason, seq, ts)
            if change is not None:
                out(change)
        rules = self.rules
        cdef bint publish
        cdef CompiledRules compiled
        if type(rules) is CompiledRules:
            # The compiled rule engine's C entry points (its _cengine.pxd): no lookups, no calls
            # through Python (docs/internal/core-accel-interface.md).
            compiled = <CompiledRules>rules
            if compiled.book:
                publish = compiled.on_book(book, seq, ts)
            else:
                publish = not compiled.halted
            if publish and build:
                out(book.snapshot(self.depth, seq=seq, state=health._label(), ts_recv=ts))
            if compiled.pending:
                compiled.flush(out)
            return publish
        if type(rules) is _Rules:
            if tp_descr_value(_D_BOOK, rules):
                publish = _ON_BOOK(rules, book, seq, ts)
            else:
                publish = not tp_descr_value(_D_HALTED, rules)
            if publish and build:
                out(book.snapshot(self.depth, seq=seq, state=health._label(), ts_recv=ts))
            if tp_descr_value(_D_PENDING, rules):
                _FLUSH(rules, out)
            return publish
        publish = rules.on_book(book, seq, ts) if rules.book else not rules.halted
        if publish and build:
            out(book.snapshot(self.depth, seq=seq, state=health._label(), ts_recv=ts))
        rules.flush(out)
        return publish

    def publish(self, seq, ts, out, build=True):
        """After a consistent change: health (first update, crossed flag), book rules, then the
        ``BookSnapshot`` unless a rule drops or halts it. True if it was published (with
        ``build`` false, when no one would read it, True if it would have been, unbuilt)."""
        return self._publish(seq, ts, out, build)

    def trade(self, trade, out):
        """Trade rules, then the trade (unless dropped), then what the rules emitted."""
        rules = self.rules
        if not rules.trade or rules.on_trade(trade):
            out(trade)
        rules.flush(out)

    def tick(self, now_ns, out):
        change = self.health.tick(now_ns)
        if change is not None:
            out(change)
        if self.rules.tick:
            self.rules.on_tick(now_ns, self.health.last_active_ns, out)
