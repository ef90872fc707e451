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

:class:`SymbolRules`, :class:`BoundRule` and :class:`RuleStats` here are the reference; their
compiled twins (``_cengine.pyx``, docs/decisions/0113) replace them when built: the same steps,
outcomes and events, with the built-in rules' kernels called in C. ``PySymbolRules``,
``PyBoundRule`` and ``PyRuleStats`` name the reference classes whichever implementation runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from pipelines import accel
from pipelines.core.book import Book
from pipelines.events import Alert, Event, Status, Trade
from pipelines.registry import RULES
from pipelines.spec import RuleSpec

from .base import Rule

__all__ = [
    "COMPILED",
    "BoundRule",
    "PyBoundRule",
    "PyRuleStats",
    "PySymbolRules",
    "RuleEntry",
    "RuleSet",
    "RuleStats",
    "SymbolRules",
]

Append = Callable[[Event], None]


class RuleStats:
    """Counters of one rule (all symbols): read by the metrics collector, never locked."""

    __slots__ = ("evaluations", "hits")

    def __init__(self) -> None:
        self.evaluations = 0
        self.hits = 0


class RuleEntry:
    """A rule of the spec with validated params (its kind's own ``Params``: checked here, since
    the instances it builds and reconfigures take them untyped) and its counters."""

    __slots__ = ("name", "params", "spec", "stats")

    def __init__(self, name: str, spec: RuleSpec, params: msgspec.Struct) -> None:
        RULES.check_params(spec.kind, params)
        self.name = name
        self.spec = spec
        self.params = params
        self.stats = RuleStats()

    def applies_to(self, symbol: str) -> bool:
        return not self.spec.symbols or symbol in self.spec.symbols

    def build(self) -> Rule[Any]:
        plugin: Any = RULES.get(self.spec.kind)
        rule: Rule[Any] = plugin(self.params)
        return rule


class BoundRule:
    """One rule instance on one symbol, with its action and whether it is hit now."""

    __slots__ = ("action", "active", "check_top", "entry", "name", "rule", "stats")

    def __init__(self, entry: RuleEntry, rule: Rule[Any]) -> None:
        self.entry = entry
        self.name = entry.name
        self.rule = rule
        self.action = entry.spec.action
        self.stats = entry.stats
        self.active = False
        self.check_top = rule.check_top  # bound once: called at every book message


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
    def _outcome(self, bound: BoundRule, message: str | None, seq: int, ts: int) -> bool:
        """Account one evaluation; returns False when the event must not be published. What it
        emits waits in ``pending`` and follows the event (:meth:`flush`)."""
        bound.stats.evaluations += 1
        action = bound.action
        if message is None:
            if bound.active:
                bound.active = False
                if action == "alert":
                    self.pending.append(self._alert(bound, "info", "cleared", seq, ts))
                elif action == "halt":
                    self.release(bound.name, seq, ts)
            return True
        bound.stats.hits += 1
        first = not bound.active
        bound.active = True
        if action == "tag":
            self.pending.append(self._alert(bound, "info", f"tag: {message}", seq, ts))
            return True
        if action == "drop":
            return False
        if first:
            if action == "alert":
                severity = getattr(bound.rule.params, "severity", "warning")
                self.pending.append(self._alert(bound, severity, message, seq, ts))
            else:  # halt
                self.halted.add(bound.name)
                self.pending.append(self._status("HALTED", f"{bound.name}: {message}", seq, ts))
        return action != "halt"

    def release(self, name: str, seq: int, ts: int) -> None:
        """A halting rule cleared (or went away): RESUMED once no halt is left."""
        if name in self.halted:
            self.halted.discard(name)
            if not self.halted:
                self.pending.append(self._status("RESUMED", f"{name} cleared", seq, ts))

    def _alert(self, bound: BoundRule, severity: Any, message: str, seq: int, ts: int) -> Alert:
        return Alert(
            stream=self.stream,
            symbol=self.symbol,
            seq=seq,
            ts_recv=ts,
            rule=bound.name,
            severity=severity,
            message=message,
        )

    def _status(self, state: str, reason: str, seq: int, ts: int) -> Status:
        return Status(
            stream=self.stream, symbol=self.symbol, seq=seq, ts_recv=ts, state=state, reason=reason
        )

    # -- inputs (the pipeline calls these only when the list is non-empty) ----------------------
    def on_book(self, book: Book, seq: int, ts: int) -> bool:
        """Book rules after a venue message; False: do not publish this book. Call
        :meth:`flush` after publishing (or not) the book."""
        publish = True
        outcome = self._outcome
        # The best prices, read once for every rule (Rule.check_top).
        bid, ask = book.best_bid_price(), book.best_ask_price()
        for bound in self.book:
            message = bound.check_top(bid, ask, book)
            if message is None and not bound.active:
                bound.stats.evaluations += 1  # clear, and was: all _outcome would do
                continue
            if not outcome(bound, message, seq, ts):
                publish = False
        return publish and not self.halted

    def on_trade(self, trade: Trade) -> bool:
        """Trade rules; False: drop the trade (a trade rule that halts stops the book, not the
        trades). Call :meth:`flush` after publishing (or not) the trade."""
        publish = True
        outcome = self._outcome
        seq, ts = trade.seq, trade.ts_recv
        for bound in self.trade:
            message = bound.rule.check_trade(trade)
            if message is None and not bound.active:
                bound.stats.evaluations += 1  # clear, and was: all _outcome would do
                continue
            kept = outcome(bound, message, seq, ts)
            if not kept and bound.action == "drop":
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


class RuleSet:
    """The rules of the running spec; binds them to symbols and swaps them between batches."""

    def __init__(self, reference: bool = False) -> None:
        self.entries: dict[str, RuleEntry] = {}
        # reference: bind the Python classes even when the compiled engine is built (the twin
        # tests run both side by side).
        self.reference = reference

    def _classes(self) -> tuple[type[SymbolRules], type[BoundRule]]:
        if self.reference:
            return PySymbolRules, PyBoundRule
        return SymbolRules, BoundRule

    @staticmethod
    def plan(rules: dict[str, RuleSpec]) -> dict[str, RuleEntry]:
        """Validate and test-build every enabled rule (raises on the first bad one)."""
        entries: dict[str, RuleEntry] = {}
        for name, spec in rules.items():
            if spec.enabled:
                entry = RuleEntry(name, spec, RULES.params(spec.kind, spec.params))
                entry.build()
                entries[name] = entry
        return entries

    def bind(self, stream: str, symbol: str) -> SymbolRules:
        symbol_rules, bound_rule = self._classes()
        rules = symbol_rules(stream, symbol)
        for name, entry in self.entries.items():
            if entry.applies_to(symbol):
                rules.bound[name] = bound_rule(entry, entry.build())
        rules.wire()
        return rules

    def update(self, entries: dict[str, RuleEntry], bound: Iterable[SymbolRules]) -> list[Event]:
        """Swap in ``entries``: an unchanged rule keeps its instance, state and counters; changed
        params go in place where the rule allows it. Returns Status events of released halts."""
        old = self.entries
        for name, entry in entries.items():
            previous = old.get(name)
            if previous is not None and previous.spec.kind == entry.spec.kind:
                entry.stats = previous.stats
        self.entries = dict(entries)
        _, bound_rule = self._classes()
        out: list[Event] = []
        for rules in bound:
            current = rules.bound
            updated: dict[str, BoundRule] = {}
            for name, entry in entries.items():
                if not entry.applies_to(rules.symbol):
                    continue
                kept = current.get(name)
                previous = old.get(name)
                if (
                    kept is not None
                    and previous is not None
                    and previous.spec.kind == entry.spec.kind
                    and (previous.params == entry.params or kept.rule.reconfigure(entry.params))
                ):
                    fresh = bound_rule(entry, kept.rule)
                    fresh.active = kept.active and kept.action == entry.spec.action
                    updated[name] = fresh
                else:
                    updated[name] = bound_rule(entry, entry.build())
            for name in list(rules.halted):
                still = updated.get(name)
                if still is None or still.action != "halt" or not still.active:
                    rules.release(name, 0, 0)
            rules.bound = updated
            rules.wire()
            rules.flush(out.append)
        return out


PySymbolRules = SymbolRules  # the reference classes, whichever implementation runs
PyBoundRule = BoundRule
PyRuleStats = RuleStats

_compiled = accel.load("pipelines.core.rules._cengine")
COMPILED = _compiled is not None
"""Whether the compiled engine runs (RuleSet binds its SymbolRules, BoundRule and RuleStats)."""

if _compiled is not None:
    SymbolRules = _compiled.SymbolRules  # type: ignore[misc]
    BoundRule = _compiled.BoundRule  # type: ignore[misc]
    RuleStats = _compiled.RuleStats  # type: ignore[misc]
