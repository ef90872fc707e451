"""The pipeline's hot loop: one batch through books, rules and calculators, then out to sinks.

:class:`Core` holds what the loop touches per event (the per-symbol states, the sinks, the stage
meters, the topic cache) and runs :meth:`Core.process`, the bus handler. The configuration side
(:class:`~pipelines.runtime.pipeline.Pipeline`) admits new symbols through the ``admit`` callback
and rewires calculators between batches, never inside one.

One source (docs/decisions/0117): ``loop.pxd`` makes these C classes when the build compiles this
file — the keeper, book and series kernels are then reached by C calls, the state's and the
meters' fields are C fields, and the clock is ``clock_gettime`` — and the same lines run as
Python when it is not built.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

import cython

from pipelines.core.book import Book
from pipelines.core.bookkeeper import BookKeeper
from pipelines.core.calculators.base import Calculator
from pipelines.core.calculators.kernel import SeriesKernel
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
    _EventBase,
)
from pipelines.topics import event_topic

if cython.compiled:
    from cython.cimports.pipelines.core.fields import is_subtype, read, slot_offset
    from cython.cimports.posix.time import CLOCK_MONOTONIC, clock_gettime, timespec
else:  # the same functions, called through Python
    from pipelines.core.fields import is_subtype, read, slot_offset

__all__ = [
    "METRICS_FLUSH_S",
    "TOPIC_CACHE_SIZE",
    "Core",
    "FeedEntry",
    "StageMeter",
    "SymbolState",
    "bucket",
    "now",
]

TOPIC_CACHE_SIZE = 4_096  # (stream, symbol) pairs
METRICS_FLUSH_S = 0.1
"""Stage counters and histograms reach Prometheus at most this late while batches flow (and at
every timer tick when they stop): see :class:`StageMeter`."""

Admit = Callable[[Event], "SymbolState | None"]
OnError = Callable[[str, "Event | None", Exception], None]
"""``(stage, event, exception)``: an event ("core") or a sink's batch ("sink:<name>", no event)
that raised."""
Append = Callable[[Event], None]

COMPILED: bool = cython.compiled
# Every event type derives from _EventBase, whose slots sit at the same offsets in each
# subclass: compiled, the loop reads them there (pipelines.core.fields; -1: getattr).
_SAMPLE = Metric(stream="s", symbol="x", seq=1, ts_recv=2, name="n", value=0.0, source="")
STREAM = slot_offset(_EventBase, "stream", _SAMPLE)
SYMBOL = slot_offset(_EventBase, "symbol", _SAMPLE)
SEQ = slot_offset(_EventBase, "seq", _SAMPLE)
TS_RECV = slot_offset(_EventBase, "ts_recv", _SAMPLE)


def now() -> float:
    """The loop's clock in seconds: ``time.perf_counter``'s (CLOCK_MONOTONIC on Linux)."""
    if cython.compiled:
        ts = cython.declare(timespec)
        clock_gettime(CLOCK_MONOTONIC, cython.address(ts))
        seconds: float = ts.tv_sec + ts.tv_nsec * 1e-9
        return seconds
    return time.perf_counter()


class FeedEntry:
    """One calculator method fed by one input (see :mod:`pipelines.core.calculators.base`).

    ``outputs`` is empty for a single-output calculator, else ``<name>_<output>`` per output,
    with the calculator's ``results`` list (allocated once: the calculator contract);
    ``kernel`` is the series kernel whose ``update`` the method is (called directly), else None.
    """

    __slots__ = ("calc", "description", "kernel", "name", "outputs", "results", "update")

    def __init__(
        self,
        update: Callable[..., float | None],
        calc: Calculator[Any],
        name: str,
        outputs: tuple[str, ...],
        description: str,
    ) -> None:
        self.update = update
        self.calc = calc
        self.name = name
        self.outputs = outputs
        self.results: list[float] | None = calc.results if outputs else None
        if self.results is not None and len(self.results) != len(outputs):
            raise ValueError(f"{name}: {len(outputs)} outputs but {len(self.results)} results")
        self.description = description
        owner = getattr(update, "__self__", None)
        # A kernel's bound update is called on the kernel itself (the same call: a compiled
        # kernel's update converts its arguments the same way either way).
        is_update = getattr(update, "__name__", "") == "update"
        self.kernel: SeriesKernel | None = (
            owner if is_update and isinstance(owner, SeriesKernel) else None
        )


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

    def __init__(self, book: Book, keeper: BookKeeper) -> None:
        self.book = book
        self.keeper = keeper  # book health, rules and L3
        self.calculators: dict[str, Calculator[Any]] = {}
        # Per-feed dispatch lists (see pipelines.core.calculators.base), built by wire().
        self.on_mid: list[FeedEntry] = []
        self.on_book: list[FeedEntry] = []
        self.on_trade: list[FeedEntry] = []
        self.on_trade_size: list[FeedEntry] = []
        # (name, calculator, description) by when they update: at book messages, at trades.
        self.mid_calcs: list[tuple[str, Calculator[Any], str]] = []
        self.trade_calcs: list[tuple[str, Calculator[Any], str]] = []
        self.mid: float | None = None
        self.values: dict[str, float] = {}

    def wire(self) -> None:
        """Rebuild the per-feed dispatch lists after calculators changed (never per event)."""
        feeds: dict[str, list[FeedEntry]] = {"mid": [], "book": [], "trade": [], "trade_size": []}
        self.mid_calcs, self.trade_calcs = [], []
        for name, calc in self.calculators.items():
            description = calc.describe()
            outputs = tuple(f"{name}_{output}" for output in calc.outputs)
            for feed, method in calc.feeds():
                feeds[feed].append(FeedEntry(method, calc, name, outputs, description))
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
    """Events in/out and batch latencies of one stage, kept as plain numbers and added to the
    Prometheus children in bulk by :meth:`flush`.

    A ``Counter.inc`` costs ~350 ns and a ``Histogram.observe`` ~900 ns here (a lock each, and a
    Python loop over the buckets): per batch that was more than the core spends on a one-delta
    venue message. The bucket counts are added through the child's bucket values (the same
    ``prometheus_client`` internals ``observe`` uses, the version is pinned); a child without
    them is observed per batch as before.
    """

    __slots__ = (
        "_in",
        "_latency",
        "_out",
        "bounds",
        "buckets",
        "counts",
        "events_in",
        "events_out",
        "sum",
    )

    def __init__(self, events_in: Any, events_out: Any, latency: Any) -> None:
        self._in, self._out, self._latency = events_in, events_out, latency
        self.events_in = 0
        self.events_out = 0
        bounds: list[float] | None = getattr(latency, "_upper_bounds", None)
        bulk = bounds is not None and hasattr(latency, "_buckets") and hasattr(latency, "_sum")
        kept = [float(bound) for bound in bounds] if bounds is not None and bulk else []
        # Arrays of C doubles and int64 (typed memoryviews when compiled: no boxing per batch).
        self.bounds = array("d", kept)
        self.counts = array("q", bytes(8 * len(kept)))
        self.buckets = len(kept)
        self.sum = 0.0

    def batch(self, events_in: int, events_out: int, seconds: float) -> None:
        self.events_in += events_in
        self.events_out += events_out
        if self.buckets:
            # The bucket ``observe`` picks: the first upper bound >= seconds (+Inf is last).
            self.counts[bucket(self.bounds, self.buckets, seconds)] += 1
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
        counted = False
        for index in range(self.buckets):
            if counts[index]:
                counted = True
                break
        if counted:
            buckets = self._latency._buckets
            for index in range(self.buckets):
                count = counts[index]
                if count:
                    buckets[index].inc(count)
                    counts[index] = 0
            self._latency._sum.inc(self.sum)
            self.sum = 0.0


def bucket(bounds: Any, count: int, seconds: float) -> int:
    """``bisect_left(bounds[:count], seconds)``: the index of the first bound >= seconds."""
    if not cython.compiled:
        return bisect_left(bounds, seconds, 0, count)
    low = 0
    high = count
    while low < high:
        middle = (low + high) >> 1
        if bounds[middle] < seconds:
            low = middle + 1
        else:
            high = middle
    return low


class Core:
    """The state the hot loop reads and writes, and the loop (:meth:`process`)."""

    __slots__ = (
        "admit",
        "core_meter",
        "errors",
        "events_in",
        "filtered",
        "flush_at",
        "on_error",
        "sink_meter",
        "sinks",
        "spare",
        "states",
        "topics",
    )

    def __init__(self, admit: Admit, core_meter: StageMeter, sink_meter: StageMeter) -> None:
        self.admit = admit
        self.states: dict[str, dict[str, SymbolState | None]] = {}
        self.sinks: dict[str, Sink[Any]] = {}
        self.events_in = 0
        self.filtered = 0
        self.core_meter = core_meter
        self.sink_meter = sink_meter
        self.flush_at = 0.0
        self.topics: dict[tuple[str, str], dict[Any, str]] = {}
        self.spare: list[Event] | None = []
        #: Events the loop skipped because processing them raised (stage "core"), and sink
        #: batches that raised (stage "sink:<name>"), by stage.
        self.errors: dict[str, int] = {}
        self.on_error: OnError | None = None

    def flush_metrics(self) -> None:
        """Hand the stage counts and latencies gathered since the last flush to Prometheus."""
        self.core_meter.flush()
        self.sink_meter.flush()
        self.flush_at = now() + METRICS_FLUSH_S

    def process(self, batch: list[Event]) -> None:
        """Bus handler: one batch through books and calculators, then out to every sink."""
        started = now()
        # The output list is reused from batch to batch (an allocation and its GC tracking per
        # venue message otherwise); a nested call (a sink feeding the bus synchronously) finds
        # none spare and makes its own.
        out = self.spare
        if out is None:
            out = []
        self.spare = None
        append = out.append
        states = self.states
        # Without a sink nobody reads the BookSnapshots and Metrics: they are counted (stage
        # events_out) but not built; books, health, rules and calculator values all still update.
        build = bool(self.sinks)
        unbuilt = 0
        filtered = 0
        # A batch is mostly one venue message of one symbol: the state is looked up again only
        # when (stream, symbol) changes (identity first, the usual case for decoded strings).
        last_stream: str | None = None
        last_symbol: str | None = None
        state: SymbolState | None = None
        last_kind: type | None = None
        compiled = COMPILED
        fields = False  # whether the events of this kind are read at their slots
        # One bad event costs only itself: the loop runs in a try, and an exception skips the
        # event it came from (counted and reported) and resumes after it. The try is entered
        # once per batch, not per event; ``position`` is the one per-event addition.
        rest = batch
        position = 0
        while True:
            try:
                for event in rest:
                    position += 1
                    kind = type(event)
                    if compiled and kind is not last_kind:  # a batch is mostly one kind
                        fields = is_subtype(kind, _EventBase)
                        last_kind = kind
                    if fields:
                        stream = read(event, STREAM, "stream")
                        symbol = read(event, SYMBOL, "symbol")
                    else:
                        stream = event.stream
                        symbol = event.symbol
                    if symbol is not last_symbol or stream is not last_stream:
                        symbols = states.get(stream)
                        if symbols is not None and symbol in symbols:
                            state = symbols[symbol]
                        else:
                            state = self.admit(event)
                        last_stream, last_symbol = stream, symbol
                    if state is None:
                        filtered += 1
                        continue
                    keeper = state.keeper
                    if kind is BookDelta:
                        if keeper.delta(event):  # type: ignore[arg-type]
                            unbuilt += self._book_message(state, event, append, build)
                    elif kind is Order:
                        # An order-only feed builds the book through an L3 book; with
                        # BookDeltas (the simulator sends both) the deltas are the book.
                        if keeper.order(event):  # type: ignore[arg-type]
                            unbuilt += self._book_message(state, event, append, build)
                    elif kind is BookSnapshot:
                        keeper.snapshot(event, append)  # type: ignore[arg-type]
                        unbuilt += self._book_message(state, event, append, build)
                    elif kind is Status:
                        keeper.status(event, append)  # type: ignore[arg-type]
                    elif kind is Trade:
                        keeper.trade(event, append)  # type: ignore[arg-type]
                        if state.on_trade or state.on_trade_size:
                            unbuilt += self._trade(state, event, append, build)  # type: ignore[arg-type]
                    else:
                        if kind is Instrument:
                            state.book.price_decimals = event.price_decimals  # type: ignore[union-attr]
                            state.book.size_decimals = event.size_decimals  # type: ignore[union-attr]
                        append(event)
                break
            except Exception as exc:
                self._failed("core", rest[position - 1], exc)
                rest = rest[position:]
                position = 0
                last_stream = last_symbol = None  # look the state up again
        count = len(batch)
        self.events_in += count
        if filtered:
            self.filtered += filtered
        finished = now()
        self.core_meter.batch(count, len(out) + unbuilt, finished - started)
        if out and self.sinks:
            routed = self.route(out)
            for name, sink in self.sinks.items():
                try:
                    sink.publish(routed)
                except Exception as exc:  # one failing sink must not keep the batch from others
                    self._failed(f"sink:{name}", None, exc)
            self.sink_meter.batch(len(routed), 0, now() - finished)
        if finished >= self.flush_at:
            self.flush_metrics()
        out.clear()
        self.spare = out

    def _failed(self, stage: str, event: Event | None, exc: Exception) -> None:
        """An event (or a sink's batch) that raised: counted in ``errors`` by stage, then
        handed to ``on_error`` (the worker logs and dead-letters it)."""
        self.errors[stage] = self.errors.get(stage, 0) + 1
        if self.on_error is not None:
            try:
                self.on_error(stage, event, exc)
            except Exception:  # the reporter's own failure must not take the batch either
                self.errors["on_error"] = self.errors.get("on_error", 0) + 1

    def route(self, out: list[Event]) -> list[tuple[str, Event]]:
        """``(topic, event)`` pairs. Building a topic costs 250-400 ns and the few dozen of a
        symbol recur forever: they are cached per (stream, symbol), by the Metric's name, the
        Alert's severity or the event's type."""
        cache = self.topics
        routed: list[tuple[str, Event]] = []
        last_stream: str | None = None
        last_symbol: str | None = None
        topics: dict[Any, str] = {}
        for event in out:
            stream = event.stream
            symbol = event.symbol
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
            routed.append((topic, event))
        return routed

    def _book_message(self, state: SymbolState, event: Event, append: Append, build: bool) -> int:
        """At the end of a venue message the book is consistent: publish it and its mid.
        Returns how many outputs were counted without being built (``build`` false)."""
        # ``event`` is a BookDelta, an Order or a BookSnapshot (process dispatched on its type).
        if COMPILED:
            seq = read(event, SEQ, "seq")
            ts = read(event, TS_RECV, "ts_recv")
        else:
            seq = event.seq
            ts = event.ts_recv
        published = state.keeper.publish(seq, ts, append, build)
        unbuilt = 0 if build or not published else 1
        book = state.book
        mid = book.mid()
        if mid is None:
            return unbuilt
        state.mid = mid
        # stream and symbol name the Metrics only: not read when none is built.
        stream = event.stream if build else ""
        symbol = event.symbol if build else ""
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
        values = state.values
        if state.on_mid:
            unbuilt += _feed(state.on_mid, mid, ts, values, stream, symbol, seq, append, build)
        if state.on_book:
            unbuilt += _feed(state.on_book, book, ts, values, stream, symbol, seq, append, build)
        return unbuilt

    def _trade(self, state: SymbolState, trade: Trade, append: Append, build: bool) -> int:
        price = trade.price / 10**trade.price_decimals
        ts = trade.ts_recv
        unbuilt = 0
        stream = trade.stream if build else ""
        symbol = trade.symbol if build else ""
        seq = trade.seq
        values = state.values
        if state.on_trade:
            unbuilt += _feed(state.on_trade, price, ts, values, stream, symbol, seq, append, build)
        if state.on_trade_size:
            size = trade.size / 10**trade.size_decimals
            for entry in state.on_trade_size:
                value = entry.update(price, size, ts)
                if value is not None:
                    unbuilt += _store(entry, value, values, stream, symbol, seq, ts, append, build)
        return unbuilt


def _feed(
    feed: list[FeedEntry],
    argument: Any,
    ts: int,
    values: dict[str, float],
    stream: str,
    symbol: str,
    seq: int,
    append: Append,
    build: bool,
) -> int:
    """Call each entry of a feed with ``(argument, ts)``; store (and publish) what it returns.
    Returns how many outputs were counted without being built."""
    unbuilt = 0
    for entry in feed:
        kernel = entry.kernel
        value = kernel.update(argument, ts) if kernel is not None else entry.update(argument, ts)
        if value is not None:
            unbuilt += _store(entry, value, values, stream, symbol, seq, ts, append, build)
    return unbuilt


def _store(
    entry: FeedEntry,
    value: float,
    values: dict[str, float],
    stream: str,
    symbol: str,
    seq: int,
    ts: int,
    append: Append,
    build: bool,
) -> int:
    """A calculator's new value(s) into ``values``, and (``build``) out as Metrics."""
    outputs = entry.outputs
    if not outputs:
        values[entry.name] = value
        if not build:
            return 1
        append(_metric(stream, symbol, seq, ts, entry.name, value, entry.description))
        return 0
    # An index loop: a zip() per stored value costs more than the rest of the store.
    results = entry.results
    for index in range(len(outputs)):
        metric_name = outputs[index]
        result = results[index]  # type: ignore[index]
        values[metric_name] = result
        if build:
            append(_metric(stream, symbol, seq, ts, metric_name, result, entry.description))
    return 0 if build else len(outputs)


def _metric(
    stream: str,
    symbol: str,
    seq: int,
    ts: int,
    name: str,
    value: float,
    source: str,
) -> Metric:
    return Metric(
        stream=stream, symbol=symbol, seq=seq, ts_recv=ts, name=name, value=value, source=source
    )
