"""pcap/pcapng reading: synthetic captures of every supported shape, plus the real CME files."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from ingest.capture import CaptureError, PcapReader, UdpDatagram, is_pcap, read_udp

PAYLOAD = b"hello market"


def udp(payload: bytes = PAYLOAD, sport: int = 1000, dport: int = 2000) -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(segment: bytes, protocol: int = 17, fragment: int = 0) -> bytes:
    header = struct.pack(
        ">BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(segment),
        1,
        fragment,
        64,
        protocol,
        0,
        bytes([10, 0, 0, 1]),
        bytes([224, 0, 31, 11]),
    )
    return header + segment


def ipv6(segment: bytes) -> bytes:
    src, dst = b"\x20\x01" + b"\0" * 13 + b"\x01", b"\xff\x02" + b"\0" * 13 + b"\x02"
    return struct.pack(">IHBB", 6 << 28, len(segment), 17, 64) + src + dst + segment


def ethernet(packet: bytes, vlans: int = 0, ether_type: int = 0x0800) -> bytes:
    tags = b"".join(struct.pack(">HH", 0x8100, 100 + i) for i in range(vlans))
    return b"\x01" * 6 + b"\x02" * 6 + tags + struct.pack(">H", ether_type) + packet + b"\0" * 6


def pcap(frames: list[bytes], link_type: int = 1, order: str = "<", nanos: bool = False) -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, link_type)
    for i, frame in enumerate(frames):
        out += struct.pack(order + "IIII", 1_700_000_000 + i, 123, len(frame), len(frame)) + frame
    return out


def pcapng_block(block_type: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", block_type, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def pcapng(frames: list[bytes], tsresol: int | None = None) -> bytes:
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = b""
    if tsresol is not None:
        options = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    idb = pcapng_block(1, struct.pack("<HHI", 1, 0, 65535) + options)
    out = shb + idb + pcapng_block(4, b"name resolution, skipped")
    for frame in frames:
        ticks = 1_700_000_000_123_456
        epb = struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame))
        out += pcapng_block(6, epb + frame)
    out += pcapng_block(3, struct.pack("<I", len(frames[0])) + frames[0])
    return out


def datagrams(data: bytes) -> tuple[list[UdpDatagram], PcapReader]:
    reader = PcapReader(io.BytesIO(data))
    return list(reader), reader


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nanos", [False, True])
def test_classic_pcap_both_orders_and_resolutions(order: str, nanos: bool) -> None:
    found, _ = datagrams(pcap([ethernet(ipv4(udp()))], order=order, nanos=nanos))
    assert found == [
        UdpDatagram(
            1_700_000_000 * 10**9 + (123 if nanos else 123_000),
            "10.0.0.1",
            1000,
            "224.0.31.11",
            2000,
            PAYLOAD,
        )
    ]


def test_link_layers() -> None:
    sll = b"\0\0\0\1\0\6" + b"\0" * 8 + struct.pack(">H", 0x0800)
    sll2 = struct.pack(">HHIHBB", 0x0800, 0, 2, 1, 0, 6) + b"\0" * 8
    cases = {
        1: ethernet(ipv4(udp()), vlans=2),  # QinQ
        113: sll + ipv4(udp()),
        276: sll2 + ipv4(udp()),
        101: ipv4(udp()),
        0: struct.pack("<I", 2) + ipv4(udp()),
    }
    for link_type, frame in cases.items():
        found, _ = datagrams(pcap([frame], link_type=link_type))
        assert [d.payload for d in found] == [PAYLOAD], link_type
    (six,), _ = datagrams(pcap([ethernet(ipv6(udp()), ether_type=0x86DD)]))
    assert (six.src, six.dst, six.payload) == ("2001::1", "ff02::2", PAYLOAD)


def test_non_udp_frames_are_counted_and_skipped() -> None:
    frames = [
        ethernet(ipv4(udp(), protocol=6)),  # TCP
        ethernet(ipv4(udp(), fragment=0x2000)),  # more fragments follow
        ethernet(b"\0" * 28, ether_type=0x0806),  # ARP
        ethernet(ipv4(udp(b"ok"))),
    ]
    found, reader = datagrams(pcap(frames))
    assert [d.payload for d in found] == [b"ok"]
    assert reader.frames == 4
    assert reader.skipped == {"not_udp": 1, "ip_fragment": 1, "not_ip": 1}


@pytest.mark.parametrize(
    ("tsresol", "ts_ns"), [(None, 1_700_000_000_123_456_000), (9, 1_700_000_000_123_456)]
)
def test_pcapng(tsresol: int | None, ts_ns: int) -> None:
    found, reader = datagrams(pcapng([ethernet(ipv4(udp()))] * 2, tsresol))
    assert [d.payload for d in found] == [PAYLOAD] * 3  # two EPBs and one SPB
    assert [d.ts_ns for d in found] == [ts_ns, ts_ns, 0]
    assert reader.skipped == {"pcapng_block_4": 1}


def test_is_pcap_and_errors() -> None:
    assert is_pcap(pcap([]))
    assert is_pcap(pcapng([ethernet(ipv4(udp()))]))
    assert not is_pcap(b'{"json": 1}')
    with pytest.raises(CaptureError, match="not a pcap"):
        datagrams(b"8=FIX.4.4\x01")
    with pytest.raises(CaptureError, match="truncated"):
        datagrams(pcap([ethernet(ipv4(udp()))])[:-3])


def test_real_cme_captures(shared_data: Path) -> None:
    root = shared_data / "sbe" / "cme-mdp3"
    counts = {p.name: len(list(read_udp(p))) for p in sorted(root.glob("v8_samples/*.pcap"))}
    assert counts == {
        "MdIncrementalRefreshSessionStatistics.pcap": 356,
        "MdIncrementalRefreshTradeSummary.pcap": 1,
        "MdIncrementalRefreshVolume.pcap": 112,
    }
    first = next(read_udp(root / "v9_samples" / "MdIncrementalRefreshBook.pcap"))
    assert (first.src, first.src_port, first.dst, first.dst_port) == (
        "69.50.112.95",
        14361,
        "224.0.28.20",
        14361,
    )
    assert first.ts_ns == 1536760535679530000 and len(first.payload) == 1196
