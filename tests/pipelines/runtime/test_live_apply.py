"""A running worker process takes a new spec from its config store without restarting."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
from worker_process import attach, put, read_until, simulator_spec, start_worker

from pipelines.delivery.shm_ring import ring_path
from pipelines.events import Metric


@pytest.mark.timeout(60)
def test_a_new_ema_window_reaches_the_ring_within_a_second_in_the_same_process(
    tmp_path: Path,
) -> None:
    store_url = f"file://{tmp_path}/spec.json"
    prefix = f"tp-test-live-{uuid.uuid4().hex[:10]}"
    put(store_url, simulator_spec(window=10), expected_version=0)
    proc = start_worker(store_url, prefix)
    try:
        reader = attach(prefix, proc)
        assert reader.writer_pid == proc.pid

        def ema(window: int):  # type: ignore[no-untyped-def]
            return lambda e: isinstance(e, Metric) and e.source == f"ema(window={window})"

        assert read_until(reader, ema(10), timeout=10) is not None

        put(store_url, simulator_spec(window=20), expected_version=1)
        changed_at = time.monotonic()
        seen = read_until(reader, ema(20), timeout=1.0)
        elapsed = time.monotonic() - changed_at

        assert seen is not None, "no ema(window=20) metric within 1 s"
        assert isinstance(seen, Metric) and seen.name == "ema"
        assert elapsed < 1.0
        assert proc.poll() is None
        assert reader.writer_pid == proc.pid  # the same process, the same ring
        reader.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


@pytest.mark.timeout(60)
def test_sigterm_stops_the_worker_cleanly_and_unlinks_its_ring(tmp_path: Path) -> None:
    store_url = f"file://{tmp_path}/spec.json"
    prefix = f"tp-test-term-{uuid.uuid4().hex[:10]}"
    put(store_url, simulator_spec(window=10), expected_version=0)
    proc = start_worker(store_url, prefix)
    try:
        attach(prefix, proc).close()
        assert os.path.exists(ring_path(prefix, 0))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    assert not os.path.exists(ring_path(prefix, 0))
