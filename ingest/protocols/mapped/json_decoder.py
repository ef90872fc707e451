"""The ``json`` protocol plugin: WebSocket/NDJSON frames decoded through a venue mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event
from pipelines.registry import PROTOCOLS

from .plugin import MappedDecoder, MappedParams
from .schema import Mapping

__all__ = ["MappedJsonDecoder", "MappedParams"]


@PROTOCOLS.register
class MappedJsonDecoder(MappedDecoder):
    """Frames (bytes) -> events, by the venue's mapping."""

    kind: ClassVar[str] = "json"

    def __init__(
        self,
        stream: str,
        params: MappedParams | Mapping,
        sequencer: Sequencer | None = None,
    ) -> None:
        super().__init__(stream, params, sequencer)
        # JSON floats arrive as their source text so prices stay exact (see numbers.scale).
        self._decoder = msgspec.json.Decoder(float_hook=str)

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        try:
            frame = self._decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", str(exc)) from None
        return self.engine.process(frame, ts_recv)

    def apply_snapshot(self, url: str, body: bytes, ts_recv: int) -> list[Event]:
        """A REST snapshot response for the book-sync rule; replays buffered updates after it."""
        try:
            frame = self._decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", str(exc)) from None
        return self.engine.apply_snapshot(url, frame, ts_recv)

    def needs_snapshot(self) -> set[str]:
        """Symbols whose book waits for a REST snapshot (first sync, or after a gap)."""
        return self.engine.needs_snapshot()

    def snapshot_urls(self, symbols: Sequence[str]) -> list[str]:
        return self.engine.snapshot_urls(symbols)
