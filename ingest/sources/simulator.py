"""``kind="simulator"``: the market simulator as a source, paced in wall-clock time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from ingest.simulator import MarketSimulator
from ingest.simulator.instruments import PRESETS
from ingest.sources.base import Emit, Source
from pipelines.registry import SOURCES
from pipelines.spec import SourceSpec

__all__ = ["SimulatorParams", "SimulatorSource"]


class SimulatorParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    symbols: list[Annotated[str, Meta(min_length=1, max_length=64)]] = []
    """Simulated symbols; empty: the source spec's ``symbols``, else the built-in presets."""
    seed: int = 1
    rate: Annotated[float, Meta(gt=0, le=10_000_000)] = 10_000.0
    """Events per second of wall-clock time."""
    interval_ms: Annotated[float, Meta(gt=0, le=10_000)] = 10.0
    """How often a batch is emitted: about ``rate * interval_ms / 1000`` events each."""
    max_events: Annotated[int, Meta(ge=0)] = 0
    """Stop once this many events were emitted (the last message is completed, so a few more
    may follow); 0 runs until stopped."""


@SOURCES.register
class SimulatorSource(Source[SimulatorParams]):
    kind: ClassVar[str] = "simulator"
    Params: ClassVar[type[msgspec.Struct]] = SimulatorParams

    def __init__(self, name: str, spec: SourceSpec, params: SimulatorParams, emit: Emit) -> None:
        super().__init__(name, spec, params, emit)
        symbols = params.symbols or spec.symbols or list(PRESETS)
        self.simulator = MarketSimulator(
            symbols, seed=params.seed, rate=params.rate, stream=name, clock=time.time_ns
        )
        self._stopping = asyncio.Event()
        self.emitted = 0

    def update(self, params: SimulatorParams) -> bool:
        """Rate, interval and limit change in place; other changes need a new simulator."""
        old = self.params
        if (params.symbols, params.seed) != (old.symbols, old.seed):
            return False
        self.params = params
        return True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        params = self.params
        anchor_time, anchor_count = loop.time(), self.emitted
        while not self._stopping.is_set():
            if params is not self.params:  # new rate: pace from now, no burst of "owed" events
                params = self.params
                anchor_time, anchor_count = loop.time(), self.emitted
            # Pace by the events owed since the anchor, so a slow batch is caught up, not lost...
            owed = int((loop.time() - anchor_time) * params.rate) - (self.emitted - anchor_count)
            if owed > params.rate:  # ...unless the pipeline fell a second behind: then shed it.
                anchor_time, anchor_count = loop.time(), self.emitted
                owed = int(params.rate * params.interval_ms / 1000)
            if params.max_events:
                owed = min(owed, params.max_events - self.emitted)
            if owed > 0:
                batch = self.simulator.take(owed)
                self.emitted += len(batch)
                self.emit(batch)
            if params.max_events and self.emitted >= params.max_events:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), params.interval_ms / 1000)

    async def stop(self) -> None:
        self._stopping.set()
