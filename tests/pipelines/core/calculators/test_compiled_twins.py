"""The compiled calculator kernels against their own Python source, run side by side.

Each kernel module (``ema_kernel``, ``sma_kernel``, ... ``top_of_book_kernels``, and ``exact``) is
one source compiled by the build (docs/decisions/0117); ``accel.reference`` loads the same ``.py``
as Python beside it. Both run in this one process on the same inputs: hypothesis-generated series
(any floats, equal runs, bursts at one ns, resizes and clears between updates) and the real Binance
and Kraken captures (their mids, trades and books). Every output must be the same float to the
last bit (or both None, or the same exception), and the state after each step the same (``len``,
the OLS ``results``, the EMA ``value``). Skipped when the kernels are not built
(tests/pipelines/test_accel.py fails on that under CI).
"""

from __future__ import annotations

import importlib
import math
import random
import struct
import sys
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.capture.ws_capture import decode_ws_captures
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines import accel
from pipelines.core.book import Book
from pipelines.events import BookDelta, BookSnapshot, Trade


def pair(name: str) -> tuple[ModuleType, ModuleType]:
    """``(reference, compiled)`` of the kernel module ``pipelines.core.calculators.<name>``."""
    module = importlib.import_module(f"pipelines.core.calculators.{name}")
    if not accel.compiled(module):
        pytest.skip(f"{module.__name__} is not built (or TICKERPLANT_PURE_PYTHON is set)")
    return accel.reference(module.__name__), module


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

Factory = Callable[[ModuleType], Any]


def rolling(module: str, name: str, *args: Any) -> Factory:
    def make(built: ModuleType) -> Any:
        return getattr(built, name)(*args)

    make.module = module  # type: ignore[attr-defined]
    return make


SERIES: dict[str, Factory] = {
    "sma": rolling("sma_kernel", "SmaKernel"),
    "zscore": rolling("zscore_kernel", "ZScoreKernel"),
    "realized_vol": rolling("volatility_kernel", "RealizedVolKernel"),
    "ols_time": rolling("ols_kernel", "OlsKernel", [0.0, 0.0, 0.0], True),
    "ols_series": rolling("ols_kernel", "OlsKernel", [0.0, 0.0, 0.0], False),
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
    python, built = pair(make.module)  # type: ignore[attr-defined]
    reference, fast = make(python), make(built)
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
    python, built = pair("vwap_kernel")
    reference, fast = python.VwapKernel(), built.VwapKernel()
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
    python, built = pair("ema_kernel")
    pairs = [
        (python.EmaKernel(alpha), built.EmaKernel(alpha)),
        (python.EmaTimeKernel(rate), built.EmaTimeKernel(rate)),
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


def built_fsum(exact: ModuleType, case: list[float], fast: bool) -> object:
    return outcome(exact.fsum, array("d", case), len(case), fast)


@pytest.mark.parametrize("fast", [True, False], ids=["certified", "partials"])
def test_the_compiled_fsum_is_math_fsum(fast: bool) -> None:
    python, exact = pair("exact")
    for case in FSUM_CASES:
        assert same(outcome(math.fsum, case), built_fsum(exact, case, fast)), case
        values = array("d", case)
        assert same(outcome(python.fsum, values, len(case)), outcome(math.fsum, case))
    infinities = [math.inf, -math.inf]
    assert built_fsum(exact, infinities, fast) == outcome(math.fsum, infinities)
    overflow = [1e308, 1e308]
    assert built_fsum(exact, overflow, fast) == outcome(math.fsum, overflow)
    # Both branches of the fast path are taken on these cases.
    last = array("d", FSUM_CASES[-1])
    assert exact.fsum_certifies(last, len(last))
    assert not exact.fsum_certifies(array("d", [1.0, 2.0**-53]), 2)
    # A prefix of the buffer, and never past its end.
    assert exact.fsum(array("d", [1.0, 2.0, 4.0]), 2) == 3.0
    with pytest.raises(IndexError):
        exact.fsum(array("d", [1.0]), 2)


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
def test_the_compiled_fsum_equals_math_fsum_on_any_finite_floats(
    case: list[float], fast: bool
) -> None:
    _, exact = pair("exact")
    assert same(outcome(math.fsum, case), built_fsum(exact, case, fast))


# -- book kernels -------------------------------------------------------------------------------


def book_pairs(python: ModuleType, built: ModuleType) -> list[tuple[str, Any, Any]]:
    pairs = [
        ("mid", python.MidKernel(), built.MidKernel()),
        ("microprice", python.MicropriceKernel(), built.MicropriceKernel()),
        ("spread", python.SpreadKernel(False), built.SpreadKernel(False)),
        ("spread_bps", python.SpreadKernel(True), built.SpreadKernel(True)),
    ]
    for levels in (1, 2, 10, 1000):
        pairs.append(
            (f"imbalance{levels}", python.ImbalanceKernel(levels), built.ImbalanceKernel(levels))
        )
    return pairs


# Prices and sizes from small to the edge of int64 (products and sums beyond it take the
# compiled kernels' Python-integer path).
ints = st.one_of(
    st.integers(1, 10**7), st.integers(1, 2**62), st.integers(2**62, 2**63 - 1), st.just(1)
)
levels = st.lists(st.tuples(ints, ints), max_size=15)


@settings(max_examples=300, deadline=None)
@given(bids=levels, asks=levels, decimals=st.integers(0, 18))
def test_book_kernels_equal_their_reference_on_any_book(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], decimals: int
) -> None:
    python, built = pair("top_of_book_kernels")
    # The Python kernels read the Python Book, the compiled ones the compiled Book (in C).
    reference_book = accel.reference("pipelines.core.book").Book("s", "X", price_decimals=decimals)
    book = Book("s", "X", price_decimals=decimals)
    assert type(book) is not type(reference_book)
    reference_book.load(bids, asks)
    book.load(bids, asks)
    for name, reference, fast in book_pairs(python, built):
        want = outcome(reference.update_book, reference_book, 0)
        got = outcome(fast.update_book, book, 0)
        assert same(want, got) or want == got, (name, want, got)


def test_book_kernels_leave_int64_exactly() -> None:
    """A microprice's price * size passes int64 on real crypto books (60,000.00000000 * 100
    BTC): the compiled kernel computes it on Python integers, not wrapped."""
    python, built = pair("top_of_book_kernels")
    price, size = 60_000 * 10**8, 100 * 10**8
    reference_book = accel.reference("pipelines.core.book").Book("s", "X", price_decimals=8)
    book = Book("s", "X", price_decimals=8)
    for each in (reference_book, book):
        each.load([(price, size)], [(price + 1, 3 * size)])
    want = python.MicropriceKernel().update_book(reference_book, 0)
    assert same(built.MicropriceKernel().update_book(book, 0), want)
    assert want == pytest.approx(60_000.0000000075)
    huge = 2**62
    for each in (reference_book, book):
        each.load([(huge, huge), (huge - 1, huge)], [(huge + 1, huge)])
    for name, reference, fast in book_pairs(python, built):
        want, got = reference.update_book(reference_book, 0), fast.update_book(book, 0)
        assert same(want, got), (name, want, got)


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
    modules = {name: pair(name) for name in ("ema_kernel", "vwap_kernel", "top_of_book_kernels")}
    modules.update((make.module, pair(make.module)) for make in SERIES.values())  # type: ignore[attr-defined]
    python_ema, built_ema = modules["ema_kernel"]
    python_vwap, built_vwap = modules["vwap_kernel"]

    def series_pairs() -> list[tuple[Any, Any]]:
        pairs: list[tuple[Any, Any]] = [
            (python_ema.EmaKernel(2.0 / 21), built_ema.EmaKernel(2.0 / 21)),
            (python_ema.EmaTimeKernel(1e-9), built_ema.EmaTimeKernel(1e-9)),
        ]
        for window in ((20, 0), (100, 0), (sys.maxsize, 1_000_000_000)):
            for make in SERIES.values():
                python, built = modules[make.module]  # type: ignore[attr-defined]
                kernels = (make(python), make(built))
                for kernel in kernels:
                    kernel.set_window(*window)
                pairs.append(kernels)
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
                vwap_ref, vwap_fast = python_vwap.VwapKernel(), built_vwap.VwapKernel()
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
            # The Python kernels read the compiled Book through the same API.
            for name, reference, fast in book_pairs(*modules["top_of_book_kernels"]):
                assert same(reference.update_book(book, 0), fast.update_book(book, 0)), name
            mid = modules["top_of_book_kernels"][1].MidKernel().update_book(book, 0)
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
