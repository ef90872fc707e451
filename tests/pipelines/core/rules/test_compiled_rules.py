"""The compiled rule engine and rule kernels (``_cengine``, ``_cbook_checks``, ``_cbands``)
against their pure-Python references.

Both run in this one process on the same inputs: hypothesis-generated books (any int prices,
empty sides, crossed and locked), trades, timer ticks, gaps and live reloads, through every
built-in rule with every action; and the books and trades of the real Binance and Kraken captures.
Every hook's verdict, every publish decision, every emitted Alert/Status (fields and order),
the counters, the active flags and the halted set must be the same. Skipped when the twins are
not built (tests/pipelines/test_accel.py fails on that under CI).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.capture.ws_capture import read_ws_capture
from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines.core.book import Book
from pipelines.core.rules import Rule, RuleParams, RuleSet, bands, book_checks, engine
from pipelines.events import BookDelta, BookSnapshot, Trade
from pipelines.spec import RuleSpec


def compiled(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"pipelines.core.rules.{name}")
    except ImportError as error:
        pytest.skip(f"{name} is not built ({error})")


@contextmanager
def python_kernels() -> Iterator[None]:
    """Rules built inside use the Python reference kernels (even when the twins are built)."""
    saved = (
        book_checks.CrossedKernel,
        book_checks.SpreadKernel,
        bands.BandKernel,
        bands.TradeKernel,
    )
    book_checks.CrossedKernel = book_checks.CrossedBookKernel
    book_checks.SpreadKernel = book_checks.MaxSpreadKernel
    bands.BandKernel = bands.PriceBandKernel
    bands.TradeKernel = bands.SpikeKernel
    try:
        yield
    finally:
        (book_checks.CrossedKernel, book_checks.SpreadKernel, bands.BandKernel,
         bands.TradeKernel) = saved  # fmt: skip


class PublicBook:
    """Only the Book's public reading API, over any ints (the Book itself keeps int64)."""

    def __init__(self, bid: int | None, ask: int | None, decimals: int) -> None:
        self.bid, self.ask, self.price_decimals = bid, ask, decimals

    def best_bid_price(self) -> int | None:
        return self.bid

    def best_ask_price(self) -> int | None:
        return self.ask


INT64 = 2**63 - 1


def a_book(bid: int | None, ask: int | None, decimals: int) -> Any:
    """The running Book (compiled when built: its C-level best prices are what the compiled
    engine reads) when the prices fit it, else a PublicBook with any ints."""
    if all(price is None or abs(price) <= INT64 for price in (bid, ask)):
        book = Book("s", "X", price_decimals=decimals)
        book.load([(bid, 1)] if bid is not None else [], [(ask, 1)] if ask is not None else [])
        return book
    return PublicBook(bid, ask, decimals)


def trade(price: int, size: int, seq: int, ts: int) -> Trade:
    return Trade(stream="s", symbol="X", seq=seq, ts_recv=ts, price=price, size=size)


# -- kernels ------------------------------------------------------------------------------------

prices = st.one_of(
    st.none(),
    st.integers(1, 20_000),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**80), 2**80),
)
band_params = st.builds(
    bands.PriceBandParams,
    input=st.sampled_from(["trade", "mid"]),
    window=st.integers(2, 50),
    band=st.sampled_from(["sigma", "percent"]),
    k=st.floats(0.1, 10.0),
    percent=st.floats(0.01, 50.0),
    min_percent=st.floats(0.0, 5.0),
    warmup=st.integers(1, 10),
)
spike_params = st.builds(
    bands.SpikeParams,
    metric=st.sampled_from(["price", "volume"]),
    threshold=st.floats(0.01, 100.0),
    window=st.integers(2, 50),
    warmup=st.integers(1, 10),
)


@settings(max_examples=200, deadline=None)
@given(
    tops=st.lists(st.tuples(prices, prices, st.integers(0, 18)), max_size=60),
    include_locked=st.booleans(),
    max_bps=st.one_of(st.just(0.0), st.floats(0.0, 1e4)),
    max_spread=st.sampled_from(["", "0.05", "1", "0.000001", "12345.678"]),
    band=band_params,
)
def test_book_rule_kernels_equal_their_reference(
    tops: list[tuple[int | None, int | None, int]],
    include_locked: bool,
    max_bps: float,
    max_spread: str,
    band: bands.PriceBandParams,
) -> None:
    checks, twin_bands = compiled("_cbook_checks"), compiled("_cbands")
    pairs: list[tuple[Any, Any]] = [
        (book_checks.CrossedBookKernel(include_locked), checks.CrossedBookKernel(include_locked)),
        (book_checks.MaxSpreadKernel(max_bps, max_spread),
         checks.MaxSpreadKernel(max_bps, max_spread)),
        (bands.PriceBandKernel(band), twin_bands.PriceBandKernel(band)),
    ]  # fmt: skip
    for bid, ask, decimals in tops:
        book = a_book(bid, ask, decimals)
        for reference, fast in pairs:
            want = outcome(reference.check_top, bid, ask, book)
            got = outcome(fast.check_top, bid, ask, book)
            assert want == got, (type(reference).__name__, bid, ask, want, got)
            assert outcome(reference.check_book, book) == outcome(fast.check_book, book)
    reference, fast = pairs[2]
    assert (reference.reference.count, reference.reference.mean, reference.reference.var) == (
        fast.reference.count, fast.reference.mean, fast.reference.var)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    trades=st.lists(st.tuples(st.integers(0, 2**70), st.integers(0, 2**70)), max_size=60),
    spike=spike_params,
    band=band_params,
)
def test_trade_rule_kernels_equal_their_reference(
    trades: list[tuple[int, int]], spike: bands.SpikeParams, band: bands.PriceBandParams
) -> None:
    twin = compiled("_cbands")
    pairs: list[tuple[Any, Any]] = [
        (bands.SpikeKernel(spike), twin.SpikeKernel(spike)),
        (bands.PriceBandKernel(band), twin.PriceBandKernel(band)),
    ]
    for seq, (price, size) in enumerate(trades, 1):
        event = trade(price, size, seq, seq)
        for reference, fast in pairs:
            want = outcome(reference.check_trade, event)
            got = outcome(fast.check_trade, event)
            assert want == got, (type(reference).__name__, price, size, want, got)
    assert pairs[0][0].last_price == pairs[0][1].last_price


def outcome(call: Any, *args: Any) -> object:
    try:
        return call(*args)
    except (ArithmeticError, ValueError) as error:
        return (type(error), str(error))


# -- the engine ---------------------------------------------------------------------------------

SPECS: dict[str, RuleSpec] = {
    "crossed": RuleSpec(kind="crossed_book", action="halt"),
    "locked": RuleSpec(kind="crossed_book", action="tag"),
    "wide": RuleSpec(kind="max_spread", action="alert", params={"max_bps": 50.0}),
    "wide_abs": RuleSpec(kind="max_spread", action="drop", params={"max_spread": "0.05"}),
    "band_mid": RuleSpec(
        kind="price_band", action="alert", params={"input": "mid", "k": 3.0, "warmup": 5}
    ),
    "band_trade": RuleSpec(
        kind="price_band", action="tag", params={"band": "percent", "percent": 1.0, "warmup": 3}
    ),
    "spike_price": RuleSpec(kind="spike", action="drop", params={"threshold": 1.0}),
    "spike_size": RuleSpec(
        kind="spike", action="alert", params={"metric": "volume", "threshold": 3.0, "warmup": 3}
    ),
    "stale": RuleSpec(kind="stale_feed", action="halt", params={"max_silence_ms": 100}),
    "gaps": RuleSpec(kind="gap_rate", action="alert", params={"max_gaps": 1, "window_s": 1.0}),
}
RELOADED: dict[str, RuleSpec] = {
    **{name: spec for name, spec in SPECS.items() if name not in ("stale", "wide_abs")},
    "crossed": RuleSpec(kind="crossed_book", action="halt", params={"include_locked": False}),
    "band_mid": RuleSpec(kind="price_band", action="halt", params={"input": "mid", "window": 30}),
    "spike_size": RuleSpec(kind="spike", action="tag", params={"metric": "volume"}),
}


class Side:
    """One implementation: its RuleSet, the symbol's rules and what they published."""

    def __init__(self, reference: bool) -> None:
        self.reference = reference
        self.ruleset = RuleSet(reference=reference)
        with self.kernels():
            self.ruleset.entries = RuleSet.plan(SPECS)
            self.rules = self.ruleset.bind("s", "X")
        self.out: list[Any] = []  # events, and the books published

    def kernels(self) -> Any:
        return python_kernels() if self.reference else contextmanager(lambda: iter([None]))()

    def step(self, op: tuple[Any, ...]) -> object:
        rules, out = self.rules, self.out
        kind = op[0]
        if kind == "book":
            _, bid, ask, seq, ts = op
            publish = rules.on_book(a_book(bid, ask, 2), seq, ts)
            if publish:
                out.append(("book published", seq))
            rules.flush(out.append)
            return publish
        if kind == "trade":
            _, price, size, seq, ts = op
            event = trade(price, size, seq, ts)
            publish = rules.on_trade(event)
            if publish:
                out.append(event)
            rules.flush(out.append)
            return publish
        if kind == "tick":
            rules.on_tick(op[1], op[2], out.append)
            return None
        if kind == "gap":
            rules.on_gap(op[1], op[2], out.append)
            return None
        with self.kernels():  # reload
            released = self.ruleset.update(RuleSet.plan(op[1]), [rules])
        out.extend(released)
        return None

    def state(self) -> object:
        rules = self.rules
        stats = {n: (e.stats.evaluations, e.stats.hits) for n, e in self.ruleset.entries.items()}
        active = {name: bound.active for name, bound in rules.bound.items()}
        lists = [[b.name for b in getattr(rules, f)] for f in ("book", "trade", "tick", "gap")]
        return stats, active, set(rules.halted), lists


def compare(ops: list[tuple[Any, ...]]) -> None:
    compiled("_cengine")
    compiled("_cbook_checks")
    compiled("_cbands")
    if not engine.COMPILED:
        pytest.skip("the compiled engine is switched off (TICKERPLANT_PURE_PYTHON)")
    reference, fast = Side(reference=True), Side(reference=False)
    assert type(reference.rules) is engine.PySymbolRules
    assert type(fast.rules) is not engine.PySymbolRules
    for i, op in enumerate(ops):
        want, got = reference.step(op), fast.step(op)
        assert want == got, (i, op, want, got)
        assert reference.out == fast.out, (i, op)
        assert reference.state() == fast.state(), (i, op)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("book"), prices, prices, st.integers(0, 10**6), st.integers(0, 10**12)),
        st.tuples(
            st.just("book"),
            st.integers(9_990, 10_010),
            st.integers(9_990, 10_010),
            st.integers(0, 10**6),
            st.integers(0, 10**12),
        ),
        st.tuples(
            st.just("trade"),
            st.integers(0, 20_000),
            st.integers(0, 100),
            st.integers(0, 10**6),
            st.integers(0, 10**12),
        ),
        st.tuples(st.just("tick"), st.integers(0, 10**12), st.integers(-1, 10**12)),
        st.tuples(st.just("gap"), st.integers(0, 10**10), st.integers(0, 10**6)),
        st.tuples(st.just("reload"), st.sampled_from([SPECS, RELOADED, {}])),
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(script=ops)
def test_the_compiled_engine_equals_the_reference_on_any_events(
    script: list[tuple[Any, ...]],
) -> None:
    compare(script)


def capture_ops(shared_data: Path) -> list[tuple[Any, ...]]:
    """Books (their best prices after each venue message) and trades of the real captures."""
    ws = shared_data / "ws"
    sources = [
        ("binance", "binance_spot", [ws / "binance-spot" / n for n in ("BINANCE.ws.1.0", "BINANCE.http.0.0")]),
        ("kraken", "kraken", [ws / "kraken" / "KRAKEN.ws.50.0"]),
    ]  # fmt: skip
    out: list[tuple[Any, ...]] = []
    for stream, mapping, files in sources:
        if not all(path.is_file() for path in files):
            continue
        decoder = MappedJsonDecoder(stream, MappedParams(mapping=mapping))
        books: dict[str, Book] = {}
        records = sorted(
            (record for path in files for record in read_ws_capture(path)),
            key=lambda record: record.ts_recv_ns,
        )
        for record in records:
            try:
                if record.direction == "recv":
                    events = decoder.decode(record.payload, record.ts_recv_ns)
                elif record.direction == "http":
                    events = decoder.apply_snapshot(record.url, record.payload, record.ts_recv_ns)
                else:
                    continue
            except DecodeError:
                continue
            for event in events:
                if isinstance(event, BookSnapshot):
                    books.setdefault(event.symbol, Book()).apply_snapshot(event)
                elif isinstance(event, BookDelta):
                    book = books.setdefault(event.symbol, Book())
                    book.apply(event)
                    if event.batch_end:
                        bid, ask = book.best_bid_price(), book.best_ask_price()
                        out.append(("book", bid, ask, event.seq, event.ts_recv))
                elif isinstance(event, Trade):
                    out.append(("trade", event.price, event.size, event.seq, event.ts_recv))
        out.append(("tick", records[-1].ts_recv_ns + 10**9, records[-1].ts_recv_ns))
    return out


def test_the_compiled_engine_equals_the_reference_on_the_real_captures(
    shared_data: Path,
) -> None:
    script = capture_ops(shared_data)
    if not script:
        pytest.skip("no capture under shared_data/ws")
    middle = len(script) // 2
    script[middle:middle] = [("gap", 0, 0), ("reload", RELOADED), ("gap", 1, 1)]
    assert sum(op[0] == "book" for op in script) > 1_000
    compare(script)


class Widest(Rule):
    """A rule of someone else's: only ``check_book`` (no kernel, no ``check_top``)."""

    kind = "widest"
    inputs = frozenset({"book"})

    def check_book(self, book: Any) -> str | None:
        bid, ask = book.best_bid_price(), book.best_ask_price()
        return (
            f"spread {ask - bid}" if bid is not None and ask is not None and ask - bid > 5 else None
        )


class Entry:
    """What BoundRule reads of a RuleEntry."""

    def __init__(self, stats: Any) -> None:
        self.name = "widest"
        self.spec = RuleSpec(kind="crossed_book", action="alert")
        self.stats = stats


@pytest.mark.parametrize("implementation", ["reference", "compiled"])
def test_a_rule_with_only_check_book_runs_in_either_engine(implementation: str) -> None:
    if implementation == "compiled":
        twin = compiled("_cengine")
        symbol_rules, bound_rule, stats = twin.SymbolRules, twin.BoundRule, twin.RuleStats()
    else:
        symbol_rules, bound_rule = engine.PySymbolRules, engine.PyBoundRule
        stats = engine.PyRuleStats()
    rules = symbol_rules("s", "X")
    rule = Widest(RuleParams())
    rules.bound["widest"] = bound_rule(Entry(stats), rule)
    rules.wire()
    out: list[Any] = []
    for seq, (bid, ask) in enumerate([(100, 103), (100, 110), (100, 111), (100, 104)], 1):
        assert rules.on_book(PublicBook(bid, ask, 2), seq, seq)
        rules.flush(out.append)
    assert [(e.seq, e.message) for e in out] == [(2, "spread 10"), (4, "cleared")]
    assert (stats.evaluations, stats.hits) == (4, 2)
