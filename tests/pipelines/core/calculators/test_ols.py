"""Rolling OLS (slope, intercept, r2) equals a two-pass numpy regression on the same points."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import NAN, ols, random_walk, window_starts

from pipelines.core.calculators import Ols, OlsParams
from pipelines.registry import CALCULATORS, ParamsError


def run_on_time(params: OlsParams, y: np.ndarray, ts: np.ndarray) -> np.ndarray:
    calc = Ols(params)
    rows = []
    for value, t in zip(y, ts, strict=True):
        slope = calc.update(float(value), int(t))
        rows.append((NAN, NAN, NAN) if slope is None else tuple(calc.results))
    return np.array(rows)


@pytest.mark.parametrize(
    ("window", "seconds"),
    [(2, None), (30, None), (10_000, None), (None, 0.02), (40, 0.05)],
    ids=["2 points", "30 points", "longer than the data", "20 ms", "40 points within 50 ms"],
)
def test_price_on_time_matches_numpy(window: int | None, seconds: float | None) -> None:
    y, ts = random_walk(2500, seed=11)
    got = run_on_time(OlsParams(window=window, seconds=seconds), y, ts)
    x = (ts - ts[0]) / 1e9
    want = ols(x, y, window_starts(ts, window, seconds), intercept_at=x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want[:, 0])
    np.testing.assert_allclose(got[ok, 0], want[ok, 0], rtol=1e-7, atol=1e-9)  # slope
    np.testing.assert_allclose(got[ok, 1], want[ok, 1], rtol=1e-10)  # the line, now
    np.testing.assert_allclose(got[ok, 2], want[ok, 2], rtol=1e-7, atol=1e-9)  # r2


def test_prices_near_1e9_with_tiny_moves() -> None:
    rng = np.random.default_rng(12)
    n = 20_000
    ts = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 1_000_000  # 1 ms apart
    y = 1e9 + 1e-3 * np.arange(n) + rng.choice([-2e-3, 0.0, 2e-3], n)  # 1 unit/s plus noise
    got = run_on_time(OlsParams(window=200), y, ts)
    x = (ts - ts[0]) / 1e9
    # Reference on y - 1e9 (exact for these floats): the slope and r2 do not move under a shift.
    want = ols(x, y - 1e9, window_starts(ts, 200, None), intercept_at=x)
    tail = slice(-3000, None)
    np.testing.assert_allclose(got[tail, 0], want[tail, 0], rtol=1e-5)
    np.testing.assert_allclose(got[tail, 1] - 1e9, want[tail, 1], atol=1e-6)
    np.testing.assert_allclose(got[tail, 2], want[tail, 2], rtol=1e-5)
    assert abs(got[-1, 0] - 1.0) < 0.1


def test_a_constant_price_is_a_flat_exact_line_and_constant_time_is_no_line() -> None:
    ts = np.arange(100, dtype=np.int64) * 1_000_000
    got = run_on_time(OlsParams(window=10), np.full(100, 42.5), ts)
    assert np.all(got[1:] == (0.0, 42.5, 1.0))
    same_instant = Ols(OlsParams(window=10))
    assert [same_instant.update(v, 5) for v in (1.0, 2.0, 3.0)] == [None, None, None]


def test_price_on_another_series_pairs_with_its_latest_value() -> None:
    rng = np.random.default_rng(13)
    x = 50 + np.cumsum(rng.normal(0, 0.1, 600))
    y = 3.0 + 2.0 * x + rng.normal(0, 0.05, 600)
    calc = Ols(OlsParams(window=50, input="mid", x="trade"))
    feeds = dict(calc.feeds())
    assert set(feeds) == {"mid", "trade"}
    assert feeds["mid"](1.0, 0) is None  # no x yet
    rows = []
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        feeds["trade"](float(xi), i)  # x arrives first, y is paired with it
        feeds["mid"](float(yi), i)
        rows.append(tuple(calc.results))
    want = ols(x, y, window_starts(np.arange(600), 50, None))
    np.testing.assert_allclose(np.array(rows)[5:], want[5:], rtol=1e-9)
    assert rows[-1][0] == pytest.approx(2.0, abs=0.2)


def test_params_need_a_window_and_two_different_series() -> None:
    for bad, path in (({}, ""), ({"window": 0}, "window"), ({"seconds": -1.0}, "seconds")):
        with pytest.raises(ParamsError) as error:
            CALCULATORS.params("ols", bad)
        assert error.value.path == path
    with pytest.raises(ParamsError, match="another series"):
        CALCULATORS.params("ols", {"window": 10, "x": "mid", "input": "mid"})
