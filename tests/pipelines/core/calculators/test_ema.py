"""The EMA calculator: incremental, equal to the closed form computed with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.core.calculators import Ema, EmaParams
from pipelines.registry import CALCULATORS, ParamsError


def closed_form_ema(values: np.ndarray, window: int) -> np.ndarray:
    """ema_n = (1-a)^n x_0 + sum_{i=1..n} a (1-a)^(n-i) x_i, seeded with the first value."""
    alpha = 2.0 / (window + 1)
    out = np.empty_like(values)
    for n in range(len(values)):
        weights = alpha * (1 - alpha) ** np.arange(n - 1, -1, -1)
        out[n] = (1 - alpha) ** n * values[0] + np.dot(weights, values[1 : n + 1])
    return out


@pytest.mark.parametrize("window", [1, 3, 10, 50])
def test_ema_matches_the_closed_form(window: int) -> None:
    values = np.random.default_rng(window).normal(100.0, 2.0, size=400).cumsum()
    ema = Ema(EmaParams(window=window))
    incremental = np.array([ema.update(float(v)) for v in values])
    np.testing.assert_allclose(incremental, closed_form_ema(values, window), rtol=1e-9)


def test_a_new_window_keeps_the_current_average() -> None:
    ema = Ema(EmaParams(window=10))
    for value in (1.0, 2.0, 3.0):
        ema.update(value)
    before = ema.value
    assert ema.reconfigure(EmaParams(window=20))
    assert ema.value == before
    assert ema.describe() == "ema(window=20)"
    assert ema.update(10.0) == pytest.approx(before + 2 / 21 * (10.0 - before))


def test_the_registry_validates_the_window() -> None:
    assert CALCULATORS.get("ema") is Ema
    with pytest.raises(ParamsError) as error:
        CALCULATORS.params("ema", {"window": 0})
    assert error.value.path == "window"
