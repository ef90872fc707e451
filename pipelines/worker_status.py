"""What a worker reports about itself, and where: one small JSON file per worker.

A worker process (``python -m pipelines worker``) rewrites ``<dir>/worker-<index>.json`` about
once a second with the state of each of its sources, and removes it when it stops cleanly. The
control plane's ``/readyz`` reads the files (:func:`judge`): a worker whose sources have all
failed, or whose report is stale (the worker died or hangs), is not ready. ``dir`` is
``$TICKERPLANT_STATUS_DIR``, else ``<var dir>/status`` (``$TICKERPLANT_VAR_DIR``, which
``runplatform`` sets for its workers to the control plane's own).

Source states: ``starting``; ``running``; ``failed`` (its ``run()`` raised: ``reason`` says
what, the next attempt is ``retry_in`` seconds away); ``retrying`` (running again after a
failure, until it has run long enough to count as healthy); ``finished`` (the input ended, as a
replay does); ``stopped``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Final

import msgspec

__all__ = [
    "FAILED_STATES",
    "STALE_AFTER_S",
    "SourceStatus",
    "WorkerStatus",
    "judge",
    "read_status",
    "remove_status",
    "status_dir",
    "status_path",
    "write_status",
]

FAILED_STATES: Final = frozenset({"failed", "retrying"})
STALE_AFTER_S: Final = 15.0
"""A report older than this: the worker is dead or its event loop is stuck."""


class SourceStatus(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    state: str
    reason: str = ""
    """Why it failed (the last failure, kept while it retries)."""
    failures: int = 0
    """Failures since it last ran healthily."""
    retry_in: float = 0.0
    """Seconds until the next attempt (state ``failed``)."""
    since: float = 0.0
    """Unix time of the last change of state."""


class WorkerStatus(msgspec.Struct, frozen=True, kw_only=True):
    worker: int
    pid: int
    time: float
    """Unix time of the report."""
    sources: dict[str, SourceStatus] = {}


_decode = msgspec.json.Decoder(WorkerStatus).decode
_encode = msgspec.json.Encoder().encode


def status_dir(var_dir: str | Path | None = None) -> Path:
    """``$TICKERPLANT_STATUS_DIR``, else ``<var_dir>/status`` (``var_dir``: the argument, else
    ``$TICKERPLANT_VAR_DIR``, else ``var``)."""
    configured = os.environ.get("TICKERPLANT_STATUS_DIR")
    if configured:
        return Path(configured)
    base = var_dir if var_dir is not None else os.environ.get("TICKERPLANT_VAR_DIR", "var")
    return Path(base) / "status"


def status_path(directory: str | Path, worker: int) -> Path:
    return Path(directory) / f"worker-{worker}.json"


def write_status(directory: str | Path, status: WorkerStatus) -> None:
    """Replace the worker's report atomically (a reader never sees half a file)."""
    path = status_path(directory, status.worker)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(_encode(status))
    os.replace(temporary, path)


def remove_status(directory: str | Path, worker: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        status_path(directory, worker).unlink()


def read_status(directory: str | Path, worker: int) -> WorkerStatus | None:
    """The worker's last report; None when it has written none. ValueError when unreadable."""
    try:
        data = status_path(directory, worker).read_bytes()
    except FileNotFoundError:
        return None
    try:
        return _decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"unreadable worker report: {exc}") from None


def judge(status: WorkerStatus, now: float | None = None) -> str:
    """``ok (...)`` or ``error: ...`` for ``/readyz``: stale reports and workers whose sources
    have all failed are errors (a worker without sources is fine: it may own no source)."""
    age = (time.time() if now is None else now) - status.time
    if age > STALE_AFTER_S:
        return f"error: no report for {age:.0f} s (pid {status.pid}: dead or stuck)"
    sources = status.sources
    failed = {name: s for name, s in sources.items() if s.state in FAILED_STATES}
    if sources and len(failed) == len(sources):
        reasons = "; ".join(
            f"{name} {s.state} ({s.reason or 'no reason'})" for name, s in sorted(failed.items())
        )
        return f"error: all {len(sources)} sources failed: {reasons}"[:1000]
    states: dict[str, int] = {}
    for source in sources.values():
        states[source.state] = states.get(source.state, 0) + 1
    summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    return f"ok ({summary or 'no sources'})"
