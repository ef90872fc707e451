"""The websocket source over real sockets: the simulator's WebSocket JSON feed, a cut connection,
REST-synced books, FIX inside frames, and bad frames."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from websockets.asyncio.server import ServerConnection, serve

from ingest.protocols.fix import FixDecoder
from ingest.protocols.fix.encoder import FixEncoder
from ingest.simulator import MarketSimulator
from ingest.simulator.ws_server import SimulatorWsServer
from ingest.sources.websocket import WebSocketParams, WebSocketSource
from pipelines.core.book import Book
from pipelines.events import BookDelta, BookSnapshot, Event, Status, Trade
from pipelines.registry import SOURCES, ParamsError
from pipelines.spec import SourceSpec

MAPPING = Path(__file__).parents[3] / "ingest" / "mappings" / "simulator_ws.toml"
SYMBOLS = ["BTC-USD", "ETH-USD", "AAPL"]
FAST = WebSocketParams(backoff_initial=0.05, backoff_max=0.2, ping_interval=0)

BookLevels = tuple[list[tuple[int, int]], list[tuple[int, int]]]


class Consumer:
    """What a downstream book keeper sees: snapshots replace a book, deltas change it."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.batches = 0
        self.books: dict[str, Book] = {}

    def __call__(self, batch: list[Event]) -> None:
        self.batches += 1
        self.events.extend(batch)
        for event in batch:
            if type(event) is BookSnapshot:
                book = self.books[event.symbol] = Book()
                for price, size in event.bids:
                    book.bids.set(price, size)
                for price, size in event.asks:
                    book.asks.set(price, size)
            elif type(event) is BookDelta:
                self.books.setdefault(event.symbol, Book()).apply(event)

    def levels(self) -> dict[str, BookLevels]:
        return {s: (b.bids.top(10_000), b.asks.top(10_000)) for s, b in self.books.items()}

    def statuses(self) -> list[tuple[str, str]]:
        return [(e.symbol, e.state) for e in self.events if type(e) is Status]


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


async def running(source: WebSocketSource, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(source.run())
    try:
        await body()
    finally:
        await source.stop()
        await asyncio.wait_for(task, 10)


def websocket_source(
    url: str, consumer: Consumer, params: WebSocketParams = FAST, **spec: object
) -> WebSocketSource:
    source_spec = msgspec.convert(
        {"kind": "websocket", "protocol": "json", "mapping": "simulator_ws", "endpoint": url}
        | {"symbols": SYMBOLS}
        | spec,
        SourceSpec,
    )
    return WebSocketSource("simws", source_spec, params, consumer)


async def test_books_match_the_simulator_and_come_back_after_a_cut() -> None:
    consumer = Consumer()
    async with SimulatorWsServer(SYMBOLS, rate=400, max_messages=1200) as server:
        source = websocket_source(server.url, consumer)

        async def scenario() -> None:
            await until(lambda: server.messages > 300 and source.connected)
            assert server.drop_connections() == 1  # the venue side cuts the TCP connection
            await until(lambda: source.connections == 2)
            await server.finished.wait()
            await until(lambda: consumer.levels() == server.books())

        await running(source, scenario)

    assert source.stats.reconnects == 1
    assert source.stats.decode_errors == 0
    # Consumers see the hole: LIVE, then RESYNC at the cut, SYNCING after resubscribing, LIVE.
    for symbol in SYMBOLS:
        states = [state for sym, state in consumer.statuses() if sym == symbol]
        assert states == ["LIVE", "RESYNC", "SYNCING", "LIVE"], (symbol, states)
    snapshots = [e for e in consumer.events if type(e) is BookSnapshot]
    assert len(snapshots) == 2 * len(SYMBOLS)  # one per symbol per subscription
    assert any(type(e) is Trade for e in consumer.events)
    # One ingest sequence across both connections: no seq is reused or skipped.
    assert [e.seq for e in consumer.events] == list(range(1, len(consumer.events) + 1))


async def test_the_source_connects_once_the_venue_comes_up(free_port: Callable[[], int]) -> None:
    port = free_port()
    consumer = Consumer()
    server = SimulatorWsServer(["AAPL"], rate=200, port=port)
    source = websocket_source(server.url, consumer, symbols=["AAPL"])

    async def scenario() -> None:
        await asyncio.sleep(0.5)  # several refused attempts with backoff
        assert not source.connected and source.connections == 0
        async with server:
            await until(lambda: ("AAPL", "LIVE") in consumer.statuses())
        await until(lambda: not source.connected)  # the venue went away again

    await running(source, scenario)
    assert source.connections == 1 and source.stats.reconnects == 0
    assert consumer.statuses()[-1] == ("AAPL", "RESYNC")


async def test_rest_snapshots_sync_the_books_and_resync_after_a_cut(tmp_path: Path) -> None:
    # The same feed, synced the Binance way: no in-stream snapshot, a REST snapshot per symbol.
    text = MAPPING.read_text()
    text = text.replace('"channels":["book","trades"]}', '"channels":["book"],"snapshot":false}')
    text = text.replace(
        'source = "stream"\nid = "u"',
        'source = "rest"\nurl = "https://venue.example/depth?symbol={symbol}"\nid = "lastUpdateId"',
    )
    mapping = tmp_path / "simulator_ws_rest.toml"
    mapping.write_text(text)
    consumer = Consumer()
    async with SimulatorWsServer(SYMBOLS, rate=400, max_messages=1200) as server:
        params = msgspec.structs.replace(FAST, snapshot_base=server.http_base)
        source = websocket_source(server.url, consumer, params, mapping=str(mapping))
        assert source.snapshots is not None

        async def scenario() -> None:
            await until(lambda: server.messages > 300 and source.snapshots.fetched == 3)  # type: ignore[union-attr]
            server.drop_connections()
            await until(lambda: source.connections == 2)
            await server.finished.wait()
            await until(lambda: consumer.levels() == server.books())

        await running(source, scenario)

    assert source.snapshots.fetched == 2 * len(SYMBOLS)
    assert source.stats.reconnects == 1 and source.stats.decode_errors == 0
    states = [state for sym, state in consumer.statuses() if sym == "BTC-USD"]
    # The decoder announces its own SYNCING while it buffers updates for the REST snapshot.
    assert states[0] == "SYNCING" and "RESYNC" in states and states[-1] == "LIVE"


async def test_fix_messages_inside_websocket_frames(free_port: Callable[[], int]) -> None:
    simulator = MarketSimulator(["ES"], seed=3, stream="fixws")
    encoder = FixEncoder(clock=lambda: 1_700_000_000_000_000_000)
    events = [e for e in simulator.take(300) if type(e) in (BookDelta, Trade)]
    messages = encoder.encode_messages(events)
    # Two FIX messages in some frames, one in others: the source splits by BodyLength.
    frames = [b"".join(messages[i : i + 2]) for i in range(0, len(messages), 2)]

    async def venue(connection: ServerConnection) -> None:
        for frame in frames:
            await connection.send(frame.decode("latin-1"))
        await connection.wait_closed()

    reference = FixDecoder("fixws")
    expected = [e for m in messages for e in reference.decode(m, 0)]
    consumer = Consumer()
    async with serve(venue, "127.0.0.1", free_port()) as server:
        port = server.sockets[0].getsockname()[1]
        spec = SourceSpec(kind="websocket", protocol="fix", endpoint=f"ws://127.0.0.1:{port}/")
        source = WebSocketSource("fixws", spec, FAST, consumer)

        async def scenario() -> None:
            await until(lambda: source.stats.messages == len(messages))

        await running(source, scenario)
    received = [msgspec.structs.replace(e, ts_recv=0) for e in consumer.events]
    assert received == expected
    assert consumer.batches == len(messages)  # one emit per framed message


async def test_a_bad_frame_is_counted_and_the_feed_goes_on(free_port: Callable[[], int]) -> None:
    async def venue(connection: ServerConnection) -> None:
        await connection.recv()  # the subscribe message
        await connection.send("not json")
        await connection.send('{"type":"mystery"}')
        await connection.send('{"type":"trade","symbol":"AAPL","id":"1","price":"1.5",'
                              '"size":"2","side":"buy","ts":5}')  # fmt: skip
        await connection.wait_closed()

    consumer = Consumer()
    async with serve(venue, "127.0.0.1", free_port()) as server:
        port = server.sockets[0].getsockname()[1]
        source = websocket_source(f"ws://127.0.0.1:{port}/", consumer, symbols=["AAPL"])
        await running(source, lambda: until(lambda: source.stats.messages == 3))
    assert source.stats.errors_by_reason == {"bad_json": 1, "unrouted": 1}
    (trade,) = consumer.events
    assert isinstance(trade, Trade) and trade.price == 150 and trade.side == "buy"


def test_params_are_typed_and_unknown_keys_refused() -> None:
    assert isinstance(
        SOURCES.params("websocket", {"url": "wss://x", "backoff_max": 5}), WebSocketParams
    )
    with pytest.raises(ParamsError):
        SOURCES.params("websocket", {"urll": "wss://x"})
    with pytest.raises(ParamsError):
        SOURCES.params("websocket", {"max_message_size": 10})


def test_the_url_comes_from_the_mapping_when_none_is_given() -> None:
    spec = SourceSpec(
        kind="websocket", protocol="json", mapping="binance_spot", symbols=["BTCUSDT"]
    )
    source = WebSocketSource("binance", spec, WebSocketParams(), Consumer())
    assert source.url.startswith("wss://stream.binance.com:9443/stream?streams=btcusdt@")
    assert source.snapshots is not None  # Binance books sync from REST snapshots


async def test_a_worker_runs_the_live_path_from_a_spec(tmp_path: Path) -> None:
    from pipelines.runtime import Worker
    from pipelines.spec import PipelineSpec

    async with SimulatorWsServer(["AAPL"], rate=300) as server:
        worker = Worker(dead_letter_dir=tmp_path)
        source_spec = SourceSpec(
            kind="websocket",
            protocol="json",
            mapping="simulator_ws",
            endpoint=server.url,
            symbols=["AAPL"],
            params={"backoff_initial": 0.05},
        )
        try:
            assert await worker.apply(PipelineSpec(sources={"simws": source_spec}))
            await until(lambda: worker.ingest_stats().get("simws", None) is not None)
            stats = worker.ingest_stats()["simws"]
            await until(lambda: stats.messages > 50 and worker.source_events > 50)
            source = worker.sources["simws"].source
            assert isinstance(source, WebSocketSource)
            assert source.dead_letters is worker.dead_letters  # the worker's file
        finally:
            await worker.stop()
    assert stats.decode_errors == 0
