"""What the ``json`` and ``csv`` plugins share: their params, the engine, the subscribe side.

They differ only in how bytes become a frame (``decode``); everything after that is the
:class:`~ingest.protocols.mapped.engine.MappedEngine`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from ingest.protocols.base import DecodeError, Sequencer

from .context import DecoderStats
from .engine import MappedEngine
from .schema import Mapping, load_mapping

__all__ = ["MappedDecoder", "MappedParams"]


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

    @property
    def stats(self) -> DecoderStats:
        return self.engine.stats

    def url(self, symbols: Sequence[str]) -> str:
        """The WebSocket URL to connect to for ``symbols``."""
        return self.engine.subscribe.url(symbols)

    def subscribe_messages(self, symbols: Sequence[str]) -> list[bytes]:
        """Messages to send after connecting, one WebSocket text frame each."""
        return self.engine.subscribe.messages(symbols)
