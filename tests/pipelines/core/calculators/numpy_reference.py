"""Direct numpy computations the incremental calculators are checked against.

Each recomputes its statistic from scratch over the window ending at every index (two-pass,
centred: the textbook-stable way), so it shares no code and no running sums with the calculators.
"""

from __future__ import annotations

import numpy as np

NAN = float("nan")


def window_starts(ts: np.ndarray, window: int | None, seconds: float | None) -> np.ndarray:
    """For each i, the first index of the window ending at i: the last ``window`` entries and/or
    the entries with ``ts > ts[i] - seconds``."""
    n = len(ts)
    starts = np.zeros(n, dtype=np.int64)
    if window is not None:
        starts = np.maximum(starts, np.arange(n) - window + 1)
    if seconds is not None:
        horizon = ts - round(seconds * 1e9)
        starts = np.maximum(starts, np.searchsorted(ts, horizon, side="right"))
    return starts


def random_walk(
    n: int, seed: int, start: float = 100.0, step: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Prices and irregular timestamps (ns): exponential gaps of 1 ms mean, some equal."""
    rng = np.random.default_rng(seed)
    prices = start + np.cumsum(rng.normal(0.0, step, n))
    gaps = rng.exponential(1e6, n).astype(np.int64)
    gaps[rng.random(n) < 0.1] = 0  # several events in the same nanosecond
    ts = 1_700_000_000_000_000_000 + np.cumsum(gaps)
    return prices, ts


def sma(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.array([x[lo : i + 1].mean() for i, lo in enumerate(starts)])


def zscore(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    out = np.full(len(x), NAN)
    for i, lo in enumerate(starts):
        w = x[lo : i + 1]
        if len(w) >= 2:
            std = w.std(ddof=1)
            out[i] = 0.0 if std == 0 else (x[i] - w.mean()) / std
    return out


def vwap(p: np.ndarray, q: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.array(
        [np.average(p[lo : i + 1], weights=q[lo : i + 1]) for i, lo in enumerate(starts)]
    )


def ols(
    x: np.ndarray, y: np.ndarray, starts: np.ndarray, intercept_at: np.ndarray | None = None
) -> np.ndarray:
    """Rows of (slope, intercept, r2); NaN where x has no spread. ``intercept_at[i]`` is the x at
    which row i's intercept is the line's value (default 0)."""
    out = np.full((len(x), 3), NAN)
    for i, lo in enumerate(starts):
        xs, ys = x[lo : i + 1], y[lo : i + 1]
        if len(xs) < 2:
            continue
        dx, dy = xs - xs.mean(), ys - ys.mean()
        cxx, cxy, cyy = dx @ dx, dx @ dy, dy @ dy
        if cxx == 0:
            continue
        slope = cxy / cxx
        at = 0.0 if intercept_at is None else intercept_at[i]
        r2 = 1.0 if cyy == 0 else cxy * cxy / (cxx * cyy)
        out[i] = (slope, ys.mean() + slope * (at - xs.mean()), r2)
    return out


def ema_time(x: np.ndarray, ts: np.ndarray, half_life: float) -> np.ndarray:
    """Closed form: ema_n = e^{-k(t_n-t_0)} x_0 + sum_i (1 - e^{-k(t_i-t_(i-1))}) e^{-k(t_n-t_i)} x_i."""
    k = np.log(2.0) / half_life
    t = (ts - ts[0]) / 1e9
    weights_new = np.concatenate([[1.0], 1.0 - np.exp(-k * np.diff(t))])
    out = np.empty(len(x))
    for n in range(len(x)):
        decay = np.exp(-k * (t[n] - t[: n + 1]))
        decay[0] = np.exp(-k * (t[n] - t[0]))
        out[n] = weights_new[: n + 1] @ (decay * x[: n + 1])
    return out
