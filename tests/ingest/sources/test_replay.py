"""The replay source: a capture run by a worker from its spec, started and stopped live,
paced by the recorded times, with bad frames counted on /metrics and dead-lettered."""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import pytest

from ingest.feed import DeadLetterFile
from ingest.sources import Source
from ingest.sources.replay import ReplayParams, ReplaySource
from pipelines.events import Event
from pipelines.registry import SOURCES, ParamsError
from pipelines.runtime import Worker, WorkerMetrics
from pipelines.spec import PipelineSpec, SourceSpec


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[Worker]:
    running = Worker(
        shm_prefix=f"tp-test-replay-{uuid.uuid4().hex[:10]}",
        dead_letter_dir=tmp_path / "dead",
        metrics=WorkerMetrics(),
    )
    yield running
    await running.stop()
    running.metrics.close()


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


def kraken_spec(shared_data: Path, **params: object) -> SourceSpec:
    return SourceSpec(
        kind="replay",
        protocol="json",
        mapping="kraken",
        params={"path": str(shared_data / "ws" / "kraken" / "KRAKEN.ws.50.0"), **params},
    )


def simulator() -> SourceSpec:
    return SourceSpec(kind="simulator", symbols=["AAPL"], params={"rate": 5_000})


def test_registered_with_typed_params() -> None:
    assert SOURCES.get("replay") is ReplaySource and issubclass(ReplaySource, Source)
    with pytest.raises(ParamsError) as error:
        SOURCES.params("replay", {"path": "x", "speed": -1})
    assert error.value.path == "speed"
    with pytest.raises(ParamsError):
        SOURCES.params("replay", {"path": "x", "sped": 2})
    assert SOURCES.params("replay", {"path": "x"}) == ReplayParams(path="x")


@pytest.mark.timeout(60)
async def test_a_worker_replays_a_capture_from_its_spec(worker: Worker, shared_data: Path) -> None:
    assert await worker.apply(PipelineSpec(sources={"kraken": kraken_spec(shared_data)}))
    holder = worker.sources["kraken"]
    await until(lambda: holder.task is not None and holder.task.done())
    source = holder.source
    assert isinstance(source, ReplaySource) and source.passes == 1
    # The same counts as `python -m pipelines replay KRAKEN.ws.50.0 --protocol json --mapping kraken`
    assert source.ingest_stats.messages == 4321 and source.ingest_stats.events == 4292
    assert source.ingest_stats.decode_errors == 0
    assert worker.source_events == 4292
    books = worker.pipeline.states["kraken"]
    assert len(books) == 10
    state = books["XBT/CHF"]
    assert state is not None and state.book.best_bid() is not None


@pytest.mark.timeout(60)
async def test_adding_and_removing_a_replay_source_leaves_the_others_alone(
    worker: Worker, shared_data: Path
) -> None:
    assert await worker.apply(PipelineSpec(sources={"sim": simulator()}))
    sim = worker.sources["sim"]
    await until(lambda: worker.pipeline.states.get("sim", {}).get("AAPL") is not None)
    sim_state = worker.pipeline.states["sim"]["AAPL"]

    cme = shared_data / "sbe" / "cme-mdp3"
    capture = SourceSpec(
        kind="replay",
        protocol="sbe",
        params={
            "path": str(cme / "v8_samples" / "MdIncrementalRefreshVolume.pcap"),
            "schema": str(cme / "templates_FixBinary_v8.xml"),
            "loop": True,
        },
    )
    both = PipelineSpec(version=2, sources={"sim": simulator(), "cme": capture})
    assert await worker.apply(both)
    replay = worker.sources["cme"]
    assert isinstance(replay.source, ReplaySource)
    await until(lambda: replay.source.passes >= 2)  # type: ignore[union-attr]
    assert replay.source.ingest_stats.messages >= 224  # type: ignore[union-attr]
    assert "174969" in worker.pipeline.states["cme"]
    assert worker.sources["sim"] is sim and worker.pipeline.states["sim"]["AAPL"] is sim_state

    # A speed change applies in place; removing the source stops it.
    faster = msgspec.structs.replace(capture, params={**capture.params, "speed": 5.0})
    assert await worker.apply(PipelineSpec(version=3, sources={"sim": simulator(), "cme": faster}))
    assert worker.sources["cme"] is replay
    assert await worker.apply(PipelineSpec(version=4, sources={"sim": simulator()}))
    assert set(worker.sources) == {"sim"}
    assert not replay.active and replay.task is not None and replay.task.done()
    assert worker.sources["sim"] is sim and worker.pipeline.states["sim"]["AAPL"] is sim_state
    assert sim.task is not None and not sim.task.done()


@pytest.mark.timeout(60)
async def test_a_bad_frame_is_counted_dead_lettered_and_the_worker_runs_on(
    worker: Worker, shared_data: Path, tmp_path: Path
) -> None:
    frames = [
        line.split(b": ", 1)[1]
        for line in (shared_data / "ws" / "kraken" / "KRAKEN.ws.50.0")
        .read_bytes()
        .splitlines()[:40]
        if line[:1].isdigit()
    ]
    bad = b'[42,{"a":[["oops"'
    path = tmp_path / "kraken-with-a-bad-frame.ndjson"
    path.write_bytes(b"\n".join([*frames[:20], bad, *frames[20:]]) + b"\n")
    port = worker.metrics.serve(0)
    replay = SourceSpec(
        kind="replay", protocol="json", mapping="kraken", params={"path": str(path)}
    )
    assert await worker.apply(PipelineSpec(sources={"sim": simulator(), "bad": replay}))
    holder = worker.sources["bad"]
    await until(lambda: holder.task is not None and holder.task.done())

    url = f"http://127.0.0.1:{port}/metrics"
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
    assert 'tickerplant_ingest_decode_errors_total{reason="bad_json",source="bad"} 1.0' in text
    assert f'tickerplant_ingest_messages_total{{source="bad"}} {len(frames) + 1}.0' in text
    assert 'tickerplant_ingest_bytes_total{source="bad"}' in text
    assert 'tickerplant_ingest_gaps_total{source="bad"} 0.0' in text
    assert 'tickerplant_ingest_reconnects_total{source="bad"} 0.0' in text
    assert 'tickerplant_ingest_latency_seconds_bucket{le="+Inf",source="bad"}' in text

    (letter,) = DeadLetterFile.read(worker.dead_letter_dir / "worker-0.ndjson")
    assert (letter.source, letter.reason) == ("bad", "bad_json")
    assert base64.b64decode(letter.raw_b64) == bad
    assert abs(letter.time_ns - time.time_ns()) < 60e9

    # The worker runs on: the simulator still emits, and a new spec still applies.
    before = worker.source_events
    await until(lambda: worker.source_events > before + 100)
    assert await worker.apply(PipelineSpec(version=2, sources={"sim": simulator()}))
    assert worker.ingest_rates() == {}  # no byte source left


@pytest.mark.timeout(30)
async def test_paced_by_the_recorded_receive_times(tmp_path: Path) -> None:
    path = tmp_path / "three.ws"
    path.write_bytes(
        b"wss://ws.kraken.com <-> 1618678133.0\n"
        b'1618678133.00: {"event":"heartbeat"}\n'
        b'1618678133.40: {"event":"heartbeat"}\n'
        b'1618678133.80: {"event":"systemStatus"}\n'
    )
    batches: list[list[Event]] = []
    spec = SourceSpec(kind="replay", protocol="json", mapping="kraken")
    for speed, least, most in ((1.0, 0.7, 10.0), (4.0, 0.15, 0.7), (0.0, 0.0, 0.5)):
        source = ReplaySource("k", spec, ReplayParams(path=str(path), speed=speed), batches.append)
        started = time.monotonic()
        await asyncio.wait_for(source.run(), 10)
        elapsed = time.monotonic() - started
        assert least <= elapsed < most, (speed, elapsed)
        assert source.ingest_stats.messages == 3 and source.ingest_stats.decode_errors == 0
    assert batches == []  # heartbeats and status frames are routed to "ignore"


def test_only_speed_and_loop_change_in_place() -> None:
    params = ReplayParams(path="a.pcap", protocol="sbe", schema="s.xml")
    source = ReplaySource("r", SourceSpec(kind="replay"), params, lambda batch: None)
    assert source.update(msgspec.structs.replace(params, speed=2.0, loop=True))
    assert not source.update(msgspec.structs.replace(params, path="b.pcap"))


@pytest.mark.timeout(60)
async def test_status_line_shows_messages_and_bytes_per_second(
    worker: Worker, shared_data: Path
) -> None:
    from pipelines.runtime.status import status_line

    assert worker.ingest_rates() == {}
    spec = kraken_spec(shared_data, speed=50.0)  # ~30 s of capture in ~0.6 s
    assert await worker.apply(PipelineSpec(sources={"kraken": spec}))
    await until(lambda: worker.sources["kraken"].source.ingest_stats.messages > 100)  # type: ignore[union-attr]
    rates = worker.ingest_rates()
    assert set(rates) == {"kraken"} and rates["kraken"][0] > 0 and rates["kraken"][1] > 0
    line = status_line(worker.pipeline, 0.0, ingest={"kraken": (1234.0, 56_789.0)})
    assert line.endswith("| kraken 1,234 msg/s 56.8 kB/s")
