"""A source that fails, for any reason, is run again after a backoff and says so (issue 12,
defect 3): ``failed`` with the reason while it waits, ``retrying`` once it runs again, on the
status line, on /metrics and in the worker's report; never "stays stopped until the spec
changes". And the reported case itself: a Binance frame with a time past int64 is one counted
decode error, the WebSocket source runs on."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

from ingest.feed import DeadLetterFile
from pipelines.runtime import Worker, WorkerMetrics
from pipelines.runtime.status import status_line
from pipelines.spec import PipelineSpec, SourceSpec
from pipelines.worker_status import judge, read_status


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[Worker]:
    running = Worker(
        shm_prefix=f"tp-test-retry-{uuid.uuid4().hex[:10]}",
        dead_letter_dir=tmp_path / "dead",
        metrics=WorkerMetrics(),
        status_dir=tmp_path / "status",
    )
    yield running
    await running.stop()
    running.metrics.close()


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


FRAMES = [
    b"1633998512.0633569: " + line
    for line in (
        b'{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998512068,"s":"NKNUSDT",'
        b'"a":1,"p":"0.35130000","q":"10.00000000","T":1633998512068,"m":true}}',
        b'{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998512069,"s":"NKNUSDT",'
        b'"a":2,"p":"0.35140000","q":"11.00000000","T":1633998512069,"m":false}}',
    )
]


@pytest.mark.timeout(90)
async def test_a_source_that_cannot_start_is_retried_until_it_can(
    worker: Worker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "later" / "BINANCE.ws"
    spec = SourceSpec(kind="replay", protocol="json", mapping="binance_spot",
                      params={"path": str(path)})  # fmt: skip
    port = worker.metrics.serve(0)
    with caplog.at_level(logging.ERROR):
        assert await worker.apply(PipelineSpec(sources={"late": spec}))
        holder = worker.sources["late"]
        await until(lambda: holder.status().state == "failed")
    status = worker.source_status()["late"]
    assert status.kind == "replay" and status.failures >= 1
    assert "cannot start" in status.reason and "No such file" in status.reason
    assert "stays stopped" not in caplog.text and "retry 1 in" in caplog.text
    line = status_line(worker.pipeline, 0.0, sources=worker.source_status())
    assert "late FAILED (ReplayError: replay source late cannot start" in line

    url = f"http://127.0.0.1:{port}/metrics"
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
    assert 'tickerplant_source_state{source="late",state="failed"} 1.0' in text
    assert 'tickerplant_source_state{source="late",state="running"} 0.0' in text

    worker.report_status()
    report = read_status(tmp_path / "status", 0)
    assert report is not None and report.sources["late"].state == "failed"
    assert judge(report).startswith("error: all 1 sources failed: late failed (ReplayError")

    # The file appears: the next attempt replays it (the delays: < 0.5 s, < 1 s, < 2 s, ...).
    path.parent.mkdir()
    path.write_bytes(b"\n".join(FRAMES) + b"\n")
    await until(lambda: holder.state == "finished")
    assert holder.source is not None
    stats = holder.source.ingest_stats  # type: ignore[attr-defined]
    assert stats.events == 2 and stats.decode_errors == 0
    assert worker.source_status()["late"].state == "finished"
    worker.report_status()
    report = read_status(tmp_path / "status", 0)
    assert report is not None and judge(report) == "ok (1 finished)"


@pytest.mark.timeout(90)
async def test_a_time_past_int64_from_binance_is_one_decode_error_and_the_source_runs_on(
    worker: Worker, free_port: Callable[[], int]
) -> None:
    """The reported frame: ``"T":1e400`` (and ``"E"``) in a live WebSocket feed. Before issue
    12: OverflowError in on_message, "source binance failed; it stays stopped"."""
    bad = FRAMES[0].split(b": ", 1)[1].replace(b'"T":1633998512068', b'"T":1e400')
    good = [frame.split(b": ", 1)[1] for frame in FRAMES]
    sent = asyncio.Event()

    async def venue(connection: ServerConnection) -> None:
        # Binance subscribes by the URL's streams: no request to wait for.
        for frame in (good[0], bad, good[1]):
            await connection.send(frame.decode())
        sent.set()
        await connection.wait_closed()

    port = free_port()
    async with serve(venue, "127.0.0.1", port):
        spec = SourceSpec(
            kind="websocket", protocol="json", mapping="binance_spot", symbols=["NKNUSDT"],
            endpoint=f"ws://127.0.0.1:{port}/stream", params={"ping_interval": 0},
        )  # fmt: skip
        assert await worker.apply(PipelineSpec(sources={"binance": spec}))
        holder = worker.sources["binance"]
        assert holder.source is not None
        stats = holder.source.ingest_stats  # type: ignore[attr-defined]
        await until(lambda: sent.is_set() and stats.messages == 3)
        assert stats.events == 2 and stats.errors_by_reason == {"out_of_range": 1}
        assert holder.task is not None and not holder.task.done()
        assert worker.source_status()["binance"].state == "running"
        assert worker.source_events == 2
    (letter,) = DeadLetterFile.read(worker.dead_letter_dir / "worker-0.ndjson")
    assert letter.source == "binance" and letter.reason == "out_of_range"
    assert json.loads(base64.b64decode(letter.raw_b64))["data"]["a"] == 1
