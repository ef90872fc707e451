"""New params in place: what each calculator keeps, and when it must be rebuilt."""

from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import random_walk

from pipelines.core.calculators import (
    EmaTime,
    EmaTimeParams,
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

PRICES, TS = random_walk(400, seed=41)


def feed(calc, start: int, stop: int) -> float | None:  # type: ignore[no-untyped-def]
    value = None
    for i in range(start, stop):
        value = calc.update(float(PRICES[i]), int(TS[i]))
    return value


def test_a_shorter_sma_window_is_exact_at_once_a_longer_one_after_it_fills() -> None:
    sma = Sma(SmaParams(window=50))
    feed(sma, 0, 200)
    assert sma.reconfigure(SmaParams(window=20))  # keeps the last 20 of its 50 values
    assert len(sma) == 20
    assert sma.update(float(PRICES[200]), int(TS[200])) == pytest.approx(PRICES[181:201].mean())
    assert sma.reconfigure(SmaParams(window=100))  # keeps its 20, fills up to 100
    assert feed(sma, 201, 281) == pytest.approx(PRICES[181:281].mean())  # 20 + 80 values
    assert feed(sma, 281, 300) == pytest.approx(PRICES[200:300].mean(), rel=1e-14)


def test_a_count_window_can_become_a_time_window() -> None:
    zscore = ZScore(ZScoreParams(window=300))
    feed(zscore, 0, 300)
    assert zscore.reconfigure(ZScoreParams(seconds=0.01))
    keep = TS[:300] > TS[299] - 10_000_000
    assert len(zscore) == keep.sum()
    value = feed(zscore, 300, 301)
    window = PRICES[:301][TS[:301] > TS[300] - 10_000_000]
    assert value == pytest.approx((PRICES[300] - window.mean()) / window.std(ddof=1))


def test_another_input_series_needs_a_fresh_instance() -> None:
    assert not Sma(SmaParams(window=5)).reconfigure(SmaParams(window=5, input="trade"))
    assert not ZScore(ZScoreParams(window=5)).reconfigure(ZScoreParams(window=5, input="trade"))
    assert not RealizedVol(RealizedVolParams(window=5)).reconfigure(
        RealizedVolParams(window=5, input="trade")
    )
    ols = Ols(OlsParams(window=5))
    assert not ols.reconfigure(OlsParams(window=5, x="trade"))
    assert ols.reconfigure(OlsParams(seconds=2.0))


def test_ema_time_keeps_its_value_under_a_new_half_life() -> None:
    ema = EmaTime(EmaTimeParams(half_life=1.0))
    ema.update(0.0, 0)
    before = ema.update(10.0, 1_000_000_000)
    assert ema.reconfigure(EmaTimeParams(half_life=2.0))
    assert ema.value == before
    assert ema.update(before + 4.0, 3_000_000_000) == pytest.approx(before + 2.0)


def test_realized_vol_keeps_its_returns_when_it_starts_annualizing() -> None:
    vol = RealizedVol(RealizedVolParams(window=100))
    raw = feed(vol, 0, 100)
    assert raw is not None and vol.reconfigure(RealizedVolParams(window=100, annualize=True))
    returns = np.log(PRICES[1:101] / PRICES[:100])
    years = (TS[100] - TS[0]) / 1e9 / (365.25 * 86_400)
    assert feed(vol, 100, 101) == pytest.approx(np.sqrt(returns @ returns / years))


def test_vwap_and_book_calculators_always_reconfigure() -> None:
    vwap = Vwap(VwapParams(window=3))
    for i, price in enumerate((10.0, 11.0, 12.0, 13.0)):
        vwap.update_trade(price, 1.0, i)
    assert vwap.reconfigure(VwapParams(window=2))
    assert vwap.update_trade(14.0, 1.0, 5) == pytest.approx(13.5)
    spread = Spread(SpreadParams())
    assert spread.reconfigure(SpreadParams(unit="bps"))
    assert spread.describe() == "spread(unit=bps)"
