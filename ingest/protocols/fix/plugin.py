"""The ``fix`` protocol plugin: framed FIX bytes → normalized events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec

from ingest.protocols.base import DecodeError, Sequencer
from ingest.protocols.fix.dictionary import load_dictionary
from ingest.protocols.fix.framing import FixFramer
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.normalize import FixNormalizer
from ingest.protocols.fix.parser import FixParser
from pipelines import accel
from pipelines.events import Event
from pipelines.registry import PROTOCOLS

if TYPE_CHECKING:
    from ingest.protocols.fix._cplugin import Decoder as _CompiledDecoder

__all__ = ["FixDecoder", "FixParams"]

_compiled = accel.load("ingest.protocols.fix._cplugin")

Tag = Annotated[int, msgspec.Meta(gt=0)]


class FixParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Options of the ``fix`` protocol.

    ``dictionary``: QuickFIX XML path; empty uses the built-in minimal groups (W/X NoMDEntries,
    SecurityDefinition legs/events/attributes/feed types) and accepts every message type.
    ``transport_dictionary``: the FIXT11.xml paired with a FIX 5.x ``dictionary``.
    ``symbol_tags``: tags tried in order for an event's symbol; empty (the default): the
    convention of the message's exchange (207; CME Globex: 107, 55, 48), else 55 then 48.
    ``implied_bid_type`` / ``implied_offer_type``: MDEntryType codes of implied levels (CME: E/F).
    ``price_decimals``: a fixed price scale; -1 derives it from instruments and the feed's strings.
    ``separator``: field delimiter of the input (``|`` for human-edited logs; SOH on the wire).
    """

    dictionary: str = ""
    transport_dictionary: str = ""
    validate_checksum: bool = True
    validate_body_length: bool = True
    symbol_tags: tuple[Tag, ...] = ()
    implied_bid_type: Annotated[str, msgspec.Meta(min_length=1, max_length=2)] = "E"
    implied_offer_type: Annotated[str, msgspec.Meta(min_length=1, max_length=2)] = "F"
    price_decimals: Annotated[int, msgspec.Meta(ge=-1, le=18)] = -1
    separator: Annotated[str, msgspec.Meta(min_length=1, max_length=1)] = "\x01"


@PROTOCOLS.register
class FixDecoder:
    """Decodes one framed message per :meth:`decode` call; state (instrument scales, SecurityID
    → symbol) lives across calls, so one decoder serves one stream.

    ``compiled``: None (default) decodes with the compiled twins when they are loaded (W and X
    straight from the bytes, ``_cplugin.pyx``; the rest through the compiled parser and
    normalizer); False runs the pure-Python reference throughout; True requires the twins
    (ValueError when they are not built or ``TICKERPLANT_PURE_PYTHON`` is set).
    """

    kind: ClassVar[str] = "fix"
    Params: ClassVar[type[msgspec.Struct]] = FixParams

    def __init__(
        self,
        stream: str,
        params: Any = None,
        sequencer: Sequencer | None = None,
        *,
        compiled: bool | None = None,
    ) -> None:
        if params is None:
            params = FixParams()
        elif not isinstance(params, FixParams):
            params = msgspec.convert(params, FixParams)
        self.stream = stream
        self.params: FixParams = params
        self.sequencer = sequencer if sequencer is not None else Sequencer(stream)
        dictionary = (
            load_dictionary(params.dictionary, params.transport_dictionary)
            if params.dictionary
            else None
        )
        self.parser = FixParser(
            dictionary,
            validate_checksum=params.validate_checksum,
            validate_body_length=params.validate_body_length,
            compiled=compiled,
        )
        self.normalizer = FixNormalizer(
            stream,
            self.sequencer,
            symbol_tags=[str(tag) for tag in params.symbol_tags],
            implied_bid_type=params.implied_bid_type,
            implied_offer_type=params.implied_offer_type,
            price_decimals=params.price_decimals,
            compiled=compiled,
        )
        #: Warnings ``(reason, detail)`` of the message last decoded (the normalizer's list):
        #: optional fields that did not parse and were left out of its events. The feed handler
        #: counts and dead-letters them (ingest/feed.py); empty after a rejected message.
        self.warnings: list[tuple[str, str]] = self.normalizer.warnings
        self._separator = params.separator.encode("latin-1") if params.separator != "\x01" else b""
        if compiled and _compiled is None:
            raise ValueError("the compiled FIX decoder is not loaded (not built, or pure Python)")
        parser, normalizer = self.parser._fast, self.normalizer._fast
        self._fast: _CompiledDecoder | None = (
            _compiled.Decoder(self, parser, normalizer)
            if _compiled is not None
            and parser is not None
            and normalizer is not None
            # Other separators are replaced by SOH first (parse): the two-step path.
            and not self._separator
            else None
        )

    def parse(self, data: bytes) -> FixMessage:
        """The parsed message without normalizing (for tools and a session layer)."""
        if self._separator:
            data = data.replace(self._separator, b"\x01")
        return self.parser.parse(data)

    @property
    def compiled(self) -> bool:
        """Whether :meth:`decode` runs the compiled twin."""
        return self._fast is not None

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        """Events of one framed message, ``seq`` assigned; raises DecodeError only."""
        if self._fast is not None:
            return self._fast.decode(data, ts_recv)
        return self._decode_two_step(data, ts_recv)

    def _decode_two_step(self, data: bytes, ts_recv: int) -> list[Event]:
        start = self.sequencer.seq
        warnings = self.warnings
        if warnings:
            warnings.clear()
        try:
            return self.normalizer.normalize(self.parse(data), ts_recv)
        except DecodeError:
            self.sequencer.seq = start  # no seq numbers for events that were never emitted
            warnings.clear()
            raise

    @staticmethod
    def framer() -> FixFramer:
        """A fresh stream framer for byte-stream sources (TCP)."""
        return FixFramer()
