"""Fixtures of the fuzz tests: the real captures as records, and the compiled/pure switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.capture.replay_input import CaptureFile, merge_snapshots
from pipelines import accel
from tests.conftest import unavailable
from tests.ingest.protocols.fuzz.mutants import Record


def capture_records(path: Path, snapshots: Path | None = None) -> list[Record]:
    """A capture's records as replay reads them (REST snapshots merged by receive time)."""
    if not path.is_file():
        unavailable(f"capture {path} not found (set TICKERPLANT_SAMPLE_DATA)")
    stream = CaptureFile(path)
    merged = merge_snapshots(stream, CaptureFile(snapshots) if snapshots is not None else None)
    return [Record(ts, payload, url) for ts, payload, url in merged]


@pytest.fixture(scope="session")
def compare() -> bool:
    """Whether the compiled twins run beside the reference (not under TICKERPLANT_PURE_PYTHON)."""
    return not accel.pure()
