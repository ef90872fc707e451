"""UDP datagrams out of pcap and pcapng captures, in pure Python.

Formats: classic libpcap (either byte order, microsecond or nanosecond timestamps) and pcapng
(Section Header, Interface Description, Enhanced and Simple Packet blocks; several sections and
interfaces, each interface with its own link type and ``if_tsresol``). Link layers: Ethernet (with
802.1Q / 802.1ad VLAN tags), Linux cooked capture v1 and v2, BSD loopback, raw IP. Network: IPv4
(unfragmented datagrams; fragments are counted and skipped) and IPv6 (UDP directly after the fixed
header). Anything else is counted in :attr:`PcapReader.skipped` and skipped: a capture holds
ARP, TCP and the like next to the feed.

The reader streams record by record, so a capture of any size reads in constant memory.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple

__all__ = ["CaptureError", "PcapReader", "UdpDatagram", "is_pcap", "read_udp"]

_PCAP_MAGICS: Final = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),  # little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
_PCAPNG_SHB: Final = b"\x0a\x0d\x0d\x0a"

LINKTYPE_NULL: Final = 0
LINKTYPE_ETHERNET: Final = 1
LINKTYPE_RAW: Final = 101
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_IPV4: Final = 228
LINKTYPE_IPV6: Final = 229
LINKTYPE_LINUX_SLL2: Final = 276
_RAW_ALIASES: Final = frozenset({12, 14, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6})
_VLAN_TYPES: Final = frozenset({0x8100, 0x88A8, 0x9100})


class CaptureError(ValueError):
    """A file that is not a capture, or one cut off inside a header."""


class UdpDatagram(NamedTuple):
    ts_ns: int  # capture time, integer nanoseconds since the epoch
    src: str
    src_port: int
    dst: str
    dst_port: int
    payload: bytes


def is_pcap(first_bytes: bytes) -> bool:
    """True when the bytes start a pcap or pcapng file (for input-format detection)."""
    head = bytes(first_bytes[:4])
    return head in _PCAP_MAGICS or head == _PCAPNG_SHB


def _read(stream: BinaryIO, size: int) -> bytes | None:
    """Exactly ``size`` bytes, None at a clean end of file; CaptureError when cut short."""
    data = stream.read(size)
    if not data:
        return None
    if len(data) < size:
        raise CaptureError(f"capture truncated: wanted {size} bytes, got {len(data)}")
    return data


class _Interface(NamedTuple):
    link_type: int
    ns_num: int  # ts_ns = ticks * ns_num // ns_den
    ns_den: int


def _tsresol(value: int) -> tuple[int, int]:
    # if_tsresol: high bit clear = 10^-n seconds per tick, set = 2^-n.
    if value & 0x80:
        return 1_000_000_000, 1 << (value & 0x7F)
    exponent = value & 0x7F
    if exponent <= 9:
        return 10 ** (9 - exponent), 1
    return 1, 10 ** (exponent - 9)


class PcapReader:
    """Iterates the UDP datagrams of a capture; counters say what else it met."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.frames = 0
        self.skipped: Counter[str] = Counter()

    def __iter__(self) -> Iterator[UdpDatagram]:
        magic = self.stream.read(4)
        if magic == _PCAPNG_SHB:
            frames = self._pcapng(magic)
        elif magic in _PCAP_MAGICS:
            frames = self._pcap(magic)
        else:
            raise CaptureError(f"not a pcap/pcapng file (magic {magic.hex()})")
        for ts_ns, link_type, frame in frames:
            self.frames += 1
            datagram = self.udp(ts_ns, link_type, frame)
            if datagram is not None:
                yield datagram

    # -- file formats -------------------------------------------------------------------------
    def _pcap(self, magic: bytes) -> Iterator[tuple[int, int, bytes]]:
        order, ns_per_tick = _PCAP_MAGICS[magic]
        header = _read(self.stream, 20)
        if header is None:
            raise CaptureError("pcap global header truncated")
        link_type = struct.unpack(order + "HHiIII", header)[5] & 0x0FFFFFFF
        record = struct.Struct(order + "IIII")
        while (raw := _read(self.stream, 16)) is not None:
            seconds, fraction, captured, _original = record.unpack(raw)
            frame = _read(self.stream, captured)
            if frame is None:
                raise CaptureError("pcap record truncated")
            yield seconds * 1_000_000_000 + fraction * ns_per_tick, link_type, frame

    def _pcapng(self, first: bytes) -> Iterator[tuple[int, int, bytes]]:
        order = "<"
        interfaces: list[_Interface] = []
        head = first + self.stream.read(4)
        while head:
            if len(head) < 8:
                raise CaptureError("pcapng block header truncated")
            if head[:4] == _PCAPNG_SHB:
                # Each section's byte-order magic decides how its lengths read.
                magic = _read(self.stream, 4)
                if magic is None:
                    raise CaptureError("pcapng section header truncated")
                order = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
                length = struct.unpack(order + "I", head[4:8])[0]
                if _read(self.stream, length - 12) is None:
                    raise CaptureError("pcapng section header truncated")
                interfaces = []
                head = self.stream.read(8)
                continue
            block_type, length = struct.unpack(order + "II", head)
            if length < 12 or length % 4:
                raise CaptureError(f"pcapng block of bad length {length}")
            block = _read(self.stream, length - 8)
            if block is None:
                raise CaptureError("pcapng block truncated")
            body = block[:-4]  # the trailing copy of the length
            head = self.stream.read(8)
            if block_type == 1:  # Interface Description
                interfaces.append(self._interface(order, body))
            elif block_type == 6 and len(body) >= 20:  # Enhanced Packet
                if_id, high, low, captured = struct.unpack_from(order + "IIII", body)
                if if_id >= len(interfaces):
                    self.skipped["pcapng_unknown_interface"] += 1
                    continue
                interface = interfaces[if_id]
                ticks = (high << 32) | low
                ts_ns = ticks * interface.ns_num // interface.ns_den
                yield ts_ns, interface.link_type, body[20 : 20 + captured]
            elif block_type == 3 and interfaces:  # Simple Packet: no timestamp
                original = struct.unpack_from(order + "I", body)[0]
                yield 0, interfaces[0].link_type, body[4 : 4 + original]
            else:
                self.skipped[f"pcapng_block_{block_type}"] += 1

    @staticmethod
    def _interface(order: str, body: bytes) -> _Interface:
        link_type = struct.unpack_from(order + "H", body)[0]
        ns_num, ns_den = 1_000, 1  # default resolution: microseconds
        pos = 8
        while pos + 4 <= len(body):
            code, size = struct.unpack_from(order + "HH", body, pos)
            if code == 0:
                break
            if code == 9 and size >= 1:
                ns_num, ns_den = _tsresol(body[pos + 4])
            pos += 4 + (size + 3) // 4 * 4
        return _Interface(link_type, ns_num, ns_den)

    # -- link, network, transport ---------------------------------------------------------------
    def udp(self, ts_ns: int, link_type: int, frame: bytes) -> UdpDatagram | None:
        """The UDP datagram carried by one captured frame, or None (counted) if it carries none."""
        if link_type == LINKTYPE_ETHERNET:
            pos, ether_type = 14, int.from_bytes(frame[12:14], "big")
            while ether_type in _VLAN_TYPES and len(frame) >= pos + 4:
                ether_type = int.from_bytes(frame[pos + 2 : pos + 4], "big")
                pos += 4
        elif link_type == LINKTYPE_LINUX_SLL:
            pos, ether_type = 16, int.from_bytes(frame[14:16], "big")
        elif link_type == LINKTYPE_LINUX_SLL2:
            pos, ether_type = 20, int.from_bytes(frame[0:2], "big")
        elif link_type == LINKTYPE_NULL:
            family = int.from_bytes(frame[0:4], "little") or int.from_bytes(frame[0:4], "big")
            pos, ether_type = 4, 0x0800 if family == 2 else 0x86DD
        elif link_type in _RAW_ALIASES:
            pos = 0
            ether_type = 0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0x86DD
        else:
            self.skipped[f"link_type_{link_type}"] += 1
            return None
        if ether_type == 0x0800:
            return self._ipv4(ts_ns, frame, pos)
        if ether_type == 0x86DD:
            return self._ipv6(ts_ns, frame, pos)
        self.skipped["not_ip"] += 1
        return None

    def _ipv4(self, ts_ns: int, frame: bytes, pos: int) -> UdpDatagram | None:
        if len(frame) < pos + 20 or frame[pos] >> 4 != 4:
            self.skipped["bad_ipv4"] += 1
            return None
        header_length = (frame[pos] & 0x0F) * 4
        total_length = int.from_bytes(frame[pos + 2 : pos + 4], "big")
        flags_fragment = int.from_bytes(frame[pos + 6 : pos + 8], "big")
        if frame[pos + 9] != 17:
            self.skipped["not_udp"] += 1
            return None
        if flags_fragment & 0x3FFF:  # more-fragments flag or a fragment offset
            self.skipped["ip_fragment"] += 1
            return None
        src = str(IPv4Address(frame[pos + 12 : pos + 16]))
        dst = str(IPv4Address(frame[pos + 16 : pos + 20]))
        # The IP total length, not the frame length: Ethernet pads short frames.
        end = pos + total_length if total_length else len(frame)
        return self._udp(ts_ns, frame[pos + header_length : end], src, dst)

    def _ipv6(self, ts_ns: int, frame: bytes, pos: int) -> UdpDatagram | None:
        if len(frame) < pos + 40 or frame[pos] >> 4 != 6:
            self.skipped["bad_ipv6"] += 1
            return None
        if frame[pos + 6] != 17:  # extension headers are not followed
            self.skipped["not_udp"] += 1
            return None
        payload_length = int.from_bytes(frame[pos + 4 : pos + 6], "big")
        src = str(IPv6Address(frame[pos + 8 : pos + 24]))
        dst = str(IPv6Address(frame[pos + 24 : pos + 40]))
        return self._udp(ts_ns, frame[pos + 40 : pos + 40 + payload_length], src, dst)

    def _udp(self, ts_ns: int, segment: bytes, src: str, dst: str) -> UdpDatagram | None:
        if len(segment) < 8:
            self.skipped["bad_udp"] += 1
            return None
        src_port, dst_port, length = struct.unpack_from(">HHH", segment)
        if length < 8 or length > len(segment):
            self.skipped["udp_truncated"] += 1
            return None
        return UdpDatagram(ts_ns, src, src_port, dst, dst_port, segment[8:length])


def read_udp(path: str | Path) -> Iterator[UdpDatagram]:
    """The UDP datagrams of the capture at ``path``, in file order."""
    with open(path, "rb") as stream:
        yield from PcapReader(stream)
