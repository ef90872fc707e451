"""Type stub of the compiled book health (``_chealth.pyx``); the reference is :mod:`.health`."""

from pipelines.events import Status

__all__ = ["BookHealth"]

class BookHealth:
    stream: str
    symbol: str
    stale_after_ns: int
    state: str
    crossed: bool
    needs_snapshot: bool
    gaps: int
    messages: int
    seen_messages: int
    last_active_ns: int
    announced: bool
    def __init__(self, stream: str, symbol: str, stale_after_ns: int = ...) -> None: ...
    @property
    def label(self) -> str: ...
    @property
    def accepting(self) -> bool: ...
    def on_snapshot(
        self, seq: int = 0, ts: int = 0, reason: str = "snapshot applied"
    ) -> Status | None: ...
    def on_update(self, seq: int = 0, ts: int = 0) -> Status | None: ...
    def on_gap(self, reason: str, seq: int = 0, ts: int = 0) -> Status | None: ...
    def on_reset(self, reason: str = "reset", seq: int = 0, ts: int = 0) -> Status | None: ...
    def on_status(self, status: Status) -> tuple[bool, Status | None]: ...
    def set_crossed(
        self, crossed: bool, reason: str, seq: int = 0, ts: int = 0
    ) -> Status | None: ...
    def tick(self, now_ns: int) -> Status | None: ...
