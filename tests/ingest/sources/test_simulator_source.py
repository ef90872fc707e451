"""The simulator source plugin: registered, typed params, paced batches, in-place updates."""

from __future__ import annotations

import asyncio

import pytest

from ingest.sources import Source
from ingest.sources.simulator import SimulatorParams, SimulatorSource
from pipelines.events import Event
from pipelines.registry import SOURCES, ParamsError
from pipelines.spec import SourceSpec


def test_it_is_registered_with_validated_params() -> None:
    assert SOURCES.get("simulator") is SimulatorSource
    assert issubclass(SimulatorSource, Source)
    with pytest.raises(ParamsError) as error:
        SOURCES.params("simulator", {"rate": 0})
    assert error.value.path == "rate"
    with pytest.raises(ParamsError):
        SOURCES.params("simulator", {"rat": 10})  # a typo is an error, not a default
    assert "rate" in SOURCES.params_schema("simulator")["$defs"]["SimulatorParams"]["properties"]


@pytest.mark.timeout(30)
async def test_it_emits_batches_with_the_source_name_as_stream() -> None:
    batches: list[list[Event]] = []
    spec = SourceSpec(kind="simulator", symbols=["AAPL", "BTC-USD"])
    params = SimulatorParams(rate=50_000, max_events=2000)
    source = SimulatorSource("feed", spec, params, batches.append)
    await asyncio.wait_for(source.run(), 10)
    events = [e for batch in batches for e in batch]
    assert 2000 <= len(events) < 2010  # whole messages: the last one is completed
    assert len(batches) > 1  # paced: several batches, not one burst
    assert {e.stream for e in events} == {"feed"}
    assert {e.symbol for e in events} == {"AAPL", "BTC-USD"}
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


@pytest.mark.timeout(30)
async def test_rate_changes_in_place_but_a_new_seed_needs_a_restart() -> None:
    source = SimulatorSource(
        "feed", SourceSpec(kind="simulator"), SimulatorParams(), lambda b: None
    )
    assert source.update(SimulatorParams(rate=123.0))
    assert source.params == SimulatorParams(rate=123.0)
    assert not source.update(SimulatorParams(seed=2))
    task = asyncio.create_task(source.run())
    await asyncio.sleep(0.05)
    await source.stop()
    await asyncio.wait_for(task, 5)
