"""The spec applier: diff the running spec against a new one and apply only the difference.

Everything that can fail (validation, params, building new plugins) happens before anything is
changed; a failure rejects the whole spec and the old one keeps running. The commit itself is
synchronous, so it lands between two batches: changed calculator params swap in place (an EMA
keeps its value and every book stays), new sinks and sources start, removed ones stop, and what
the new spec does not touch keeps its state.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import msgspec

from pipelines.core.rules import RuleEntry, RuleSet
from pipelines.delivery.base import Sink, SinkContext
from pipelines.registry import CALCULATORS, SINKS, SOURCES
from pipelines.runtime.pipeline import CalculatorEntry, Owns, Pipeline
from pipelines.runtime.running_source import RunningSource
from pipelines.spec import PipelineSpec, SinkSpec, SourceSpec, validate

__all__ = ["SpecApplier", "SpecTarget"]

log = logging.getLogger(__name__)


class SpecTarget(Protocol):
    """What the applier reads and changes of a worker (:class:`~pipelines.runtime.worker.Worker`
    is the one there is): described here so that this module need not import the worker, which
    imports it."""

    spec: PipelineSpec | None

    @property
    def pipeline(self) -> Pipeline: ...

    @property
    def sources(self) -> dict[str, RunningSource]: ...

    @property
    def sink_context(self) -> SinkContext: ...

    def owner_for(self, spec: PipelineSpec) -> Owns: ...

    def build_source(
        self, name: str, spec: SourceSpec, params: msgspec.Struct
    ) -> RunningSource: ...

    def start_source(self, holder: RunningSource) -> None: ...

    async def stop_source(self, holder: RunningSource) -> None: ...


class _Plan(msgspec.Struct):
    calculators: dict[str, CalculatorEntry]
    sink_specs: dict[str, tuple[SinkSpec, msgspec.Struct]]
    new_sinks: dict[str, Sink[Any]]
    source_updates: dict[str, tuple[msgspec.Struct, RunningSource]]  # in place, else replacement
    source_starts: dict[str, RunningSource]
    source_stops: list[str]
    rules: dict[str, RuleEntry] = {}


class SpecApplier:
    def __init__(self, worker: SpecTarget) -> None:
        self.worker = worker
        self.applied = 0
        self.rejected = 0
        self._lock = asyncio.Lock()

    async def apply(self, new: PipelineSpec) -> bool:
        async with self._lock:
            try:
                plan = self._plan(new)
            except Exception as exc:
                self.rejected += 1
                current = self.worker.spec.version if self.worker.spec is not None else 0
                log.error("spec version %d rejected (%s); version %d keeps running",
                          new.version, exc, current)  # fmt: skip
                return False
            to_stop, to_start = self._commit(new, plan)
            for holder in to_stop:
                await self.worker.stop_source(holder)
            for holder in to_start:
                self.worker.start_source(holder)
            self.applied += 1
            log.info("applied spec version %d", new.version)
            return True

    def _plan(self, new: PipelineSpec) -> _Plan:
        worker = self.worker
        validate(new)
        calculators: dict[str, CalculatorEntry] = {}
        for name, calc in new.calculators.items():
            if calc.enabled:
                entry = CalculatorEntry(name, calc, CALCULATORS.params(calc.kind, calc.params))
                entry.build()  # a constructor that fails rejects the spec now, not mid-commit
                calculators[name] = entry
        sink_specs: dict[str, tuple[SinkSpec, msgspec.Struct]] = {}
        new_sinks: dict[str, Sink[Any]] = {}
        try:
            for name, sink_spec in new.sinks.items():
                if not sink_spec.enabled:
                    continue
                params = SINKS.params(sink_spec.kind, sink_spec.params)
                sink_specs[name] = (sink_spec, params)
                if name not in worker.pipeline.sinks:
                    plugin: Any = SINKS.get(sink_spec.kind)
                    new_sinks[name] = plugin(name, sink_spec, params, worker.sink_context)
            updates: dict[str, tuple[msgspec.Struct, RunningSource]] = {}
            starts: dict[str, RunningSource] = {}
            for name, source_spec in new.sources.items():
                if not source_spec.enabled:
                    continue
                running = worker.sources.get(name)
                if running is not None and running.spec == source_spec:
                    continue  # untouched: keeps running with all its state
                params = SOURCES.params(source_spec.kind, source_spec.params)
                replacement = worker.build_source(name, source_spec, params)
                same_but_params = (
                    running is not None
                    and msgspec.structs.replace(running.spec, params=source_spec.params)
                    == source_spec
                )
                if same_but_params:
                    updates[name] = (params, replacement)
                else:
                    starts[name] = replacement
        except Exception:
            for sink in new_sinks.values():
                sink.close()
            raise
        enabled = {n for n, s in new.sources.items() if s.enabled}
        stops = [n for n in worker.sources if n not in enabled or n in starts]
        return _Plan(
            calculators, sink_specs, new_sinks, updates, starts, stops, RuleSet.plan(new.rules)
        )

    def _commit(
        self, new: PipelineSpec, plan: _Plan
    ) -> tuple[list[RunningSource], list[RunningSource]]:
        """Synchronous: no batch runs while the pipeline changes."""
        worker = self.worker
        pipeline = worker.pipeline
        pipeline.set_owner(worker.owner_for(new))
        pipeline.set_calculators(plan.calculators)
        pipeline.set_rules(plan.rules)

        sinks: dict[str, Sink[Any]] = {}
        for name, (sink_spec, params) in plan.sink_specs.items():
            sink = plan.new_sinks.get(name) or pipeline.sinks.pop(name)
            if sink.kind != sink_spec.kind or not sink.update(params):
                sink.close()  # replaced: the old one goes first (a ring keeps its path)
                plugin: Any = SINKS.get(sink_spec.kind)
                try:
                    sink = plugin(name, sink_spec, params, worker.sink_context)
                except Exception:
                    log.exception("sink %s could not be rebuilt; it stays closed", name)
                    continue
            sink.set_topics(sink_spec.topics)
            sinks[name] = sink
        for removed in pipeline.sinks.values():
            removed.close()
        pipeline.sinks = sinks

        to_stop: list[RunningSource] = []
        to_start = list(plan.source_starts.values())
        for name in plan.source_stops:
            holder = worker.sources[name]
            holder.active = False
            to_stop.append(holder)
        for name, (params, replacement) in plan.source_updates.items():
            holder = worker.sources[name]
            assert holder.source is not None
            if holder.source.update(params):
                holder.spec = replacement.spec
            else:
                holder.active = False
                to_stop.append(holder)
                to_start.append(replacement)
        worker.spec = new
        return to_stop, to_start
