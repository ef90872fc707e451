"""MDP 3.0 packet framing.

A UDP packet is a 12-byte header (uint32 MsgSeqNum, uint64 SendingTime in ns since the epoch,
little-endian) and then one or more messages, each ``uint16 MsgSize`` (counting itself) followed by
the SBE message header and body. MsgSize, not the SBE block lengths, says where the next message
starts, so a message of a template the schema does not know can be stepped over.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from ingest.protocols.base import INT64_MAX, DecodeError, out_of_range

__all__ = ["PACKET_HEADER_SIZE", "PacketHeader", "split_packet"]

PACKET_HEADER_SIZE: Final = 12
_PACKET_HEADER: Final = struct.Struct("<IQ")
_MSG_SIZE: Final = struct.Struct("<H")
_MIN_MESSAGE: Final = 2 + 8  # MsgSize + SBE message header


class PacketHeader(NamedTuple):
    seq: int  # MsgSeqNum: per channel and feed, +1 per packet; A and B carry the same numbers
    sending_time: int


def split_packet(packet: bytes) -> tuple[PacketHeader, list[tuple[int, int]]]:
    """The header and the (start, end) byte range of each message's SBE header + body.

    Raises DecodeError when the framing is broken: after that nothing in the packet can be trusted.
    """
    if len(packet) < PACKET_HEADER_SIZE:
        raise DecodeError("short_packet", f"{len(packet)} bytes")
    header = PacketHeader._make(_PACKET_HEADER.unpack_from(packet))
    if header.sending_time > INT64_MAX:  # a uint64: past 2262 it fits no event's time
        raise out_of_range("SendingTime", header.sending_time)
    spans: list[tuple[int, int]] = []
    pos, size = PACKET_HEADER_SIZE, len(packet)
    while pos < size:
        if pos + 2 > size:
            raise DecodeError("bad_framing", f"trailing byte at {pos}")
        (msg_size,) = _MSG_SIZE.unpack_from(packet, pos)
        if msg_size < _MIN_MESSAGE or pos + msg_size > size:
            raise DecodeError("bad_framing", f"MsgSize {msg_size} at {pos} of {size}")
        spans.append((pos + 2, pos + msg_size))
        pos += msg_size
    return header, spans
