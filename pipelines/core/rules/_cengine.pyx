# distutils: extra_compile_args = -ffp-contract=off
"""Compiled twin of :class:`SymbolRules`, :class:`BoundRule` and :class:`RuleStats` of
:mod:`pipelines.core.rules.engine` (decision 0113).

The same steps in the same order as engine.py: the best prices read once per venue message, each
book rule checked, "clear and was clear" counted without the outcome step, outcomes emitted into
``pending`` as the same Alert/Status events. A compiled kernel is told when the message of a hit
will not be read (a drop; an alert or halt already hit) and then skips formatting it. Rules whose kernel is compiled (a :class:`RuleKernel`
subclass: the built-ins) are checked through C calls; any other rule through its Python hooks.
Counters are C ints (read by the Prometheus collector through the same attribute names).
"""
from libc.stdint cimport int64_t

from pipelines.core._cbook cimport Book as CBook

from pipelines.events import Alert, Status

cdef enum:
    TAG = 0
    DROP = 1
    ALERT = 2
    HALT = 3


cdef class RuleKernel:
    """Base of the compiled rule kernels: ``_check_top`` / ``_check_trade`` are what the engine
    calls; the Python hooks below wrap them (same names and arguments as the Rule's)."""

    cdef object _check_top(self, object bid, object ask, object book, bint text):
        return None

    cdef object _check_prices(self, int64_t bid, int64_t ask, object book, bint text):
        return self._check_top(bid, ask, book, text)

    cdef object _check_trade(self, object trade, bint text):
        return None

    def check_top(self, bid, ask, book):
        return self._check_top(bid, ask, book, True)

    def check_book(self, book):
        cdef int64_t b, a
        if type(book) is CBook and (<CBook> book)._best_prices(&b, &a):
            return self._check_prices(b, a, book, True)
        return self._check_top(book.best_bid_price(), book.best_ask_price(), book, True)

    def check_trade(self, trade):
        return self._check_trade(trade, True)


cdef class RuleStats:
    """Counters of one rule (all symbols): read by the metrics collector, never locked."""

    def __init__(self):
        self.evaluations = 0
        self.hits = 0


cdef class BoundRule:
    """One rule instance on one symbol, with its action and whether it is hit now."""

    def __init__(self, entry, rule):
        self.entry = entry
        self.name = entry.name
        self.rule = rule
        self.action = action = entry.spec.action
        self.stats = entry.stats
        self.active = False
        self.check_top = rule.check_top  # bound once: called at every book message
        kernel = getattr(rule, "kernel", None)
        self._kernel = kernel if isinstance(kernel, RuleKernel) else None
        self._stats = self.stats if isinstance(self.stats, RuleStats) else None
        if action == "tag":
            self._action = TAG
        elif action == "drop":
            self._action = DROP
        elif action == "alert":
            self._action = ALERT
        elif action == "halt":
            self._action = HALT
        else:
            raise ValueError(f"unknown rule action {action!r}")

    cdef int _evaluated(self) except -1:
        if self._stats is not None:
            self._stats.evaluations += 1
        else:
            self.stats.evaluations += 1
        return 0

    cdef int _hit(self) except -1:
        if self._stats is not None:
            self._stats.hits += 1
        else:
            self.stats.hits += 1
        return 0

    cdef bint _needs_text(self) noexcept:
        # Whether _outcome would read a hit's message: every tag; the first alert or halt.
        return self._action == TAG or (self._action != DROP and not self.active)


cdef class SymbolRules:
    """The rules of one (stream, symbol), split by input so each event runs only its own."""

    def __init__(self, stream, symbol):
        self.stream = stream
        self.symbol = symbol
        self.bound = {}
        self.book = []
        self.trade = []
        self.tick = []
        self.gap = []
        self.halted = set()
        self.pending = []  # tags waiting for the event they follow

    def wire(self):
        rules = list(self.bound.values())
        self.book = [b for b in rules if "book" in b.rule.inputs]
        self.trade = [b for b in rules if "trade" in b.rule.inputs]
        self.tick = [b for b in rules if "tick" in b.rule.inputs]
        self.gap = [b for b in rules if "gap" in b.rule.inputs]

    # -- outcomes -------------------------------------------------------------------------------
    cdef int _outcome(self, BoundRule bound, object message, object seq, object ts) except -1:
        # Returns 0 when the event must not be published, 1 otherwise (engine.py's bool).
        bound._evaluated()
        cdef int action = bound._action
        if message is None:
            if bound.active:
                bound.active = False
                if action == ALERT:
                    self.pending.append(self._alert(bound, "info", "cleared", seq, ts))
                elif action == HALT:
                    self.release(bound.name, seq, ts)
            return 1
        bound._hit()
        cdef bint first = not bound.active
        bound.active = True
        if action == TAG:
            self.pending.append(self._alert(bound, "info", f"tag: {message}", seq, ts))
            return 1
        if action == DROP:
            return 0
        if first:
            if action == ALERT:
                severity = getattr(bound.rule.params, "severity", "warning")
                self.pending.append(self._alert(bound, severity, message, seq, ts))
            else:  # halt
                self.halted.add(bound.name)
                self.pending.append(self._status("HALTED", f"{bound.name}: {message}", seq, ts))
        return action != HALT

    def _outcome_py(self, BoundRule bound, message, seq, ts):
        """The outcome step from Python (tests); the engine calls it in C."""
        return bool(self._outcome(bound, message, seq, ts))

    def release(self, name, seq, ts):
        """A halting rule cleared (or went away): RESUMED once no halt is left."""
        if name in self.halted:
            self.halted.discard(name)
            if not self.halted:
                self.pending.append(self._status("RESUMED", f"{name} cleared", seq, ts))

    def _alert(self, BoundRule bound, severity, message, seq, ts):
        return Alert(
            stream=self.stream,
            symbol=self.symbol,
            seq=seq,
            ts_recv=ts,
            rule=bound.name,
            severity=severity,
            message=message,
        )

    def _status(self, state, reason, seq, ts):
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=state, reason=reason
        )

    # -- inputs (the pipeline calls these only when the list is non-empty) ----------------------
    cpdef bint on_book(self, object book, object seq, object ts) except -1:
        """Book rules after a venue message; False: do not publish this book. Call
        :meth:`flush` after publishing (or not) the book."""
        cdef bint publish = True
        cdef BoundRule bound
        cdef int64_t b = 0, a = 0
        # The best prices, read once for every rule (Rule.check_top): from the compiled Book in C
        # when it has both sides (boxed only if a rule without a compiled kernel needs them),
        # else through the public methods.
        cdef bint prices = type(book) is CBook and (<CBook> book)._best_prices(&b, &a)
        cdef bint boxed = not prices
        if boxed:
            bid = book.best_bid_price()
            ask = book.best_ask_price()
        else:
            bid = ask = None
        for bound in self.book:
            if bound._kernel is not None and prices:
                message = bound._kernel._check_prices(b, a, book, bound._needs_text())
            else:
                if not boxed:
                    bid = b
                    ask = a
                    boxed = True
                if bound._kernel is not None:
                    message = bound._kernel._check_top(bid, ask, book, bound._needs_text())
                else:
                    message = bound.check_top(bid, ask, book)
            if message is None and not bound.active:
                bound._evaluated()  # clear, and was: all _outcome would do
                continue
            if not self._outcome(bound, message, seq, ts):
                publish = False
        return publish and not self.halted

    cpdef bint on_trade(self, object trade) except -1:
        """Trade rules; False: drop the trade (a trade rule that halts stops the book, not the
        trades). Call :meth:`flush` after publishing (or not) the trade."""
        cdef bint publish = True
        cdef bint kept
        cdef BoundRule bound
        seq = trade.seq
        ts = trade.ts_recv
        for bound in self.trade:
            if bound._kernel is not None:
                message = bound._kernel._check_trade(trade, bound._needs_text())
            else:
                message = bound.rule.check_trade(trade)
            if message is None and not bound.active:
                bound._evaluated()  # clear, and was: all _outcome would do
                continue
            kept = self._outcome(bound, message, seq, ts)
            if not kept and bound._action == DROP:
                publish = False
        return publish

    def on_tick(self, now_ns, last_active_ns, out):
        cdef BoundRule bound
        for bound in self.tick:
            self._outcome(bound, bound.rule.check_tick(now_ns, last_active_ns), 0, now_ns)
        self.flush(out)

    def on_gap(self, ts, seq, out):
        cdef BoundRule bound
        for bound in self.gap:
            self._outcome(bound, bound.rule.check_gap(ts), seq, ts)
        self.flush(out)

    cpdef flush(self, object out):
        """Publish what the last evaluation emitted (after the event it is about)."""
        if self.pending:
            for event in self.pending:
                out(event)
            self.pending.clear()
