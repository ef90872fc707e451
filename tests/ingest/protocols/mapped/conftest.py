"""Fixtures for the mapped-protocol tests: the ws captures, replayed in receive-time order."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.capture.ws_capture import CaptureRecord, read_ws_capture
from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedJsonDecoder
from pipelines.events import Event

Replay = Callable[[MappedJsonDecoder, list[Path]], tuple[list[Event], list[DecodeError]]]


@pytest.fixture(scope="session")
def ws_data(shared_data: Path) -> Path:
    path = shared_data / "ws"
    if not path.is_dir():
        reason = f"no ws captures under {shared_data}"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason} (CI=true: they must be available)", pytrace=False)
        pytest.skip(reason)
    return path


def records(files: list[Path]) -> list[CaptureRecord]:
    """All records of ``files`` merged by receive time, as replay merges a stream and snapshots."""
    merged = [record for path in files for record in read_ws_capture(path)]
    merged.sort(key=lambda record: record.ts_recv_ns)  # stable: ties keep file order
    return merged


def replay(decoder: MappedJsonDecoder, files: list[Path]) -> tuple[list[Event], list[DecodeError]]:
    """Frames go to ``decode``, REST responses to ``apply_snapshot``; errors are collected."""
    events: list[Event] = []
    errors: list[DecodeError] = []
    for record in records(files):
        try:
            if record.direction == "recv":
                events.extend(decoder.decode(record.payload, record.ts_recv_ns))
            elif record.direction == "http":
                events.extend(decoder.apply_snapshot(record.url, record.payload, record.ts_recv_ns))
        except DecodeError as exc:
            errors.append(exc)
    return events, errors


@pytest.fixture
def replay_capture() -> Replay:
    return replay


@pytest.fixture
def capture_records() -> Callable[[list[Path]], list[CaptureRecord]]:
    return records
