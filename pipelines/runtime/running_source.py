"""One source a worker runs, and the state it reports.

Its own module so that the spec applier can plan with it without importing the worker (which
imports the applier)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ingest.sources.base import Source
from pipelines.spec import SourceSpec
from pipelines.worker_status import SourceStatus

__all__ = ["HEALTHY_AFTER_S", "RunningSource"]

# A run that lasted this long was healthy: its next failure counts from scratch, and a source
# retrying after a failure reports itself running again.
HEALTHY_AFTER_S = 60.0


class RunningSource:
    """A source instance, its task, whether its batches are still accepted, and its state
    (:mod:`pipelines.worker_status`: starting, running, failed, retrying, finished, stopped)."""

    __slots__ = (
        "active",
        "failures",
        "name",
        "reason",
        "retry_at",
        "since",
        "source",
        "spec",
        "started_at",
        "state",
        "task",
        "wake",
    )

    def __init__(self, name: str, spec: SourceSpec) -> None:
        self.name = name
        self.spec = spec
        self.active = True
        self.source: Source[Any] | None = None
        self.task: asyncio.Task[None] | None = None
        self.state = "starting"
        self.reason = ""
        self.failures = 0
        self.since = time.time()
        self.started_at = 0.0  # time.monotonic() of the current run
        self.retry_at = 0.0  # time.monotonic() of the next attempt while failed
        self.wake = asyncio.Event()  # set by stop: a failed source waits no longer

    def set_state(self, state: str, reason: str | None = None) -> None:
        if state != self.state:
            self.state = state
            self.since = time.time()
        if reason is not None:
            self.reason = reason

    def status(self) -> SourceStatus:
        state = self.state
        now = time.monotonic()
        if state == "retrying" and now - self.started_at >= HEALTHY_AFTER_S:
            state = "running"  # it has run long enough since its last failure
        return SourceStatus(
            kind=self.spec.kind,
            state=state,
            reason=self.reason,
            failures=self.failures,
            retry_in=round(max(0.0, self.retry_at - now), 3) if state == "failed" else 0.0,
            since=self.since,
        )
