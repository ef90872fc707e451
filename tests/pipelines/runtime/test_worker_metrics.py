"""A worker exposes its stage counters, drops, queue depths and batch latencies to Prometheus."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid

import pytest

from pipelines.runtime import Worker, WorkerMetrics
from pipelines.spec import CalculatorSpec, PipelineSpec, SinkSpec, SourceSpec


@pytest.mark.timeout(30)
async def test_metrics_count_events_per_stage_and_time_each_batch() -> None:
    metrics = WorkerMetrics()
    port = metrics.serve(0)
    worker = Worker(shm_prefix=f"tp-test-metrics-{uuid.uuid4().hex[:10]}", metrics=metrics)
    spec = PipelineSpec(
        sources={"sim": SourceSpec(kind="simulator", symbols=["AAPL"], params={"rate": 20_000})},
        calculators={"ema": CalculatorSpec(kind="ema")},
        sinks={"ring": SinkSpec(kind="shm")},
    )
    try:
        assert await worker.apply(spec)
        await asyncio.sleep(0.3)
        url = f"http://127.0.0.1:{port}/metrics"
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(url, timeout=5).read().decode()
        )
    finally:
        await worker.stop()
        metrics.close()
    for line_start in (
        'tickerplant_stage_events_in_total{stage="source"}',
        'tickerplant_stage_events_in_total{stage="core"}',
        'tickerplant_stage_events_out_total{stage="core"}',
        'tickerplant_stage_batch_seconds_count{stage="core"}',
        'tickerplant_stage_batch_seconds_bucket{le="0.001",stage="sinks"}',
        'tickerplant_dropped_events_total{stage="bus"} 0.0',
        'tickerplant_queue_depth{queue="bus"} 0.0',
    ):
        assert line_start in text, line_start
