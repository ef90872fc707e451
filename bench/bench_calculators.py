"""Per-update cost of every calculator (ns/update) against peers from the same run.

Peers, per rolling calculator: a naive numpy recomputation over the window at every update (what
"just call numpy" costs on a hot path), and pandas' rolling (vectorized over the whole series at
once, so not usable per event; the floor a batch computation reaches) when pandas is installed.
Ratios are peer / ours: above 1, ours is faster.

    .venv/bin/python -m bench.bench_calculators [--updates 100000] [--window 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable

import numpy as np

from ingest.simulator import MarketSimulator
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
from pipelines.events import BookDelta

NAIVE_CAP = 20_000  # the naive peer is O(window) per update: time it on a prefix


def series(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    prices = 64_000 + np.cumsum(rng.normal(0, 0.5, count))
    sizes = rng.integers(1, 10_000, count) / 1e4
    ts = 1_700_000_000_000_000_000 + np.cumsum(rng.exponential(1e6, count).astype(np.int64))
    return prices, sizes, ts


def ns_per(count: int, run: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    run()
    return (time.perf_counter_ns() - started) / count


def ours_series(calc, prices: list[float], ts: list[int]) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    update = calc.update

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
            elif kind == "ols":
                if len(w) > 1:
                    t = (ts[lo:i] - ts[i - 1]) / 1e9
                    np.polyfit(t, w, 1)
            elif kind == "ema":
                pass

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
    """Book states after each venue message of the simulator (copied; read-only in the bench)."""
    simulator = MarketSimulator(["BTC-USD"], seed=1)
    book = Book(price_decimals=2)
    out: list[Book] = []
    while len(out) < count:
        for event in simulator.take(4096):
            if isinstance(event, BookDelta):
                book.apply(event)
                if event.batch_end and book.bids.keys and book.asks.keys:
                    snapshot = Book(price_decimals=2)
                    for price, size in book.bids.top(20):
                        snapshot.bids.set(price, size)
                    for price, size in book.asks.top(20):
                        snapshot.asks.set(price, size)
                    out.append(snapshot)
    return out[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()
    n, window = args.updates, args.window
    x, q, ts = series(n)
    xs, qs, tss = x.tolist(), q.tolist(), ts.tolist()
    m = min(n, NAIVE_CAP)
    print(f"{n:,} updates, window {window}; naive numpy timed on the first {m:,}")
    header = f"{'calculator':<26}{'ours ns/upd':>12}{'naive numpy':>13}{'ratio':>8}"
    print(header + f"{'pandas':>9}{'ratio':>8}")

    def row(label: str, ours: float, kind: str | None) -> None:
        line = f"{label:<26}{ours:>12,.0f}"
        if kind is not None and kind != "ema":
            peer = ns_per(m, naive(kind, x[:m], q[:m], ts[:m], window))
            line += f"{peer:>13,.0f}{peer / ours:>8.1f}"
        else:
            line += f"{'-':>13}{'-':>8}"
        panda = pandas_peer(kind, x, q, window) if kind else None
        if panda is not None:
            cost = ns_per(n, panda)
            line += f"{cost:>9,.0f}{cost / ours:>8.2f}"
        print(line)

    row(
        f"ema(window={window})",
        ns_per(n, ours_series(Ema(EmaParams(window=window)), xs, tss)),
        "ema",
    )
    row("ema_time(half_life=1s)", ns_per(n, ours_series(EmaTime(EmaTimeParams()), xs, tss)), None)
    for label, calc, kind in (
        (f"sma(window={window})", Sma(SmaParams(window=window)), "sma"),
        (f"zscore(window={window})", ZScore(ZScoreParams(window=window)), "zscore"),
        (
            f"realized_vol(window={window})",
            RealizedVol(RealizedVolParams(window=window)),
            "realized_vol",
        ),
        (f"ols(window={window})", Ols(OlsParams(window=window)), "ols"),
        ("sma(seconds=0.1)", Sma(SmaParams(seconds=0.1)), None),
        ("ols(seconds=0.1)", Ols(OlsParams(seconds=0.1)), None),
    ):
        row(label, ns_per(n, ours_series(calc, xs, tss)), kind)

    vwap = Vwap(VwapParams(window=window)).update_trade

    def run_vwap() -> None:
        for p, s, t in zip(xs, qs, tss, strict=True):
            vwap(p, s, t)

    row(f"vwap(window={window})", ns_per(n, run_vwap), "vwap")

    states = books(min(n, 50_000))
    for label, calc in (
        ("mid", Mid(MidParams())),
        ("microprice", Microprice(MicropriceParams())),
        ("spread(unit=bps)", Spread(SpreadParams(unit="bps"))),
        ("imbalance(levels=1)", Imbalance(ImbalanceParams())),
        ("imbalance(levels=10)", Imbalance(ImbalanceParams(levels=10))),
    ):
        update = calc.update_book

        def run_books(update=update) -> None:  # type: ignore[no-untyped-def]
            for book in states:
                update(book, 0)

        row(label, ns_per(len(states), run_books), None)


if __name__ == "__main__":
    main()
