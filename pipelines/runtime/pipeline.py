"""The synchronous core of a worker: per (stream, symbol) books and calculators, then sinks.

``process`` is the bus handler: it runs one batch to completion, so anything that changes the
pipeline from the same event loop (the spec applier) lands between two batches, never inside one.
Only symbols this worker owns get state; the others are remembered as ``None`` and skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from pipelines.core.book import Book
from pipelines.core.bookkeeper import BookKeeper
from pipelines.core.calculators.base import Calculator
from pipelines.core.health import DEFAULT_STALE_AFTER_NS, BookHealth
from pipelines.core.rules import RuleEntry, RuleSet
from pipelines.core.rules.metrics import RuleCollector
from pipelines.delivery.base import Sink
from pipelines.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Metric,
    Order,
    Status,
    Trade,
)
from pipelines.registry import CALCULATORS
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.spec import CalculatorSpec
from pipelines.topics import event_topic

__all__ = ["CalculatorEntry", "Pipeline", "SymbolState"]

Owns = Callable[[str, str], bool]
SNAPSHOT_DEPTH = 10


class CalculatorEntry(msgspec.Struct, frozen=True):
    """A calculator of the spec with validated params."""

    name: str
    spec: CalculatorSpec
    params: msgspec.Struct

    def applies_to(self, symbol: str) -> bool:
        return not self.spec.symbols or symbol in self.spec.symbols

    def build(self) -> Calculator:
        plugin: Any = CALCULATORS.get(self.spec.kind)
        calculator: Calculator = plugin(self.params)
        return calculator


# One dispatch entry: (bound feed method, calculator, name, output metric names, description).
# ``outputs`` is empty for a single-output calculator, else ``<name>_<output>`` per output.
Dispatch = tuple[Callable[..., float | None], Calculator, str, tuple[str, ...], str]


class SymbolState:
    """Everything kept for one (stream, symbol)."""

    __slots__ = (
        "book",
        "calculators",
        "keeper",
        "mid",
        "mid_calcs",
        "on_book",
        "on_mid",
        "on_trade",
        "on_trade_size",
        "trade_calcs",
        "values",
    )

    def __init__(self, book: Book) -> None:
        self.book = book
        self.keeper: BookKeeper  # book health, rules and L3 (set by Pipeline._admit)
        self.calculators: dict[str, Calculator] = {}
        # Per-feed dispatch lists (see pipelines.core.calculators.base), built by wire().
        self.on_mid: list[Dispatch] = []
        self.on_book: list[Dispatch] = []
        self.on_trade: list[Dispatch] = []
        self.on_trade_size: list[Dispatch] = []
        # (name, calculator, description) by when they update: at book messages, at trades.
        self.mid_calcs: list[tuple[str, Calculator, str]] = []
        self.trade_calcs: list[tuple[str, Calculator, str]] = []
        self.mid: float | None = None
        self.values: dict[str, float] = {}

    def wire(self) -> None:
        """Rebuild the per-feed dispatch lists after calculators changed (never per event)."""
        feeds: dict[str, list[Dispatch]] = {"mid": [], "book": [], "trade": [], "trade_size": []}
        self.mid_calcs, self.trade_calcs = [], []
        for name, calc in self.calculators.items():
            description = calc.describe()
            outputs = tuple(f"{name}_{output}" for output in calc.outputs)
            for feed, method in calc.feeds():
                feeds[feed].append((method, calc, name, outputs, description))
            by_trades = calc.input in ("trade", "trade_size")
            (self.trade_calcs if by_trades else self.mid_calcs).append((name, calc, description))
        self.on_mid, self.on_book = feeds["mid"], feeds["book"]
        self.on_trade, self.on_trade_size = feeds["trade"], feeds["trade_size"]
        names = {
            metric
            for name, calc in self.calculators.items()
            for metric in (name, *(f"{name}_{output}" for output in calc.outputs))
        }
        self.values = {n: v for n, v in self.values.items() if n in names}


class Pipeline:
    def __init__(self, metrics: WorkerMetrics, owns: Owns) -> None:
        self.metrics = metrics
        self.owns = owns
        self.states: dict[str, dict[str, SymbolState | None]] = {}
        self.calculators: dict[str, CalculatorEntry] = {}
        self.sinks: dict[str, Sink] = {}
        self.events_in = 0
        self.filtered = 0
        self._core_in = metrics.events_in.labels("core")
        self._core_out = metrics.events_out.labels("core")
        self._core_latency = metrics.latency.labels("core")
        self._sink_in = metrics.events_in.labels("sinks")
        self._sink_latency = metrics.latency.labels("sinks")
        self.rules = RuleSet()
        self.stale_after_ns = DEFAULT_STALE_AFTER_NS
        metrics.registry.register(RuleCollector(self.rules))

    # -- configuration (called by the spec applier, between batches) --------------------------

    def set_owner(self, owns: Owns) -> None:
        """New shard ownership: state of symbols no longer owned is dropped."""
        self.owns = owns
        for stream, symbols in self.states.items():
            for symbol in list(symbols):
                if not owns(stream, symbol):
                    del symbols[symbol]
                elif symbols[symbol] is None:
                    del symbols[symbol]  # re-admitted on its next event

    def set_calculators(self, entries: dict[str, CalculatorEntry]) -> None:
        """Swap params in place where the plugin allows it; keep every untouched state."""
        old = self.calculators
        self.calculators = dict(entries)
        for symbols in self.states.values():
            for symbol, state in symbols.items():
                if state is None:
                    continue
                current = state.calculators
                updated: dict[str, Calculator] = {}
                for name, entry in entries.items():
                    if not entry.applies_to(symbol):
                        continue
                    calc = current.get(name)
                    previous = old.get(name)
                    same_kind = previous is not None and previous.spec.kind == entry.spec.kind
                    if (
                        calc is not None
                        and same_kind
                        and (
                            previous.params == entry.params  # type: ignore[union-attr]
                            or calc.reconfigure(entry.params)
                        )
                    ):
                        updated[name] = calc  # keeps its state
                    else:
                        updated[name] = entry.build()
                state.calculators = updated
                state.wire()

    def set_rules(self, entries: dict[str, RuleEntry]) -> None:
        """Swap rules between batches; untouched rules keep their state (see RuleSet.update)."""
        keepers = [
            state.keeper.rules
            for symbols in self.states.values()
            for state in symbols.values()
            if state is not None
        ]
        self._publish(self.rules.update(entries, keepers))

    def tick(self, now_ns: int) -> None:
        """Timer (never per event): STALE books and the rules on the timer; ``now_ns`` comes
        from the caller's clock."""
        out: list[Event] = []
        for symbols in self.states.values():
            for state in symbols.values():
                if state is not None:
                    state.keeper.tick(now_ns, out.append)
        self._publish(out)

    def _publish(self, out: list[Event]) -> None:
        if out and self.sinks:
            routed = [(event_topic(e), e) for e in out]
            for sink in self.sinks.values():
                sink.publish(routed)

    # -- the hot path --------------------------------------------------------------------------

    def _admit(self, event: Event) -> SymbolState | None:
        symbols = self.states.setdefault(event.stream, {})
        if not self.owns(event.stream, event.symbol):
            symbols[event.symbol] = None
            return None
        book = Book(
            event.stream,
            event.symbol,
            getattr(event, "price_decimals", 0),
            getattr(event, "size_decimals", 0),
        )
        state = SymbolState(book)
        state.keeper = BookKeeper(
            book,
            BookHealth(event.stream, event.symbol, self.stale_after_ns),
            self.rules.bind(event.stream, event.symbol),
            SNAPSHOT_DEPTH,
        )
        state.calculators = {
            name: entry.build()
            for name, entry in self.calculators.items()
            if entry.applies_to(event.symbol)
        }
        state.wire()
        symbols[event.symbol] = state
        return state

    def process(self, batch: list[Event]) -> None:
        """Bus handler: one batch through books and calculators, then out to every sink."""
        started = time.perf_counter()
        out: list[Event] = []
        append = out.append
        states = self.states
        filtered = 0
        for event in batch:
            symbols = states.get(event.stream)
            if symbols is not None and event.symbol in symbols:
                state = symbols[event.symbol]
            else:
                state = self._admit(event)
            if state is None:
                filtered += 1
                continue
            kind = type(event)
            if kind is BookDelta:
                if state.keeper.delta(event):  # type: ignore[arg-type]
                    self._book_message(state, event, append)  # type: ignore[arg-type]
            elif kind is Order:
                # An order-only feed builds the book through an L3 book; with BookDeltas (the
                # simulator sends both) the deltas are the book.
                if state.keeper.order(event):  # type: ignore[arg-type]
                    self._book_message(state, event, append)  # type: ignore[arg-type]
            elif kind is BookSnapshot:
                state.keeper.snapshot(event, append)  # type: ignore[arg-type]
                self._book_message(state, event, append)  # type: ignore[arg-type]
            elif kind is Status:
                state.keeper.status(event, append)  # type: ignore[arg-type]
            elif kind is Trade:
                state.keeper.trade(event, append)  # type: ignore[arg-type]
                if state.on_trade or state.on_trade_size:
                    self._trade(state, event, append)  # type: ignore[arg-type]
            else:
                if kind is Instrument:
                    state.book.price_decimals = event.price_decimals  # type: ignore[union-attr]
                    state.book.size_decimals = event.size_decimals  # type: ignore[union-attr]
                append(event)
        self.events_in += len(batch)
        self.filtered += filtered
        self._core_in.inc(len(batch))
        self._core_out.inc(len(out))
        now = time.perf_counter()
        self._core_latency.observe(now - started)
        if out and self.sinks:
            routed = [(event_topic(e), e) for e in out]
            for sink in self.sinks.values():
                sink.publish(routed)
            self._sink_in.inc(len(routed))
            self._sink_latency.observe(time.perf_counter() - now)

    @staticmethod
    def _book_message(
        state: SymbolState, delta: BookDelta, append: Callable[[Event], None]
    ) -> None:
        """At the end of a venue message the book is consistent: publish it and its mid."""
        book = state.book
        state.keeper.publish(delta.seq, delta.ts_recv, append)
        mid = book.mid()
        if mid is None:
            return
        state.mid = mid
        stream, symbol, seq, ts = delta.stream, delta.symbol, delta.seq, delta.ts_recv
        append(
            Metric(
                stream=stream,
                symbol=symbol,
                seq=seq,
                ts_recv=ts,
                name="mid",
                value=mid,
                source="book",
            )
        )
        values = state.values
        for update, calc, name, outputs, description in state.on_mid:
            value = update(mid, ts)
            if value is None:
                continue
            if outputs:
                _publish_outputs(state, calc, outputs, description, delta, append)
                continue
            values[name] = value
            append(
                Metric(
                    stream=stream,
                    symbol=symbol,
                    seq=seq,
                    ts_recv=ts,
                    name=name,
                    value=value,
                    source=description,
                )
            )
        book = state.book
        for update, calc, name, outputs, description in state.on_book:
            value = update(book, ts)
            if value is None:
                continue
            if outputs:
                _publish_outputs(state, calc, outputs, description, delta, append)
                continue
            values[name] = value
            append(
                Metric(
                    stream=stream,
                    symbol=symbol,
                    seq=seq,
                    ts_recv=ts,
                    name=name,
                    value=value,
                    source=description,
                )
            )

    @staticmethod
    def _trade(state: SymbolState, trade: Trade, append: Callable[[Event], None]) -> None:
        price = trade.price / 10**trade.price_decimals
        ts = trade.ts_recv
        values = state.values
        for update, calc, name, outputs, description in state.on_trade:
            value = update(price, ts)
            if value is not None:
                if outputs:
                    _publish_outputs(state, calc, outputs, description, trade, append)
                else:
                    values[name] = value
                    append(_metric(trade, name, value, description))
        if state.on_trade_size:
            size = trade.size / 10**trade.size_decimals
            for update, calc, name, outputs, description in state.on_trade_size:
                value = update(price, size, ts)
                if value is not None:
                    if outputs:
                        _publish_outputs(state, calc, outputs, description, trade, append)
                    else:
                        values[name] = value
                        append(_metric(trade, name, value, description))


def _metric(event: Event, name: str, value: float, source: str) -> Metric:
    return Metric(
        stream=event.stream,
        symbol=event.symbol,
        seq=event.seq,
        ts_recv=event.ts_recv,
        name=name,
        value=value,
        source=source,
    )


def _publish_outputs(
    state: SymbolState,
    calc: Calculator,
    outputs: tuple[str, ...],
    description: str,
    event: Event,
    append: Callable[[Event], None],
) -> None:
    """One Metric per output of a multi-output calculator, ``<name>_<output>``."""
    values = state.values
    for metric_name, value in zip(outputs, calc.results, strict=True):
        values[metric_name] = value
        append(_metric(event, metric_name, value, description))
