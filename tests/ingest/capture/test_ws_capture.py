"""The timestamped capture text of shared/data/ws: records, exact times, detection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.capture.ws_capture import (
    WsCaptureReader,
    decode_ws_captures,
    is_ws_capture,
    parse_ts_ns,
    read_ws_capture,
)
from ingest.protocols.base import DecodeError
from pipelines.events import Event, Metric


@pytest.fixture(scope="module")
def ws_data(shared_data: Path) -> Path:
    return shared_data / "ws"


def test_binance_capture(ws_data: Path) -> None:
    records = list(read_ws_capture(ws_data / "binance-spot" / "BINANCE.ws.1.0"))
    directions = Counter(record.direction for record in records)
    assert directions["recv"] == 265
    first = records[0]
    assert first.direction == "open" and first.payload == b""
    assert first.url.startswith("wss://stream.binance.com:9443/stream?streams=nknusdt@depth@100ms")
    assert first.ts_recv_ns == 1633998511159679000
    frame = records[1]
    assert frame.url == first.url  # a received frame belongs to the open connection
    assert frame.ts_recv_ns == 1633998512063356900
    assert frame.payload.startswith(b'{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate"')
    assert frame.payload.endswith(b"}}")


def test_rest_snapshots(ws_data: Path) -> None:
    records = list(read_ws_capture(ws_data / "binance-spot" / "BINANCE.http.0.0"))
    assert [record.direction for record in records] == ["http"] * 4
    assert records[0].url == "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000"
    assert records[0].payload.startswith(b'{"lastUpdateId":499869752,')


def test_kraken_capture_with_sent_subscribe(ws_data: Path) -> None:
    records = list(read_ws_capture(ws_data / "kraken" / "KRAKEN.ws.50.0"))
    sent = [record for record in records if record.direction == "send"]
    assert len(sent) == 1 and sent[0].url == "wss://ws.kraken.com"
    assert sent[0].payload.startswith(b'{"event":"subscribe"')
    assert sum(1 for record in records if record.direction == "recv") > 4279


def test_detection(ws_data: Path) -> None:
    for path in ws_data.glob("*/*.[0-9]"):
        assert is_ws_capture(path.read_bytes()[:4096]), path
    assert not is_ws_capture(b"8=FIX.4.4\x019=12\x01")
    assert not is_ws_capture(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00")
    assert not is_ws_capture(b"price,size\n1,2\n")
    assert not is_ws_capture(b'{"a": 1}\n')


def test_malformed_lines_are_counted_not_fatal() -> None:
    reader = WsCaptureReader(
        [
            b"wss://x <-> 1600000000.5\n",
            b"garbage\n",
            b"1600000001: {}\n",
            b"1600000001 no separator\n",
            b"\n",
        ]
    )
    records = list(reader)
    assert [(r.direction, r.url, r.payload) for r in records] == [
        ("open", "wss://x", b""),
        ("recv", "wss://x", b"{}"),
    ]
    assert reader.malformed == 2


def test_times_are_exact() -> None:
    assert parse_ts_ns("1633998512.0633569") == 1633998512063356900
    assert parse_ts_ns(b"1633998512") == 1633998512000000000
    with pytest.raises(ValueError):
        parse_ts_ns("12:30")


class _Recorder:
    """A decoder that names what it was given, and rejects frames holding ``bad``."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        if b"bad" in data:
            raise DecodeError("bad_json", "test")
        self.calls.append(f"frame@{ts_recv}")
        return [Metric(stream="s", symbol="x", ts_recv=ts_recv, name="frame", value=1.0)]

    def apply_snapshot(self, url: str, body: bytes, ts_recv: int) -> list[Event]:
        self.calls.append(f"snapshot@{ts_recv}")
        return []


def test_decode_ws_captures_merges_files_by_receive_time(tmp_path: Path) -> None:
    stream = tmp_path / "X.ws.0"
    stream.write_bytes(
        b"wss://x <-> 1600000000.0\n"
        b'wss://x <- 1600000000.1: {"subscribe": 1}\n'
        b'1600000001.0: {"a": 1}\n'
        b'1600000003.0: {"bad": 1}\n'
        b'1600000004.0: {"a": 2}\n'
    )
    snapshots = tmp_path / "X.http.0"
    snapshots.write_bytes(b'https://x/depth -> 1600000002.0: {"bids": []}\n')
    decoder = _Recorder()
    batches = list(decode_ws_captures(decoder, [stream, snapshots]))
    # Opens and sent frames are not decoded; the rejected frame is skipped, not fatal.
    assert decoder.calls == [
        "frame@1600000001000000000",
        "snapshot@1600000002000000000",
        "frame@1600000004000000000",
    ]
    assert [len(batch) for batch in batches] == [1, 0, 1]
