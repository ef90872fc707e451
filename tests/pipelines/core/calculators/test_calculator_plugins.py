"""Every registered calculator has the common shape (parametrized over the registry)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pipelines.core.book import Book
from pipelines.core.calculators import Calculator
from pipelines.registry import CALCULATORS, ParamsError

BUILT_IN = {
    "ema", "ema_time", "sma", "vwap", "mid", "microprice", "spread", "imbalance",
    "realized_vol", "ols", "zscore",
}  # fmt: skip
# The least each kind needs; the others have defaults.
MINIMAL: dict[str, dict[str, Any]] = {
    "sma": {"window": 5},
    "vwap": {"window": 5},
    "realized_vol": {"window": 5},
    "ols": {"window": 5},
    "zscore": {"window": 5},
}


def test_every_built_in_is_registered() -> None:
    assert set(CALCULATORS) >= BUILT_IN


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_the_common_shape(kind: str) -> None:
    plugin = CALCULATORS.get(kind)
    assert issubclass(plugin, Calculator) and plugin.kind == kind
    params = CALCULATORS.params(kind, MINIMAL.get(kind, {}))
    assert msgspec.json.schema(plugin.Params)  # forms and the API are built from it
    with pytest.raises(ParamsError):
        CALCULATORS.params(kind, {**MINIMAL.get(kind, {}), "no_such_param": 1})
    calc = plugin(params)
    assert calc.describe().startswith(f"{kind}(")
    book = Book(price_decimals=2)
    book.bids.set(10_000, 3)
    book.asks.set(10_002, 1)
    args = {
        "mid": (100.01, 1),
        "trade": (100.0, 1),
        "trade_size": (100.0, 2.0, 1),
        "book": (book, 1),
    }
    for feed, method in calc.feeds():
        for step in range(3):
            value = method(*args[feed][:-1], args[feed][-1] + step * 1_000_000)
            assert value is None or isinstance(value, float)
    assert len(calc.results) == len(calc.outputs)
    assert isinstance(calc.reconfigure(params), bool)


@pytest.mark.parametrize(
    ("kind", "params", "path"),
    [
        ("ema", {"window": 0}, "window"),
        ("ema_time", {"half_life": 0}, "half_life"),
        ("sma", {"window": -3}, "window"),
        ("vwap", {"seconds": 0}, "seconds"),
        ("imbalance", {"levels": 0}, "levels"),
        ("spread", {"unit": "pct"}, "unit"),
        ("realized_vol", {"window": 5, "year_seconds": 0}, "year_seconds"),
    ],
)
def test_constraints(kind: str, params: dict[str, Any], path: str) -> None:
    with pytest.raises(ParamsError) as error:
        CALCULATORS.params(kind, params)
    assert error.value.path == path
