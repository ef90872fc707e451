"""Helpers to run ``python -m pipelines worker`` as a real process and read its ring."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.config_stores import open_store
from pipelines.delivery.shm_ring import RingReader, ring_path
from pipelines.events import Event, decode
from pipelines.spec import CalculatorSpec, PipelineSpec, SinkSpec, SourceSpec

REPO = Path(__file__).resolve().parents[3]


def simulator_spec(window: int, rate: int = 20_000) -> PipelineSpec:
    return PipelineSpec(
        sources={
            "sim": SourceSpec(
                kind="simulator", symbols=["BTC-USD", "ETH-USD"], params={"rate": rate}
            )
        },
        calculators={"ema": CalculatorSpec(kind="ema", params={"window": window})},
        sinks={"ring": SinkSpec(kind="shm")},
    )


def start_worker(store_url: str, prefix: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TICKERPLANT_SHM_PREFIX": prefix, "TICKERPLANT_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines",
            "worker",
            "--store",
            store_url,
            "--index",
            "0",
            "--count",
            "1",
            "--metrics-port",
            "0",
        ],
        cwd=REPO,
        env=env,
    )


def attach(prefix: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> RingReader:
    """Wait until the worker's ring exists and is initialised, then attach a reader."""
    path = ring_path(prefix, 0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        try:
            return RingReader(path)
        except (FileNotFoundError, ValueError):
            time.sleep(0.02)
    raise TimeoutError(f"no ring at {path} after {timeout} s")


def read_until(reader: RingReader, predicate, timeout: float) -> Event | None:  # type: ignore[no-untyped-def]
    """The first event on the ring that satisfies ``predicate``, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, _, payload in reader.poll(4096):
            event = decode(payload)
            if predicate(event):
                return event
        time.sleep(0.002)
    return None


def put(store_url: str, spec: PipelineSpec, expected_version: int) -> PipelineSpec:
    store = open_store(store_url)
    try:
        return store.put(spec, expected_version)
    finally:
        store.close()
