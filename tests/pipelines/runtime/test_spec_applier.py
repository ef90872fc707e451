"""The spec applier inside one worker: only what changed changes, a bad spec changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from pipelines.delivery.shm_ring import ring_paths
from pipelines.runtime import Worker
from pipelines.spec import CalculatorSpec, PipelineSpec, SinkSpec, SourceSpec


def spec(
    window: int = 10, *, sources: dict[str, SourceSpec] | None = None, **extra
) -> PipelineSpec:  # type: ignore[no-untyped-def]
    return PipelineSpec(
        sources=sources
        if sources is not None
        else {"sim": SourceSpec(kind="simulator", symbols=["BTC-USD"], params={"rate": 20_000})},
        calculators={"ema": CalculatorSpec(kind="ema", params={"window": window})},
        sinks={"ring": SinkSpec(kind="shm")},
        **extra,
    )


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    prefix = f"tp-test-apply-{uuid.uuid4().hex[:10]}"
    running = Worker(shm_prefix=prefix)
    yield running
    await running.stop()
    assert ring_paths(prefix) == []


async def until_mid(worker: Worker) -> None:
    for _ in range(500):
        state = worker.pipeline.states.get("sim", {}).get("BTC-USD")
        if state is not None and state.values.get("ema") is not None:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("no EMA value")


@pytest.mark.timeout(30)
async def test_a_new_window_swaps_in_place_and_keeps_book_source_and_average(
    worker: Worker,
) -> None:
    assert await worker.apply(spec(10))
    await until_mid(worker)
    state = worker.pipeline.states["sim"]["BTC-USD"]
    assert state is not None
    book, ema, source, ring = (
        state.book,
        state.calculators["ema"],
        worker.sources["sim"].source,
        worker.pipeline.sinks["ring"],
    )
    assert await worker.apply(msgspec.structs.replace(spec(20), version=2))
    after = worker.pipeline.states["sim"]["BTC-USD"]
    assert after is state and after.book is book
    assert after.calculators["ema"] is ema and ema.describe() == "ema(window=20)"
    assert worker.sources["sim"].source is source
    assert worker.pipeline.sinks["ring"] is ring


@pytest.mark.timeout(30)
async def test_a_bad_spec_is_rejected_whole_and_the_old_one_runs_on(worker: Worker) -> None:
    assert await worker.apply(spec(10))
    good = worker.spec
    bad_window = spec(0)
    unknown_sink = msgspec.structs.replace(spec(20), sinks={"x": SinkSpec(kind="carrier-pigeon")})
    assert not await worker.apply(bad_window)
    assert not await worker.apply(unknown_sink)
    assert worker.spec is good
    assert worker.applier.rejected == 2
    assert set(worker.pipeline.sinks) == {"ring"}


@pytest.mark.timeout(30)
async def test_sources_start_and_stop_with_the_spec(worker: Worker) -> None:
    assert await worker.apply(spec(10))
    second = SourceSpec(kind="simulator", symbols=["AAPL"], params={"seed": 2})
    both = spec(10, sources={**spec(10).sources, "other": second})
    assert await worker.apply(both)
    first = worker.sources["sim"]
    assert set(worker.sources) == {"sim", "other"}
    assert await worker.apply(spec(10, sources={"other": second}))
    assert set(worker.sources) == {"other"}
    assert not first.active and first.task is not None and first.task.done()


@pytest.mark.timeout(30)
async def test_a_worker_keeps_only_the_symbols_of_its_shards() -> None:
    from pipelines.spec import shard_of

    symbols = [f"S{i}" for i in range(12)]
    sources = {"sim": SourceSpec(kind="simulator", symbols=symbols, params={"rate": 50_000})}
    prefix = f"tp-test-shard-{uuid.uuid4().hex[:10]}"
    worker = Worker(shm_prefix=prefix, shard=(1, 3))
    try:
        assert await worker.apply(spec(10, sources=sources))
        await asyncio.sleep(0.3)
        kept = {s for s, state in worker.pipeline.states["sim"].items() if state is not None}
        assert kept == {s for s in symbols if shard_of("sim", s, 3) == 1}
    finally:
        await worker.stop()
