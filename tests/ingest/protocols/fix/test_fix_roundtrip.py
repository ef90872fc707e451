"""Encoder ↔ decoder: encode → decode gives the same events; any bytes give events or a
DecodeError, never another exception; streams split anywhere frame back into the messages."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.protocols.base import DecodeError
from ingest.protocols.fix import FixDecoder, FixEncoder, FixFramer, FixParams, iter_lines
from pipelines.events import (
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Statistic,
    Status,
    Trade,
)

TS = 1_700_000_000_123_456_789


def sample_events() -> list[Event]:
    common = {"stream": "sim", "ts_recv": 7}
    return [
        Instrument(
            **common,
            symbol="ESZ4",
            seq=1,
            venue_seq=1,
            ts_exchange=TS,
            tick_size=25,
            price_decimals=2,
            # CME's convention: the instrument in SecurityDesc (107), the product code in 55.
            venue_ids={"security_id": "123", "exchange": "XCME", "symbol": "ES"},
        ),
        Instrument(
            **common,
            symbol="AAPL",
            seq=2,
            venue_seq=2,
            ts_exchange=TS,
            tick_size=1,
            price_decimals=2,
            venue_ids={"security_id": "037833100", "exchange": "XNAS"},
            description="Apple Inc.",
        ),
        BookSnapshot(
            **common,
            symbol="ESZ4",
            seq=3,
            venue_seq=2,
            ts_exchange=TS + 1,
            bids=[(450025, 3), (450000, 1)],
            asks=[(450050, 4)],
            price_decimals=2,
        ),
        BookDelta(
            **common,
            symbol="ESZ4",
            seq=4,
            venue_seq=3,
            ts_exchange=TS + 2,
            side="bid",
            price=450025,
            size=5,
            action="change",
            level=1,
            batch_end=False,
            price_decimals=2,
        ),
        BookDelta(
            **common,
            symbol="ESZ4",
            seq=5,
            venue_seq=4,
            ts_exchange=TS + 2,
            side="ask",
            price=450075,
            size=2,
            action="new",
            level=2,
            implied=True,
            batch_end=True,
            price_decimals=2,
        ),
        Trade(
            **common,
            symbol="ESZ4",
            seq=6,
            venue_seq=5,
            ts_exchange=TS + 3,
            price=450050,
            size=1,
            price_decimals=2,
            side="buy",
            trade_id="T1",
        ),
        Statistic(
            **common,
            symbol="ESZ4",
            seq=7,
            venue_seq=6,
            ts_exchange=TS + 3,
            name="high",
            value=450100,
            decimals=2,
        ),
        Statistic(
            **common,
            symbol="ESZ4",
            seq=8,
            venue_seq=7,
            ts_exchange=TS + 3,
            name="open_interest",
            value=987654,
        ),
        Status(
            **common,
            symbol="ESZ4",
            seq=9,
            venue_seq=8,
            ts_exchange=TS + 4,
            state="HALT",
            reason="news pending",
        ),
    ]


def dictionary_params(fix_data: Path, version: str) -> FixParams:
    folder = fix_data / "quickfix-dict"
    if version == "FIXT.1.1":
        return FixParams(
            dictionary=str(folder / "FIX50SP2.xml"), transport_dictionary=str(folder / "FIXT11.xml")
        )
    return FixParams(dictionary=str(folder / f"FIX{version[4]}{version[6]}.xml"))


@pytest.mark.parametrize("version", ["FIX.4.2", "FIX.4.4", "FIXT.1.1"])
def test_round_trip_with_each_dictionary(fix_data: Path, version: str) -> None:
    events = sample_events()
    messages = FixEncoder(version).encode_messages(events)
    decoder = FixDecoder("sim", dictionary_params(fix_data, version))
    assert [event for m in messages for event in decoder.decode(m, ts_recv=7)] == events


def test_round_trip_without_a_dictionary_and_through_the_framer() -> None:
    events = sample_events()
    stream = FixEncoder("FIX.4.4").encode(events)
    framer = FixFramer()
    messages = [
        m for start in range(0, len(stream), 37) for m in framer.feed(stream[start : start + 37])
    ]
    assert framer.pending == 0
    decoder = FixDecoder("sim")
    assert [event for m in messages for event in decoder.decode(m, ts_recv=7)] == events


def test_encoded_messages_have_correct_length_and_checksum() -> None:
    message = FixEncoder("FIX.4.4", "S", "T").encode_messages(sample_events()[:1])[0]
    body = message[message.index(b"\x0135=") + 1 : message.rindex(b"10=")]
    assert b"\x019=%d\x01" % len(body) in message
    assert message.endswith(b"10=%03d\x01" % (sum(message[:-7]) % 256))
    assert message.startswith(b"8=FIX.4.4\x01")


def test_encoder_refuses_events_fix_cannot_carry() -> None:
    with pytest.raises(ValueError):
        FixEncoder().encode([Status(stream="s", symbol="A", state="SYNCING")])


prices = st.integers(min_value=0, max_value=10**12)
sizes = st.integers(min_value=0, max_value=10**9)
symbols = st.sampled_from(["ESZ4", "NQH5", "GEZ4 C9862", "BTC/USD"])


@st.composite
def batches(draw: st.DrawFn) -> list[Event]:
    """Events the encoder can carry exactly: one scale per symbol, non-zero times."""
    price_decimals = draw(st.integers(min_value=0, max_value=8))
    events: list[Event] = []
    ts = TS
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        ts += draw(st.integers(min_value=0, max_value=2))
        common = {
            "stream": "p",
            "symbol": draw(symbols),
            "seq": len(events) + 1,
            "ts_recv": 1,
            "ts_exchange": ts,
            "venue_seq": draw(st.integers(1, 2**40)),
        }
        kind = draw(st.sampled_from(["delta", "trade", "stat"]))
        if kind == "delta":
            events.append(
                BookDelta(
                    **common,
                    side=draw(st.sampled_from(["bid", "ask"])),
                    price=draw(prices),
                    size=draw(sizes),
                    action=draw(st.sampled_from(["new", "change", "delete"])),
                    level=draw(st.integers(0, 10)),
                    implied=draw(st.booleans()),
                    batch_end=True,
                    price_decimals=price_decimals,
                )
            )
        elif kind == "trade":
            events.append(
                Trade(
                    **common,
                    price=draw(prices),
                    size=draw(sizes),
                    price_decimals=price_decimals,
                    side=draw(st.sampled_from(["buy", "sell", ""])),
                )
            )
        else:
            events.append(
                Statistic(**common, name="vwap", value=draw(prices), decimals=price_decimals)
            )
    return events


@given(batches())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_property(events: list[Event]) -> None:
    messages = FixEncoder("FIX.4.4").encode_messages(events)
    decoder = FixDecoder("p")
    decoded = [event for m in messages for event in decoder.decode(m, ts_recv=1)]
    # Symbols sharing one message share its scale; compare at the decoded scale.
    assert len(decoded) == len(events)
    for original, back in zip(events, decoded, strict=True):
        assert type(original) is type(back)
        assert (back.seq, back.symbol, back.venue_seq, back.ts_exchange) == (
            original.seq,
            original.symbol,
            original.venue_seq,
            original.ts_exchange,
        )
        if isinstance(original, BookDelta | Trade):
            assert isinstance(back, BookDelta | Trade)
            assert (
                back.price * 10**original.price_decimals == original.price * 10**back.price_decimals
            )
            assert back.size == original.size


@given(st.binary(max_size=400))
@settings(max_examples=400)
def test_arbitrary_bytes_give_events_or_decode_error(data: bytes) -> None:
    for decoder in (
        FixDecoder("f"),
        FixDecoder("f", FixParams(validate_checksum=False, validate_body_length=False)),
    ):
        with contextlib.suppress(DecodeError):
            decoder.decode(data, 0)


FIELDS = st.sampled_from(
    [
        b"8=FIX.4.4",
        b"9=12",
        b"35=X",
        b"35=W",
        b"35=d",
        b"35=f",
        b"268=2",
        b"268=x",
        b"279=0",
        b"279=9",
        b"269=0",
        b"269=1",
        b"269=2",
        b"269=B",
        b"269=J",
        b"269=E",
        b"270=1.5",
        b"270=-",
        b"270=1e5",
        b"271=3",
        b"1023=x",
        b"83=5",
        b"55=A",
        b"48=1",
        b"52=20240102-13:30:00",
        b"52=bad",
        b"60=20240102",
        b"273=13:30:00",
        b"326=2",
        b"969=0.25",
        b"555=1",
        b"600=L",
        b"10=000",
        b"=",
        b"",
        b"9999=\xff",
    ]
)


@given(st.lists(FIELDS, max_size=25))
@settings(max_examples=600)
def test_field_soup_gives_events_or_decode_error(fields: list[bytes]) -> None:
    data = b"\x01".join(fields) + b"\x01"
    decoder = FixDecoder("f", FixParams(validate_checksum=False, validate_body_length=False))
    try:
        events = decoder.decode(data, 0)
    except DecodeError:
        return
    assert all(event.seq > 0 for event in events)


def test_framer_resyncs_after_garbage_and_bad_lengths() -> None:
    encoder = FixEncoder()
    one, two = encoder.encode_messages(sample_events()[:2])
    broken = one.replace(b"\x019=", b"\x019=9", 1)  # BodyLength now lies
    framer = FixFramer()
    out = framer.feed(b"noise\x01" + broken + b"xx" + two[:10])
    out += framer.feed(two[10:])
    assert out == [two]
    assert framer.skipped_bytes > 0


def test_iter_lines() -> None:
    assert list(iter_lines(b"a\x01\r\n\nb\x01\n")) == [b"a\x01", b"b\x01"]


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
@settings(max_examples=300)
def test_framer_never_raises_and_keeps_good_messages(noise: bytes, chunk: int) -> None:
    good = FixEncoder().encode(sample_events()[:3])
    stream = noise + good
    framer = FixFramer()
    out = [
        m
        for start in range(0, len(stream), chunk)
        for m in framer.feed(stream[start : start + chunk])
    ]
    assert all(m.startswith(b"8=FIX") and m.endswith(b"\x01") for m in out)
