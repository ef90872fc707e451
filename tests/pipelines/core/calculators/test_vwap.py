"""Rolling VWAP equals numpy's size-weighted average of the same trades."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import random_walk, vwap, window_starts

from pipelines.core.calculators import Vwap, VwapParams


@pytest.mark.parametrize(
    ("window", "seconds"),
    [(1, None), (100, None), (10_000, None), (None, 0.01), (20, 0.005)],
    ids=["1 trade", "100 trades", "longer than the data", "10 ms", "20 trades within 5 ms"],
)
def test_vwap_matches_numpy(window: int | None, seconds: float | None) -> None:
    prices, ts = random_walk(3000, seed=21, start=64_000.0, step=2.0)
    sizes = np.random.default_rng(22).integers(1, 5_000, 3000) / 1e4
    calc = Vwap(VwapParams(window=window, seconds=seconds))
    assert dict(calc.feeds()).keys() == {"trade_size"}
    got = [
        calc.update_trade(float(p), float(q), int(t))
        for p, q, t in zip(prices, sizes, ts, strict=True)
    ]
    want = vwap(prices, sizes, window_starts(ts, window, seconds))
    np.testing.assert_allclose(np.array(got), want, rtol=1e-12)


def test_vwap_near_1e9_and_zero_sizes() -> None:
    calc = Vwap(VwapParams(window=3))
    assert calc.update_trade(1e9 + 0.001, 0.0, 1) is None  # no volume yet
    assert calc.update_trade(1e9 + 0.002, 1.0, 2) == pytest.approx(1e9 + 0.002, abs=1e-7)
    value = calc.update_trade(1e9 + 0.005, 3.0, 3)
    assert value is not None and value - 1e9 == pytest.approx(0.00425, abs=1e-7)
