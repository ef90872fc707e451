"""The tcp source as a FIX initiator: it logs on to the simulator's FIX 4.4 acceptor, requests
market data, turns the session's W/X messages into events, and after a cut logs on again and
resyncs from a new snapshot."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec

from ingest.simulator import MarketSimulator
from ingest.simulator.fix_acceptor import serve_fix
from ingest.sources.tcp import TcpParams, TcpSource, market_data_request
from pipelines.events import BookDelta, BookSnapshot, Event, Status
from pipelines.registry import SOURCES
from pipelines.spec import SourceSpec


async def wait_until(condition: object, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


def test_the_fix_session_is_part_of_the_tcp_params_schema() -> None:
    params = SOURCES.params(
        "tcp",
        {"fix_session": {"sender_comp_id": "CLIENT", "target_comp_id": "TICKERPLANT"}},
    )
    assert isinstance(params, TcpParams) and params.fix_session is not None
    assert params.fix_session.heartbeat_interval == 30
    schema = SOURCES.params_schema("tcp")
    assert "fix_session" in schema["$defs"]["TcpParams"]["properties"]


def test_the_market_data_request_names_every_symbol() -> None:
    body = market_data_request(3, ["BTC-USD", "ETH-USD"])
    assert ("263", "1") in body and ("146", "2") in body
    assert [v for t, v in body if t == "55"] == ["BTC-USD", "ETH-USD"]


async def test_logs_on_requests_data_and_resyncs_after_a_cut() -> None:
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(
        serve_fix(
            "127.0.0.1",
            0,
            MarketSimulator(["BTC-USD", "ETH-USD"], seed=3),
            messages_per_second=400,
            started=started,
        )
    )
    port = await asyncio.wait_for(started, 10)
    events: list[Event] = []
    spec = SourceSpec(kind="tcp", protocol="fix", endpoint=f"127.0.0.1:{port}", symbols=["BTC-USD"])
    params = msgspec.convert(
        {
            "fix_session": {
                "sender_comp_id": "CLIENT",
                "target_comp_id": "TICKERPLANT",
                "heartbeat_interval": 5,
                # A market-data session starts again at 1 on each logon (141=Y), as the
                # simulator's acceptor does; stale updates are never resent.
                "reset_on_logon": True,
                "persist_messages": False,
            },
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
        },
        TcpParams,
    )
    source = TcpSource("fixsim", spec, params, events.extend)
    running = asyncio.create_task(source.run())

    def snapshots() -> list[BookSnapshot]:
        return [e for e in events if isinstance(e, BookSnapshot)]

    def deltas() -> list[BookDelta]:
        return [e for e in events if isinstance(e, BookDelta)]

    try:
        await wait_until(lambda: len(snapshots()) == 1 and len(deltas()) >= 20)
        first_cut = len(events)
        await source.drop_connection()
        await wait_until(lambda: len(snapshots()) == 2 and len(deltas()) >= 40)
    finally:
        await source.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(running, 10)
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server

    # Only the requested symbol, a snapshot first, then incrementals.
    assert {e.symbol for e in snapshots() + deltas()} == {"BTC-USD"}
    assert isinstance(events[0], BookSnapshot)
    # The cut: RESYNC, then SYNCING once logged on again, then a fresh snapshot.
    after = events[first_cut:]
    states = [e.state for e in after if isinstance(e, Status)]
    assert states[:2] == ["RESYNC", "SYNCING"], states
    resync_at = next(i for i, e in enumerate(after) if isinstance(e, Status))
    assert isinstance(next(e for e in after[resync_at:] if not isinstance(e, Status)), BookSnapshot)
    assert source.feed.stats.reconnects == 1
    # Ingest sequence numbers run on across the reconnect: no hole, no repeat.
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
