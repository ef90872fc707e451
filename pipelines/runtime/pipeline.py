"""The synchronous core of a worker: per (stream, symbol) books and calculators, then sinks.

``process`` is the bus handler: it runs one batch to completion, so anything that changes the
pipeline from the same event loop (the spec applier) lands between two batches, never inside one.
Only symbols this worker owns get state; the others are remembered as ``None`` and skipped.

The hot loop (``process`` with ``_book_message`` and ``_trade``) has a compiled twin,
``_cpipeline`` (docs/decisions/0115), used with the compiled book, health and keeper when they
are built and ``TICKERPLANT_PURE_PYTHON`` is not set; ``Pipeline(..., compiled=False)`` runs the
reference code and classes in any case (tests compare the two).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec

from pipelines import accel
from pipelines.core import bookkeeper as _bookkeeper
from pipelines.core.book import Book, PyBook
from pipelines.core.bookkeeper import BookKeeper, PyBookKeeper
from pipelines.core.calculators.base import Calculator
from pipelines.core.health import DEFAULT_STALE_AFTER_NS, BookHealth, PyBookHealth
from pipelines.core.rules import RuleEntry, RuleSet
from pipelines.core.rules.metrics import RuleCollector
from pipelines.delivery.base import Sink
from pipelines.events import (
    Alert,
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

__all__ = ["COMPILED", "CalculatorEntry", "Pipeline", "StageMeter", "SymbolState"]

Owns = Callable[[str, str], bool]
SNAPSHOT_DEPTH = 10
TOPIC_CACHE_SIZE = 4_096  # (stream, symbol) pairs
METRICS_FLUSH_S = 0.1
"""Stage counters and histograms reach Prometheus at most this late while batches flow (and at
every :meth:`Pipeline.tick` when they stop): see :class:`StageMeter`."""


class CalculatorEntry(msgspec.Struct, frozen=True):
    """A calculator of the spec with validated params (its kind's own ``Params``: checked here,
    since the instances it builds and reconfigures take them untyped)."""

    name: str
    spec: CalculatorSpec
    params: msgspec.Struct

    def __post_init__(self) -> None:
        CALCULATORS.check_params(self.spec.kind, self.params)

    def applies_to(self, symbol: str) -> bool:
        return not self.spec.symbols or symbol in self.spec.symbols

    def build(self) -> Calculator[Any]:
        plugin: Any = CALCULATORS.get(self.spec.kind)
        calculator: Calculator[Any] = plugin(self.params)
        return calculator


# One dispatch entry: (bound feed method, calculator, name, output metric names, description).
# ``outputs`` is empty for a single-output calculator, else ``<name>_<output>`` per output.
Dispatch = tuple[Callable[..., float | None], Calculator[Any], str, tuple[str, ...], str]


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
        self.calculators: dict[str, Calculator[Any]] = {}
        # Per-feed dispatch lists (see pipelines.core.calculators.base), built by wire().
        self.on_mid: list[Dispatch] = []
        self.on_book: list[Dispatch] = []
        self.on_trade: list[Dispatch] = []
        self.on_trade_size: list[Dispatch] = []
        # (name, calculator, description) by when they update: at book messages, at trades.
        self.mid_calcs: list[tuple[str, Calculator[Any], str]] = []
        self.trade_calcs: list[tuple[str, Calculator[Any], str]] = []
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


class StageMeter:
    """Events in/out and batch latencies of one stage, kept as plain ints and added to the
    Prometheus children in bulk by :meth:`flush`.

    A ``Counter.inc`` costs ~350 ns and a ``Histogram.observe`` ~900 ns here (a lock each, and a
    Python loop over the buckets): per batch that was more than the core spends on a one-delta
    venue message. The bucket counts are added through the child's bucket values (the same
    ``prometheus_client`` internals ``observe`` uses, the version is pinned); a child without
    them is observed per batch as before.
    """

    __slots__ = ("_in", "_latency", "_out", "bounds", "counts", "events_in", "events_out", "sum")

    def __init__(self, events_in: Any, events_out: Any, latency: Any) -> None:
        self._in, self._out, self._latency = events_in, events_out, latency
        self.events_in = self.events_out = 0
        bounds: list[float] | None = getattr(latency, "_upper_bounds", None)
        bulk = bounds is not None and hasattr(latency, "_buckets") and hasattr(latency, "_sum")
        self.bounds: list[float] = list(bounds) if bounds is not None and bulk else []
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0

    def batch(self, events_in: int, events_out: int, seconds: float) -> None:
        self.events_in += events_in
        self.events_out += events_out
        if self.bounds:
            # The bucket ``observe`` picks: the first upper bound >= seconds (+Inf is last).
            self.counts[bisect_left(self.bounds, seconds)] += 1
            self.sum += seconds
        else:
            self._latency.observe(seconds)

    def flush(self) -> None:
        if self.events_in:
            self._in.inc(self.events_in)
            self.events_in = 0
        if self.events_out and self._out is not None:
            self._out.inc(self.events_out)
            self.events_out = 0
        counts = self.counts
        if any(counts):
            buckets = self._latency._buckets
            for index, count in enumerate(counts):
                if count:
                    buckets[index].inc(count)
                    counts[index] = 0
            self._latency._sum.inc(self.sum)
            self.sum = 0.0


class Pipeline:
    def __init__(self, metrics: WorkerMetrics, owns: Owns, compiled: bool | None = None) -> None:
        """``compiled``: None runs the compiled hot loop when it is available (``COMPILED``),
        False the reference code and classes, True the compiled ones (ValueError if unbuilt)."""
        if compiled is None:
            compiled = COMPILED
        elif compiled and not COMPILED:
            raise ValueError("the compiled pipeline is not available (not built, or pure Python)")
        self.compiled = compiled
        meter: Any = _compiled.StageMeter if compiled else StageMeter  # type: ignore[union-attr]
        self._classes: tuple[Any, Any, Any] = (
            (Book, BookHealth, BookKeeper) if compiled else (PyBook, PyBookHealth, PyBookKeeper)
        )
        if compiled:
            # The compiled loop, called straight from the bus (no Python frame per batch).
            self.process = partial(_compiled.process, self)  # type: ignore[method-assign,union-attr]
        self.metrics = metrics
        self.owns = owns
        self.states: dict[str, dict[str, SymbolState | None]] = {}
        self.calculators: dict[str, CalculatorEntry] = {}
        self.sinks: dict[str, Sink[Any]] = {}
        self.events_in = 0
        self.filtered = 0
        self.core_meter = meter(
            metrics.events_in.labels("core"),
            metrics.events_out.labels("core"),
            metrics.latency.labels("core"),
        )
        self.sink_meter = meter(
            metrics.events_in.labels("sinks"), None, metrics.latency.labels("sinks")
        )
        self._flush_at = 0.0
        self._topics: dict[tuple[str, str], dict[Any, str]] = {}
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
                updated: dict[str, Calculator[Any]] = {}
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
        self.flush_metrics()

    def flush_metrics(self) -> None:
        """Hand the stage counts and latencies gathered since the last flush to Prometheus."""
        self.core_meter.flush()
        self.sink_meter.flush()
        self._flush_at = time.perf_counter() + METRICS_FLUSH_S

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
        book_class, health_class, keeper_class = self._classes
        book = book_class(
            event.stream,
            event.symbol,
            getattr(event, "price_decimals", 0),
            getattr(event, "size_decimals", 0),
        )
        state = SymbolState(book)
        state.keeper = keeper_class(
            book,
            health_class(event.stream, event.symbol, self.stale_after_ns),
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
        # Without a sink nobody reads the BookSnapshots and Metrics: they are counted (stage
        # events_out) but not built; books, health, rules and calculator values all still update.
        build = bool(self.sinks)
        unbuilt = 0
        filtered = 0
        book_message = self._book_message
        # A batch is mostly one venue message of one symbol: the state is looked up again only
        # when (stream, symbol) changes (identity first, the usual case for decoded strings).
        last_stream: str | None = None
        last_symbol: str | None = None
        state: SymbolState | None = None
        for event in batch:
            stream, symbol = event.stream, event.symbol
            if symbol is not last_symbol or stream is not last_stream:
                symbols = states.get(stream)
                if symbols is not None and symbol in symbols:
                    state = symbols[symbol]
                else:
                    state = self._admit(event)
                last_stream, last_symbol = stream, symbol
            if state is None:
                filtered += 1
                continue
            kind = type(event)
            if kind is BookDelta:
                if state.keeper.delta(event):  # type: ignore[arg-type]
                    unbuilt += book_message(state, event, append, build)
            elif kind is Order:
                # An order-only feed builds the book through an L3 book; with BookDeltas (the
                # simulator sends both) the deltas are the book.
                if state.keeper.order(event):  # type: ignore[arg-type]
                    unbuilt += book_message(state, event, append, build)
            elif kind is BookSnapshot:
                state.keeper.snapshot(event, append)  # type: ignore[arg-type]
                unbuilt += book_message(state, event, append, build)
            elif kind is Status:
                state.keeper.status(event, append)  # type: ignore[arg-type]
            elif kind is Trade:
                state.keeper.trade(event, append)  # type: ignore[arg-type]
                if state.on_trade or state.on_trade_size:
                    unbuilt += self._trade(state, event, append, build)  # type: ignore[arg-type]
            else:
                if kind is Instrument:
                    state.book.price_decimals = event.price_decimals  # type: ignore[union-attr]
                    state.book.size_decimals = event.size_decimals  # type: ignore[union-attr]
                append(event)
        self.events_in += len(batch)
        self.filtered += filtered
        now = time.perf_counter()
        self.core_meter.batch(len(batch), len(out) + unbuilt, now - started)
        if out and self.sinks:
            routed = self._route(out)
            for sink in self.sinks.values():
                sink.publish(routed)
            self.sink_meter.batch(len(routed), 0, time.perf_counter() - now)
        if now >= self._flush_at:
            self.flush_metrics()

    def _route(self, out: list[Event]) -> list[tuple[str, Event]]:
        """``(topic, event)`` pairs. Building a topic costs 250-400 ns and the few dozen of a
        symbol recur forever: they are cached per (stream, symbol), by the Metric's name, the
        Alert's severity or the event's type."""
        cache = self._topics
        routed: list[tuple[str, Event]] = []
        add = routed.append
        last_stream: str | None = None
        last_symbol: str | None = None
        topics: dict[Any, str] = {}
        for event in out:
            stream, symbol = event.stream, event.symbol
            if symbol is not last_symbol or stream is not last_stream:
                found = cache.get((stream, symbol))
                if found is None:
                    if len(cache) >= TOPIC_CACHE_SIZE:
                        cache.clear()  # bounded by the symbols seen; this caps symbol churn
                    found = cache[(stream, symbol)] = {}
                topics = found
                last_stream, last_symbol = stream, symbol
            kind = type(event)
            if kind is Metric:
                key: Any = event.name  # type: ignore[union-attr]
            elif kind is Alert:
                key = (kind, event.severity)  # type: ignore[union-attr]
            else:
                key = kind
            topic = topics.get(key)
            if topic is None:
                topic = topics[key] = event_topic(event)
            add((topic, event))
        return routed

    @staticmethod
    def _book_message(
        state: SymbolState, event: Event, append: Callable[[Event], None], build: bool
    ) -> int:
        """At the end of a venue message the book is consistent: publish it and its mid.
        Returns how many outputs were counted without being built (``build`` false)."""
        seq, ts = event.seq, event.ts_recv
        published = state.keeper.publish(seq, ts, append, build)
        unbuilt = 0 if build or not published else 1
        book = state.book
        mid = book.mid()
        if mid is None:
            return unbuilt
        state.mid = mid
        values = state.values
        stream, symbol = event.stream, event.symbol
        if build:
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
        else:
            unbuilt += 1
        for feed, argument in ((state.on_mid, mid), (state.on_book, book)):
            for update, calc, name, outputs, description in feed:
                value = update(argument, ts)
                if value is None:
                    continue
                if outputs:
                    for metric_name, result in zip(outputs, calc.results, strict=True):
                        values[metric_name] = result
                        if build:
                            append(
                                Metric(
                                    stream=stream,
                                    symbol=symbol,
                                    seq=seq,
                                    ts_recv=ts,
                                    name=metric_name,
                                    value=result,
                                    source=description,
                                )
                            )
                    if not build:
                        unbuilt += len(outputs)
                    continue
                values[name] = value
                if build:
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
                else:
                    unbuilt += 1
        return unbuilt

    @staticmethod
    def _trade(
        state: SymbolState, trade: Trade, append: Callable[[Event], None], build: bool
    ) -> int:
        price = trade.price / 10**trade.price_decimals
        ts = trade.ts_recv
        unbuilt = 0
        feeds: list[tuple[list[Dispatch], tuple[float, ...]]] = [(state.on_trade, (price, ts))]
        if state.on_trade_size:
            size = trade.size / 10**trade.size_decimals
            feeds.append((state.on_trade_size, (price, size, ts)))
        values = state.values
        for feed, arguments in feeds:
            for update, calc, name, outputs, description in feed:
                value = update(*arguments)
                if value is None:
                    continue
                if outputs:
                    for metric_name, result in zip(outputs, calc.results, strict=True):
                        values[metric_name] = result
                        if build:
                            append(_metric(trade, metric_name, result, description))
                    if not build:
                        unbuilt += len(outputs)
                elif build:
                    values[name] = value
                    append(_metric(trade, name, value, description))
                else:
                    values[name] = value
                    unbuilt += 1
        return unbuilt


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


# The compiled hot loop runs on the compiled keeper (which runs on the compiled book and health).
_compiled = accel.load("pipelines.runtime._cpipeline") if _bookkeeper.COMPILED else None
COMPILED = _compiled is not None
"""Whether ``Pipeline`` runs the compiled hot loop by default."""
if _compiled is not None:
    _compiled.bind(SymbolState, TOPIC_CACHE_SIZE)
