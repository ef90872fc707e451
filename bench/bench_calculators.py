"""Per-update cost of every calculator (ns/update): compiled and pure-Python kernels side by side,
against peers from the same run.

Each calculator runs twice on the same series: with the kernel the plugin uses (compiled from its
own source when built, docs/decisions/0117) and with that source run as Python (the
``TICKERPLANT_PURE_PYTHON=1`` path). Both are timed through the bound method the pipeline calls
(what ``feeds()`` returns), on the same values, best of ``--rounds``.

Peers, per rolling calculator: a naive numpy recomputation over the window at every update (what
"just call numpy" costs on a hot path), and pandas' rolling (vectorized over the whole series at
once, so not usable per event; the floor a batch computation reaches) when pandas is installed.
The last row is the rule engine per book message: the bench_pipeline spec's three book rules
(``crossed_book``, ``max_spread`` 50 bps, ``price_band`` on the mid, all ``alert``) through
``SymbolRules.on_book`` and ``flush``, compiled engine and kernels against the Python ones.

Ratios are peer / compiled: above 1, the compiled kernel is faster. The first row times the same
loop calling a C function that does nothing (``operator.is_``): the floor every figure includes.

Times are the thread's CPU time (``--clock cpu``, the default: not inflated by the other
processes of a shared machine) or wall time (``--clock wall``); every row uses the same clock.

    .venv/bin/python -m bench.bench_calculators [--updates 100000] [--window 100] [--rounds 3]
"""

from __future__ import annotations

import os

# One BLAS thread: OpenBLAS threads spin on the second core after each numpy call (the naive peer's
# polyfit), which slowed every row timed after them by up to 2x on this 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib.util
import operator
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ingest.simulator import MarketSimulator
from pipelines import accel
from pipelines.core.book import Book
from pipelines.core.calculators import (
    Ema,
    EmaParams,
    EmaTime,
    EmaTimeParams,
    Imbalance,
    ImbalanceParams,
    Microprice,
    MicropriceParams,
    Mid,
    MidParams,
    Ols,
    OlsParams,
    RealizedVol,
    RealizedVolParams,
    Sma,
    SmaParams,
    Spread,
    SpreadParams,
    Vwap,
    VwapParams,
    ZScore,
    ZScoreParams,
)
from pipelines.core.calculators.window import window_limits
from pipelines.core.rules import RuleSet, bands, book_checks
from pipelines.events import BookDelta, Event
from pipelines.spec import RuleSpec

NAIVE_CAP = 20_000  # the naive peer is O(window) per update: time it on a prefix
BOOK_STATES = 512  # distinct book states the book calculators and rules are timed on
CLOCKS: dict[str, Callable[[], int]] = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}
clock = CLOCKS["cpu"]  # what every timed section reads (--clock)


def series(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    prices = 64_000 + np.cumsum(rng.normal(0, 0.5, count))
    sizes = rng.integers(1, 10_000, count) / 1e4
    ts = 1_700_000_000_000_000_000 + np.cumsum(rng.exponential(1e6, count).astype(np.int64))
    return prices, sizes, ts


def best_ns(count: int, make: Callable[[], Callable[[], object]], rounds: int) -> float:
    """Best ns per update over ``rounds`` runs, each on a fresh calculator (``make``)."""
    best = float("inf")
    for _ in range(rounds):
        run = make()
        started = clock()
        run()
        best = min(best, (clock() - started) / count)
    return best


def kernels(name: str) -> Any:
    """The Python source of the kernel module ``name`` (``accel.reference``: beside its build)."""
    return accel.reference(f"pipelines.core.calculators.{name}")


def pure_kernel(calc: Any) -> Any:
    """The pure-Python kernel of ``calc``'s kind, configured like ``calc``."""
    params = calc.params
    if isinstance(calc, Ema):
        return kernels("ema_kernel").EmaKernel(2.0 / (params.window + 1))
    if isinstance(calc, EmaTime):
        return kernels("ema_kernel").EmaTimeKernel(calc.kernel.rate)
    if isinstance(calc, (Mid, Microprice, Spread, Imbalance)):
        book = kernels("top_of_book_kernels")
        return {
            Mid: lambda: book.MidKernel(),
            Microprice: lambda: book.MicropriceKernel(),
            Spread: lambda: book.SpreadKernel(params.unit == "bps"),
            Imbalance: lambda: book.ImbalanceKernel(params.levels),
        }[type(calc)]()
    kernel: Any
    if isinstance(calc, Ols):
        kernel = kernels("ols_kernel").OlsKernel([0.0, 0.0, 0.0], params.x == "time")
    elif isinstance(calc, RealizedVol):
        kernel = kernels("volatility_kernel").RealizedVolKernel()
        kernel.configure(params.annualize, params.year_seconds)
    else:
        module = {Sma: "sma_kernel", ZScore: "zscore_kernel", Vwap: "vwap_kernel"}[type(calc)]
        kernel = getattr(kernels(module), f"{type(calc).__name__}Kernel")()
    kernel.set_window(*window_limits(params))
    return kernel


def compiled(calc: Any) -> bool:
    return accel.compiled(sys.modules[type(calc.kernel).__module__])


def series_run(
    update: Callable[..., object], prices: list[float], ts: list[int]
) -> Callable[[], None]:
    def run() -> None:
        for p, t in zip(prices, ts, strict=True):
            update(p, t)

    return run


def naive(
    kind: str, x: np.ndarray, q: np.ndarray, ts: np.ndarray, window: int
) -> Callable[[], object]:
    def run() -> None:
        for i in range(1, len(x) + 1):
            lo = max(0, i - window)
            w = x[lo:i]
            if kind == "sma":
                w.mean()
            elif kind == "zscore":
                if len(w) > 1:
                    (w[-1] - w.mean()) / w.std(ddof=1)
            elif kind == "vwap":
                np.average(w, weights=q[lo:i])
            elif kind == "realized_vol":
                r = np.log(w[1:] / w[:-1])
                np.sqrt(r @ r)
            elif kind == "ols" and len(w) > 1:
                t = (ts[lo:i] - ts[i - 1]) / 1e9
                np.polyfit(t, w, 1)

    return run


def pandas_peer(
    kind: str, x: np.ndarray, q: np.ndarray, window: int
) -> Callable[[], object] | None:
    if importlib.util.find_spec("pandas") is None:
        return None
    import pandas as pd  # type: ignore[import-untyped]

    s, w = pd.Series(x), pd.Series(q)
    peers: dict[str, Callable[[], object]] = {
        "ema": lambda: s.ewm(span=window, adjust=False).mean(),
        "sma": lambda: s.rolling(window, min_periods=1).mean(),
        "zscore": lambda: (s - s.rolling(window).mean()) / s.rolling(window).std(),
        "vwap": lambda: (
            (s * w).rolling(window, min_periods=1).sum() / w.rolling(window, min_periods=1).sum()
        ),
        "realized_vol": lambda: np.sqrt((np.log(s).diff() ** 2).rolling(window).sum()),
        "ols": lambda: s.rolling(window).cov(pd.Series(np.arange(len(x), dtype=float))),
    }
    return peers.get(kind)


def books(count: int) -> list[Book]:
    """Book states after each venue message of the simulator (their top 20 levels a side,
    copied through the Book's public API; read-only in the bench)."""
    simulator = MarketSimulator(["BTC-USD"], seed=1)
    book = Book(price_decimals=2)
    out: list[Book] = []
    while len(out) < count:
        for event in simulator.take(4096):
            if isinstance(event, BookDelta):
                book.apply(event)
                if event.batch_end and book.best_bid() and book.best_ask():
                    snapshot = Book(price_decimals=2)
                    snapshot.load(*book.top(20))
                    out.append(snapshot)
    return out[:count]


RULE_SPECS: dict[str, RuleSpec] = {  # bench_pipeline's book rules
    "crossed": RuleSpec(kind="crossed_book", action="alert"),
    "wide": RuleSpec(kind="max_spread", action="alert", params={"max_bps": 50.0}),
    "band": RuleSpec(kind="price_band", action="alert", params={"input": "mid", "k": 6.0}),
}


def bound_rules(reference: bool) -> Any:
    """The spec's rules on one symbol: the running engine and kernels, or (``reference``) their
    Python code (``accel.reference``: engine.py, book_kernels.py, band_kernels.py)."""
    saved = (book_checks.CrossedBookKernel, book_checks.MaxSpreadKernel, bands.PriceBandKernel)
    if reference:
        checks = accel.reference("pipelines.core.rules.book_kernels")
        band_kernels = accel.reference("pipelines.core.rules.band_kernels")
        book_checks.CrossedBookKernel = checks.CrossedBookKernel
        book_checks.MaxSpreadKernel = checks.MaxSpreadKernel
        bands.PriceBandKernel = band_kernels.PriceBandKernel
    try:
        ruleset = RuleSet(reference=reference)
        ruleset.entries = RuleSet.plan(RULE_SPECS)
        return ruleset.bind("sim", "BTC-USD")
    finally:
        book_checks.CrossedBookKernel, book_checks.MaxSpreadKernel, bands.PriceBandKernel = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    n, window, rounds = args.updates, args.window, args.rounds
    x, q, ts = series(n)
    xs, qs, tss = x.tolist(), q.tolist(), ts.tolist()
    m = min(n, NAIVE_CAP)
    print(
        f"{n:,} updates, window {window}, best of {rounds} rounds, {args.clock} time; "
        f"naive numpy timed on the first {m:,}"
    )
    header = f"{'calculator':<26}{'compiled':>10}{'pure':>9}{'pure/c':>8}"
    print(header + f"{'naive numpy':>13}{'ratio':>8}{'pandas':>9}{'ratio':>8}   (ns/update)")

    def row(
        label: str,
        make: Callable[[], Any],
        timed: Callable[[Callable[..., object]], Callable[[], None]],
        count: int,
        kind: str | None,
    ) -> None:
        calc = make()
        ours = best_ns(count, lambda: timed(make().feeds()[0][1]), rounds)
        pure = best_ns(count, lambda: timed(feed_of(pure_kernel(calc))), rounds)
        if compiled(calc):
            line = f"{label:<26}{ours:>10,.0f}{pure:>9,.0f}{pure / ours:>8.1f}"
        else:
            line = f"{label:<26}{'(not built)':>10}{pure:>9,.0f}{'-':>8}"
        if kind is not None and kind != "ema":
            peer = best_ns(m, lambda: naive(kind, x[:m], q[:m], ts[:m], window), 1)
            line += f"{peer:>13,.0f}{peer / ours:>8.1f}"
        else:
            line += f"{'-':>13}{'-':>8}"
        panda = pandas_peer(kind, x, q, window) if kind else None
        if panda is not None:
            cost = best_ns(n, lambda: panda, rounds)
            line += f"{cost:>9,.0f}{cost / ours:>8.2f}"
        print(line, flush=True)

    def feed_of(kernel: Any) -> Callable[..., object]:
        for name in ("update_trade", "update_book", "update"):
            if hasattr(kernel, name):
                method: Callable[..., object] = getattr(kernel, name)
                return method
        raise TypeError(kernel)

    def on_series(update: Callable[..., object]) -> Callable[[], None]:
        return series_run(update, xs, tss)

    floor = best_ns(n, lambda: on_series(operator.is_), rounds)
    print(f"{'(loop + a C no-op: floor)':<26}{floor:>10,.0f}{floor:>9,.0f}", flush=True)

    row(f"ema(window={window})", lambda: Ema(EmaParams(window=window)), on_series, n, "ema")
    row("ema_time(half_life=1s)", lambda: EmaTime(EmaTimeParams()), on_series, n, None)
    for label, make, kind in (
        (f"sma(window={window})", lambda: Sma(SmaParams(window=window)), "sma"),
        (f"zscore(window={window})", lambda: ZScore(ZScoreParams(window=window)), "zscore"),
        (
            f"realized_vol(window={window})",
            lambda: RealizedVol(RealizedVolParams(window=window)),
            "realized_vol",
        ),
        (f"ols(window={window})", lambda: Ols(OlsParams(window=window)), "ols"),
        ("sma(seconds=0.1)", lambda: Sma(SmaParams(seconds=0.1)), None),
        ("ols(seconds=0.1)", lambda: Ols(OlsParams(seconds=0.1)), None),
    ):
        row(label, make, on_series, n, kind)

    def on_trades(update: Callable[..., object]) -> Callable[[], None]:
        def run() -> None:
            for p, s, t in zip(xs, qs, tss, strict=True):
                update(p, s, t)

        return run

    row(f"vwap(window={window})", lambda: Vwap(VwapParams(window=window)), on_trades, n, "vwap")

    # 512 distinct book states, cycled: hot in cache as in the pipeline, where the book was just
    # updated (50,000 distinct books made every row a cache-miss measurement, ~200 ns, whatever
    # the code).
    states = books(BOOK_STATES) * max(1, min(n, 50_000) // BOOK_STATES)

    def on_books(update: Callable[..., object]) -> Callable[[], None]:
        def run() -> None:
            for book in states:
                update(book, 0)

        return run

    for label, make in (
        ("mid", lambda: Mid(MidParams())),
        ("microprice", lambda: Microprice(MicropriceParams())),
        ("spread(unit=bps)", lambda: Spread(SpreadParams(unit="bps"))),
        ("imbalance(levels=1)", lambda: Imbalance(ImbalanceParams())),
        ("imbalance(levels=10)", lambda: Imbalance(ImbalanceParams(levels=10))),
    ):
        row(label, make, on_books, len(states), None)

    def run_rules(reference: bool) -> Callable[[], None]:
        rules = bound_rules(reference)
        on_book, flush = rules.on_book, rules.flush
        out: list[Event] = []

        def run() -> None:
            for seq, book in enumerate(states):
                on_book(book, seq, seq)
                flush(out.append)

        return run

    ours = best_ns(len(states), lambda: run_rules(False), rounds)
    pure = best_ns(len(states), lambda: run_rules(True), rounds)
    print(f"{'rules: 3 per book message':<26}{ours:>10,.0f}{pure:>9,.0f}{pure / ours:>8.1f}")


if __name__ == "__main__":
    main()
