"""The ``json`` protocol plugin: WebSocket/NDJSON frames decoded through a venue mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event
from pipelines.registry import PROTOCOLS

from .context import DecoderStats
from .engine import MappedEngine
from .schema import Mapping, load_mapping

__all__ = ["MappedJsonDecoder", "MappedParams"]


class MappedParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Options of the mapped protocols.

    ``mapping``: a venue name under ``ingest/mappings`` (``binance_spot``) or a TOML file path.
    """

    mapping: Annotated[str, Meta(min_length=1)]
    verify_checksum: bool = True


@PROTOCOLS.register
class MappedJsonDecoder:
    """Frames (bytes) -> events, by the venue's mapping."""

    kind: ClassVar[str] = "json"
    Params: ClassVar[type[msgspec.Struct]] = MappedParams

    def __init__(
        self,
        stream: str,
        params: MappedParams | Mapping,
        sequencer: Sequencer | None = None,
    ) -> None:
        if isinstance(params, Mapping):
            mapping, verify = params, True
        else:
            mapping, verify = load_mapping(params.mapping), params.verify_checksum
        self.stream = stream
        self.engine = MappedEngine(stream, mapping, sequencer, verify)
        # JSON floats arrive as their source text so prices stay exact (see numbers.scale).
        self._decoder = msgspec.json.Decoder(float_hook=str)

    @property
    def stats(self) -> DecoderStats:
        return self.engine.stats

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

    def url(self, symbols: Sequence[str]) -> str:
        """The WebSocket URL to connect to for ``symbols``."""
        return self.engine.subscribe.url(symbols)

    def subscribe_messages(self, symbols: Sequence[str]) -> list[bytes]:
        """Messages to send after connecting, one WebSocket text frame each."""
        return self.engine.subscribe.messages(symbols)
