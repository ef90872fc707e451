"""Type stub of the compiled twin ``_cjson_decoder.pyx`` (mypy reads this; see json_decoder).

Only this entry module is called from Python; the twin's other ``_cjson_*`` modules are reached
through ``cimport`` and have no stub.
"""

from collections.abc import Callable
from typing import Any, final

from pipelines.events import Event

from .engine import MappedEngine

__all__ = ["FastPath", "fast_events", "fast_path"]

@final
class FastPath:
    """The compiled decode of one MappedJsonDecoder, sharing the reference engine's state."""

    compiled: dict[str, str]
    """Message name -> "" when compiled, else why the reference handles it."""
    fallbacks: int
    """Frames handed to the reference code so far."""

    def __init__(self, engine: MappedEngine, frame_of: Callable[[bytes], Any]) -> None: ...
    def decode(self, data: bytes, ts_recv: int) -> list[Event]: ...

def fast_path(engine: MappedEngine, frame_of: Callable[[bytes], Any]) -> FastPath | None: ...
def fast_events() -> bool:
    """Whether events are built by slot writes (checked equal to the constructors at import)."""
