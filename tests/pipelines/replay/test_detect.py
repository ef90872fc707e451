"""Input formats are detected from the content, never from the file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.replay import CaptureFile, derive_stream, detect_format


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("sbe/cme-mdp3/v8_samples/MdIncrementalRefreshVolume.pcap", "pcap"),
        ("sbe/cme-mdp3/v9_samples/MdIncrementalRefreshBook.pcap", "pcap"),
        ("ws/binance-spot/BINANCE.ws.1.0", "ws_capture"),
        ("ws/binance-spot/BINANCE.http.0.0", "ws_capture"),
        ("ws/kraken/KRAKEN.ws.50.0", "ws_capture"),
        ("fix/cme-secdef/200secdef.cme.txt", "fix"),  # DataMine lines start at 1128=, no 8=
        ("sbe/reallogic-car/car_example_baseline_data.sbe", "lines"),
    ],
)
def test_shared_captures(shared_data: Path, relative: str, expected: str) -> None:
    assert CaptureFile(shared_data / relative).format == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a", "pcap"),  # pcapng section header
        (b"\xa1\xb2\x3c\x4d" + bytes(20), "pcap"),  # big-endian, nanoseconds
        (b'1633998512.0633569: {"stream":"x"}\n', "ws_capture"),
        (b'\n{"e":"trade"}\n', "ndjson"),
        (b'[1,{"a":[]},"book-10","XBT/USD"]\n', "ndjson"),
        (b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01\n", "fix"),
        (b"8=FIX.4.4|9=5|35=0|10=000|\n", "fix"),
        (b"35=X|268=1|279=0\n", "fix"),
        (b"timestamp,symbol,price\n", "csv"),
        (b"T\tACME\t1.5\n", "csv"),
        (b"hello world\n", "lines"),
        (b"\x00\xff\x13garbage\n", "lines"),
        (b"", "lines"),
    ],
)
def test_detection_rules(head: bytes, expected: str) -> None:
    assert detect_format(head) == expected


@pytest.mark.parametrize(
    ("name", "stream"),
    [
        ("BINANCE.ws.1.0", "binance"),
        ("/data/KRAKEN.ws.50.0", "kraken"),
        ("MdIncrementalRefreshBook.pcap", "mdincrementalrefreshbook"),
        ("my feed (A).pcapng", "my_feed_a"),
        (".hidden", "replay"),
    ],
)
def test_stream_id_from_the_file_name(name: str, stream: str) -> None:
    assert derive_stream(name) == stream
