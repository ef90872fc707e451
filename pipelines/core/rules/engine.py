"""Running rules: per-symbol dispatch lists and what a hit does (the spec's ``action``).

- ``tag``: the event stays and is followed by ``Alert(severity="info", message="tag: ...")``
  carrying the tagged event's ``seq`` (see docs/decisions/0100-rule-tags-and-actions.md). For a
  book rule the tagged event is the ``BookSnapshot`` published for that venue message.
- ``drop``: the event is not published (a trade; for a book rule the snapshot of that message: the
  book itself keeps every delta, or it would be wrong from then on).
- ``alert``: ``Alert(severity=<params.severity or "warning">)`` once when the rule starts to hit,
  ``Alert(severity="info", message="cleared: ...")`` once when it clears.
- ``halt``: ``Status(state="HALTED")`` and no book is published for the symbol while any halting
  rule hits; ``Status(state="RESUMED")`` when the last one clears, and publishing resumes.

Evaluations and hits are plain ints on a :class:`RuleStats` per rule name, read at scrape time.

This module is the per-event side (:class:`SymbolRules`, :class:`BoundRule`, :class:`RuleStats`
and the kernel base :class:`RuleKernel`); :mod:`.ruleset` configures it from the spec. One source
(docs/decisions/0117, 0119): ``engine.pxd`` makes them C classes when the build compiles this
file: the compiled keeper calls ``on_book``/``on_trade``/``flush`` in C, which read the compiled
Book's best prices as C ints and call a compiled kernel's :meth:`RuleKernel.top` /
:meth:`RuleKernel.trade` in C. A rule without a kernel runs through its Python hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from pipelines.events import Alert, Event, Status

if TYPE_CHECKING:
    from typing import TypeAlias

    from pipelines.core.book import Book
    from pipelines.events import Trade

    # A kernel's result: None (clear), the message of a hit, or True (a hit nobody will read).
    Verdict: TypeAlias = "str | bool | None"

__all__ = ["BoundRule", "RuleKernel", "RuleStats", "SymbolRules"]

Append = Callable[[Event], None]


class RuleKernel:
    """Base of the rule kernels: a rule's per-event state and arithmetic, in a class of its own
    (the built-ins' in :mod:`.book_kernels` and :mod:`.band_kernels`), which the rule plugin
    holds as ``kernel``. The engine calls :meth:`top` and :meth:`trade` on the kernel itself (C
    calls when compiled); the ``check_*`` methods are the same checks as the Rule's hooks.

    ``text`` false: nobody will read the message of a hit (a drop; an alert or halt already
    hit), so a hit may return True instead of formatting it. Same verdict, same state change.
    """

    __slots__ = ()

    def top(self, bid: int, ask: int, book: Book, text: bool) -> Verdict:
        """After a venue message that left both sides of the book with a level (``bid`` and
        ``ask``: the best prices, int64; ``book``: either Book). A book with an empty side is
        clear for every kernel: the engine does not call this then."""
        return None

    def trade(self, trade: Trade, text: bool) -> Verdict:
        return None

    def check_top(self, bid: int | None, ask: int | None, book: Book) -> str | None:
        """:meth:`pipelines.core.rules.base.Rule.check_top` (None: that side is empty)."""
        if bid is None or ask is None:
            return None
        return cast("str | None", self.top(bid, ask, book, True))

    def check_book(self, book: Book) -> str | None:
        if not book.two_sided():
            return None
        return cast("str | None", self.top(book.top_bid_price(), book.top_ask_price(), book, True))

    def check_trade(self, trade: Trade) -> str | None:
        return cast("str | None", self.trade(trade, True))


class RuleStats:
    """Counters of one rule (all symbols): read by the metrics collector, never locked."""

    __slots__ = ("evaluations", "hits")

    def __init__(self) -> None:
        self.evaluations = 0
        self.hits = 0


class BoundRule:
    """One rule instance on one symbol, with its action and whether it is hit now."""

    __slots__ = (
        "action",
        "active",
        "alerts",
        "check_top",
        "drops",
        "entry",
        "halts",
        "kernel",
        "name",
        "rule",
        "stats",
        "tags",
    )

    def __init__(self, entry: Any, rule: Any) -> None:
        """``entry``: the rule's :class:`~pipelines.core.rules.ruleset.RuleEntry` (its name,
        spec and stats); ``rule``: the instance (a :class:`~pipelines.core.rules.base.Rule`)."""
        self.entry = entry
        self.name = entry.name
        self.rule = rule
        self.action = action = entry.spec.action
        if action not in ("tag", "drop", "alert", "halt"):
            raise ValueError(f"unknown rule action {action!r}")
        self.tags = action == "tag"
        self.drops = action == "drop"
        self.alerts = action == "alert"
        self.halts = action == "halt"
        self.stats = entry.stats
        self.active = False
        self.check_top = rule.check_top  # bound once: called at every book message
        # The engine calls a kernel of its own kind directly; any other rule through its hooks.
        kernel = getattr(rule, "kernel", None)
        self.kernel = kernel if isinstance(kernel, RuleKernel) else None


class SymbolRules:
    """The rules of one (stream, symbol), split by input so each event runs only its own."""

    __slots__ = ("book", "bound", "gap", "halted", "pending", "stream", "symbol", "tick", "trade")

    def __init__(self, stream: str, symbol: str) -> None:
        self.stream = stream
        self.symbol = symbol
        self.bound: dict[str, BoundRule] = {}
        self.book: list[BoundRule] = []
        self.trade: list[BoundRule] = []
        self.tick: list[BoundRule] = []
        self.gap: list[BoundRule] = []
        self.halted: set[str] = set()
        self.pending: list[Event] = []  # tags waiting for the event they follow

    def wire(self) -> None:
        rules = list(self.bound.values())
        self.book = [b for b in rules if "book" in b.rule.inputs]
        self.trade = [b for b in rules if "trade" in b.rule.inputs]
        self.tick = [b for b in rules if "tick" in b.rule.inputs]
        self.gap = [b for b in rules if "gap" in b.rule.inputs]

    # -- outcomes -------------------------------------------------------------------------------
    def _outcome(self, bound: BoundRule, message: Verdict, seq: int, ts: int) -> bool:
        """Account one evaluation; returns False when the event must not be published. What it
        emits waits in ``pending`` and follows the event (:meth:`flush`). A hit's message is
        read for a tag and the first hit of an alert or a halt (else it may be True)."""
        bound.stats.evaluations += 1
        if message is None:
            if bound.active:
                bound.active = False
                if bound.alerts:
                    self.pending.append(self._alert(bound, "info", "cleared", seq, ts))
                elif bound.halts:
                    self.release(bound.name, seq, ts)
            return True
        bound.stats.hits += 1
        first = not bound.active
        bound.active = True
        if bound.tags:
            self.pending.append(self._alert(bound, "info", f"tag: {message}", seq, ts))
            return True
        if bound.drops:
            return False
        if first:
            if bound.alerts:
                severity = getattr(bound.rule.params, "severity", "warning")
                self.pending.append(self._alert(bound, severity, message, seq, ts))
            else:  # halt
                self.halted.add(bound.name)
                self.pending.append(self._status("HALTED", f"{bound.name}: {message}", seq, ts))
        return not bound.halts

    def release(self, name: str, seq: int, ts: int) -> None:
        """A halting rule cleared (or went away): RESUMED once no halt is left."""
        if name in self.halted:
            self.halted.discard(name)
            if not self.halted:
                self.pending.append(self._status("RESUMED", f"{name} cleared", seq, ts))

    def _alert(self, bound: BoundRule, severity: Any, message: Any, seq: int, ts: int) -> Alert:
        return Alert(
            stream=self.stream,
            symbol=self.symbol,
            seq=seq,
            ts_recv=ts,
            rule=bound.name,
            severity=severity,
            message=message,
        )

    def _status(self, state: Any, reason: str, seq: int, ts: int) -> Status:
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=state, reason=reason
        )

    # -- inputs (the pipeline calls these only when the list is non-empty) ----------------------
    def on_book(self, book: Book, seq: int, ts: int) -> bool:
        """Book rules after a venue message; False: do not publish this book. Call
        :meth:`flush` after publishing (or not) the book."""
        publish = True
        # The best prices, read once for every rule (Rule.check_top): C ints when compiled.
        try:
            bid = book.top_bid_price()
            ask = book.top_ask_price()
            two_sided = True
        except IndexError:  # a side is empty
            bid = ask = 0
            two_sided = False
        for bound in self.book:
            kernel = bound.kernel
            if kernel is None:
                if two_sided:
                    message = bound.check_top(bid, ask, book)
                else:
                    message = bound.check_top(book.best_bid_price(), book.best_ask_price(), book)
            elif two_sided:
                # text: whether _outcome will read a hit's message (every tag; the first hit
                # of an alert or a halt).
                text = bound.tags or not (bound.drops or bound.active)
                message = kernel.top(bid, ask, book, text)
            else:
                message = None  # a kernel's verdict on a book with an empty side (RuleKernel.top)
            if message is None and not bound.active:
                bound.stats.evaluations += 1  # clear, and was: all _outcome would do
                continue
            if not self._outcome(bound, message, seq, ts):
                publish = False
        return publish and not self.halted

    def on_trade(self, trade: Trade) -> bool:
        """Trade rules; False: drop the trade (a trade rule that halts stops the book, not the
        trades). Call :meth:`flush` after publishing (or not) the trade."""
        publish = True
        seq, ts = trade.seq, trade.ts_recv
        for bound in self.trade:
            kernel = bound.kernel
            if kernel is None:
                message = bound.rule.check_trade(trade)
            else:
                text = bound.tags or not (bound.drops or bound.active)
                message = kernel.trade(trade, text)
            if message is None and not bound.active:
                bound.stats.evaluations += 1  # clear, and was: all _outcome would do
                continue
            if not self._outcome(bound, message, seq, ts) and bound.drops:
                publish = False
        return publish

    def on_tick(self, now_ns: int, last_active_ns: int, out: Append) -> None:
        for bound in self.tick:
            self._outcome(bound, bound.rule.check_tick(now_ns, last_active_ns), 0, now_ns)
        self.flush(out)

    def on_gap(self, ts: int, seq: int, out: Append) -> None:
        for bound in self.gap:
            self._outcome(bound, bound.rule.check_gap(ts), seq, ts)
        self.flush(out)

    def flush(self, out: Append) -> None:
        """Publish what the last evaluation emitted (after the event it is about)."""
        if self.pending:
            for event in self.pending:
                out(event)
            self.pending.clear()
