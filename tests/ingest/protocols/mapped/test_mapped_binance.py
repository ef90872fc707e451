"""Binance spot combined stream + REST snapshots through ingest/mappings/binance_spot.toml.

The book-sync rule is Binance's documented procedure ("How to manage a local order book
correctly"): buffer diffs, take the REST snapshot, drop diffs with ``u <= lastUpdateId``, the
first applied diff has ``U <= lastUpdateId + 1 <= u``, then each ``U == previous u + 1``. The test
replays the capture and the snapshots in receive-time order, and checks the decoder against a
reference implementation of that procedure written here from the raw JSON.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingest.capture.ws_capture import CaptureRecord
from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines.core.book import Book
from pipelines.events import BookDelta, BookSnapshot, Event, Quote, Status, Trade, parse_scaled

Replay = Callable[[MappedJsonDecoder, list[Path]], tuple[list[Event], list[DecodeError]]]
Records = Callable[[list[Path]], list[CaptureRecord]]

SYMBOLS = ("NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR")


@pytest.fixture(scope="module")
def files(ws_data: Path) -> list[Path]:
    folder = ws_data / "binance-spot"
    return [folder / "BINANCE.ws.1.0", folder / "BINANCE.http.0.0"]


@pytest.fixture
def decoded(files: list[Path], replay_capture: Replay) -> tuple[MappedJsonDecoder, list[Event]]:
    decoder = MappedJsonDecoder("binance", MappedParams(mapping="binance_spot"))
    events, errors = replay_capture(decoder, files)
    assert errors == []
    return decoder, events


def reference_sync(records: Records, files: list[Path]) -> dict[str, list[int]]:
    """The ``u`` of every diff the documented procedure applies, per symbol, in order."""
    snapshot_id: dict[str, int] = {}
    pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
    applied: dict[str, list[int]] = defaultdict(list)
    for record in records(files):
        if record.direction == "http":
            symbol = record.url.split("symbol=")[1].split("&")[0]
            snapshot_id[symbol] = json.loads(record.payload)["lastUpdateId"]
            diffs, pending[symbol] = pending[symbol], []
        elif record.direction == "recv":
            data = json.loads(record.payload)["data"]
            if data.get("e") != "depthUpdate":
                continue
            if data["s"] not in snapshot_id:
                pending[data["s"]].append(data)
                continue
            diffs = [data]
        else:
            continue
        for diff in diffs:
            symbol = diff["s"]
            last = applied[symbol][-1] if applied[symbol] else snapshot_id[symbol]
            if diff["u"] <= last:
                continue
            if applied[symbol]:
                assert diff["U"] == last + 1, f"gap in the capture for {symbol}"
            else:
                assert diff["U"] <= last + 1 <= diff["u"]
            applied[symbol].append(diff["u"])
    return applied


def test_counts_per_kind(decoded: tuple[MappedJsonDecoder, list[Event]]) -> None:
    decoder, events = decoded
    kinds = Counter(type(event).__name__ for event in events)
    assert kinds["Quote"] == 84
    assert kinds["Trade"] == 2
    assert kinds["BookSnapshot"] == 4
    assert kinds["Status"] == 8  # SYNCING then LIVE, per symbol
    assert kinds["BookDelta"] > 300
    stats = decoder.stats
    assert stats.ignored == 2  # the two kline frames: routed to ignore, not errors
    assert stats.gaps == 0
    assert stats.checksum_mismatches == 0
    assert [event.seq for event in events] == list(range(1, len(events) + 1))


def test_nknusdt_sync_follows_the_documented_procedure(
    decoded: tuple[MappedJsonDecoder, list[Event]],
) -> None:
    _decoder, events = decoded
    nkn = [event for event in events if event.symbol == "NKNUSDT"]
    states = [event.state for event in nkn if isinstance(event, Status)]
    assert states == ["SYNCING", "LIVE"]
    snapshot = next(event for event in nkn if isinstance(event, BookSnapshot))
    assert snapshot.venue_seq == 499869752
    assert snapshot.price_decimals == 8 and snapshot.size_decimals == 8
    # The first diff (U=499869750, u=499869752) is inside the snapshot (u <= lastUpdateId): the
    # snapshot already holds its level 0.35130000 x 6195, so the rule drops it, and the diff
    # U=499869753 u=499869754 (U <= lastUpdateId+1 <= u) is the first applied.
    assert (parse_scaled("0.3513", 8), parse_scaled("6195", 8)) in snapshot.bids
    first_delta = next(event for event in nkn if isinstance(event, BookDelta))
    assert first_delta.venue_seq == 499869754
    assert first_delta.seq > snapshot.seq


def test_applied_diffs_match_the_reference_procedure(
    files: list[Path], decoded: tuple[MappedJsonDecoder, list[Event]], capture_records: Records
) -> None:
    _decoder, events = decoded
    applied: dict[str, list[int]] = defaultdict(list)
    for event in events:
        if isinstance(event, BookDelta) and event.batch_end:
            applied[event.symbol].append(event.venue_seq)
    assert applied == reference_sync(capture_records, files)
    assert set(applied) == set(SYMBOLS)


def test_books_from_events_match_the_decoder_view(
    decoded: tuple[MappedJsonDecoder, list[Event]],
) -> None:
    decoder, events = decoded
    books: dict[str, Book] = {}
    for event in events:
        if isinstance(event, BookSnapshot):
            book = books[event.symbol] = Book("binance", event.symbol)
            for price, size in event.bids:
                book.bids.set(price, size)
            for price, size in event.asks:
                book.asks.set(price, size)
        elif isinstance(event, BookDelta):
            level_exists = event.price in books[event.symbol].side(event.side).levels
            assert event.action == (
                "delete" if event.size == 0 else "change" if level_exists else "new"
            )
            books[event.symbol].apply(event)
    handler = decoder.engine.books["depth"]
    for symbol, book in books.items():
        view = handler.book(symbol)
        assert view is not None
        assert book.top(1000) == (view.bids.top(1000), view.asks.top(1000))
        best_bid, best_ask = book.best_bid(), book.best_ask()
        assert best_bid is not None and best_ask is not None and best_bid[0] < best_ask[0]


def test_trade_and_quote_values_are_exact(
    decoded: tuple[MappedJsonDecoder, list[Event]],
) -> None:
    _decoder, events = decoded
    trades = [event for event in events if isinstance(event, Trade)]
    assert trades[0].symbol == "NKNUSDT"
    assert (trades[0].price, trades[0].size) == (35280000, 5800000000)
    assert (trades[0].price_decimals, trades[0].size_decimals) == (8, 8)
    assert trades[0].side == "buy"  # m=false: the buyer took liquidity
    assert trades[0].trade_id == "15683430" and trades[0].venue_seq == 15683430
    assert trades[0].ts_exchange == 1633998523963 * 1_000_000
    assert (trades[1].symbol, trades[1].price, trades[1].size) == ("LRCBTC", 638, 17700000000)
    quote = next(event for event in events if isinstance(event, Quote))
    assert quote.symbol == "NKNUSDT" and quote.venue_seq == 499869768
    assert (quote.bid_price, quote.bid_size) == (35210000, 67200000000)
    assert (quote.ask_price, quote.ask_size) == (35260000, 319900000000)
    assert quote.ts_recv == 1633998513377805000


def test_aggressor_side_from_buyer_is_maker() -> None:
    decoder = MappedJsonDecoder("b", MappedParams(mapping="binance_spot"))
    frame = (
        b'{"stream":"x@aggTrade","data":{"e":"aggTrade","E":1,"s":"X","a":7,"p":"1.50",'
        b'"q":"2","T":5,"m":true}}'
    )
    (trade,) = decoder.decode(frame, 0)
    assert isinstance(trade, Trade)
    assert (trade.side, trade.price, trade.size, trade.price_decimals) == ("sell", 150, 2, 2)


def test_subscribe_url_and_snapshot_urls() -> None:
    decoder = MappedJsonDecoder("b", MappedParams(mapping="binance_spot"))
    assert decoder.url(["NKNUSDT", "BLZETH"]) == (
        "wss://stream.binance.com:9443/stream?streams=nknusdt@depth@100ms/blzeth@depth@100ms/"
        "nknusdt@bookTicker/blzeth@bookTicker/nknusdt@aggTrade/blzeth@aggTrade"
    )
    assert decoder.subscribe_messages(["NKNUSDT"]) == []
    assert decoder.snapshot_urls(["NKNUSDT"]) == [
        "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000"
    ]
