"""The synchronous core of a worker: per (stream, symbol) books and calculators, then sinks.

``process`` is the bus handler: it runs one batch to completion, so anything that changes the
pipeline from the same event loop (the spec applier) lands between two batches, never inside one.
Only symbols this worker owns get state; the others are remembered as ``None`` and skipped.

The hot loop is :class:`pipelines.runtime.loop.Core` (one source, compiled with the keeper, book
and health when built; docs/decisions/0117); this module is its configuration side.
``Pipeline(..., compiled=False)`` runs the Python code of the loop, keeper, health and book in
any case (``accel.reference``; tests compare the two).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import msgspec

from pipelines import accel
from pipelines.core.calculators.base import Calculator
from pipelines.core.health import DEFAULT_STALE_AFTER_NS
from pipelines.core.rules import RuleEntry, RuleSet
from pipelines.core.rules.metrics import RuleCollector
from pipelines.delivery.base import Sink
from pipelines.events import Event
from pipelines.registry import CALCULATORS
from pipelines.runtime import loop as _loop
from pipelines.runtime.loop import (
    METRICS_FLUSH_S,
    TOPIC_CACHE_SIZE,
    Core,
    FeedEntry,
    StageMeter,
    SymbolState,
)
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.spec import CalculatorSpec
from pipelines.topics import event_topic

__all__ = [
    "COMPILED",
    "METRICS_FLUSH_S",
    "TOPIC_CACHE_SIZE",
    "CalculatorEntry",
    "FeedEntry",
    "Pipeline",
    "StageMeter",
    "SymbolState",
]

Owns = Callable[[str, str], bool]
SNAPSHOT_DEPTH = 10

COMPILED = accel.compiled(_loop)
"""Whether ``Pipeline`` runs the compiled loop, keeper, book and health by default."""


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

    def build(self, reference: bool = False) -> Calculator[Any]:
        """A new calculator; ``reference``: its module's Python source with Python kernels, even
        where they are compiled (the kernels of a ``compiled=False`` pipeline)."""
        plugin: Any = CALCULATORS.get(self.spec.kind)
        if reference:
            plugin = getattr(accel.reference(plugin.__module__), plugin.__qualname__)
        calculator: Calculator[Any] = plugin(self.params)
        return calculator


class Pipeline:
    def __init__(self, metrics: WorkerMetrics, owns: Owns, compiled: bool | None = None) -> None:
        """``compiled``: None runs the compiled hot loop when it is built (``COMPILED``), False
        the Python code of the loop, keeper, health and book, True the compiled ones (ValueError
        if unbuilt)."""
        if compiled is None:
            compiled = COMPILED
        elif compiled and not COMPILED:
            raise ValueError("the compiled pipeline is not available (not built, or pure Python)")
        self.compiled = compiled
        loop: Any = _loop if compiled or not COMPILED else accel.reference(_loop.__name__)
        self._loop = loop
        self._classes: tuple[Any, Any, Any] = _classes(compiled or not COMPILED)
        self.metrics = metrics
        self.owns = owns
        self.calculators: dict[str, CalculatorEntry] = {}
        self.core: Core = loop.Core(
            self._admit,
            loop.StageMeter(
                metrics.events_in.labels("core"),
                metrics.events_out.labels("core"),
                metrics.latency.labels("core"),
            ),
            loop.StageMeter(
                metrics.events_in.labels("sinks"), None, metrics.latency.labels("sinks")
            ),
        )
        # The bus calls the loop itself (no Python frame of this class per batch).
        self.process = self.core.process
        # Python kernels and rule engine beside a compiled build (the compiled keeper types its
        # engine: see _classes and CalculatorEntry.build).
        self._reference = COMPILED and not compiled
        self.rules = RuleSet(reference=self._reference)
        self.stale_after_ns = DEFAULT_STALE_AFTER_NS
        metrics.registry.register(RuleCollector(self.rules))

    # -- what the loop holds -------------------------------------------------------------------

    @property
    def states(self) -> dict[str, dict[str, SymbolState | None]]:
        """Per stream, per symbol: the state, or None for a symbol another worker owns."""
        return self.core.states

    @property
    def sinks(self) -> dict[str, Sink[Any]]:
        return self.core.sinks

    @sinks.setter
    def sinks(self, sinks: dict[str, Sink[Any]]) -> None:
        self.core.sinks = sinks

    @property
    def events_in(self) -> int:
        return int(self.core.events_in)

    @property
    def filtered(self) -> int:
        """Events of symbols this worker does not own (skipped)."""
        return int(self.core.filtered)

    @property
    def errors(self) -> dict[str, int]:
        """Events skipped because processing them raised ("core"), sink batches that raised
        ("sink:<name>"), by stage (docs/decisions/0121)."""
        return self.core.errors

    @property
    def core_meter(self) -> StageMeter:
        return self.core.core_meter

    @property
    def sink_meter(self) -> StageMeter:
        return self.core.sink_meter

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
                        updated[name] = entry.build(self._reference)
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
        self.core.flush_metrics()

    def _publish(self, out: list[Event]) -> None:
        if out and self.sinks:
            routed = [(event_topic(e), e) for e in out]
            for sink in self.sinks.values():
                sink.publish(routed)

    def _admit(self, event: Event) -> SymbolState | None:
        symbols = self.core.states.setdefault(event.stream, {})
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
        keeper = keeper_class(
            book,
            health_class(event.stream, event.symbol, self.stale_after_ns),
            self.rules.bind(event.stream, event.symbol),
            SNAPSHOT_DEPTH,
        )
        state: SymbolState = self._loop.SymbolState(book, keeper)
        state.calculators = {
            name: entry.build(self._reference)
            for name, entry in self.calculators.items()
            if entry.applies_to(event.symbol)
        }
        state.wire()
        symbols[event.symbol] = state
        return state


def _classes(compiled: bool) -> tuple[Any, Any, Any]:
    """Book, BookHealth and BookKeeper: those import gives, or their Python code
    (``accel.reference``) for a ``compiled=False`` pipeline beside compiled ones."""
    modules = ("pipelines.core.book", "pipelines.core.health", "pipelines.core.bookkeeper")
    load = importlib.import_module if compiled else accel.reference
    book, health, keeper = (load(name) for name in modules)
    return book.Book, health.BookHealth, keeper.BookKeeper
