"""Worker metrics in Prometheus form, in the worker's own registry.

Counters and histograms are updated once per batch (never per event). Values that components
already count as plain ints (drops, queue depths) are read at scrape time by a collector, so the
hot path pays nothing for them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ingest.feed import IngestStats
    from pipelines.worker_status import SourceStatus

__all__ = ["DEFAULT_METRICS_PORT", "WorkerMetrics", "metrics_port_for"]

log = logging.getLogger(__name__)

DEFAULT_METRICS_PORT: Final = 9100
_LATENCY_BUCKETS: Final = (
    1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0,
)  # fmt: skip


def metrics_port_for(worker_index: int) -> int:
    base = int(os.environ.get("TICKERPLANT_METRICS_PORT", DEFAULT_METRICS_PORT))
    return base + worker_index


class _LiveCollector(Collector):
    """Reads drop counts and queue depths from the components when scraped."""

    def __init__(
        self,
        dropped: Callable[[], dict[str, int]],
        depths: Callable[[], dict[str, int]],
    ) -> None:
        self._dropped = dropped
        self._depths = depths

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        dropped = CounterMetricFamily(
            "tickerplant_dropped_events", "Events dropped by a stage", labels=["stage"]
        )
        for stage, value in self._dropped().items():
            dropped.add_metric([stage], value)
        depth = GaugeMetricFamily(
            "tickerplant_queue_depth", "Events waiting in a queue", labels=["queue"]
        )
        for queue, value in self._depths().items():
            depth.add_metric([queue], value)
        return [dropped, depth]


class _IngestCollector(Collector):
    """Per-source ingest counters (``IngestStats``: plain ints the feed handler bumps), read at
    scrape time: ``tickerplant_ingest_*``."""

    def __init__(self, sources: Callable[[], dict[str, IngestStats]]) -> None:
        self._sources = sources

    def collect(self) -> Iterable[CounterMetricFamily | HistogramMetricFamily]:
        from ingest.feed import LATENCY_BUCKETS

        def counter(name: str, documentation: str) -> CounterMetricFamily:
            return CounterMetricFamily(
                f"tickerplant_ingest_{name}", documentation, labels=["source"]
            )

        messages = counter("messages", "Framed messages received by a source")
        received = counter("bytes", "Bytes of the messages received by a source")
        events = counter("events", "Events decoded by a source")
        gaps = counter("gaps", "Sequence gaps and resyncs reported by a source's decoder")
        reconnects = counter("reconnects", "Reconnections of a source")
        errors = CounterMetricFamily(
            "tickerplant_ingest_decode_errors",
            "Messages a source's decoder rejected, by reason",
            labels=["source", "reason"],
        )
        warnings = CounterMetricFamily(
            "tickerplant_ingest_decode_warnings",
            "Fields a decoder could not parse and left out of a message it kept, by reason",
            labels=["source", "reason"],
        )
        latency = HistogramMetricFamily(
            "tickerplant_ingest_latency_seconds",
            "Receive minus exchange time of each message that has both",
            labels=["source"],
        )
        bounds = [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
        for source, stats in sorted(self._sources().items()):
            messages.add_metric([source], stats.messages)
            received.add_metric([source], stats.bytes)
            events.add_metric([source], stats.events)
            gaps.add_metric([source], stats.gaps)
            reconnects.add_metric([source], stats.reconnects)
            for reason, count in sorted(stats.errors_by_reason.items()):
                errors.add_metric([source, reason], count)
            for reason, count in sorted(stats.warnings_by_reason.items()):
                warnings.add_metric([source, reason], count)
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, stats.latency_buckets, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([source], buckets, stats.latency_sum)
        return [messages, received, events, errors, warnings, gaps, reconnects, latency]


class _SourceCollector(Collector):
    """The worker's sources as they are now (``Worker.source_status``)."""

    STATES = ("starting", "running", "failed", "retrying", "finished", "stopped")

    def __init__(self, sources: Callable[[], dict[str, SourceStatus]]) -> None:
        self._sources = sources

    def collect(self) -> Iterable[GaugeMetricFamily]:
        state = GaugeMetricFamily(
            "tickerplant_source_state",
            "1 for the state a source is in (failed: its run raised and it waits to retry)",
            labels=["source", "state"],
        )
        failures = GaugeMetricFamily(
            "tickerplant_source_failures",
            "Consecutive failures of a source since it last ran healthily",
            labels=["source"],
        )
        for name, status in sorted(self._sources().items()):
            for label in self.STATES:
                state.add_metric([name, label], 1.0 if status.state == label else 0.0)
            failures.add_metric([name], status.failures)
        return [state, failures]


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter(
            "tickerplant_stage_events_in", "Events into a stage", ["stage"], registry=self.registry
        )
        self.events_out = Counter(
            "tickerplant_stage_events_out",
            "Events out of a stage",
            ["stage"],
            registry=self.registry,
        )
        self.decode_errors = Counter(
            "tickerplant_decode_errors", "Messages a decoder rejected", ["source"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "tickerplant_stage_batch_seconds",
            "Time a stage spends on one batch",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.port = 0
        self._server: Any = None

    def watch(
        self, dropped: Callable[[], dict[str, int]], depths: Callable[[], dict[str, int]]
    ) -> None:
        self.registry.register(_LiveCollector(dropped, depths))

    def watch_ingest(self, sources: Callable[[], dict[str, IngestStats]]) -> None:
        """Expose the ``IngestStats`` of each source that ``sources()`` returns at scrape time."""
        self.registry.register(_IngestCollector(sources))

    def watch_sources(self, sources: Callable[[], dict[str, SourceStatus]]) -> None:
        """Expose each source's state (``tickerplant_source_state``, 1 on the current state's
        label) and failures at scrape time."""
        self.registry.register(_SourceCollector(sources))

    def serve(self, port: int, addr: str | None = None) -> int:
        """Start the HTTP endpoint (port 0: any free port); returns the bound port."""
        addr = addr or os.environ.get("TICKERPLANT_METRICS_ADDR", "127.0.0.1")
        try:
            server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            if port == 0:
                raise
            log.error("metrics port %d unavailable (%s); using a free port", port, exc)
            server, _thread = start_http_server(0, addr=addr, registry=self.registry)
        self._server = server
        self.port = int(server.server_port)
        return self.port

    def close(self) -> None:
        """Stop the HTTP endpoint (if serving)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
