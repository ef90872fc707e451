"""The compiled rule engine and rule kernels (``engine``, ``book_kernels``, ``band_kernels``:
one source, docs/decisions/0119) against their Python code (``accel.reference``).

Both run in this one process on the same inputs: hypothesis-generated books (any int prices,
empty sides, crossed and locked), trades, timer ticks, gaps and live reloads, through every
built-in rule with every action; and the books and trades of the real Binance and Kraken captures.
Every hook's verdict, every publish decision, every emitted Alert/Status (fields and order),
the counters, the active flags and the halted set must be the same. Book prices are int64 (the
Book's contract): the compiled kernels refuse a price beyond it (OverflowError), the Books too.
Skipped when the modules are not compiled (failed under CI; tests/pipelines/test_accel.py fails
on that too).
"""

from __future__ import annotations

import importlib
import os
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
from pipelines import accel
from pipelines.core.book import Book
from pipelines.core.rules import Rule, RuleParams, RuleSet, bands, book_checks
from pipelines.events import BookDelta, BookSnapshot, Trade
from pipelines.spec import RuleSpec

ENGINE = "pipelines.core.rules.engine"
BOOK_KERNELS = "pipelines.core.rules.book_kernels"
BAND_KERNELS = "pipelines.core.rules.band_kernels"


def pair(name: str) -> tuple[ModuleType, ModuleType]:
    """The compiled module ``name`` and its Python code (skipped when it is not compiled)."""
    module = importlib.import_module(name)
    if not accel.compiled(module):
        reason = f"{name} is not compiled (not built, or {accel.PURE_ENV})"
        if os.environ.get("CI") == "true" and not accel.pure():
            pytest.fail(reason)
        pytest.skip(reason)
    return module, accel.reference(name)


def reference_book() -> type[Any]:
    book: type[Any] = accel.reference("pipelines.core.book").Book
    return book


@contextmanager
def python_kernels() -> Iterator[None]:
    """Rules built inside use the Python kernels (even where the compiled ones are built)."""
    book_kernels, band_kernels = accel.reference(BOOK_KERNELS), accel.reference(BAND_KERNELS)
    saved = (
        book_checks.CrossedBookKernel,
        book_checks.MaxSpreadKernel,
        bands.PriceBandKernel,
        bands.SpikeKernel,
    )
    book_checks.CrossedBookKernel = book_kernels.CrossedBookKernel
    book_checks.MaxSpreadKernel = book_kernels.MaxSpreadKernel
    bands.PriceBandKernel = band_kernels.PriceBandKernel
    bands.SpikeKernel = band_kernels.SpikeKernel
    try:
        yield
    finally:
        (book_checks.CrossedBookKernel, book_checks.MaxSpreadKernel, bands.PriceBandKernel,
         bands.SpikeKernel) = saved  # fmt: skip


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def fits(price: int | None) -> bool:
    """Within what the compiled kernels take (int64)."""
    return price is None or INT64_MIN <= price <= INT64_MAX


def a_book(book_class: type[Any], bid: int | None, ask: int | None, decimals: int) -> Any:
    """A Book of ``book_class`` holding these best prices (OverflowError beyond the Book's
    range, |price| < 2**63)."""
    book = book_class("s", "X", price_decimals=decimals)
    book.load([(bid, 1)] if bid is not None else [], [(ask, 1)] if ask is not None else [])
    return book


def books(bid: int | None, ask: int | None, decimals: int) -> tuple[Any, Any, bool]:
    """The reference Book and the running one with these prices, and whether they hold them
    (beyond the Book's range both refuse them: then both are empty, at the same scale)."""
    found = []
    for book_class in (reference_book(), Book):
        try:
            found.append((a_book(book_class, bid, ask, decimals), True))
        except OverflowError:
            found.append((book_class("s", "X", price_decimals=decimals), False))
    (reference, loaded), (book, same) = found
    assert loaded == same, (bid, ask)
    return reference, book, loaded


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
    (checks, checks_ref), (kernels, kernels_ref) = pair(BOOK_KERNELS), pair(BAND_KERNELS)
    pairs: list[tuple[Any, Any]] = [
        (checks_ref.CrossedBookKernel(include_locked), checks.CrossedBookKernel(include_locked)),
        (checks_ref.MaxSpreadKernel(max_bps, max_spread),
         checks.MaxSpreadKernel(max_bps, max_spread)),
        (kernels_ref.PriceBandKernel(band), kernels.PriceBandKernel(band)),
    ]  # fmt: skip
    for bid, ask, decimals in tops:
        reference_book, book, loaded = books(bid, ask, decimals)
        for reference, fast in pairs:
            if bid is not None and ask is not None and not (fits(bid) and fits(ask)):
                # Beyond the Book's int64: refused before any state changes.
                refused = outcome(fast.check_top, bid, ask, book)
                assert isinstance(refused, tuple) and refused[0] is OverflowError, refused
                continue
            want = outcome(reference.check_top, bid, ask, reference_book)
            got = outcome(fast.check_top, bid, ask, book)
            assert want == got, (type(reference).__name__, bid, ask, want, got)
            if loaded:
                assert outcome(reference.check_book, reference_book) == outcome(
                    fast.check_book, book
                )
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
    kernels, kernels_ref = pair(BAND_KERNELS)
    pairs: list[tuple[Any, Any]] = [
        (kernels_ref.SpikeKernel(spike), kernels.SpikeKernel(spike)),
        (kernels_ref.PriceBandKernel(band), kernels.PriceBandKernel(band)),
    ]
    for seq, (price, size) in enumerate(trades, 1):
        event = trade(price, size, seq, seq)
        for reference, fast in pairs:
            want = outcome(reference.check_trade, event)
            got = outcome(fast.check_trade, event)
            assert want == got, (type(reference).__name__, price, size, want, got)
    assert pairs[0][0].last_price == pairs[0][1].last_price


int64 = st.one_of(
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(-(2**62) - 2, -(2**62) + 2),
    st.integers(2**62 - 2, 2**62 + 2),
    st.sampled_from([INT64_MIN, INT64_MAX, 0, -1, 1]),
    st.integers(-(10**12), 10**12),
)


@settings(max_examples=2_000, deadline=None)
@given(bid=int64, ask=int64, spread=st.integers(-(2**40), 2**40), max_bps=st.floats(0.0, 1e4))
def test_the_int64_paths_of_the_book_kernels_equal_python_ints(
    bid: int, ask: int, spread: int, max_bps: float
) -> None:
    """Where the compiled kernels compute in int64 (and where they must not), the results are
    Python's on exact ints: at the edges of the fast paths, and near the edges of int64."""
    (checks, checks_ref), (kernels, kernels_ref) = pair(BOOK_KERNELS), pair(BAND_KERNELS)
    band = bands.PriceBandParams(input="mid", warmup=1)
    near = bid + spread
    for b, a in ((bid, ask), (bid, near), (near, bid)):
        if not (fits(b) and fits(a)):
            continue
        book, reference_book = Book("s", "X", 2), accel.reference("pipelines.core.book").Book()
        want = checks_ref.MaxSpreadKernel(max_bps, "").check_top(b, a, reference_book)
        wider = b + a > 0 and (a - b) * 20_000 > max_bps * (b + a)
        assert (want is not None) == (max_bps > 0 and wider)
        got = checks.MaxSpreadKernel(max_bps, "").check_top(b, a, book)
        assert got == want, (b, a, max_bps)
        fast, reference = kernels.PriceBandKernel(band), kernels_ref.PriceBandKernel(band)
        assert fast.check_top(b, a, book) is reference.check_top(b, a, reference_book) is None
        assert fast.reference.mean == reference.reference.mean == (b + a) / 2.0, (b, a)


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
        self.book_class = reference_book() if reference else Book
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
            try:
                book = a_book(self.book_class, bid, ask, 2)
            except OverflowError:
                return "beyond the Book's range"
            publish = rules.on_book(book, seq, ts)
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
    engine, engine_ref = pair(ENGINE)
    pair(BOOK_KERNELS)
    pair(BAND_KERNELS)
    reference, fast = Side(reference=True), Side(reference=False)
    assert type(reference.rules) is engine_ref.SymbolRules
    assert type(fast.rules) is engine.SymbolRules
    # Each engine calls the kernels of its own kind directly (not through the rule's hooks).
    assert isinstance(reference.rules.bound["band_mid"].kernel, engine_ref.RuleKernel)
    assert isinstance(fast.rules.bound["band_mid"].kernel, engine.RuleKernel)
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
    if implementation == "reference":
        engine, book_class = accel.reference(ENGINE), reference_book()
    else:
        engine, book_class = pair(ENGINE)[0], Book
    stats = engine.RuleStats()
    rules = engine.SymbolRules("s", "X")
    rule = Widest(RuleParams())
    rules.bound["widest"] = engine.BoundRule(Entry(stats), rule)
    rules.wire()
    assert rules.bound["widest"].kernel is None
    out: list[Any] = []
    for seq, (bid, ask) in enumerate([(100, 103), (100, 110), (100, 111), (100, 104)], 1):
        assert rules.on_book(a_book(book_class, bid, ask, 2), seq, seq)
        rules.flush(out.append)
    assert [(e.seq, e.message) for e in out] == [(2, "spread 10"), (4, "cleared")]
    assert (stats.evaluations, stats.hits) == (4, 2)
