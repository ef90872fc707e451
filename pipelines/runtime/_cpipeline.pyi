"""Type stub of the compiled hot loop (``_cpipeline.pyx``); the reference is
:meth:`pipelines.runtime.pipeline.Pipeline.process`."""

from typing import Any

from pipelines.events import Event

__all__ = ["StageMeter", "bind", "now", "process"]

class StageMeter:
    events_in: int
    events_out: int
    bounds: list[float]
    counts: list[int]
    sum: float
    def __init__(self, events_in: Any, events_out: Any, latency: Any) -> None: ...
    def batch(self, events_in: int, events_out: int, seconds: float) -> None: ...
    def flush(self) -> None: ...

def now() -> float: ...
def bind(symbol_state: type) -> None: ...
def process(pipeline: Any, batch: list[Event]) -> None: ...
