"""/readyz and the workers' reports (issue 12, defect 3): a worker whose sources have all failed,
or whose report went stale, makes the platform not ready, and the check says which and why.
Before issue 12 /readyz looked at the database and the config store only."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from controlplane.fleet.actions import do_record_process_state
from pipelines.runtime import Worker, WorkerMetrics
from pipelines.spec import PipelineSpec, SourceSpec
from pipelines.worker_status import SourceStatus, WorkerStatus, write_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Path:
    directory = tmp_path / "status"
    monkeypatch.setenv("TICKERPLANT_STATUS_DIR", str(directory))
    settings.TICKERPLANT_WORKERS = 2
    settings.TICKERPLANT_CELERY_EXPECTED = False
    return directory


def supervisor_sees_both_up() -> None:
    """What is judged here is the workers' own reports; the supervisor's side of /readyz is
    tests/webui/test_readiness.py's."""
    for index in range(2):
        do_record_process_state(f"worker-{index}", 100 + index, "up", "running 5 s")


def report(directory: Path, worker: int, *states: str, age: float = 0.0) -> None:
    sources = {
        f"feed{i}": SourceStatus(kind="websocket", state=state, reason="OSError: refused")
        for i, state in enumerate(states)
    }
    status = WorkerStatus(worker=worker, pid=1234, time=time.time() - age, sources=sources)
    write_status(directory, status)


def test_no_reports_judge_no_worker(client: Client, reports: Path) -> None:
    supervisor_sees_both_up()
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and not any(k.startswith("worker-") for k in ready["checks"])


def test_a_worker_whose_sources_all_failed_is_not_ready(client: Client, reports: Path) -> None:
    report(reports, 0, "running", "failed")
    report(reports, 1, "failed", "retrying")
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker-0"] == "ok (1 failed, 1 running)"
    assert checks["worker-1"].startswith("error: all 2 sources failed: feed0 failed (OSError")


def test_a_stale_report_is_not_ready(client: Client, reports: Path) -> None:
    report(reports, 0, "running", age=60)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker-0"].startswith("error: no report for 60 s")


def test_a_running_worker_is_ready(client: Client, reports: Path) -> None:
    report(reports, 0, "running", "finished")
    report(reports, 1)  # a worker without sources (they may all run elsewhere)
    supervisor_sees_both_up()
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["worker-0"] == "ok (1 finished, 1 running)"
    assert checks["worker-1"] == "ok (no sources)"


async def test_a_real_worker_with_a_failing_source_reports_it(
    reports: Path, tmp_path: Path, async_client: Any
) -> None:
    worker = Worker(
        shm_prefix=f"tp-test-readyz-{uuid.uuid4().hex[:10]}",
        dead_letter_dir=tmp_path / "dead",
        metrics=WorkerMetrics(),
        status_dir=reports,
    )
    try:
        spec = SourceSpec(kind="replay", protocol="json", mapping="kraken",
                          params={"path": str(tmp_path / "missing.ws")})  # fmt: skip
        assert await worker.apply(PipelineSpec(sources={"kraken": spec}))
        deadline = time.monotonic() + 20
        while worker.source_status()["kraken"].state != "failed":
            assert time.monotonic() < deadline, "the source never failed"
            await asyncio.sleep(0.02)
        worker.report_status()
        response = await async_client.get("/readyz")
        assert response.status_code == 503
        check = response.json()["checks"]["worker-0"]
        assert check.startswith("error: all 1 sources failed: kraken failed (ReplayError")
    finally:
        await worker.stop()
        worker.metrics.close()
    # Stopped cleanly: the report is gone, nothing to judge.
    assert not (reports / "worker-0.json").exists()
