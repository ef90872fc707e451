"""A plugin only ever gets its own params: where plugins of many kinds are held together, the
holder checks, and a kind change under the same name rebuilds rather than reconfigures.

The plugin classes are typed for their own ``Params`` (generic base classes) and do not check
them at run time; two window calculators share field names, so a foreign struct would not even
fail, it would run as the wrong thing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from ingest.simulator import MarketSimulator
from ingest.sources.tcp import TcpParams
from pipelines.core.calculators import EmaTime, EmaTimeParams, Sma, ZScoreParams
from pipelines.core.rules import RuleSet
from pipelines.core.rules.book_checks import MaxSpread, MaxSpreadParams
from pipelines.core.rules.ruleset import RuleEntry
from pipelines.registry import CALCULATORS, ParamsError
from pipelines.runtime import Worker
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import CalculatorEntry, Pipeline
from pipelines.spec import CalculatorSpec, RuleSpec, SourceSpec


def entry(name: str, spec: CalculatorSpec) -> CalculatorEntry:
    return CalculatorEntry(name, spec, CALCULATORS.params(spec.kind, spec.params))


def test_a_calculator_entry_refuses_another_kinds_params() -> None:
    with pytest.raises(ParamsError, match="sma: params are ZScoreParams, not SmaParams"):
        CalculatorEntry("avg", CalculatorSpec(kind="sma"), ZScoreParams(window=5))


def test_a_rule_entry_refuses_another_kinds_params() -> None:
    with pytest.raises(ParamsError, match="crossed_book: params are MaxSpreadParams"):
        RuleEntry("r", RuleSpec(kind="crossed_book"), MaxSpreadParams(max_bps=5.0))


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    running = Worker(shm_prefix=f"tp-test-params-{uuid.uuid4().hex[:10]}")
    yield running
    await running.stop()


async def test_a_source_is_not_built_with_another_kinds_params(worker: Worker) -> None:
    spec = SourceSpec(kind="websocket", endpoint="ws://127.0.0.1:9/")
    with pytest.raises(ParamsError, match="websocket: params are TcpParams, not WebSocketParams"):
        worker.build_source("ws", spec, TcpParams(address="127.0.0.1:9"))
    assert worker.sources == {}


def test_a_calculator_whose_kind_changes_is_rebuilt_with_its_new_params() -> None:
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: True)
    pipeline.set_calculators(
        {"avg": entry("avg", CalculatorSpec(kind="sma", params={"window": 5}))}
    )
    simulator = MarketSimulator(["BTC-USD"], seed=3)
    pipeline.process(simulator.take(200))
    state = pipeline.states["sim"]["BTC-USD"]
    assert state is not None and isinstance(state.calculators["avg"], Sma)
    half_life = CalculatorSpec(kind="ema_time", params={"half_life": 0.5})
    pipeline.set_calculators({"avg": entry("avg", half_life)})
    calculator = state.calculators["avg"]
    assert isinstance(calculator, EmaTime) and calculator.params == EmaTimeParams(half_life=0.5)
    pipeline.process(simulator.take(200))
    assert state.values["avg"] is not None


def test_a_rule_whose_kind_changes_is_rebuilt_with_its_new_params() -> None:
    rules = RuleSet()
    rules.entries = RuleSet.plan({"r": RuleSpec(kind="crossed_book")})
    bound = rules.bind("s", "X")
    limit = RuleSpec(kind="max_spread", params={"max_bps": 5.0})
    rules.update(RuleSet.plan({"r": limit}), [bound])
    rule = bound.bound["r"].rule
    assert isinstance(rule, MaxSpread) and rule.params == MaxSpreadParams(max_bps=5.0)
