"""Kraken v1 book-1000 through ingest/mappings/kraken.toml: every feed checksum must match.

Two independent checks: the decoder verifies each ``c`` against its own book view (a mismatch
would be a RESYNC Status and a counted mismatch), and this test rebuilds every book from the
emitted events with the data plane's ``pipelines.core.book.Book`` and computes Kraken's CRC32
from decimal strings, as Kraken documents it.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.capture.ws_capture import CaptureRecord
from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines.core.book import Book
from pipelines.events import BookDelta, BookSnapshot, Status, format_scaled

Records = Callable[[list[Path]], list[CaptureRecord]]


@pytest.fixture(scope="module")
def capture(ws_data: Path) -> Path:
    return ws_data / "kraken" / "KRAKEN.ws.50.0"


def kraken_checksum(book: Book) -> int:
    """Kraken's documented checksum: top 10 asks then top 10 bids, '.' removed, zeros stripped."""
    bids, asks = book.top(10)
    text = ""
    for price, size in asks + bids:
        for value, decimals in ((price, book.price_decimals), (size, book.size_decimals)):
            text += format_scaled(value, decimals).replace(".", "").lstrip("0")
    return zlib.crc32(text.encode())


def test_every_checksum_matches(capture: Path, capture_records: Records) -> None:
    decoder = MappedJsonDecoder("kraken", MappedParams(mapping="kraken"))
    books: dict[str, Book] = {}
    checked = 0
    kinds: Counter[str] = Counter()
    for record in capture_records([capture]):
        if record.direction != "recv":
            continue
        events = decoder.decode(record.payload, record.ts_recv_ns)
        kinds.update(type(event).__name__ for event in events)
        for event in events:
            if isinstance(event, BookSnapshot):
                book = books[event.symbol] = Book(
                    "kraken", event.symbol, event.price_decimals, event.size_decimals
                )
                for price, size in event.bids:
                    book.bids.set(price, size)
                for price, size in event.asks:
                    book.asks.set(price, size)
            elif isinstance(event, BookDelta):
                books[event.symbol].apply(event)
        frame = json.loads(record.payload)
        if isinstance(frame, list) and "c" in frame[-3]:
            assert events and getattr(events[-1], "batch_end", True)
            assert kraken_checksum(books[frame[-1]]) == int(frame[-3]["c"]), frame
            checked += 1
    assert checked == 4269
    assert decoder.stats.checksums == 4269
    assert decoder.stats.checksum_mismatches == 0
    assert kinds["BookSnapshot"] == 10
    assert kinds["Status"] == 10  # LIVE once per pair; never RESYNC
    assert decoder.stats.ignored == 42  # heartbeats, systemStatus, subscriptionStatus


def test_update_with_two_objects() -> None:
    decoder = MappedJsonDecoder("kraken", MappedParams(mapping="kraken", verify_checksum=False))
    snapshot = (
        b'[1,{"as":[["2.0","1.0","1.5"],["3.0","1.0","1.5"]],'
        b'"bs":[["1.0","1.0","1.5"]]},"book-1000","X/Y"]'
    )
    events = decoder.decode(snapshot, 1)
    assert [type(event) for event in events] == [BookSnapshot, Status]
    update = (
        b'[1,{"a":[["2.0","0.0","2.5"]]},{"b":[["1.5","2.0","2.000000001"]],"c":"0"},'
        b'"book-1000","X/Y"]'
    )
    deltas = decoder.decode(update, 2)
    assert [(d.side, d.price, d.size, d.action, d.batch_end) for d in deltas] == [  # type: ignore[union-attr]
        ("ask", 20, 0, "delete", False),
        ("bid", 15, 20, "new", True),
    ]
    assert deltas[1].ts_exchange == 2_000_000_001
    assert decoder.stats.checksums == 0  # verify_checksum=False


def test_checksum_mismatch_is_a_counted_resync() -> None:
    decoder = MappedJsonDecoder("kraken", MappedParams(mapping="kraken"))
    decoder.decode(b'[1,{"as":[["2.0","1.0","1"]],"bs":[["1.0","1.0","1"]]},"book-10","X/Y"]', 1)
    events = decoder.decode(b'[1,{"b":[["1.0","2.0","1"]],"c":"12345"},"book-10","X/Y"]', 2)
    assert isinstance(events[-1], Status) and events[-1].state == "RESYNC"
    assert decoder.stats.checksum_mismatches == 1
    # Updates are dropped until a new snapshot arrives in the stream.
    assert decoder.decode(b'[1,{"b":[["1.0","3.0","1"]],"c":"1"},"book-10","X/Y"]', 3) == []
    events = decoder.decode(
        b'[1,{"as":[["2.0","1.0","1"]],"bs":[["1.0","1.0","1"]]},"book-10","X/Y"]', 4
    )
    assert [getattr(event, "state", "") for event in events] == ["LIVE", "LIVE"]


def test_subscribe_message() -> None:
    decoder = MappedJsonDecoder("kraken", MappedParams(mapping="kraken"))
    assert decoder.url(["XBT/USD"]) == "wss://ws.kraken.com"
    (message,) = decoder.subscribe_messages(["XBT/USD", "ETH/USD"])
    assert json.loads(message) == {
        "event": "subscribe",
        "pair": ["XBT/USD", "ETH/USD"],
        "subscription": {"name": "book", "depth": 1000},
    }


def test_heartbeat_is_ignored_not_an_error() -> None:
    decoder = MappedJsonDecoder("kraken", MappedParams(mapping="kraken"))
    assert decoder.decode(b'{"event":"heartbeat"}', 0) == []
    assert decoder.stats.ignored == 1
    with pytest.raises(DecodeError) as info:
        decoder.decode(b'{"event":"somethingNew"}', 0)
    assert info.value.reason == "unrouted"
    assert decoder.stats.ignored == 1
