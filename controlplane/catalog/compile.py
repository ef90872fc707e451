"""Compile the catalog into a PipelineSpec (pure read; no side effects)."""

from __future__ import annotations

from controlplane.catalog.models import DataSource, DeliveryTarget, ProcessingRule
from pipelines.registry import CALCULATORS
from pipelines.spec import CalculatorSpec, PipelineSpec, RuleSpec, ShardMap, SinkSpec, SourceSpec

__all__ = ["LIVE_SINK", "compile_spec"]

# The sink the dashboard's gateway reads; always present, whatever the catalog says.
LIVE_SINK = "live"


def compile_spec(workers: int) -> PipelineSpec:
    """The spec for the current catalog, with ``workers`` shards (version set by the store)."""
    sources = {
        s.name: SourceSpec(
            kind=s.kind,
            protocol=s.protocol,
            endpoint=s.endpoint,
            mapping=s.mapping,
            symbols=list(s.symbols),
            fields=list(s.fields),
            params=dict(s.params),
            enabled=s.enabled,
        )
        for s in DataSource.objects.all()
    }
    calculators: dict[str, CalculatorSpec] = {}
    rules: dict[str, RuleSpec] = {}
    for r in ProcessingRule.objects.all():
        if r.kind in CALCULATORS:
            calculators[r.name] = CalculatorSpec(
                kind=r.kind, params=dict(r.params), symbols=list(r.symbols), enabled=r.enabled
            )
        else:
            rules[r.name] = RuleSpec(
                kind=r.kind,
                params=dict(r.params),
                action=r.action,  # type: ignore[arg-type]
                symbols=list(r.symbols),
                enabled=r.enabled,
            )
    sinks = {
        t.name: SinkSpec(
            kind=t.kind, params=dict(t.params), topics=list(t.topics) or [">"], enabled=t.enabled
        )
        for t in DeliveryTarget.objects.all()
    }
    sinks[LIVE_SINK] = SinkSpec(kind="shm", params={}, topics=[">"])
    return PipelineSpec(
        version=0,
        sources=sources,
        calculators=calculators,
        rules=rules,
        sinks=sinks,
        shards=ShardMap(count=max(1, workers)),
    )
