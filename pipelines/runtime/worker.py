"""A worker: sources feed the in-process bus, the pipeline keeps books and calculators for the
worker's shards and fans out to sinks. The spec applier changes it while it runs.

Sources that carry bytes (replay, and the network sources) expose ``ingest_stats``
(:class:`~ingest.feed.IngestStats`, read at scrape time as ``tickerplant_ingest_*``) and take the
worker's dead-letter file through a ``dead_letters`` attribute, set before they start. The file is
``<dir>/worker-<index>.ndjson``; ``dir`` is the ``dead_letter_dir`` argument, else
``$TICKERPLANT_DEAD_LETTER_DIR``, else ``$TICKERPLANT_VAR_DIR/dead-letter`` (``var/dead-letter``);
``python -m pipelines run`` points the variable at a temporary directory. It is created on the
first source that takes dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from ingest.feed import DeadLetterFile, IngestStats, RateLimitedLog
from ingest.sources.backoff import Backoff
from ingest.sources.base import Emit
from pipelines.bus import InProcessBus
from pipelines.config_stores.base import ConfigStore
from pipelines.delivery.base import SinkContext
from pipelines.events import Event
from pipelines.registry import SOURCES
from pipelines.runtime.applier import SpecApplier
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import Owns, Pipeline
from pipelines.runtime.running_source import HEALTHY_AFTER_S, RunningSource
from pipelines.spec import PipelineSpec, SourceSpec, shard_of
from pipelines.worker_status import SourceStatus, WorkerStatus, remove_status, write_status

__all__ = ["Worker", "default_dead_letter_dir"]

log = logging.getLogger(__name__)

_STOP_TIMEOUT_S = 5.0
_TICK_S = 0.5  # book health (STALE) and timer rules are checked this often, never per event
_STATUS_EVERY = 2  # ticks between two reports to the status file
# A failed source runs again after a delay drawn up to 0.5 s, doubling per failure up to 30 s;
# a run that lasted HEALTHY_AFTER_S (a minute) was healthy: the next failure starts from 0.5 s.
_RETRY_FIRST_S = 0.5
_RETRY_MAX_S = 30.0


class Worker:
    def __init__(
        self,
        *,
        index: int = 0,
        count: int = 1,
        shard: tuple[int, int] | None = None,
        shm_prefix: str = "",
        metrics: WorkerMetrics | None = None,
        dead_letter_dir: str | Path | None = None,
        status_dir: str | Path | None = None,
    ) -> None:
        """``status_dir``: where to report the sources' states (:mod:`pipelines.worker_status`;
        the worker process passes its default); None reports nowhere."""
        self.index = index
        self.count = count
        self.shard = shard
        self.bus_owns: Owns | None = None
        """Set on the NATS bus (the shard runner's test): symbols are kept while their shard is
        pulled, so a shard that is still being handed over keeps its state until it is."""
        self.metrics = metrics or WorkerMetrics()
        self.bus = InProcessBus()
        self.pipeline = Pipeline(self.metrics, lambda stream, symbol: False)
        self.pipeline.core.on_error = self._pipeline_error
        self.bus.subscribe(self.pipeline.process)
        self.sources: dict[str, RunningSource] = {}
        self.sink_context = SinkContext(worker_index=index, shm_prefix=shm_prefix)
        self.spec: PipelineSpec | None = None
        self.applier = SpecApplier(self)
        self.metrics.watch(self._dropped, self._depths)
        self.metrics.watch_ingest(self.ingest_stats)
        self._source_in = self.metrics.events_in.labels("source")
        self.source_events = 0
        self._ticker: asyncio.Task[None] | None = None
        self.dead_letter_dir = Path(dead_letter_dir or default_dead_letter_dir())
        self._dead_letters: DeadLetterFile | None = None
        self._rate_marks: dict[str, tuple[float, int, int]] = {}
        self._rate_call = 0.0
        self.status_dir = Path(status_dir) if status_dir is not None else None
        self._errors_log = RateLimitedLog(log)
        self.metrics.watch_sources(self.source_status)

    @property
    def dead_letters(self) -> DeadLetterFile:
        """This worker's dead-letter file (created on first use)."""
        if self._dead_letters is None:
            path = self.dead_letter_dir / f"worker-{self.index}.ndjson"
            self._dead_letters = DeadLetterFile(path)
            log.info("worker %d: dead letters go to %s", self.index, path)
        return self._dead_letters

    # -- shards --------------------------------------------------------------------------------

    def owned_shards(self, spec: PipelineSpec) -> tuple[frozenset[int], int]:
        """(shards, shard count) this worker owns: ``--shard k/n`` wins over the spec's map."""
        if self.shard is not None:
            mine, total = self.shard
            return frozenset({mine}), total
        return spec.shards.shards_for(self.index, self.count), spec.shards.count

    def owner_for(self, spec: PipelineSpec) -> Owns:
        """Which (stream, symbol) this worker keeps."""
        if self.bus_owns is not None:
            return self.bus_owns
        owned, total = self.owned_shards(spec)
        return lambda stream, symbol: shard_of(stream, symbol, total) in owned

    # -- sources -------------------------------------------------------------------------------

    def build_source(self, name: str, spec: SourceSpec, params: msgspec.Struct) -> RunningSource:
        """Construct (not start) a source; constructors do no I/O, so this is safe to discard.
        ``params`` must be the source kind's own (what ``SOURCES.params`` returns): ParamsError."""
        SOURCES.check_params(spec.kind, params)
        holder = RunningSource(name, spec)
        plugin: Any = SOURCES.get(spec.kind)
        holder.source = plugin(name, spec, params, self._emit_for(holder))
        if hasattr(holder.source, "dead_letters"):
            holder.source.dead_letters = self.dead_letters
        return holder

    def _emit_for(self, holder: RunningSource) -> Emit:
        publish = self.bus.publish
        counter = self._source_in

        def emit(batch: list[Event]) -> None:
            if holder.active:  # a removed source's last batch must not reach the new pipeline
                self.source_events += len(batch)
                counter.inc(len(batch))
                publish(batch)

        return emit

    def start_source(self, holder: RunningSource) -> None:
        assert holder.source is not None
        self.sources[holder.name] = holder
        holder.task = asyncio.create_task(self._run_source(holder), name=f"source-{holder.name}")

    async def _run_source(self, holder: RunningSource) -> None:
        """Run the source; whatever makes it fail, run it again after a backoff (capped
        exponential, full jitter; reset once a run lasted ``HEALTHY_AFTER_S``), reporting
        ``failed`` with the reason while it waits and ``retrying`` once it runs again."""
        source = holder.source
        assert source is not None
        backoff = Backoff(_RETRY_FIRST_S, _RETRY_MAX_S, reset_after=HEALTHY_AFTER_S)
        while holder.active:
            holder.set_state("running" if holder.failures == 0 else "retrying")
            holder.started_at = time.monotonic()
            backoff.connected()
            try:
                await source.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not holder.active:
                    break  # failed while being stopped: nothing to retry
                if time.monotonic() - holder.started_at >= HEALTHY_AFTER_S:
                    holder.failures = 0  # a long healthy run: count from scratch
                holder.failures += 1
                delay = backoff.next_delay()
                holder.retry_at = time.monotonic() + delay
                holder.set_state("failed", f"{type(exc).__name__}: {exc}"[:500])
                log.error(
                    "source %s failed (%s); retry %d in %.1f s",
                    holder.name,
                    holder.reason,
                    holder.failures,
                    delay,
                    exc_info=holder.failures == 1,  # the traceback once per failure streak
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(holder.wake.wait(), delay)
                continue
            # run() returned: the input ended (a replay without loop) or the source was stopped.
            break
        holder.set_state("finished" if holder.active else "stopped")

    def source_status(self) -> dict[str, SourceStatus]:
        """The state of every source this worker runs, by name."""
        return {name: holder.status() for name, holder in sorted(self.sources.items())}

    async def stop_source(self, holder: RunningSource) -> None:
        holder.active = False
        holder.wake.set()
        if self.sources.get(holder.name) is holder:
            del self.sources[holder.name]
        if holder.source is not None:
            await holder.source.stop()
        task = holder.task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), _STOP_TIMEOUT_S)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- lifecycle -----------------------------------------------------------------------------

    async def apply(self, spec: PipelineSpec) -> bool:
        """Apply ``spec`` between two batches; False (and the old spec runs on) if rejected."""
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="pipeline-tick")
        return await self.applier.apply(spec)

    async def _tick(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(_TICK_S)
            try:
                self.pipeline.tick(time.time_ns())
            except Exception:
                log.exception("pipeline tick failed")
            ticks += 1
            if self.status_dir is not None and ticks % _STATUS_EVERY == 0:
                self.report_status()

    def report_status(self) -> None:
        """Write this worker's report (``status_dir``); a full disk is logged, never fatal."""
        if self.status_dir is None:
            return
        status = WorkerStatus(
            worker=self.index, pid=os.getpid(), time=time.time(), sources=self.source_status()
        )
        try:
            write_status(self.status_dir, status)
        except OSError as exc:
            self._errors_log.warning("status", "worker %d: status not written: %s", self.index, exc)

    def _pipeline_error(self, stage: str, event: Event | None, exc: Exception) -> None:
        """An event the pipeline skipped, or a sink batch that failed: logged (rate-limited)
        and, for an event, dead-lettered as JSON (source ``pipeline:<stream>``)."""
        what = f"{type(exc).__name__}: {exc}"
        self._errors_log.warning(
            f"{stage}:{type(exc).__name__}", "worker %d: %s skipped %s (%s)", self.index,
            stage, "an event" if event is not None else "a batch", what,
        )  # fmt: skip
        if event is not None:
            try:
                raw = msgspec.json.encode(event)
            except Exception:  # an event too odd to encode: its repr, then
                raw = repr(event).encode()
            self.dead_letters.write(f"pipeline:{event.stream}", f"{stage}:{type(exc).__name__}",
                                    what, raw)  # fmt: skip

    async def follow(
        self,
        store: ConfigStore[Any],
        on_applied: Callable[[PipelineSpec], Awaitable[None]] | None = None,
    ) -> None:
        """Apply every spec the store yields, forever."""
        async for spec in store.watch():
            if await self.apply(spec) and on_applied is not None:
                await on_applied(spec)

    async def stop(self) -> None:
        """Stop every source, then close every sink (rings are unlinked)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for holder in list(self.sources.values()):
            await self.stop_source(holder)
        if self.status_dir is not None:
            remove_status(self.status_dir, self.index)  # stopped cleanly: nothing to judge
        self.pipeline.flush_metrics()  # the last batches' stage counts, before the end
        for sink in self.pipeline.sinks.values():
            sink.close()
        self.pipeline.sinks = {}

    # -- metrics read at scrape time -------------------------------------------------------

    def ingest_stats(self) -> dict[str, IngestStats]:
        """The ingest counters of every running source that has them, by source name."""
        found: dict[str, IngestStats] = {}
        for name, holder in self.sources.items():
            stats = getattr(holder.source, "ingest_stats", None)
            if isinstance(stats, IngestStats):
                found[name] = stats
        return found

    def ingest_rates(self) -> dict[str, tuple[float, float]]:
        """Messages/s and bytes/s per source since the previous call (for the status line)."""
        now = time.monotonic()
        rates: dict[str, tuple[float, float]] = {}
        marks: dict[str, tuple[float, int, int]] = {}
        previous_call = self._rate_call or now
        self._rate_call = now
        for name, stats in self.ingest_stats().items():
            # A source seen for the first time counts from the previous call (or from now).
            since, messages, received = self._rate_marks.get(name, (previous_call, 0, 0))
            elapsed = now - since
            if elapsed > 0:
                rates[name] = (
                    (stats.messages - messages) / elapsed,
                    (stats.bytes - received) / elapsed,
                )
            marks[name] = (now, stats.messages, stats.bytes)
        self._rate_marks = marks
        return rates

    def _dropped(self) -> dict[str, int]:
        dropped = {"bus": self.bus.dropped, "shard_filter": self.pipeline.filtered}
        for stage, count in self.pipeline.core.errors.items():
            dropped[f"error:{stage}"] = count
        for name, sink in self.pipeline.sinks.items():
            dropped[f"sink:{name}"] = sink.dropped
        return dropped

    def _depths(self) -> dict[str, int]:
        depths = {"bus": self.bus.depth}
        for name, sink in self.pipeline.sinks.items():
            depths[f"sink:{name}"] = sink.queue_depth
        return depths


def default_dead_letter_dir() -> Path:
    """``$TICKERPLANT_DEAD_LETTER_DIR``, else ``$TICKERPLANT_VAR_DIR/dead-letter`` (var/)."""
    configured = os.environ.get("TICKERPLANT_DEAD_LETTER_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("TICKERPLANT_VAR_DIR", "var")) / "dead-letter"
