"""The compiled calculator kernels (``_c*.pyx``) against their pure-Python references.

Both implementations run in this one process on the same inputs: hypothesis-generated series
(any floats, equal runs, bursts at one ns, resizes and clears between updates) and the real
Binance and Kraken captures (their mids, trades and books). Every output must be the same float
to the last bit (or both None, or the same exception), and the state after each step the same
(``len``, the OLS ``results``, the EMA ``value``). Skipped when the twins are not built
(tests/pipelines/test_accel.py fails on that under CI).
"""

from __future__ import annotations

import importlib
import math
import random
import struct
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.capture.ws_capture import decode_ws_captures
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines.core.book import Book
from pipelines.core.calculators import ema, ols, sma, top_of_book, volatility, vwap, zscore
from pipelines.events import BookDelta, BookSnapshot, Trade


def compiled(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"pipelines.core.calculators.{name}")
    except ImportError as error:
        pytest.skip(f"{name} is not built ({error})")


def same(a: object, b: object) -> bool:
    """Equal outcomes: both None, the same float bits (any NaN equals any NaN), or equal."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def outcome(call: Callable[..., object], *args: object) -> object:
    """What ``call(*args)`` returns, or the math error it raises (type and message)."""
    try:
        return call(*args)
    except (ArithmeticError, ValueError) as error:  # the reference's math errors
        return (type(error), str(error))


# -- the kernel pairs ---------------------------------------------------------------------------

Factory = Callable[[ModuleType | None], Any]  # None: the Python kernel


def rolling(module: ModuleType, name: str, cname: str, *args: Any) -> Factory:
    def make(twin: ModuleType | None) -> Any:
        return getattr(twin, name)(*args) if twin is not None else getattr(module, name)(*args)

    make.cname = cname  # type: ignore[attr-defined]
    return make


SERIES: dict[str, Factory] = {
    "sma": rolling(sma, "SmaKernel", "_csma"),
    "zscore": rolling(zscore, "ZScoreKernel", "_czscore"),
    "realized_vol": rolling(volatility, "RealizedVolKernel", "_cvolatility"),
    "ols_time": rolling(ols, "OlsKernel", "_cols", [0.0, 0.0, 0.0], True),
    "ols_series": rolling(ols, "OlsKernel", "_cols", [0.0, 0.0, 0.0], False),
}


def state(kernel: Any) -> object:
    """What is observable of a kernel between updates: its size, and its outputs."""
    if hasattr(kernel, "value"):
        return (0, [kernel.value])
    return (len(kernel), list(getattr(kernel, "results", ())))


def same_state(a: object, b: object) -> bool:
    (na, ra), (nb, rb) = a, b  # type: ignore[misc]
    return na == nb and len(ra) == len(rb) and all(same(x, y) for x, y in zip(ra, rb, strict=True))


# Values: anything a float can be, plus a small pool so equal runs and repeats happen often.
values = st.one_of(
    st.floats(),
    st.floats(min_value=-1e12, max_value=1e12),
    st.sampled_from([0.0, -0.0, 1.0, 100.0, 100.05, 1e9, 1e9 + 1e-3, 5e-324, 1e300]),
)
# ts steps from 0 ns (bursts) up to a few seconds; ts itself stays in int64 (ns since the epoch).
steps = st.one_of(st.just(0), st.integers(0, 2_000_000), st.integers(0, 5_000_000_000))
limits = st.one_of(st.integers(1, 12), st.integers(1, 300), st.just(sys.maxsize))
spans = st.one_of(st.just(0), st.integers(1, 10_000_000), st.integers(1, 10_000_000_000))
windows = st.tuples(limits, spans)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("update"), values, steps),
        st.tuples(st.just("x"), values, steps),
        st.tuples(st.just("resize"), limits, spans),
        st.tuples(st.just("clear"), st.none(), st.none()),
        st.tuples(st.just("annualize"), st.booleans(), st.floats(1.0, 1e9)),
    ),
    max_size=400,
)


def run_pair(kind: str, window: tuple[int, int], script: list[tuple[Any, Any, Any]]) -> None:
    make = SERIES[kind]
    twin = compiled(make.cname)  # type: ignore[attr-defined]
    reference, fast = make(None), make(twin)
    for kernel in (reference, fast):
        kernel.set_window(*window)
    ts = 1_700_000_000_000_000_000
    for step, (op, a, b) in enumerate(script):
        if op in ("update", "x"):
            ts += b
            if op == "x":
                if not kind.startswith("ols"):
                    continue
                want = outcome(reference.observe_x, a, ts)
                got = outcome(fast.observe_x, a, ts)
            else:
                want = outcome(reference.update, a, ts)
                got = outcome(fast.update, a, ts)
        elif op == "resize":
            want = outcome(reference.resize, a, b)
            got = outcome(fast.resize, a, b)
        elif op == "clear":
            want, got = outcome(reference.clear), outcome(fast.clear)
        else:
            if kind != "realized_vol":
                continue
            reference.configure(a, b)
            fast.configure(a, b)
            want = got = None
        assert same(want, got) or want == got, (step, op, a, b, want, got)
        assert same_state(state(reference), state(fast)), (step, state(reference), state(fast))


@pytest.mark.parametrize("kind", sorted(SERIES))
@settings(max_examples=150, deadline=None)
@given(window=windows, script=ops)
def test_rolling_kernels_equal_their_reference_on_any_series(
    kind: str, window: tuple[int, int], script: list[tuple[Any, Any, Any]]
) -> None:
    run_pair(kind, window, script)


@settings(max_examples=150, deadline=None)
@given(window=windows, script=ops, sizes=st.lists(values, min_size=1, max_size=50))
def test_vwap_kernel_equals_its_reference_on_any_trades(
    window: tuple[int, int], script: list[tuple[Any, Any, Any]], sizes: list[float]
) -> None:
    twin = compiled("_cvwap")
    reference, fast = vwap.VwapKernel(), twin.VwapKernel()
    for kernel in (reference, fast):
        kernel.set_window(*window)
    ts = 1_700_000_000_000_000_000
    for step, (op, a, b) in enumerate(script):
        if op == "update":
            ts += b
            size = sizes[step % len(sizes)]
            want = outcome(reference.update_trade, a, size, ts)
            got = outcome(fast.update_trade, a, size, ts)
        elif op == "resize":
            want = outcome(reference.resize, a, b)
            got = outcome(fast.resize, a, b)
        elif op == "clear":
            want, got = outcome(reference.clear), outcome(fast.clear)
        else:
            continue
        assert same(want, got) or want == got, (step, op, a, b, want, got)
        assert len(reference) == len(fast)


@settings(max_examples=200, deadline=None)
@given(
    alpha=st.floats(0.0, 1.0),
    rate=st.floats(1e-20, 1e-3),
    series=st.lists(st.tuples(values, steps), max_size=200),
)
def test_ema_kernels_equal_their_reference(
    alpha: float, rate: float, series: list[tuple[float, int]]
) -> None:
    twin = compiled("_cema")
    pairs = [
        (ema.EmaKernel(alpha), twin.EmaKernel(alpha)),
        (ema.EmaTimeKernel(rate), twin.EmaTimeKernel(rate)),
    ]
    for reference, fast in pairs:
        assert reference.value is None and fast.value is None
        ts = 1_700_000_000_000_000_000
        for value, step in series:
            ts += step
            assert same(reference.update(value, ts), fast.update(value, ts))
            assert same(reference.value, fast.value)


FSUM_CASES: list[list[float]] = [
    [],
    [1e-16, 1.0, 1e16],
    [1e308, 1e308, -1e308],
    [math.inf, 1.0],
    [math.nan, 1.0],
    [0.1] * 10,
    [1.0, 1e100, 1.0, -1e100],
    [5e-324, -5e-324, 1e-300],
    [1.0, 2.0**-53],  # a tie: the fast sum cannot certify it
    [1.0, 2.0**-53, 2.0**-110],
    [-0.0, -0.0],
    [64_000.25 + i * 1e-3 for i in range(100)],
]


@pytest.mark.parametrize("fast", [True, False], ids=["certified", "partials"])
def test_the_fsum_port_is_math_fsum(fast: bool) -> None:
    twin = compiled("_cwindow")
    for case in FSUM_CASES:
        assert same(outcome(math.fsum, case), outcome(twin.fsum, case, fast)), case
    infinities = [math.inf, -math.inf]
    assert outcome(twin.fsum, infinities, fast) == outcome(math.fsum, infinities)
    # Both branches of the fast path are taken on these cases.
    assert twin.fsum_certified(FSUM_CASES[-1]) and not twin.fsum_certified([1.0, 2.0**-53])


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(-1e6, 1e6),
            st.sampled_from([1.0, 2.0**-53, -(2.0**-53), 2.0**-106, 1e16, -1e16, 0.1]),
        ),
        max_size=80,
    ),
    st.booleans(),
)
def test_the_fsum_port_equals_math_fsum_on_any_finite_floats(case: list[float], fast: bool) -> None:
    twin = compiled("_cwindow")
    assert same(outcome(math.fsum, case), outcome(twin.fsum, case, fast))


# -- book kernels -------------------------------------------------------------------------------


def book_pairs(twin: ModuleType) -> list[tuple[str, Any, Any]]:
    pairs = [
        ("mid", top_of_book.MidKernel(), twin.MidKernel()),
        ("microprice", top_of_book.MicropriceKernel(), twin.MicropriceKernel()),
        ("spread", top_of_book.SpreadKernel(False), twin.SpreadKernel(False)),
        ("spread_bps", top_of_book.SpreadKernel(True), twin.SpreadKernel(True)),
    ]
    for levels in (1, 2, 10, 1000):
        pairs.append(
            (
                f"imbalance{levels}",
                top_of_book.ImbalanceKernel(levels),
                twin.ImbalanceKernel(levels),
            )
        )
    return pairs


# Prices and sizes from small to far beyond int64 (the Python fallback of the twins).
ints = st.one_of(
    st.integers(1, 10**7), st.integers(1, 2**62), st.integers(1, 2**70), st.integers(-(2**64), 0)
)
levels = st.lists(st.tuples(ints, ints), max_size=15)


class PublicBook:
    """Only the Book's public reading API (what the kernels may use), over any ints: beyond the
    int64 range the Book itself refuses, so this reaches the twins' Python-object fallback."""

    def __init__(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]], decimals: int):
        self.bids = sorted(dict(bids).items(), reverse=True)
        self.asks = sorted(dict(asks).items())
        self.price_decimals = decimals

    def best_bid(self) -> tuple[int, int] | None:
        return self.bids[0] if self.bids else None

    def best_ask(self) -> tuple[int, int] | None:
        return self.asks[0] if self.asks else None

    def best_bid_price(self) -> int | None:
        return self.bids[0][0] if self.bids else None

    def best_ask_price(self) -> int | None:
        return self.asks[0][0] if self.asks else None

    def top(self, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return self.bids[:depth], self.asks[:depth]


@settings(max_examples=300, deadline=None)
@given(bids=levels, asks=levels, decimals=st.integers(0, 18))
def test_book_kernels_equal_their_reference_on_any_book(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], decimals: int
) -> None:
    twin = compiled("_ctop_of_book")
    books: list[Any] = [PublicBook(bids, asks, decimals)]
    if all(abs(value) < 2**63 for level in (*bids, *asks) for value in level):
        # The running Book too (compiled when built: the kernels read its prices in C).
        real = Book("s", "X", price_decimals=decimals)
        real.load(bids, asks)
        books.append(real)
    for book in books:
        for name, reference, fast in book_pairs(twin):
            want = outcome(reference.update_book, book, 0)
            got = outcome(fast.update_book, book, 0)
            assert same(want, got) or want == got, (name, type(book).__name__, want, got)


# -- the real captures --------------------------------------------------------------------------


def capture_events(shared_data: Path) -> Iterator[tuple[str, list[Any]]]:
    ws = shared_data / "ws"
    sources = [
        ("binance", "binance_spot", [ws / "binance-spot" / n for n in ("BINANCE.ws.1.0", "BINANCE.http.0.0")]),
        ("kraken", "kraken", [ws / "kraken" / "KRAKEN.ws.50.0"]),
    ]  # fmt: skip
    for stream, mapping, files in sources:
        if not all(path.is_file() for path in files):
            continue
        decoder = MappedJsonDecoder(stream, MappedParams(mapping=mapping))
        for batch in decode_ws_captures(decoder, files):
            yield stream, batch


def test_every_kernel_equals_its_reference_on_the_real_captures(shared_data: Path) -> None:
    twins = {name: compiled(name) for name in ("_cema", "_cols", "_csma", "_cvwap", "_czscore")}
    twins["_cvolatility"] = compiled("_cvolatility")
    book_twin = compiled("_ctop_of_book")

    def series_pairs() -> list[tuple[Any, Any]]:
        pairs: list[tuple[Any, Any]] = [
            (ema.EmaKernel(2.0 / 21), twins["_cema"].EmaKernel(2.0 / 21)),
            (ema.EmaTimeKernel(1e-9), twins["_cema"].EmaTimeKernel(1e-9)),
        ]
        for window in ((20, 0), (100, 0), (sys.maxsize, 1_000_000_000)):
            for make in SERIES.values():
                pair = (make(None), make(twins[make.cname]))  # type: ignore[attr-defined]
                for kernel in pair:
                    kernel.set_window(*window)
                pairs.append(pair)
        return pairs

    books: dict[tuple[str, str], Book] = {}
    mids: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    trades: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    compared = 0
    for stream, events in capture_events(shared_data):
        for event in events:
            key = (stream, getattr(event, "symbol", ""))
            if isinstance(event, BookSnapshot):
                books.setdefault(key, Book(stream, key[1])).apply_snapshot(event)
            elif isinstance(event, BookDelta):
                book = books.setdefault(key, Book(stream, key[1]))
                book.price_decimals = event.price_decimals
                book.apply(event)
                if not event.batch_end:
                    continue
            elif isinstance(event, Trade):
                price = event.price / 10**event.price_decimals
                size = event.size / 10**event.size_decimals
                pairs = trades.setdefault(key, series_pairs())
                for reference, fast in pairs:
                    assert same(
                        reference.update(price, event.ts_recv), fast.update(price, event.ts_recv)
                    )
                vwap_ref, vwap_fast = vwap.VwapKernel(), twins["_cvwap"].VwapKernel()
                for kernel in (vwap_ref, vwap_fast):
                    kernel.set_window(50, 0)
                assert same(
                    vwap_ref.update_trade(price, size, event.ts_recv),
                    vwap_fast.update_trade(price, size, event.ts_recv),
                )
                continue
            else:
                continue
            book = books[key]
            for name, reference, fast in book_pairs(book_twin):
                assert same(reference.update_book(book, 0), fast.update_book(book, 0)), name
            mid = top_of_book.MidKernel().update_book(book, 0)
            if mid is None:
                continue
            pairs = mids.setdefault(key, series_pairs())
            for reference, fast in pairs:
                want, got = reference.update(mid, event.ts_recv), fast.update(mid, event.ts_recv)
                assert same(want, got), (key, type(reference).__name__, want, got)
                assert same_state(state(reference), state(fast))
                compared += 1
    if not compared:
        pytest.skip("no capture with books under shared_data/ws")
    assert compared > 10_000


@pytest.mark.parametrize("kind", sorted(SERIES))
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=windows,
    scale=st.sampled_from([1.0, 1e-3, 1e9]),
    repeat=st.floats(0.0, 0.9),
)
def test_rolling_kernels_equal_their_reference_on_long_walks(
    kind: str, seed: int, window: tuple[int, int], scale: float, repeat: float
) -> None:
    """Thousands of steps: many evictions and periodic recomputes, prices near 1e9 or tiny."""
    rng = random.Random(seed)
    script: list[tuple[Any, Any, Any]] = []
    price = scale * 100.0
    for i in range(3_000):
        if rng.random() >= repeat:
            price += rng.gauss(0.0, scale * 0.05)
        step = 0 if rng.random() < 0.1 else int(rng.expovariate(1e-6))
        script.append(("x" if i % 7 == 3 else "update", price, step))
        if i % 997 == 500:
            script.append(("resize", rng.choice([3, 50, 400, sys.maxsize]), rng.choice([0, 10**8])))
    run_pair(kind, window, script)
