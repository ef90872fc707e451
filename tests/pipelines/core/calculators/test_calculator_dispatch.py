"""The pipeline feeds each calculator what it declares: trades with size, the book, two series."""

from __future__ import annotations

from typing import ClassVar

import msgspec
import numpy as np
import pytest

from ingest.simulator import MarketSimulator
from pipelines.delivery.base import Routed, Sink, SinkContext
from pipelines.events import Event, Metric, Trade
from pipelines.registry import CALCULATORS
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import CalculatorEntry, Pipeline
from pipelines.spec import CalculatorSpec, SinkSpec


class Capture(Sink):
    kind: ClassVar[str] = "capture"
    Params: ClassVar[type[msgspec.Struct]] = msgspec.Struct

    def __init__(self) -> None:
        super().__init__("capture", SinkSpec(kind="capture"), msgspec.Struct(), SinkContext())
        self.events: list[Event] = []

    def publish(self, routed: Routed) -> None:
        self.events.extend(event for _, event in routed)

    def close(self) -> None:
        pass


def entries(specs: dict[str, CalculatorSpec]) -> dict[str, CalculatorEntry]:
    return {
        name: CalculatorEntry(name, spec, CALCULATORS.params(spec.kind, spec.params))
        for name, spec in specs.items()
    }


def test_vwap_book_and_two_series_calculators_in_the_pipeline() -> None:
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: True)
    sink = Capture()
    pipeline.sinks = {"capture": sink}
    pipeline.set_calculators(
        entries({
            "vwap": CalculatorSpec(kind="vwap", params={"window": 20}),
            "micro": CalculatorSpec(kind="microprice"),
            "beta": CalculatorSpec(kind="ols", params={"window": 50, "x": "trade"}),
        })
    )  # fmt: skip
    simulator = MarketSimulator(["BTC-USD"], seed=5)
    for _ in range(10):
        pipeline.process(simulator.take(2000))
    trades = [e for e in sink.events if isinstance(e, Trade)]
    metrics = [e for e in sink.events if isinstance(e, Metric)]
    names = {m.name for m in metrics}
    assert {"mid", "vwap", "micro", "beta_slope", "beta_intercept", "beta_r2"} <= names
    vwaps = [m for m in metrics if m.name == "vwap"]
    assert len(vwaps) == len(trades) > 50
    prices = np.array([t.price / 10**t.price_decimals for t in trades])
    sizes = np.array([t.size / 10**t.size_decimals for t in trades])
    for i in (0, 19, len(trades) - 1):
        lo = max(0, i - 19)
        assert vwaps[i].seq == trades[i].seq
        want = np.average(prices[lo : i + 1], weights=sizes[lo : i + 1])
        assert vwaps[i].value == pytest.approx(want, rel=1e-12)
    state = pipeline.states["sim"]["BTC-USD"]
    assert state is not None
    assert [entry.name for entry in state.on_trade] == ["beta"]  # x: held, no output
    assert [entry.name for entry in state.on_mid] == ["beta"]
    assert [entry.name for entry in state.on_book] == ["micro"]
    assert state.values["beta_slope"] == next(
        m.value for m in reversed(metrics) if m.name == "beta_slope"
    )
