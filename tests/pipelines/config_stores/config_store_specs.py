"""Specs shared by the config store tests."""

from __future__ import annotations

from pipelines.spec import CalculatorSpec, PipelineSpec, SourceSpec


def ema_spec(window: int) -> PipelineSpec:
    return PipelineSpec(
        sources={"sim": SourceSpec(kind="simulator", symbols=["BTC-USD"])},
        calculators={"ema": CalculatorSpec(kind="ema", params={"window": window})},
    )
