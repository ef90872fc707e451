"""/ws/stream/ against a real daphne while a real ring streams: clients that vanish mid-send,
hostile frames and slow readers cost nothing that outlives them, and log no traceback.

The server's live-subscriber gauge (``tickerplant_ws_subscribers`` on ``/metrics``) is the
measure: it must return to zero once the clients are gone, however they went.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.webui.live_daphne import LiveDaphne, start_daphne

pytestmark = pytest.mark.slow

SUBSCRIBERS = "tickerplant_ws_subscribers"
SYMBOLS = [f"SYM{i}" for i in range(8)]


@pytest.fixture(scope="module")
def shm_prefix() -> Iterator[str]:
    from controlplane.fleet.supervisor import unlink_rings

    prefix = f"tickerplant-live-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    yield prefix
    unlink_rings(prefix)


@pytest.fixture(scope="module")
def feed(shm_prefix: str) -> Iterator[None]:
    """A real ring, written from a thread for the whole module: the server always streams."""
    from pipelines.delivery.shm_ring import RingWriter, ring_path
    from pipelines.events import BookSnapshot, encode
    from pipelines.topics import event_topic

    writer = RingWriter(ring_path(shm_prefix, 0), slots=4096, slot_size=2048)
    stop = threading.Event()

    def run() -> None:
        seq = 0
        while not stop.is_set():
            for symbol in SYMBOLS:
                seq += 1
                bid = 100_00 + seq % 50
                event = BookSnapshot(
                    stream="sim",
                    symbol=symbol,
                    seq=seq,
                    price_decimals=2,
                    size_decimals=3,
                    state="LIVE",
                    bids=[(bid - 50 * i, 1_000 + i) for i in range(10)],
                    asks=[(bid + 50 + 50 * i, 2_000 + i) for i in range(10)],
                )
                writer.publish(event_topic(event), encode(event))
            time.sleep(0.005)

    thread = threading.Thread(target=run, name="ring-feed", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)
    writer.close(unlink=True)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shm_prefix: str, feed: None) -> Iterator[Any]:
    server = start_daphne(
        tmp_path_factory.mktemp("live-daphne"),
        shm_prefix,
        env={"TICKERPLANT_WS_HEARTBEAT_SECONDS": "1", "TICKERPLANT_WS_STALL_SECONDS": "2"},
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def quiet_log(live: LiveDaphne) -> Iterator[None]:
    """Fails the test if daphne logged a traceback or an application error meanwhile."""
    start = len(live.log_text())
    yield
    new = live.log_text()[start:]
    for marker in ("Traceback", "Exception inside application", "took too long to shut down"):
        assert marker not in new, f"daphne logged {marker!r}:\n{new[-6000:]}"


async def _open(live: LiveDaphne, topics: tuple[str, ...] = ("md.>",)) -> ClientConnection:
    ws = await connect(live.ws_url, max_size=None, compression=None, open_timeout=60)
    await ws.send(json.dumps({"op": "subscribe", "id": 1, "topics": list(topics)}))
    return ws


async def _data_frame(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if frame["op"] in ("snapshot", "delta"):
            return frame


def _abort(ws: ClientConnection, reset: bool) -> None:
    """Drop the TCP connection with no closing handshake: RST (``reset``) or a bare FIN."""
    if reset:
        sock = ws.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()


async def _open_stream_and_abort(live: LiveDaphne, count: int, wave: int = 50) -> None:
    """``count`` clients, ``wave`` at a time: subscribe, receive data, then vanish mid-stream."""
    done = 0
    while done < count:
        batch = min(wave, count - done)
        clients = await asyncio.gather(*(_open(live) for _ in range(batch)))
        await asyncio.gather(*(_data_frame(ws) for ws in clients))
        for i, ws in enumerate(clients):
            _abort(ws, reset=(done + i) % 2 == 0)
        done += batch
    await asyncio.sleep(0.05)  # let the aborted transports finish closing on our side


def test_clients_that_vanish_mid_stream_leave_no_subscriber(
    live: LiveDaphne, quiet_log: None
) -> None:
    asyncio.run(_open_stream_and_abort(live, 60))
    assert live.wait_metric(SUBSCRIBERS, 0) == 0
    assert live.wait_metric("tickerplant_ws_connections", 0) == 0


def test_ordinary_closes_leave_no_subscriber(live: LiveDaphne, quiet_log: None) -> None:
    async def scenario() -> None:
        clients = await asyncio.gather(*(_open(live) for _ in range(50)))
        await asyncio.gather(*(_data_frame(ws) for ws in clients))
        await asyncio.gather(*(ws.close() for ws in clients))

    asyncio.run(scenario())
    assert live.wait_metric(SUBSCRIBERS, 0) == 0


def test_a_killed_client_process_leaves_no_subscriber(
    live: LiveDaphne, quiet_log: None, tmp_path: Path
) -> None:
    script = tmp_path / "clients.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, json, sys, time
            from websockets.asyncio.client import connect

            async def main():
                clients = [await connect({live.ws_url!r}, max_size=None) for _ in range(20)]
                for ws in clients:
                    await ws.send(json.dumps({{"op": "subscribe", "id": 1, "topics": ["md.>"]}}))
                for ws in clients:
                    while json.loads(await ws.recv())["op"] not in ("snapshot", "delta"):
                        pass
                print("streaming", flush=True)
                time.sleep(3600)  # blocked: the server keeps sending into full buffers

            asyncio.run(main())
            """
        )
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"streaming"
        assert live.metric(SUBSCRIBERS) >= 20
        time.sleep(0.5)  # the server streams into sockets nobody reads
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert live.wait_metric(SUBSCRIBERS, 0) == 0


@pytest.mark.parametrize(
    ("payload", "code", "close_code"),
    [
        ("[" * 60_000, "too_deep", 4400),
        (
            '{"op": "subscribe", "id": ' + "[" * 40 + "]" * 40 + ', "topics": ["md.>"]}',
            "too_deep",
            4400,
        ),
        (
            json.dumps({"op": "subscribe", "id": "x" * 300_000, "topics": ["md.>"]}),
            "too_large",
            4413,
        ),
    ],
    ids=["nested-60k", "nested-id-40", "oversized-300k"],
)
def test_hostile_frames_get_an_error_frame_then_a_close(
    live: LiveDaphne, quiet_log: None, payload: str, code: str, close_code: int
) -> None:
    async def scenario() -> None:
        for _ in range(25):
            ws = await _open(live, ("md.sim.SYM0.book",))
            await _data_frame(ws)
            await ws.send(payload)
            error: dict[str, Any] | None = None
            try:
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if frame["op"] == "error":
                        error = frame
            except ConnectionClosed:
                pass
            assert error is not None and error["code"] == code, error
            assert ws.close_code == close_code

    asyncio.run(scenario())
    assert live.wait_metric(SUBSCRIBERS, 0) == 0
    started = time.monotonic()
    assert live.get("/healthz", timeout=5)[0] == 200
    assert time.monotonic() - started < 2


def test_a_frame_within_the_limits_is_still_served(live: LiveDaphne, quiet_log: None) -> None:
    async def scenario() -> None:
        ws = await connect(live.ws_url, max_size=None, compression=None, open_timeout=60)
        nested_id: Any = [[[{"deep": [1, 2, {"x": None}]}]]]
        await ws.send(json.dumps({"op": "subscribe", "id": nested_id, "topics": ["md.nope.*.x"]}))
        await ws.send(json.dumps({"op": "subscribe", "id": nested_id, "topics": ["md.>.bad"]}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        while frame["op"] == "heartbeat":
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert (frame["op"], frame["id"], frame["code"]) == ("error", nested_id, "bad_topics")
        await ws.close()

    asyncio.run(scenario())


def test_a_client_that_stops_reading_is_cut_off_and_costs_only_itself(
    live: LiveDaphne, quiet_log: None
) -> None:
    """A reader that never reads fills its socket; it gets ``slow_consumer`` and is closed while
    a reading client on the same topics keeps receiving."""

    async def scenario() -> None:
        reader = await _open(live)
        await _data_frame(reader)
        stalled = socket.create_connection(("127.0.0.1", live.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(
            (
                f"GET /ws/stream/?token={live.token} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert stalled.recv(4096).startswith(b"HTTP/1.1 101")
        payload = json.dumps({"op": "subscribe", "id": 1, "topics": ["md.>"]}).encode()
        mask = b"\x00\x00\x00\x00"
        stalled.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + payload)
        try:
            deadline = time.monotonic() + 120
            received = 0
            while live.metric(SUBSCRIBERS) > 1 and time.monotonic() < deadline:
                for _ in range(20):  # the reading client is served all along
                    await _data_frame(reader, timeout=10)
                    received += 1
            assert live.metric(SUBSCRIBERS) == 1, "the stalled client was never cut off"
            assert live.metric("tickerplant_ws_cut_off_total") >= 1
            await _data_frame(reader, timeout=10)
            assert received > 0
        finally:
            stalled.close()
            await reader.close()

    asyncio.run(scenario())
    assert live.wait_metric(SUBSCRIBERS, 0) == 0


def test_a_thousand_abrupt_closes_leak_nothing(live: LiveDaphne, quiet_log: None) -> None:
    started = time.monotonic()
    asyncio.run(_open_stream_and_abort(live, 1000, wave=100))
    leaked = live.wait_metric(SUBSCRIBERS, 0)
    print(
        f"1000 abrupt closes mid-stream in {time.monotonic() - started:.1f} s: "
        f"{leaked:.0f} subscribers leaked"
    )
    assert leaked == 0
    assert live.get("/healthz", timeout=5)[0] == 200
