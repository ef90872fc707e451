"""The ``cme_mdp3`` protocol plugin: one UDP packet in, normalized events out.

All packets of one channel go to one decoder, A and B feeds alike: the decoder arbitrates them by
MsgSeqNum (first copy wins), reports packet gaps on the channel's feed symbol, then decodes every
message with the SBE codec compiled from ``Params.schema`` and normalizes it (``normalize.py``).

Errors: a packet whose framing is broken raises :class:`DecodeError` before arbitration sees it
(so the other feed's copy can still win); so does a SendingTime past int64. Inside a well-framed
packet a message of a template the schema lacks, one that fails to decode, or one with a value no
event can hold (a time or price beyond int64) is counted in ``errors`` and stepped over (its events
are dropped, their seq numbers reused): the rest of the packet is still good data.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import ClassVar

import msgspec

from ingest.protocols.base import DecodeError, Sequencer
from ingest.protocols.cme_mdp3.framing import split_packet
from ingest.protocols.cme_mdp3.normalize import Normalizer
from ingest.protocols.cme_mdp3.sequencing import DUPLICATE, PacketArbiter
from ingest.protocols.sbe import SbeCodec, load_schema
from pipelines.events import Event, Status
from pipelines.registry import PROTOCOLS

__all__ = ["CmeMdp3Decoder", "CmeMdp3Params"]


class CmeMdp3Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    schema: str
    """Path of the channel's SBE schema (CME's templates_FixBinary.xml)."""
    arbitrate: bool = True
    """Drop A/B copies by packet MsgSeqNum; off when a single feed is already arbitrated."""
    implied: bool = True
    """Emit implied book entries (``BookDelta.implied``)."""
    orders: bool = True
    """Emit ``Order`` events for market-by-order data (order book and MBOFD templates)."""
    definition_symbols: bool = True
    """Name instruments by the definition's Symbol once seen; SecurityID strings until then."""
    feed_symbol: str = "_feed"
    """Symbol of channel-level Status events (packet gaps, channel resets)."""
    arbitration_window: int = msgspec.field(default=4096)
    """How far back a late packet may fill a gap, and how far back a jump counts as a reset."""


@lru_cache(maxsize=16)
def _codec(path: str) -> SbeCodec:
    # One compiled codec per schema file, shared by every channel that uses it.
    return SbeCodec(load_schema(path))


@PROTOCOLS.register
class CmeMdp3Decoder:
    """CME MDP 3.0 incremental, snapshot and instrument feeds."""

    kind: ClassVar[str] = "cme_mdp3"
    Params: ClassVar[type[msgspec.Struct]] = CmeMdp3Params

    def __init__(
        self, stream: str, params: CmeMdp3Params, sequencer: Sequencer | None = None
    ) -> None:
        self.stream = stream
        self.params = params
        self.sequencer = sequencer or Sequencer(stream)
        self.codec = _codec(params.schema)
        self.arbiter = PacketArbiter(params.arbitration_window)
        self.normalizer = Normalizer(
            stream,
            self.codec.schema,
            self.sequencer,
            implied=params.implied,
            orders=params.orders,
            definition_symbols=params.definition_symbols,
            feed_symbol=params.feed_symbol,
        )
        self.packets = 0
        self.messages: Counter[int] = Counter()  # by template id
        self.errors: Counter[str] = Counter()

    @property
    def rpt_seq_gaps(self) -> int:
        return self.normalizer.rpt_seq.gaps

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        """Events of one packet (none for a duplicate copy); DecodeError on broken framing."""
        header, spans = split_packet(data)
        out: list[Event] = []
        if self.params.arbitrate:
            missing = self.arbiter.accept(header.seq)
            if missing == DUPLICATE:
                return out
            if missing:
                out.append(
                    Status(
                        stream=self.stream,
                        symbol=self.params.feed_symbol,
                        seq=self.sequencer.next(),
                        venue_seq=header.seq,
                        ts_exchange=header.sending_time,
                        ts_recv=ts_recv,
                        state="GAP",
                        reason=f"MsgSeqNum expected {header.seq - missing} received {header.seq}",
                    )
                )
        self.packets += 1
        codec, normalizer, messages = self.codec, self.normalizer, self.messages
        sequencer = self.sequencer
        for start, end in spans:
            try:
                message = codec.decode(data, start, end)
            except DecodeError as exc:
                self.errors[exc.reason] += 1
                continue
            messages[message.template_id] += 1
            mark, seq = len(out), sequencer.seq
            try:
                normalizer.message(message.template_id, message.values, ts_recv, out)
            except DecodeError as exc:  # a value no event holds: this message alone is dropped
                del out[mark:]
                sequencer.seq = seq
                self.errors[exc.reason] += 1
        return out
