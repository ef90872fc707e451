"""One bad event costs only itself (issue 12, defect 3): the pipeline's loop skips an event whose
processing raises, counts it by stage and reports it, and goes on with the rest of the batch; a
sink that raises keeps the batch from no other sink. On the compiled loop and on its reference.

The bad events are built by hand: the decoders refuse such values (out_of_range), but a plugin
source, a simulator or a bus may still hand one over."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pipelines.delivery.base import SinkContext
from pipelines.delivery.shm import ShmParams, ShmSink
from pipelines.delivery.shm_ring import RingReader
from pipelines.events import BookDelta, BookSnapshot, Event, Quote, Trade, decode
from pipelines.runtime import pipeline as pipeline_module
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import Pipeline
from pipelines.spec import SinkSpec

BAD = 2**70  # past int64: a book cannot hold it, msgpack cannot carry it


def pipelines() -> list[bool]:
    return [True, False] if pipeline_module.COMPILED else [False]


def batch() -> list[Event]:
    common: dict[str, Any] = {"stream": "s", "ts_recv": 1}
    return [
        BookSnapshot(**common, symbol="A", seq=1, bids=[(100, 5)], asks=[(101, 5)]),
        BookDelta(**common, symbol="A", seq=2, side="bid", price=BAD, size=1, action="new"),
        BookDelta(**common, symbol="B", seq=3, side="ask", price=200, size=7, action="new"),
        BookDelta(**common, symbol="A", seq=4, side="ask", price=102, size=3, action="new"),
        Trade(**common, symbol="A", seq=5, price=101, size=BAD),
        Trade(**common, symbol="B", seq=6, price=200, size=1),
    ]


@pytest.mark.parametrize("compiled", pipelines())
def test_a_bad_event_is_skipped_counted_and_the_batch_goes_on(compiled: bool) -> None:
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: True, compiled)
    reported: list[tuple[str, Event | None, str]] = []
    pipeline.core.on_error = lambda stage, event, exc: reported.append(
        (stage, event, type(exc).__name__)
    )
    events = batch()
    pipeline.process(events)  # raised OverflowError, and lost the rest, before issue 12
    assert pipeline.errors == {"core": 1}
    assert reported == [("core", events[1], "OverflowError")]
    books = {symbol: state.book for symbol, state in pipeline.states["s"].items() if state}
    assert books["A"].top(5) == ([(100, 5)], [(101, 5), (102, 3)])
    assert books["B"].top(5) == ([], [(200, 7)])
    assert pipeline.events_in == len(events)
    # The next batch runs as usual.
    pipeline.process([BookDelta(stream="s", symbol="B", seq=7, side="bid", price=199, size=2,
                                action="new", ts_recv=2)])  # fmt: skip
    assert books["B"].top(5) == ([(199, 2)], [(200, 7)])


class Broken:
    """A sink whose transport is gone: every publish raises."""

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, routed: list[tuple[str, Event]]) -> None:
        self.calls += 1
        raise ConnectionError("the transport is gone")


@pytest.mark.parametrize("compiled", pipelines())
def test_a_sink_that_raises_keeps_the_batch_from_no_other_sink(compiled: bool) -> None:
    """The ring sink writes every event it can encode: a Quote past msgpack's range is skipped
    there (counted), the others reach the ring, and a broken sink before it changes nothing."""
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: True, compiled)
    prefix = f"tp-test-errors-{uuid.uuid4().hex[:10]}"
    ring = ShmSink("ring", SinkSpec(kind="shm"), ShmParams(), SinkContext(shm_prefix=prefix))
    broken = Broken()
    try:
        pipeline.sinks = {"broken": broken, "ring": ring}  # type: ignore[dict-item]
        good = Quote(stream="s", symbol="Q", seq=1, bid_price=1, bid_size=1, ask_price=2,
                     ask_size=1)  # fmt: skip
        bad = Quote(stream="s", symbol="Q", seq=2, bid_price=1, bid_size=BAD, ask_price=2,
                    ask_size=1)  # fmt: skip
        later = Quote(stream="s", symbol="Q", seq=3, bid_price=1, bid_size=3, ask_price=2,
                      ask_size=1)  # fmt: skip
        pipeline.process([good, bad, later])
        assert broken.calls == 1
        assert pipeline.errors == {"sink:broken": 1}
        reader = RingReader(ring.writer.path, from_start=True)
        records = reader.poll()
        assert [decode(payload).seq for _seq, _topic, payload in records] == [1, 3]
        assert ring.writer.unencodable == 1 and ring.dropped == 1
    finally:
        ring.close()


@pytest.mark.parametrize("compiled", pipelines())
def test_a_reporter_that_raises_costs_the_batch_nothing(compiled: bool) -> None:
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: True, compiled)

    def reporter(stage: str, event: Event | None, exc: Exception) -> None:
        raise RuntimeError("the dead-letter disk is gone")

    pipeline.core.on_error = reporter
    pipeline.process(batch())
    assert pipeline.errors == {"core": 1, "on_error": 1}
    assert pipeline.states["s"]["B"] is not None
    assert pipeline.states["s"]["B"].book.top(5) == ([], [(200, 7)])  # type: ignore[union-attr]
