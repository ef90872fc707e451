"""A/B arbitration, packet and RptSeq gaps, level actions and schema evolution, on packets built
with the SBE encoder from CME's own schemas."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ingest.capture import read_udp
from ingest.protocols.base import DecodeError
from ingest.protocols.cme_mdp3 import CmeMdp3Decoder, CmeMdp3Params, PacketArbiter
from ingest.protocols.sbe import SbeCodec, load_schema
from pipelines.events import BookDelta, Event, Statistic, Status

SECURITY = 4242


@pytest.fixture(scope="module")
def cme(shared_data: Path) -> Path:
    return shared_data / "sbe" / "cme-mdp3"


@pytest.fixture(scope="module")
def v9(cme: Path) -> SbeCodec:
    return SbeCodec(load_schema(cme / "templates_FixBinary_v9.xml"))


def packet(seq: int, *messages: bytes) -> bytes:
    body = b"".join(struct.pack("<H", len(m) + 2) + m for m in messages)
    return struct.pack("<IQ", seq, 1_000 + seq) + body


def volume(codec: SbeCodec, rpt_seq: int, security: int = SECURITY) -> bytes:
    entry = {
        "MDEntrySize": 10,
        "SecurityID": security,
        "RptSeq": rpt_seq,
        "MDUpdateAction": "New",
    }
    return codec.encode(
        "MDIncrementalRefreshVolume37",
        {"TransactTime": 5, "MatchEventIndicator": set(), "NoMDEntries": [entry]},
    )


def book(codec: SbeCodec, name: str, *entries: tuple[int, str, str, int, int]) -> bytes:
    rows = [
        {
            "MDEntryPx": {"mantissa": price},
            "MDEntrySize": size,
            "SecurityID": SECURITY,
            "RptSeq": rpt,
            "MDPriceLevel": level,
            "MDUpdateAction": action,
            "MDEntryType": entry_type,
        }
        for rpt, action, entry_type, level, price, size in (
            (e[0], e[1], e[2], e[3], e[4], 5) for e in entries
        )
    ]
    return codec.encode(
        name, {"TransactTime": 7, "MatchEventIndicator": {"EndOfEvent"}, "NoMDEntries": rows}
    )


def decoder(cme: Path, **options: object) -> CmeMdp3Decoder:
    return CmeMdp3Decoder(
        "s", CmeMdp3Params(schema=str(cme / "templates_FixBinary_v9.xml"), **options)
    )


def feed(dec: CmeMdp3Decoder, packets: list[bytes]) -> list[Event]:
    out: list[Event] = []
    for data in packets:
        out.extend(dec.decode(data, 0))
    return out


def test_each_packet_twice_equals_once(cme: Path) -> None:
    capture = cme / "v9_samples" / "MdIncrementalRefreshTradeSummary.pcap"
    payloads = [d.payload for d in read_udp(capture)]
    once = feed(decoder(cme), payloads)
    doubled = decoder(cme)
    twice = feed(doubled, [p for p in payloads for _ in (0, 1)])
    assert twice == once
    assert doubled.arbiter.duplicates == len(payloads)


def test_first_copy_wins_and_a_lost_copy_costs_nothing(cme: Path, v9: SbeCodec) -> None:
    a = {seq: packet(seq, volume(v9, seq)) for seq in range(1, 6)}
    b = dict(a)
    del a[3]  # feed A lost packet 3; B's copy arrives in its usual place
    arrivals = [a[1], b[1], a[2], b[2], b[3], a[4], b[4], a[5], b[5]]
    dec = decoder(cme)
    events = feed(dec, arrivals)
    assert [e.venue_seq for e in events] == [1, 2, 3, 4, 5]
    assert all(isinstance(e, Statistic) for e in events)  # no gap reported
    assert dec.arbiter.duplicates == 4 and dec.arbiter.gaps == 0


def test_a_late_copy_still_fills_its_instruments(cme: Path, v9: SbeCodec) -> None:
    other = SECURITY + 1
    packets = {1: volume(v9, 1), 2: volume(v9, 1, other), 3: volume(v9, 2)}
    dec = decoder(cme)
    # Packet 2 is late on both feeds: the gap is reported, then the late copy is still used,
    # since the instrument it carries had not moved on.
    events = feed(dec, [packet(1, packets[1]), packet(3, packets[3]), packet(2, packets[2])])
    assert [(type(e).__name__, e.symbol) for e in events] == [
        ("Statistic", str(SECURITY)),
        ("Status", "_feed"),
        ("Statistic", str(SECURITY)),
        ("Statistic", str(other)),
    ]
    assert dec.arbiter.late == 1 and dec.arbiter.duplicates == 0


def test_packet_gap_is_reported(cme: Path, v9: SbeCodec) -> None:
    dec = decoder(cme)
    events = feed(dec, [packet(1, volume(v9, 1)), packet(4, volume(v9, 2))])
    gaps = [e for e in events if isinstance(e, Status)]
    assert [(g.symbol, g.state, g.reason, g.venue_seq) for g in gaps] == [
        ("_feed", "GAP", "MsgSeqNum expected 2 received 4", 4)
    ]
    assert dec.arbiter.gaps == 1 and dec.arbiter.missing_packets == 2


def test_rpt_seq_gap_across_message_types(cme: Path, v9: SbeCodec) -> None:
    dec = decoder(cme)
    events = feed(
        dec,
        [
            packet(1, volume(v9, 1)),
            packet(2, book(v9, "MDIncrementalRefreshBook46", (2, "New", "Bid", 1, 100))),
            packet(3, volume(v9, 4)),  # RptSeq 3 never came
        ],
    )
    gaps = [e for e in events if isinstance(e, Status)]
    assert [(g.symbol, g.reason, g.venue_seq) for g in gaps] == [
        (str(SECURITY), "RptSeq expected 3 received 4", 4)
    ]
    assert dec.rpt_seq_gaps == 1
    assert isinstance(events[-1], Statistic)  # the entry after the gap is still delivered


def test_sequence_reset_starts_over() -> None:
    arbiter = PacketArbiter(window=10)
    assert [arbiter.accept(s) for s in (100, 101, 101, 1, 2)] == [0, 0, -1, 0, 0]
    assert arbiter.resets == 1


def test_level_actions_become_price_deltas(cme: Path, v9: SbeCodec) -> None:
    dec = decoder(cme)
    name = "MDIncrementalRefreshBook46"
    events = feed(
        dec,
        [
            packet(1, book(v9, name, (1, "New", "Bid", 1, 100), (2, "New", "Bid", 1, 101))),
            packet(2, book(v9, name, (3, "New", "Bid", 3, 99), (4, "Overlay", "Bid", 1, 102))),
            packet(3, book(v9, name, (5, "DeleteFrom", "Bid", 2, 0))),
        ],
    )
    deltas = [(e.price, e.action) for e in events if isinstance(e, BookDelta)]
    assert deltas == [
        (100, "new"),
        (101, "new"),
        (99, "new"),
        (101, "delete"),  # overlay at level 1 replaces 101 by 102
        (102, "new"),
        (100, "delete"),  # delete from level 2: 100 and 99
        (99, "delete"),
    ]
    batch_ends = [e.batch_end for e in events if isinstance(e, BookDelta)]
    assert batch_ends == [False, True, False, False, True, False, True]


def test_new_level_pushes_the_last_out_of_the_implied_depth(cme: Path, v9: SbeCodec) -> None:
    name = "MDIncrementalRefreshBook46"
    entries = [(i + 1, "New", "ImpliedOffer", 1, 200 - i) for i in range(3)]
    events = feed(decoder(cme), [packet(1, book(v9, name, *entries))])
    deltas = [(e.price, e.action, e.implied) for e in events if isinstance(e, BookDelta)]
    # Implied depth is 2: the third New pushes the worst implied offer (200) out.
    assert deltas[-1] == (200, "delete", True)


def test_v6_data_reads_with_the_v9_schema(cme: Path) -> None:
    v6 = SbeCodec(load_schema(cme / "templates_FixBinary_v6.xml"))
    message = book(v6, "MDIncrementalRefreshBook32", (1, "New", "Offer", 1, 1_234_500_000))
    assert struct.unpack_from("<HHHH", message)[3] == 6
    events = feed(decoder(cme), [packet(1, message)])
    (delta,) = events
    assert isinstance(delta, BookDelta)
    assert (delta.side, delta.price, delta.price_decimals) == ("ask", 1_234_500_000, 7)


def test_broken_framing_raises_and_does_not_consume_the_sequence(cme: Path, v9: SbeCodec) -> None:
    dec = decoder(cme)
    good = packet(1, volume(v9, 1))
    with pytest.raises(DecodeError, match="bad_framing"):
        dec.decode(good[:-3], 0)
    with pytest.raises(DecodeError, match="short_packet"):
        dec.decode(b"\x01\x02", 0)
    assert len(dec.decode(good, 0)) == 1  # the other feed's intact copy still wins


def test_unknown_template_is_skipped_by_msg_size(cme: Path, v9: SbeCodec) -> None:
    dec = decoder(cme)
    alien = struct.pack("<HHHH", 4, 999, 1, 9) + b"\0" * 4
    events = dec.decode(packet(1, alien, volume(v9, 1)), 0)
    assert len(events) == 1 and dec.errors["unknown_template"] == 1
