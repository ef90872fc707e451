"""Books in the pipeline: health states, snapshot resync, and correctness against references.

- the real Binance capture with its REST snapshots: the pipeline's book equals a book built here
  from the raw JSON by Binance's documented snapshot + diff procedure, after every frame;
- a long synthetic Binance stream with 1 frame in 1,000 dropped or swapped: every gap is seen,
  no update is applied across one, snapshots resync, the final book is the venue's book.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingest.capture.ws_capture import read_ws_capture
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from ingest.simulator import MarketSimulator
from pipelines.events import BookDelta, BookSnapshot, Event, Status, format_scaled
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import Pipeline


class Collect:
    """A sink that keeps what the pipeline publishes."""

    kind = "collect"

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, routed: list[tuple[str, Event]]) -> None:
        self.events.extend(event for _topic, event in routed)


def pipeline() -> tuple[Pipeline, Collect]:
    running = Pipeline(WorkerMetrics(), lambda stream, symbol: True)
    sink = Collect()
    running.sinks = {"collect": sink}  # type: ignore[dict-item]
    return running, sink


def book_of(running: Pipeline, stream: str, symbol: str) -> Any:
    state = running.states.get(stream, {}).get(symbol)
    return state.keeper if state is not None else None


def test_deltas_are_held_from_a_gap_until_a_snapshot() -> None:
    running, sink = pipeline()

    def delta(seq: int, price: int, size: int) -> BookDelta:
        return BookDelta(
            stream="v", symbol="X", seq=seq, side="bid", price=price, size=size, action="change"
        )

    running.process([delta(1, 100, 5)])
    keeper = book_of(running, "v", "X")
    assert keeper.health.state == "LIVE"
    running.process([Status(stream="v", symbol="X", seq=2, state="RESYNC", reason="gap: 7")])
    running.process([delta(3, 101, 1), delta(4, 100, 0)])
    assert keeper.book.top(5) == ([(100, 5)], []) and keeper.dropped == 2
    snapshot = BookSnapshot(stream="v", symbol="X", seq=5, bids=[(99, 2)], asks=[(103, 1)])
    running.process([snapshot, delta(6, 98, 1)])
    assert keeper.book.top(5) == ([(99, 2), (98, 1)], [(103, 1)])
    statuses = [(e.state, e.reason) for e in sink.events if isinstance(e, Status)]
    assert statuses == [
        ("LIVE", "first update"),
        ("RESYNC", "gap: 7"),
        ("LIVE", "snapshot applied"),
    ]
    published = [e for e in sink.events if isinstance(e, BookSnapshot)]
    assert [p.state for p in published] == ["LIVE", "LIVE", "LIVE"]  # none while RESYNC
    assert published[-1].bids == [(99, 2), (98, 1)]


def test_a_crossed_book_is_flagged_in_its_state_and_by_status() -> None:
    running, sink = pipeline()
    bid = BookDelta(stream="v", symbol="X", seq=1, side="bid", price=101, size=1, action="new")
    ask = BookDelta(stream="v", symbol="X", seq=2, side="ask", price=100, size=1, action="new")
    running.process([bid, ask])
    last = [e for e in sink.events if isinstance(e, BookSnapshot)][-1]
    assert last.state == "LIVE|CROSSED"
    assert [e.state for e in sink.events if isinstance(e, Status)] == ["LIVE", "CROSSED"]


def test_stale_on_the_timer_then_live_on_the_next_update() -> None:
    running, sink = pipeline()
    running.stale_after_ns = 1_000
    running.process(
        [BookDelta(stream="v", symbol="X", seq=1, side="bid", price=1, size=1, action="new")]
    )
    running.tick(10_000)
    running.tick(12_000)
    running.process(
        [BookDelta(stream="v", symbol="X", seq=2, side="bid", price=1, size=2, action="change")]
    )
    states = [e.state for e in sink.events if isinstance(e, Status)]
    assert states == ["LIVE", "STALE", "LIVE"]


# -- the real Binance capture ---------------------------------------------------------------------


def scaled(text: str) -> int:
    return int(Decimal(text).scaleb(8))  # Binance prints 8 decimals


class BinanceReference:
    """The documented procedure, from the raw JSON: buffer diffs, apply the REST snapshot, drop
    diffs with u <= lastUpdateId, then apply each diff whose U..u continues the book."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, dict[int, int]]] = {}
        self.last: dict[str, int] = {}
        self.pending: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def snapshot(self, symbol: str, body: dict[str, Any]) -> None:
        self.books[symbol] = {
            "bid": {scaled(p): scaled(s) for p, s in body["bids"] if scaled(s)},
            "ask": {scaled(p): scaled(s) for p, s in body["asks"] if scaled(s)},
        }
        self.last[symbol] = body["lastUpdateId"]
        diffs, self.pending[symbol] = self.pending[symbol], []
        for diff in diffs:
            self.diff(diff)

    def diff(self, data: dict[str, Any]) -> None:
        symbol = data["s"]
        if symbol not in self.books:
            self.pending[symbol].append(data)
            return
        if data["u"] <= self.last[symbol]:
            return
        assert data["U"] <= self.last[symbol] + 1 <= data["u"]
        for side, key in (("bid", "b"), ("ask", "a")):
            levels = self.books[symbol][side]
            for price, size in data[key]:
                if scaled(size):
                    levels[scaled(price)] = scaled(size)
                else:
                    levels.pop(scaled(price), None)
        self.last[symbol] = data["u"]

    def top(self, symbol: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        book = self.books[symbol]
        return sorted(book["bid"].items(), reverse=True), sorted(book["ask"].items())


def test_binance_capture_book_equals_the_documented_procedure_after_every_frame(
    shared_data: Path,
) -> None:
    folder = shared_data / "ws" / "binance-spot"
    if not folder.is_dir():
        pytest.skip("no Binance capture")
    records = sorted(
        (
            r
            for name in ("BINANCE.ws.1.0", "BINANCE.http.0.0")
            for r in read_ws_capture(folder / name)
        ),
        key=lambda record: record.ts_recv_ns,
    )
    decoder = MappedJsonDecoder("binance", MappedParams(mapping="binance_spot"))
    running, sink = pipeline()
    reference = BinanceReference()
    compared = 0
    for record in records:
        if record.direction == "http":
            body = json.loads(record.payload)
            symbol = record.url.split("symbol=")[1].split("&")[0]
            reference.snapshot(symbol, body)
            events = decoder.apply_snapshot(record.url, record.payload, record.ts_recv_ns)
        elif record.direction == "recv":
            data = json.loads(record.payload).get("data", {})
            if data.get("e") == "depthUpdate":
                reference.diff(data)
            events = decoder.decode(record.payload, record.ts_recv_ns)
        else:
            continue
        running.process(events)
        for symbol in reference.books:
            keeper = book_of(running, "binance", symbol)
            assert keeper is not None and keeper.health.state == "LIVE"
            assert keeper.book.top(100_000) == reference.top(symbol)
            compared += 1
    assert compared > 400
    assert set(reference.books) == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
    # What consumers saw: SYNCING, then LIVE at the snapshot, per symbol; books only once LIVE.
    statuses = [(e.symbol, e.state) for e in sink.events if isinstance(e, Status)]
    for symbol in reference.books:
        assert [s for sym, s in statuses if sym == symbol] == ["SYNCING", "LIVE"]
    published = [e for e in sink.events if isinstance(e, BookSnapshot)]
    assert published and {p.state for p in published} == {"LIVE"}
    last = published[-1]
    assert (last.bids, last.asks) == tuple(side[:10] for side in reference.top(last.symbol))


# -- 1 frame in 1,000 dropped or swapped ------------------------------------------------------


def venue_frames(count: int) -> list[tuple[int, dict[str, Any], dict[str, dict[int, int]]]]:
    """(update id, depthUpdate frame, the venue's book after it) from the simulator's levels."""
    simulator = MarketSimulator(["ETH-USD"], seed=5)
    book: dict[str, dict[int, int]] = {"bid": {}, "ask": {}}
    frames: list[tuple[int, dict[str, Any], dict[str, dict[int, int]]]] = []
    message: dict[str, list[list[str]]] = {"b": [], "a": []}
    while len(frames) < count:
        for event in simulator.take(4096):
            if not isinstance(event, BookDelta):
                continue
            size = 0 if event.action == "delete" else event.size
            if size:
                book[event.side][event.price] = size
            else:
                book[event.side].pop(event.price, None)
            key = "b" if event.side == "bid" else "a"
            message[key].append([format_scaled(event.price, 2), format_scaled(size, 3)])
            if event.batch_end:
                update_id = len(frames) + 1
                data = {"e": "depthUpdate", "E": update_id, "s": "ETHUSD", "U": update_id,
                        "u": update_id, **message}  # fmt: skip
                frames.append((update_id, data, {s: dict(v) for s, v in book.items()}))
                message = {"b": [], "a": []}
    return frames[:count]


def frame_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps({"stream": "ethusd@depth@100ms", "data": data}).encode()


@pytest.mark.slow
def test_one_in_a_thousand_lost_or_swapped_every_gap_seen_and_resynced() -> None:
    count = 20_000
    frames = venue_frames(count)
    rng = random.Random(3)
    order = list(range(count))
    incidents = 0
    index = 1_000
    while index < count - 2:
        position = index + rng.randrange(-200, 200)
        if rng.random() < 0.5:
            order[position] = -1  # dropped
        else:
            order[position], order[position + 1] = order[position + 1], order[position]
        incidents += 1
        index += 1_000
    delivered = [i for i in order if i >= 0]

    decoder = MappedJsonDecoder("venue", MappedParams(mapping="binance_spot"))
    running, sink = pipeline()
    url = "https://api.binance.com/api/v3/depth?symbol=ETHUSD&limit=1000"
    snapshot_due: int | None = None
    highest = 0
    checked = 0

    def serve_snapshot() -> None:
        # The venue's book at the newest update it has sent (whatever reached us).
        _id, _data, book = frames[highest - 1]
        body = {
            "lastUpdateId": highest,
            "bids": [[format_scaled(p, 2), format_scaled(s, 3)] for p, s in book["bid"].items()],
            "asks": [[format_scaled(p, 2), format_scaled(s, 3)] for p, s in book["ask"].items()],
        }
        running.process(decoder.apply_snapshot(url, json.dumps(body).encode(), 0))

    for step, position in enumerate(delivered):
        update_id, data, _book = frames[position]
        highest = max(highest, update_id)
        running.process(decoder.decode(frame_bytes(data), step))
        if decoder.needs_snapshot() and snapshot_due is None:
            snapshot_due = step + 3  # the REST answer comes a few frames later
        if snapshot_due is not None and step >= snapshot_due:
            serve_snapshot()
            snapshot_due = None
        keeper = book_of(running, "venue", "ETHUSD")
        if keeper is not None and keeper.health.state == "LIVE":
            # LIVE means every update up to the newest applied is in the book, nothing skipped.
            last_applied = decoder.engine.books["depth"]._books["ETHUSD"][1].last
            venue = frames[last_applied - 1][2]
            expected = (sorted(venue["bid"].items(), reverse=True), sorted(venue["ask"].items()))
            assert keeper.book.top(100_000) == expected, f"step {step}"
            checked += 1
    if snapshot_due is not None:
        serve_snapshot()

    keeper = book_of(running, "venue", "ETHUSD")
    final = frames[-1][2]
    assert keeper.health.state == "LIVE"
    assert keeper.book.top(100_000) == (
        sorted(final["bid"].items(), reverse=True),
        sorted(final["ask"].items()),
    )
    assert decoder.stats.gaps == incidents == 19
    assert keeper.health.gaps == incidents
    resyncs = [e for e in sink.events if isinstance(e, Status) and e.state == "RESYNC"]
    assert len(resyncs) == incidents
    assert checked > count * 0.9
