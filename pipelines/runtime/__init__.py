"""The worker runtime: pipeline, spec applier, metrics and process entry points."""

from pipelines.runtime.applier import SpecApplier
from pipelines.runtime.metrics import WorkerMetrics, metrics_port_for
from pipelines.runtime.pipeline import CalculatorEntry, Pipeline, SymbolState
from pipelines.runtime.running_source import RunningSource
from pipelines.runtime.status import status_line
from pipelines.runtime.worker import Worker

__all__ = [
    "CalculatorEntry",
    "Pipeline",
    "RunningSource",
    "SpecApplier",
    "SymbolState",
    "Worker",
    "WorkerMetrics",
    "metrics_port_for",
    "status_line",
]
