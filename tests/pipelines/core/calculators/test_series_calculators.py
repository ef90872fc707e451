"""Series calculators (sma, zscore, realized_vol, ema_time) equal numpy on the same series.

Windows by count, by time (irregular timestamps, several events in one nanosecond) and both;
windows longer than the data; constant series; prices near 1e9 moving by 1e-3.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_reference import NAN, ema_time, random_walk, sma, window_starts, zscore

from pipelines.core.calculators import (
    EmaTime,
    EmaTimeParams,
    RealizedVol,
    RealizedVolParams,
    Sma,
    SmaParams,
    ZScore,
    ZScoreParams,
)

WINDOWS = [
    pytest.param(1, None, id="1 value"),
    pytest.param(20, None, id="20 values"),
    pytest.param(5000, None, id="longer than the data"),
    pytest.param(None, 0.01, id="10 ms"),
    pytest.param(None, 0.0005, id="0.5 ms (often 1 entry)"),
    pytest.param(50, 0.02, id="50 values within 20 ms"),
]


def run(calculator, values: np.ndarray, ts: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = [calculator.update(float(v), int(t)) for v, t in zip(values, ts, strict=True)]
    return np.array([NAN if v is None else v for v in out])


@pytest.mark.parametrize(("window", "seconds"), WINDOWS)
def test_sma_equals_the_mean_of_the_window(window: int | None, seconds: float | None) -> None:
    prices, ts = random_walk(3000, seed=1)
    got = run(Sma(SmaParams(window=window, seconds=seconds)), prices, ts)
    np.testing.assert_allclose(got, sma(prices, window_starts(ts, window, seconds)), rtol=1e-12)


@pytest.mark.parametrize(("window", "seconds"), WINDOWS)
def test_zscore_equals_numpy_with_sample_std(window: int | None, seconds: float | None) -> None:
    prices, ts = random_walk(3000, seed=2)
    got = run(ZScore(ZScoreParams(window=window, seconds=seconds)), prices, ts)
    want = zscore(prices, window_starts(ts, window, seconds))
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8)


def realized_vol(
    prices: np.ndarray, ts: np.ndarray, window: int | None, seconds: float | None, year: float
) -> tuple[np.ndarray, np.ndarray]:
    """(raw, annualized) per price; NaN for the first price (no return yet)."""
    returns = np.log(prices[1:] / prices[:-1])  # not diff(log(p)): that loses tiny returns
    return_ts = ts[1:]
    starts = window_starts(return_ts, window, seconds)
    raw, annual = np.full(len(prices), NAN), np.full(len(prices), NAN)
    for i, lo in enumerate(starts):
        raw[i + 1] = math.sqrt(returns[lo : i + 1] @ returns[lo : i + 1])
        elapsed = (return_ts[i] - ts[lo]) / 1e9  # from the price before the oldest return
        if elapsed > 0:
            annual[i + 1] = raw[i + 1] * math.sqrt(year / elapsed)
    return raw, annual


@pytest.mark.parametrize(("window", "seconds"), WINDOWS)
def test_realized_vol_is_the_root_sum_of_squared_log_returns(
    window: int | None, seconds: float | None
) -> None:
    prices, ts = random_walk(3000, seed=3)
    raw, annual = realized_vol(prices, ts, window, seconds, 365.25 * 86_400)
    got = run(RealizedVol(RealizedVolParams(window=window, seconds=seconds)), prices, ts)
    np.testing.assert_allclose(got, raw, rtol=1e-9)
    params = RealizedVolParams(window=window, seconds=seconds, annualize=True)
    np.testing.assert_allclose(run(RealizedVol(params), prices, ts), annual, rtol=1e-9)


@pytest.mark.parametrize("half_life", [0.0005, 0.01, 1.0])
def test_ema_time_equals_its_closed_form_on_irregular_timestamps(half_life: float) -> None:
    prices, ts = random_walk(800, seed=4)
    got = run(EmaTime(EmaTimeParams(half_life=half_life)), prices, ts)
    np.testing.assert_allclose(got, ema_time(prices, ts, half_life), rtol=1e-12)


def test_ema_time_weighs_by_time_not_by_count() -> None:
    ema = EmaTime(EmaTimeParams(half_life=1.0))
    ema.update(0.0, 0)
    assert ema.update(10.0, 1_000_000_000) == pytest.approx(5.0)  # one half-life: half-way
    assert ema.update(99.0, 1_000_000_000) == pytest.approx(5.0)  # same instant: no weight


def test_a_constant_series_has_zero_variance() -> None:
    values = np.full(500, 64_012.5)
    ts = np.arange(500, dtype=np.int64) * 1_000_000
    assert set(run(ZScore(ZScoreParams(window=50)), values, ts)[1:]) == {0.0}
    assert set(run(RealizedVol(RealizedVolParams(window=50)), values, ts)[1:]) == {0.0}
    assert set(run(Sma(SmaParams(window=50)), values, ts)) == {64_012.5}


def test_prices_near_1e9_with_tiny_moves_keep_their_digits() -> None:
    # Raw sums of squares of 1e9-sized values carry ~1e2 of rounding: the moves (1e-3) would be
    # lost. Shifted sums, recomputed every window, keep them over a long run.
    rng = np.random.default_rng(5)
    prices = 1e9 + np.cumsum(rng.choice([-1e-3, 0.0, 1e-3], 50_000))
    ts = np.arange(len(prices), dtype=np.int64) * 1_000
    starts = window_starts(ts, 100, None)
    got = run(ZScore(ZScoreParams(window=100)), prices, ts)
    # The reference subtracts 1e9 first (exact for these floats; z does not move under a shift):
    # numpy's own mean of 1e9-sized values is off by ~1e-7, a tenth of a thousandth of a move.
    want = zscore(prices - 1e9, starts)
    tail = slice(-2000, None)
    np.testing.assert_allclose(got[tail], want[tail], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        run(Sma(SmaParams(window=100)), prices, ts)[tail], sma(prices, starts)[tail], rtol=1e-15
    )


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=300
    ),
    window=st.integers(min_value=1, max_value=400),
)
def test_sma_and_zscore_on_any_series(values: list[float], window: int) -> None:
    x = np.array(values)
    ts = np.arange(len(x), dtype=np.int64)
    starts = window_starts(ts, window, None)
    got = run(Sma(SmaParams(window=window)), x, ts)
    np.testing.assert_allclose(got, sma(x, starts), rtol=1e-9, atol=1e-6)
    got = run(ZScore(ZScoreParams(window=window)), x, ts)
    want = zscore(x, starts)
    # Where the window's spread is within rounding of its magnitude, z is noise on either side.
    spread = np.array([np.ptp(x[lo : i + 1]) for i, lo in enumerate(starts)])
    scale = np.array([np.abs(x[lo : i + 1]).max() for i, lo in enumerate(starts)])
    meaningful = spread > 1e-6 * np.maximum(scale, 1.0)
    np.testing.assert_allclose(got[meaningful], want[meaningful], rtol=1e-6, atol=1e-6)
