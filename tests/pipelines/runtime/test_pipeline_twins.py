"""The compiled hot loop (``_cpipeline`` with the compiled book, health and keeper) and the
reference ``Pipeline`` give the same published events, values, counts and book states: on the
real captures, the simulator's flow and hypothesis-generated event sequences."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.capture.ws_capture import decode_ws_captures, read_ws_capture
from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from ingest.simulator import MarketSimulator
from pipelines import accel
from pipelines.core.rules import RuleSet
from pipelines.core.rules import engine as rule_engine
from pipelines.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Order,
    Quote,
    Status,
    Trade,
    encode,
)
from pipelines.registry import CALCULATORS
from pipelines.runtime import pipeline as pipeline_module
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import CalculatorEntry, Pipeline
from pipelines.spec import CalculatorSpec, RuleSpec

Batch = list[Event]

CALCULATOR_SPECS = {
    "ema": CalculatorSpec(kind="ema", params={"window": 20}),
    "ols": CalculatorSpec(kind="ols", params={"window": 50}),
    "micro": CalculatorSpec(kind="microprice"),
    "imb": CalculatorSpec(kind="imbalance", params={"levels": 3}),
    "vwap": CalculatorSpec(kind="vwap", params={"window": 10}),
    "sma_trade": CalculatorSpec(kind="sma", params={"window": 5, "input": "trade"}),
}
RULE_SPECS = {
    "crossed": RuleSpec(kind="crossed_book", action="halt"),
    "wide": RuleSpec(kind="max_spread", action="alert", params={"max_bps": 5.0}),
    "band": RuleSpec(kind="price_band", action="tag", params={"input": "mid", "k": 3.0}),
    "spike": RuleSpec(kind="spike", action="drop", params={"threshold": 0.5}),
}


class Record:
    """A sink that keeps every published (topic, msgpack) pair."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, routed: list[tuple[str, Event]]) -> None:
        self.published.extend((topic, encode(event)) for topic, event in routed)


def compiled_available() -> None:
    if not pipeline_module.COMPILED:
        if os.environ.get("TICKERPLANT_PURE_PYTHON"):
            pytest.skip("TICKERPLANT_PURE_PYTHON is set: no compiled pipeline to compare")
        if os.environ.get("CI") == "true":
            pytest.fail("the compiled pipeline is not built")
        pytest.skip("the compiled pipeline is not built")


def make(compiled: bool, sink: bool, rules: bool = True) -> tuple[Pipeline, Record]:
    """A pipeline with the spec above (its rule engine of its own kind: the compiled keeper
    holds the compiled engine, the Python keeper engine.py's Python classes)."""
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: symbol != "IGNORED", compiled)
    engine = pipeline.rules.engine
    assert accel.compiled(engine) is compiled
    assert engine is (rule_engine if compiled else accel.reference(rule_engine.__name__))
    pipeline.set_calculators(
        {
            name: CalculatorEntry(name, spec, CALCULATORS.params(spec.kind, spec.params))
            for name, spec in CALCULATOR_SPECS.items()
        }
    )
    if rules:
        pipeline.set_rules(RuleSet.plan(RULE_SPECS))
    record = Record()
    if sink:
        pipeline.sinks = {"record": record}  # type: ignore[dict-item]
    return pipeline, record


def observed(pipeline: Pipeline, record: Record) -> dict[str, Any]:
    """Everything a consumer or an operator can see of a pipeline."""
    books: dict[tuple[str, str], Any] = {}
    for stream, symbols in pipeline.states.items():
        for symbol, state in symbols.items():
            if state is None:
                books[(stream, symbol)] = None
                continue
            keeper, book = state.keeper, state.book
            health = keeper.health
            books[(stream, symbol)] = (
                book.top(1_000),
                book.price_decimals,
                book.size_decimals,
                health.label,
                health.gaps,
                health.messages,
                health.needs_snapshot,
                keeper.dropped,
                keeper.l2_fed,
                None if keeper.l3 is None else (len(keeper.l3), keeper.l3.rejected),
                state.mid,
                state.values,
                sorted(keeper.rules.halted),
            )
    rules = {
        name: (entry.stats.evaluations, entry.stats.hits)
        for name, entry in pipeline.rules.entries.items()
    }
    pipeline.flush_metrics()
    core = pipeline.metrics.events_out.labels("core")._value.get()
    core_in = pipeline.metrics.events_in.labels("core")._value.get()
    sinks_in = pipeline.metrics.events_in.labels("sinks")._value.get()
    return {
        "published": record.published,
        "books": books,
        "rules": rules,
        "counts": (pipeline.events_in, pipeline.filtered, core_in, core, sinks_in),
    }


def run_both(batches: list[Batch], sink: bool, ticks: bool = False) -> None:
    """The reference (Python loop, book, keeper and rule engine) against the compiled ones."""
    results = []
    for compiled in (False, True):
        pipeline, record = make(compiled, sink)
        assert pipeline.compiled is compiled
        errors: list[tuple[int, str]] = []
        for index, batch in enumerate(batches):
            try:
                pipeline.process(batch)
            except OverflowError as error:  # a price or size beyond int64 (decision 0115)
                errors.append((index, str(error)))
            if ticks and index % 7 == 3:
                pipeline.tick(batch[-1].ts_recv + 20_000_000_000 if batch else 0)
        results.append({**observed(pipeline, record), "errors": errors})
    reference = results[0]
    for compiled_result in results[1:]:
        assert reference["errors"] == compiled_result["errors"]
        assert reference["counts"] == compiled_result["counts"]
        assert reference["rules"] == compiled_result["rules"]
        assert reference["books"] == compiled_result["books"]
        assert reference["published"] == compiled_result["published"]


# -- real captures and the simulator ------------------------------------------------------------


def capture_batches(mapping: str, stream: str, files: list[Path]) -> list[Batch]:
    decoder = MappedJsonDecoder(stream, MappedParams(mapping=mapping))
    return [batch for batch in decode_ws_captures(decoder, files) if batch]


@pytest.mark.parametrize("sink", [True, False], ids=["sink", "no-sink"])
@pytest.mark.parametrize(
    ("mapping", "stream", "files"),
    [
        (
            "binance_spot",
            "binance",
            ["binance-spot/BINANCE.ws.1.0", "binance-spot/BINANCE.http.0.0"],
        ),
        ("kraken", "kraken", ["kraken/KRAKEN.ws.50.0"]),
    ],
)
def test_real_captures_publish_the_same_events(
    shared_data: Path, mapping: str, stream: str, files: list[str], sink: bool
) -> None:
    compiled_available()
    batches = capture_batches(mapping, stream, [shared_data / "ws" / name for name in files])
    assert len(batches) > 100
    run_both(batches, sink, ticks=True)


@pytest.mark.parametrize("sink", [True, False], ids=["sink", "no-sink"])
def test_the_simulators_flow_publishes_the_same_events(sink: bool) -> None:
    compiled_available()
    simulator = MarketSimulator(["BTC-USD", "ETH-USD", "IGNORED"], seed=3)
    batches: list[Batch] = [list(simulator.instruments())]
    while sum(len(batch) for batch in batches) < 6_000:
        batches.append(list(simulator.next_message()))
    run_both(batches, sink)


# -- hypothesis: any sequence of events ---------------------------------------------------------

symbols = st.sampled_from(["A", "B", "IGNORED"])
prices = st.integers(95, 105)
base = {"stream": st.sampled_from(["v", "w"]), "symbol": symbols, "seq": st.integers(0, 50)}
events = st.one_of(
    st.builds(
        BookDelta,
        **base,
        ts_recv=st.integers(0, 10**12),
        side=st.sampled_from(["bid", "ask"]),
        price=prices,
        size=st.integers(0, 4),
        action=st.sampled_from(["new", "change", "delete"]),
        batch_end=st.booleans(),
        price_decimals=st.integers(0, 3),
    ),
    st.builds(
        BookSnapshot,
        **base,
        bids=st.lists(st.tuples(prices, st.integers(0, 3)), max_size=4),
        asks=st.lists(st.tuples(prices, st.integers(0, 3)), max_size=4),
        price_decimals=st.integers(0, 3),
    ),
    st.builds(
        Order,
        **base,
        order_id=st.sampled_from(["o1", "o2", "o3"]),
        side=st.sampled_from(["bid", "ask"]),
        price=prices,
        size=st.integers(0, 4),
        action=st.sampled_from(["add", "modify", "cancel", "execute"]),
    ),
    st.builds(
        Status,
        **base,
        state=st.sampled_from(["SYNCING", "RESYNC", "GAP", "RESET", "LIVE", "HALTED", "OTHER"]),
        reason=st.sampled_from(["", "why"]),
    ),
    st.builds(
        Trade,
        **base,
        ts_recv=st.integers(0, 10**12),
        price=prices,
        size=st.integers(1, 50),
        price_decimals=st.integers(0, 2),
    ),
    st.builds(Instrument, **base, price_decimals=st.integers(0, 3)),
    st.builds(
        Quote, **base, bid_price=prices, bid_size=st.just(1), ask_price=prices, ask_size=st.just(1)
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(events, min_size=1, max_size=6), max_size=25), st.booleans())
def test_any_event_sequence_gives_the_same_outputs(batches: list[Batch], sink: bool) -> None:
    compiled_available()
    run_both(batches, sink, ticks=True)


@functools.cache
def kraken_frames(shared_data: Path, count: int = 400) -> list[tuple[bytes, int]]:
    path = shared_data / "ws" / "kraken" / "KRAKEN.ws.50.0"
    return [(r.payload, r.ts_recv_ns) for r in read_ws_capture(path) if r.direction == "recv"][
        :count
    ]


# Overwrites of ASCII bytes (digits, JSON punctuation, letters): the frames stay UTF-8 and mostly
# JSON, so most of them still decode, into odd but valid events. (Invalid UTF-8 is the decoder's
# own contract: the mapped JSON decoder raises UnicodeDecodeError for it on both paths today.)
ascii_bytes = st.binary(max_size=12).map(lambda raw: bytes(32 + b % 95 for b in raw))
mutations = st.lists(
    st.tuples(st.integers(0, 399), st.integers(0, 400), st.integers(0, 8), ascii_bytes),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(mutations, st.booleans())
def test_mutated_capture_bytes_decode_to_the_same_outputs_on_both_paths(
    shared_data: Path, edits: list[tuple[int, int, int, bytes]], sink: bool
) -> None:
    """Bytes in: a Kraken capture with frames overwritten here and there. The decoder gives
    events or DecodeError, nothing else; both pipelines then publish the same."""
    compiled_available()
    frames = kraken_frames(shared_data)
    data = [bytearray(payload) for payload, _ in frames]
    for frame, start, length, replacement in edits:
        payload = data[frame % len(data)]
        payload[start : start + length] = replacement
    decoder = MappedJsonDecoder("kraken", MappedParams(mapping="kraken"))
    batches: list[Batch] = []
    for payload, (_, ts) in zip(data, frames, strict=True):
        try:
            batch = decoder.decode(bytes(payload), ts)
        except DecodeError:
            continue
        if batch:
            batches.append(list(batch))
    run_both(batches, sink, ticks=True)


def test_an_out_of_range_price_fails_the_batch_the_same_way_on_both_paths() -> None:
    compiled_available()
    batch: Batch = [
        BookDelta(stream="v", symbol="A", side="bid", price=100, size=1, action="new",
                  batch_end=False),
        BookDelta(stream="v", symbol="A", side="ask", price=2**64, size=1, action="new"),
    ]  # fmt: skip
    run_both([batch, batch[:1]], sink=True)


def test_compiled_true_without_the_twin_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_module, "COMPILED", False)
    with pytest.raises(ValueError, match="not available"):
        Pipeline(WorkerMetrics(), lambda stream, symbol: True, compiled=True)
    assert Pipeline(WorkerMetrics(), lambda stream, symbol: True).compiled is False


def test_msgspec_events_in_and_out_are_plain() -> None:
    """The compiled loop returns the same types: a published BookSnapshot round-trips."""
    compiled_available()
    pipeline, record = make(True, True, rules=False)
    pipeline.process(
        [BookDelta(stream="v", symbol="A", side="bid", price=100, size=1, action="new")]
    )
    topic, payload = record.published[-1]
    event = msgspec.msgpack.decode(payload, type=Event)
    assert isinstance(event, BookSnapshot | Status) and topic.startswith("md.v.A")
