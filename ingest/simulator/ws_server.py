"""The market simulator served as a venue-like WebSocket JSON feed (and a REST depth endpoint).

Mapping: ``ingest/mappings/simulator_ws.toml`` (``websocket`` source + ``json`` protocol).
Prices and sizes are decimal strings at each instrument's scale; update ids count per symbol.

client → server::

    {"op":"subscribe","id":1,"symbols":["BTC-USD"],"channels":["book","trades"],"snapshot":true}

server → client::

    {"type":"subscribed","id":1,"symbols":["BTC-USD"]}
    {"type":"snapshot","symbol":"BTC-USD","u":41,"ts":<ns>,"bids":[["63999.50","0.3000"],...],"asks":[...]}
    {"type":"update","symbol":"BTC-USD","U":42,"u":42,"ts":<ns>,"b":[["63999.50","0.0000"]],"a":[]}
    {"type":"trade","symbol":"BTC-USD","id":"7","price":"64000.00","size":"0.1000","side":"buy","ts":<ns>}
    {"type":"heartbeat","ts":<ns>}
    {"type":"error","id":1,"message":"..."}

A snapshot (sent on subscribe unless ``"snapshot": false``) is the whole book at update id ``u``;
an update covers ids ``U..u`` (one venue message, so ``U == u``) and lists the changed levels with
their new total size (``"0..."`` removes the level). ``GET /depth?symbol=BTC-USD`` answers
``{"lastUpdateId":N,"bids":[...],"asks":[...]}`` for clients that sync from REST snapshots.
The server keeps its own books from the simulator's deltas; :meth:`SimulatorWsServer.books` is
the reference a client's books must equal.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import time
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ingest.simulator.instruments import PRESETS, SymbolConfig, symbol_config
from ingest.simulator.market import MarketSimulator
from pipelines.events import BookDelta, Trade

__all__ = ["SimulatorWsServer", "format_decimal"]

_HEARTBEAT_S: Final = 1.0
_TICK_S: Final = 0.01

Levels = dict[int, int]


def format_decimal(value: int, decimals: int) -> str:
    """An integer at ``decimals`` as a fixed-point string (``123450, 2`` → ``"1234.50"``)."""
    if not decimals:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, fraction = divmod(abs(value), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


class _Book:
    __slots__ = ("asks", "bids", "config", "update_id")

    def __init__(self, config: SymbolConfig) -> None:
        self.config = config
        self.bids: Levels = {}
        self.asks: Levels = {}
        self.update_id = 0

    def levels(self, side: Levels, reverse: bool) -> list[list[str]]:
        cfg = self.config
        return [
            [format_decimal(p, cfg.price_decimals), format_decimal(side[p], cfg.size_decimals)]
            for p in sorted(side, reverse=reverse)
        ]


class SimulatorWsServer:
    """Serves ``symbols`` at ``rate`` simulator messages per second until ``max_messages``
    (0: forever); ``warmup`` messages are generated before the first client can connect."""

    def __init__(
        self,
        symbols: Sequence[str] = tuple(PRESETS),
        *,
        seed: int = 1,
        rate: float = 200.0,
        host: str = "127.0.0.1",
        port: int = 0,
        max_messages: int = 0,
        warmup: int = 200,
    ) -> None:
        self.simulator = MarketSimulator(list(symbols), seed=seed, rate=rate, stream="sim-ws")
        self.rate = rate
        self.host = host
        self.port = port
        self.max_messages = max_messages
        self._books = {s: _Book(symbol_config(s)) for s in self.simulator.symbols}
        self._subscribers: dict[str, set[ServerConnection]] = {s: set() for s in self._books}
        self._trades: dict[str, set[ServerConnection]] = {s: set() for s in self._books}
        self.messages = 0
        for _ in range(warmup):  # a venue's books are not empty when a client arrives
            self._publish(self.simulator.next_message())
        self.messages = 0  # max_messages counts served messages, not the warm-up
        self.finished = asyncio.Event()
        """Set once ``max_messages`` were generated (the books stop changing)."""
        self.paused = False
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> int:
        """Start serving; returns the bound port."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._http,
            ping_interval=None,
            compression=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks = [
            asyncio.create_task(self._generate(), name="sim-ws-generate"),
            asyncio.create_task(self._heartbeat(), name="sim-ws-heartbeat"),
        ]
        return self.port

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def http_base(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> SimulatorWsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def connections(self) -> list[ServerConnection]:
        return list(self._server.connections) if self._server is not None else []

    def drop_connections(self) -> int:
        """Abort every client connection without a close handshake (a network cut)."""
        dropped = 0
        for connection in self.connections():
            connection.transport.abort()
            dropped += 1
        return dropped

    # -- reference state ---------------------------------------------------------------------------
    def books(self) -> dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
        """Every symbol's book as integers: (bids best first, asks best first)."""
        return {
            symbol: (
                sorted(book.bids.items(), reverse=True),
                sorted(book.asks.items()),
            )
            for symbol, book in self._books.items()
        }

    def update_id(self, symbol: str) -> int:
        return self._books[symbol].update_id

    # -- market data -------------------------------------------------------------------------------
    async def _generate(self) -> None:
        loop = asyncio.get_running_loop()
        anchor, done = loop.time(), 0
        while not self.max_messages or self.messages < self.max_messages:
            await asyncio.sleep(_TICK_S)
            if self.paused:
                anchor, done = loop.time(), 0
                continue
            owed = int((loop.time() - anchor) * self.rate) - done
            if self.max_messages:
                owed = min(owed, self.max_messages - self.messages)
            for _ in range(max(0, owed)):
                self._publish(self.simulator.next_message())
            done += max(0, owed)
        self.finished.set()

    def _publish(self, events: list[Any]) -> None:
        self.messages += 1
        changed: dict[str, list[BookDelta]] = {}
        for event in events:
            if type(event) is BookDelta:
                changed.setdefault(event.symbol, []).append(event)
            elif type(event) is Trade:
                self._send_trade(event)
        for symbol, deltas in changed.items():
            self._send_update(symbol, deltas)

    def _send_trade(self, trade: Trade) -> None:
        targets = self._trades[trade.symbol]
        if not targets:
            return
        cfg = self._books[trade.symbol].config
        message = {
            "type": "trade",
            "symbol": trade.symbol,
            "id": trade.trade_id,
            "price": format_decimal(trade.price, cfg.price_decimals),
            "size": format_decimal(trade.size, cfg.size_decimals),
            "side": trade.side,
            "ts": trade.ts_exchange,
        }
        broadcast(targets, json.dumps(message, separators=(",", ":")))

    def _send_update(self, symbol: str, deltas: list[BookDelta]) -> None:
        book = self._books[symbol]
        book.update_id += 1
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        cfg = book.config
        for delta in deltas:
            levels, out = (book.bids, bids) if delta.side == "bid" else (book.asks, asks)
            size = 0 if delta.action == "delete" else delta.size
            if size:
                levels[delta.price] = size
            else:
                levels.pop(delta.price, None)
            out.append(
                [
                    format_decimal(delta.price, cfg.price_decimals),
                    format_decimal(size, cfg.size_decimals),
                ]
            )
        targets = self._subscribers[symbol]
        if not targets:
            return
        message = {
            "type": "update",
            "symbol": symbol,
            "U": book.update_id,
            "u": book.update_id,
            "ts": deltas[-1].ts_exchange,
            "b": bids,
            "a": asks,
        }
        broadcast(targets, json.dumps(message, separators=(",", ":")))

    def _snapshot(self, symbol: str) -> dict[str, Any]:
        book = self._books[symbol]
        return {
            "type": "snapshot",
            "symbol": symbol,
            "u": book.update_id,
            "ts": time.time_ns(),
            "bids": book.levels(book.bids, True),
            "asks": book.levels(book.asks, False),
        }

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT_S)
            beat = json.dumps({"type": "heartbeat", "ts": time.time_ns()})
            broadcast(self.connections(), beat)

    # -- connections -------------------------------------------------------------------------------
    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        """``GET /depth?symbol=X`` is REST; every other path goes on to the WebSocket handshake."""
        parts = urlsplit(request.path)
        if parts.path != "/depth":
            return None
        symbol = parse_qs(parts.query).get("symbol", [""])[0]
        if symbol not in self._books:
            return connection.respond(http.HTTPStatus.NOT_FOUND, f"unknown symbol {symbol!r}\n")
        snapshot = self._snapshot(symbol)
        body = {"lastUpdateId": snapshot["u"], "bids": snapshot["bids"], "asks": snapshot["asks"]}
        response = connection.respond(http.HTTPStatus.OK, json.dumps(body))
        del response.headers["Content-Type"]  # websockets' Headers is a multidict: replace it
        response.headers["Content-Type"] = "application/json"
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        try:
            async for raw in connection:
                self._command(connection, raw)
        except ConnectionClosed:
            pass
        finally:
            for subscribers in (*self._subscribers.values(), *self._trades.values()):
                subscribers.discard(connection)

    def _command(self, connection: ServerConnection, raw: str | bytes) -> None:
        # Synchronous on purpose: the snapshot and the subscription happen between two generated
        # messages, so no update can fall between the snapshot and the first update sent.
        try:
            request = json.loads(raw)
            op, ident = request["op"], request.get("id")
            symbols = request.get("symbols", [])
            channels = request.get("channels", ["book", "trades"])
        except (ValueError, KeyError, TypeError, AttributeError):
            broadcast([connection], json.dumps({"type": "error", "message": "bad request"}))
            return
        unknown = [s for s in symbols if s not in self._books]
        if op not in ("subscribe", "unsubscribe") or unknown:
            error = {"type": "error", "id": ident, "message": f"bad op or symbols {unknown}"}
            broadcast([connection], json.dumps(error))
            return
        subscribe = op == "subscribe"
        reply = {"type": f"{op}d", "id": ident, "symbols": symbols}
        broadcast([connection], json.dumps(reply))
        for symbol in symbols:
            for channel, table in (("book", self._subscribers), ("trades", self._trades)):
                if channel not in channels:
                    continue
                if not subscribe:
                    table[symbol].discard(connection)
                    continue
                if channel == "book" and request.get("snapshot", True):
                    broadcast([connection], json.dumps(self._snapshot(symbol)))
                table[symbol].add(connection)
