"""Rules in the pipeline: actions on published events, metrics, live reload between batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import generate_latest

from pipelines.core.rules import RuleSet
from pipelines.events import Alert, BookDelta, BookSnapshot, Event, Status, Trade
from pipelines.runtime import Worker
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import Pipeline
from pipelines.spec import PipelineSpec, RuleSpec


class Collect:
    kind = "collect"

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, routed: list[tuple[str, Event]]) -> None:
        self.events.extend(event for _topic, event in routed)


def quote(seq: int, bid: int, ask: int) -> list[Event]:
    return [
        BookDelta(stream="v", symbol="X", seq=seq, side="bid", price=bid, size=1,
                  action="change", batch_end=False),
        BookDelta(stream="v", symbol="X", seq=seq, side="ask", price=ask, size=1, action="change"),
    ]  # fmt: skip


def test_halt_withholds_the_book_until_the_spread_recovers_and_metrics_count_it() -> None:
    metrics = WorkerMetrics()
    running = Pipeline(metrics, lambda stream, symbol: True)
    sink = Collect()
    running.sinks = {"c": sink}  # type: ignore[dict-item]
    running.set_rules(
        RuleSet.plan(
            {"wide": RuleSpec(kind="max_spread", action="halt", params={"max_spread": "5"})}
        )
    )
    running.process(quote(1, 100, 103))
    running.process([BookDelta(stream="v", symbol="X", seq=2, side="ask", price=103, size=0,
                               action="delete", batch_end=False),
                     BookDelta(stream="v", symbol="X", seq=2, side="ask", price=110, size=1,
                               action="new")])  # fmt: skip
    running.process([BookDelta(stream="v", symbol="X", seq=3, side="ask", price=104, size=1,
                               action="new")])  # fmt: skip
    kinds = [(type(e).__name__, getattr(e, "state", "")) for e in sink.events
             if isinstance(e, BookSnapshot | Status)]  # fmt: skip
    assert kinds == [
        ("Status", "LIVE"),
        ("BookSnapshot", "LIVE"),
        ("Status", "HALTED"),  # spread 10 > 5: the book of seq 2 is withheld
        ("BookSnapshot", "LIVE"),  # spread 4 at seq 3: published again,
        ("Status", "RESUMED"),  # followed by what the rule says
    ]
    text = generate_latest(metrics.registry).decode()
    assert 'tickerplant_rule_evaluations_total{kind="max_spread",rule="wide"} 3.0' in text
    assert 'tickerplant_rule_hits_total{action="halt",kind="max_spread",rule="wide"} 1.0' in text


def test_trade_rules_tag_and_drop() -> None:
    running = Pipeline(WorkerMetrics(), lambda stream, symbol: True)
    sink = Collect()
    running.sinks = {"c": sink}  # type: ignore[dict-item]
    running.set_rules(
        RuleSet.plan(
            {
                "jump": RuleSpec(kind="spike", action="tag", params={"threshold": 5.0}),
                "band": RuleSpec(kind="price_band", action="drop",
                                 params={"band": "percent", "percent": 20.0, "warmup": 1}),
            }
        )
    )  # fmt: skip
    prices = [100, 100, 110, 200, 100]
    running.process(
        [Trade(stream="v", symbol="X", seq=i, price=p, size=1) for i, p in enumerate(prices, 1)]
    )
    seen = [(type(e).__name__, e.seq) for e in sink.events]
    # seq 3: +10 % -> tagged; seq 4: +82 % -> tagged and outside the 20 % band -> dropped (its tag
    # stays: it says why); seq 5: -50 % -> tagged
    assert seen == [("Trade", 1), ("Trade", 2), ("Trade", 3), ("Alert", 3), ("Alert", 4),
                    ("Trade", 5), ("Alert", 5)]  # fmt: skip
    assert all(e.severity == "info" for e in sink.events if isinstance(e, Alert))


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    running = Worker(shm_prefix=f"tp-test-rules-{uuid.uuid4().hex[:10]}")
    yield running
    await running.stop()


async def test_rules_are_live_reloaded_keeping_untouched_state(worker: Worker) -> None:
    def spec(version: int, rules: dict[str, RuleSpec]) -> PipelineSpec:
        return PipelineSpec(version=version, rules=rules)

    band = RuleSpec(kind="price_band", params={"window": 50})
    assert await worker.apply(spec(1, {"band": band, "crossed": RuleSpec(kind="crossed_book")}))
    worker.pipeline.process([Trade(stream="v", symbol="X", seq=1, price=100, size=1)])
    rules = worker.pipeline.states["v"]["X"].keeper.rules  # type: ignore[union-attr]
    kept = rules.bound["band"].rule
    stats = worker.pipeline.rules.entries["band"].stats
    assert stats.evaluations == 1
    changed = RuleSpec(kind="price_band", params={"window": 80})
    assert await worker.apply(spec(2, {"band": changed, "gaps": RuleSpec(kind="gap_rate")}))
    assert rules.bound["band"].rule is kept  # new window swapped in place, EMA kept
    assert kept.reference.count == 1  # type: ignore[attr-defined]
    assert set(rules.bound) == {"band", "gaps"} and rules.book == []
    assert worker.pipeline.rules.entries["band"].stats is stats
    assert not await worker.apply(spec(3, {"bad": RuleSpec(kind="max_spread")}))  # no limit set
    assert set(rules.bound) == {"band", "gaps"}
