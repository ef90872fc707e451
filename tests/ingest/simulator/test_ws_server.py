"""The simulator's WebSocket JSON feed, read by a plain client: the wire format a mapping targets."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from ingest.simulator.ws_server import SimulatorWsServer, format_decimal


def apply(book: dict[str, dict[Decimal, Decimal]], levels: list[list[str]], side: str) -> None:
    for price, size in levels:
        if Decimal(size):
            book[side][Decimal(price)] = Decimal(size)
        else:
            book[side].pop(Decimal(price), None)


async def test_subscribe_gives_a_snapshot_then_gapless_updates_that_rebuild_the_book() -> None:
    server = SimulatorWsServer(["BTC-USD", "AAPL"], rate=500, max_messages=600)
    async with server, connect(server.url, proxy=None) as client:
        await client.send(
            json.dumps(
                {
                    "op": "subscribe",
                    "id": 7,
                    "symbols": ["BTC-USD"],
                    "channels": ["book", "trades"],
                }
            )
        )
        reply = json.loads(await client.recv())
        assert reply == {"type": "subscribed", "id": 7, "symbols": ["BTC-USD"]}
        snapshot = json.loads(await client.recv())
        assert snapshot["type"] == "snapshot" and snapshot["symbol"] == "BTC-USD"
        book: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}
        apply(book, snapshot["bids"], "bid")
        apply(book, snapshot["asks"], "ask")
        assert book["bid"] and book["ask"]  # warmed up: a two-sided book at once
        last = snapshot["u"]
        kinds: set[str] = set()
        await server.finished.wait()
        while last < server.update_id("BTC-USD"):
            message: dict[str, Any] = json.loads(await asyncio.wait_for(client.recv(), 10))
            kinds.add(message["type"])
            assert message["type"] == "heartbeat" or message["symbol"] == "BTC-USD"
            if message["type"] == "update":
                assert message["U"] == message["u"] == last + 1
                last = message["u"]
                apply(book, message["b"], "bid")
                apply(book, message["a"], "ask")
            elif message["type"] == "trade":
                assert message["side"] in ("buy", "sell")
                assert len(message["size"].split(".")[1]) == 4  # BTC-USD: 4 size decimals
    assert "trade" in kinds
    bids, asks = server.books()["BTC-USD"]
    scale = Decimal(100), Decimal(10_000)
    assert (
        sorted(((p * scale[0], s * scale[1]) for p, s in book["bid"].items()), reverse=True) == bids
    )
    assert sorted((p * scale[0], s * scale[1]) for p, s in book["ask"].items()) == asks


async def test_rest_depth_answers_the_current_book() -> None:
    async with SimulatorWsServer(["AAPL"], rate=50) as server:
        server.paused = True
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.http_base}/depth?symbol=AAPL") as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "application/json"
                body = await response.json()
            async with session.get(f"{server.http_base}/depth?symbol=NOPE") as response:
                assert response.status == 404
    assert body["lastUpdateId"] == server.update_id("AAPL")
    bids, asks = server.books()["AAPL"]
    assert [[format_decimal(p, 2), str(s)] for p, s in bids] == body["bids"]
    assert [[format_decimal(p, 2), str(s)] for p, s in asks] == body["asks"]


async def test_bad_requests_get_an_error_and_the_connection_stays() -> None:
    server = SimulatorWsServer(["AAPL"], rate=50)
    async with server, connect(server.url, proxy=None) as client:
        await client.send("{nope")
        assert json.loads(await client.recv())["type"] == "error"
        await client.send(json.dumps({"op": "subscribe", "id": 2, "symbols": ["XYZ"]}))
        error = json.loads(await client.recv())
        assert error["type"] == "error" and error["id"] == 2
        await client.send(json.dumps({"op": "subscribe", "id": 3, "symbols": ["AAPL"]}))
        assert json.loads(await client.recv())["type"] == "subscribed"


async def test_drop_connections_cuts_clients_without_a_close_frame() -> None:
    server = SimulatorWsServer(["AAPL"], rate=50)
    async with server, connect(server.url, proxy=None) as client:
        await asyncio.sleep(0.05)
        assert server.drop_connections() == 1
        await asyncio.wait_for(client.wait_closed(), 5)
        assert client.close_code == 1006  # abnormal closure: no close handshake


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(123450, 2, "1234.50"), (5, 4, "0.0005"), (-5, 2, "-0.05"), (42, 0, "42"), (0, 3, "0.000")],
)
def test_format_decimal(value: int, decimals: int, text: str) -> None:
    assert format_decimal(value, decimals) == text
