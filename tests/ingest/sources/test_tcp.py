"""The tcp source against local asyncio servers: length-prefixed, line and FIX framing, cuts."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable

import msgspec
import pytest

from ingest.protocols.fix import FixDecoder
from ingest.protocols.fix.encoder import FixEncoder
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from ingest.simulator import MarketSimulator
from ingest.sources.tcp import TcpParams, TcpSource, frame_outgoing, parse_address
from pipelines.events import BookDelta, Event, Status, Trade
from pipelines.registry import SOURCES, ParamsError
from pipelines.spec import SourceSpec

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
FAST = {"backoff_initial": 0.05, "backoff_max": 0.2}


def venue_frames(count: int) -> list[bytes]:
    """simulator_ws JSON frames: a snapshot, then diffs with consecutive update ids, trades."""
    frames = [
        b'{"type":"snapshot","symbol":"AAPL","u":10,"ts":1,'
        b'"bids":[["189.00","100"]],"asks":[["189.50","200"]]}'
    ]
    for i in range(count):
        u = 11 + i
        price = f"189.{i % 50:02d}"
        frames.append(
            json.dumps(
                {"type": "update", "symbol": "AAPL", "U": u, "u": u, "ts": u, "b": [[price, "5"]]}
            ).encode()
        )
        frames.append(
            json.dumps(
                {
                    "type": "trade",
                    "symbol": "AAPL",
                    "id": str(i),
                    "price": "189.50",
                    "size": "1",
                    "side": "sell",
                    "ts": u,
                }
            ).encode()
        )
    return frames


def decode_all(frames: list[bytes]) -> list[Event]:
    decoder = MappedJsonDecoder("tcp", MappedParams(mapping="simulator_ws"))
    return [e for f in frames for e in decoder.decode(f, 0)]


class Venue:
    """A local TCP server; ``handler`` serves each connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.received: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, batch: list[Event]) -> None:
        self.events.extend(batch)


async def run_until(source: TcpSource, condition: Callable[[], bool], timeout: float = 20) -> None:
    task = asyncio.create_task(source.run())
    deadline = time.monotonic() + timeout
    try:
        while not condition():
            assert time.monotonic() < deadline, "condition not met"
            await asyncio.sleep(0.02)
    finally:
        await source.stop()
        await asyncio.wait_for(task, 10)


def tcp_source(address: str, emit: Collect, protocol: str = "json", **params: object) -> TcpSource:
    spec = SourceSpec(
        kind="tcp",
        protocol=protocol,
        mapping="simulator_ws" if protocol == "json" else "",
        endpoint=f"tcp://{address}",
        symbols=["AAPL"],
    )
    return TcpSource("tcp", spec, SOURCES.params("tcp", FAST | params), emit)


async def send_chunked(writer: asyncio.StreamWriter, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        step = rng.randint(1, 700)
        writer.write(data[position : position + step])
        await writer.drain()
        position += step


@pytest.mark.parametrize(("framing", "width"), [("length", 2), ("length", 4), ("line", 4)])
async def test_framed_json_in_arbitrary_chunks(framing: str, width: int) -> None:
    frames = venue_frames(200)
    wire = b"".join(frame_outgoing(framing, f, width) for f in frames)  # type: ignore[arg-type]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send_chunked(writer, wire, seed=width)
        await reader.read()  # hold the connection until the client goes

    collect = Collect()
    async with Venue(handler) as address:
        source = tcp_source(address, collect, framing=framing, length_width=width)
        await run_until(source, lambda: source.stats.messages == len(frames))
    assert [msgspec.structs.replace(e, ts_recv=0) for e in collect.events] == decode_all(frames)
    assert source.stats.decode_errors == 0


async def test_fix_stream_and_a_reconnect_that_resyncs() -> None:
    simulator = MarketSimulator(["ES"], seed=5, stream="tcp")
    encoder = FixEncoder(clock=lambda: 1_700_000_000_000_000_000)
    wanted = [e for e in simulator.take(400) if type(e) in (BookDelta, Trade)]
    messages = encoder.encode_messages(wanted)
    half = len(messages) // 2
    venue_calls: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        venue_calls.append(await reader.readexactly(len(LOGON)))
        # First connection: half the messages, then the venue drops us; second: the rest.
        part = messages[:half] if len(venue_calls) == 1 else messages[half:]
        await send_chunked(writer, b"".join(part), seed=len(venue_calls))
        if len(venue_calls) == 1:
            writer.transport.abort()
            return
        await reader.read()

    LOGON = b"8=FIX.4.4\x019=5\x0135=A\x0110=000\x01"  # any bytes the venue expects on connect
    collect = Collect()
    async with Venue(handler) as address:
        source = tcp_source(
            address, collect, protocol="fix", send_on_connect=[LOGON.decode("latin-1")]
        )
        assert source.framing == "fix"
        await run_until(source, lambda: source.stats.messages == len(messages))
    assert venue_calls == [LOGON, LOGON]  # sent again on the new connection
    assert source.stats.reconnects == 1
    statuses = [(e.symbol, e.state) for e in collect.events if type(e) is Status]
    assert statuses == [("AAPL", "RESYNC"), ("AAPL", "SYNCING")]
    market = [e for e in collect.events if type(e) is not Status]
    first, second = FixDecoder("tcp"), FixDecoder("tcp")  # the decoder starts over after the cut
    expected = [e for m in messages[:half] for e in first.decode(m, 0)]
    expected += [e for m in messages[half:] for e in second.decode(m, 0)]
    key = [(type(e).__name__, e.symbol, getattr(e, "price", 0)) for e in expected]
    assert [(type(e).__name__, e.symbol, getattr(e, "price", 0)) for e in market] == key
    assert [e.seq for e in collect.events] == list(range(1, len(collect.events) + 1))


def test_addresses_and_params() -> None:
    assert parse_address("tcp://10.0.0.1:9000") == ("10.0.0.1", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    with pytest.raises(ValueError):
        parse_address("nohost")
    with pytest.raises(ParamsError):
        SOURCES.params("tcp", {"framing": "xml"})
    with pytest.raises(ParamsError):
        SOURCES.params("tcp", {"length_width": 3})
    assert isinstance(SOURCES.params("tcp", {"address": "h:1", "framing": "length"}), TcpParams)
