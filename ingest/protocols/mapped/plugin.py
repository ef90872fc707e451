"""What the ``json`` and ``csv`` plugins share: their params, the engine, the subscribe side.

They differ only in how bytes become a frame (``decode``); everything after that is the
:class:`~ingest.protocols.mapped.engine.MappedEngine`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event

from .context import DecoderStats
from .engine import MappedEngine
from .schema import Mapping, load_mapping

__all__ = ["MappedDecoder", "MappedParams"]


def _frame_decoder(decoder: msgspec.json.Decoder[Any]) -> Callable[[bytes], Any]:
    """Bytes -> decoded frame, msgspec's errors as DecodeError. A closure over the msgspec
    decoder only, so the compiled twin that holds it holds no reference back to the plugin."""

    def frame(data: bytes) -> Any:
        try:
            return decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise DecodeError("bad_json", str(exc)) from None
        except UnicodeDecodeError as exc:
            # msgspec checks UTF-8 inside strings with Python's codec, which raises its own error.
            raise DecodeError("bad_json", f"invalid UTF-8 in a string: {exc.reason}") from None

    return frame


class MappedParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Options of the mapped protocols.

    ``mapping``: a venue name under ``ingest/mappings`` (``binance_spot``) or a TOML file path.
    """

    mapping: Annotated[str, Meta(min_length=1)]
    verify_checksum: bool = True


class MappedDecoder:
    """Base of the mapped protocol plugins: the engine, built from params or a loaded mapping."""

    Params: ClassVar[type[msgspec.Struct]] = MappedParams
    #: Frames are all text (CSV cells): ``numbers.scaled`` then reads integer text as an
    #: integer, as JSON integers are read (issue 9).
    int_text: ClassVar[bool] = False

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
        self.engine = MappedEngine(stream, mapping, sequencer, verify, self.int_text)
        #: The rows of the last decoded frame that were rejected while its other rows gave
        #: events (``rows`` messages): one DecodeError each, for the source to count and
        #: dead-letter (ingest.feed.FeedHandler does). The same list for the decoder's life.
        self.row_errors: list[DecodeError] = self.engine.ctx.row_errors
        # REST snapshot bodies are JSON whatever the stream's own format (a CSV stream's too).
        # JSON floats arrive as their source text so prices stay exact (see numbers.scale).
        self._snapshot_frame = _frame_decoder(msgspec.json.Decoder(float_hook=str))

    @property
    def stats(self) -> DecoderStats:
        return self.engine.stats

    def url(self, symbols: Sequence[str]) -> str:
        """The WebSocket URL to connect to for ``symbols``."""
        return self.engine.subscribe.url(symbols)

    def subscribe_messages(self, symbols: Sequence[str]) -> list[bytes]:
        """Messages to send after connecting, one WebSocket text frame each."""
        return self.engine.subscribe.messages(symbols)

    # -- REST snapshots: the same for every frame format (issue 9: CSV too) ------------------
    def apply_snapshot(self, url: str, body: bytes, ts_recv: int) -> list[Event]:
        """A REST snapshot response for the book-sync rule; replays buffered updates after it."""
        return self.engine.apply_snapshot(url, self._snapshot_frame(body), ts_recv)

    def needs_snapshot(self) -> set[str]:
        """Symbols whose book waits for a REST snapshot (first sync, or after a gap)."""
        return self.engine.needs_snapshot()

    def snapshot_urls(self, symbols: Sequence[str]) -> list[str]:
        return self.engine.snapshot_urls(symbols)
