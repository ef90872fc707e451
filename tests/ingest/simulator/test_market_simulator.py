"""The market simulator: deterministic for a seed, contiguous seqs, consistent books."""

from __future__ import annotations

import json
import subprocess
import sys

from ingest.simulator import MarketSimulator, symbol_config
from pipelines.core.book import Book
from pipelines.events import BookDelta, Instrument, Order, Trade, encode


def run(seed: int, count: int = 5000) -> list[bytes]:
    simulator = MarketSimulator(["BTC-USD", "ETH-USD", "XYZ"], seed=seed)
    return [encode(e) for e in simulator.take(count)]


def test_the_same_seed_gives_the_same_events_byte_for_byte() -> None:
    assert run(7) == run(7)
    assert run(7) != run(8)


def test_batching_does_not_change_the_stream() -> None:
    whole = MarketSimulator(["AAPL"], seed=3).take(2000)
    sliced = MarketSimulator(["AAPL"], seed=3)
    pieces = []
    while len(pieces) < len(whole):
        pieces.extend(sliced.take(7))
    assert pieces[: len(whole)] == whole


def test_instruments_come_first_and_seq_counts_every_event_from_one() -> None:
    events = MarketSimulator(["BTC-USD", "ETH-USD"], seed=1, stream="feed").take(3000)
    assert [type(e) for e in events[:2]] == [Instrument, Instrument]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert {e.stream for e in events} == {"feed"}
    assert {Order, Trade, BookDelta} <= {type(e) for e in events}


def test_books_built_from_the_deltas_are_never_crossed_at_batch_end() -> None:
    books: dict[str, Book] = {}
    deltas = 0
    for event in MarketSimulator(["BTC-USD", "SOL-USD"], seed=11).take(20_000):
        if isinstance(event, BookDelta):
            deltas += 1
            tick = symbol_config(event.symbol).tick_size
            assert event.price % tick == 0
            book = books.setdefault(event.symbol, Book())
            book.apply(event)
            if event.batch_end:
                bid, ask = book.best_bid(), book.best_ask()
                if bid and ask:
                    assert bid[0] < ask[0]
    assert deltas > 5000


def test_each_message_ends_with_one_batch_end_delta() -> None:
    simulator = MarketSimulator(["ETH-USD"], seed=5)
    simulator.instruments()
    for _ in range(2000):
        deltas = [e for e in simulator.next_message() if isinstance(e, BookDelta)]
        assert [d.batch_end for d in deltas] == [False] * (len(deltas) - 1) + [True]


def test_an_injected_clock_stamps_the_receive_time() -> None:
    events = MarketSimulator(["AAPL"], seed=1, clock=lambda: 42).take(50)
    assert {e.ts_recv for e in events} == {42}
    assert all(e.ts_exchange > 0 for e in events)


def test_the_command_line_prints_ndjson_deterministically() -> None:
    command = [
        sys.executable,
        "-m",
        "ingest.simulator",
        "--seed",
        "4",
        "--symbols",
        "BTC-USD",
        "--count",
        "25",
    ]
    first = subprocess.run(command, capture_output=True, check=True).stdout
    assert first == subprocess.run(command, capture_output=True, check=True).stdout
    lines = [json.loads(line) for line in first.splitlines()]
    assert len(lines) == 25
    assert lines[0]["kind"] == "instrument"
    assert lines[0]["tick_size"] == "0.50"
    assert all(isinstance(line.get("price", ""), str) for line in lines)
    help_text = subprocess.run(
        [sys.executable, "-m", "ingest.simulator", "--help"], capture_output=True, check=True
    ).stdout
    assert b"--seed" in help_text
