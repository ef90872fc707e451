"""Stream framers: however TCP cuts the bytes, the same messages come out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.protocols.fix.encoder import FixEncoder
from ingest.sources.framing import LengthPrefixFramer, LineFramer, make_framer
from ingest.sources.tcp import frame_outgoing
from pipelines.events import Trade

MESSAGES = [b"", b"a", b'{"type":"trade"}', bytes(range(256)), b"x" * 70_000]


def feed_in_pieces(framer: object, data: bytes, cuts: list[int]) -> list[bytes]:
    out: list[bytes] = []
    position = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        out += framer.feed(data[position:cut])  # type: ignore[attr-defined]
        position = max(position, cut)
    return out


@given(st.lists(st.integers(0, 80_000), max_size=20))
def test_length_prefix_u32_survives_any_chunking(cuts: list[int]) -> None:
    data = b"".join(frame_outgoing("length", m, 4) for m in MESSAGES)
    framer = LengthPrefixFramer(4)
    assert feed_in_pieces(framer, data, cuts) == MESSAGES
    assert framer.pending == 0


def test_length_prefix_u16_and_byte_by_byte() -> None:
    messages = [b"8=FIX", b"hello", b"z" * 65_535]
    data = b"".join(frame_outgoing("length", m, 2) for m in messages)
    assert data[:2] == b"\x00\x05"
    framer = LengthPrefixFramer(2)
    assert feed_in_pieces(framer, data, list(range(len(data)))) == messages


def test_an_inclusive_prefix_counts_itself() -> None:
    framer = LengthPrefixFramer(2, inclusive=True)
    assert framer.feed(b"\x00\x05abc\x00\x02") == [b"abc", b""]


def test_a_length_beyond_the_limit_drops_the_buffer_and_is_counted() -> None:
    framer = LengthPrefixFramer(4, max_message=100)
    assert framer.feed(b"\x00\x00\x10\x00garbage") == []
    assert framer.errors == 1 and framer.pending == 0
    assert framer.feed(b"\x00\x00\x00\x02ok") == [b"ok"]


def test_width_must_be_two_or_four() -> None:
    with pytest.raises(ValueError):
        LengthPrefixFramer(3)


@given(st.lists(st.integers(0, 200), max_size=30))
def test_lines_survive_any_chunking(cuts: list[int]) -> None:
    data = b'{"a":1}\r\n\n{"b":2}\n  partial'
    framer = LineFramer()
    assert feed_in_pieces(framer, data, cuts) == [b'{"a":1}', b'{"b":2}']
    assert framer.feed(b" end\n") == [b"  partial end"]


def test_an_overlong_line_is_dropped_up_to_its_newline() -> None:
    framer = LineFramer(max_message=10)
    assert framer.feed(b"y" * 11) == []
    assert framer.errors == 1
    assert framer.feed(b"yyy\nnext\n") == [b"next"]


def test_fix_framing_cuts_by_body_length() -> None:
    encoder = FixEncoder(clock=lambda: 1_700_000_000_000_000_000)
    trade = Trade(stream="s", symbol="ES", price=500025, size=3, price_decimals=2)
    messages = [encoder.encode([trade]) for _ in range(3)]
    framer = make_framer("fix")
    data = b"".join(messages)
    assert feed_in_pieces(framer, b"noise" + data, [7, 50, 51, 120]) == messages


def test_unknown_framing_is_refused() -> None:
    with pytest.raises(ValueError):
        make_framer("xml")  # type: ignore[arg-type]
