"""The simulator served over FIX: our FixInitiator logs on, requests BTC-USD, and the FIX
decoder turns what arrives into a BookSnapshot, then BookDelta events."""

from __future__ import annotations

import asyncio
import contextlib

from ingest.protocols.fix import FixDecoder
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.session import FixInitiator, SessionConfig
from ingest.simulator import MarketSimulator
from ingest.simulator.fix_acceptor import serve_fix
from pipelines.events import BookDelta, BookSnapshot, Event


async def test_initiator_receives_snapshot_then_incrementals() -> None:
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    simulator = MarketSimulator(["BTC-USD", "ETH-USD"], seed=7)
    server = asyncio.create_task(
        serve_fix("127.0.0.1", 0, simulator, messages_per_second=500, started=started)
    )
    port = await asyncio.wait_for(started, 10)
    decoder = FixDecoder("fix-sim")
    events: list[Event] = []
    types: list[str] = []
    enough = asyncio.Event()

    def on_message(message: FixMessage) -> None:
        types.append(message.msg_type)
        events.extend(decoder.decode(message.raw, 0))
        if sum(isinstance(e, BookDelta) for e in events) >= 20:
            enough.set()

    config = SessionConfig(
        sender_comp_id="CLIENT", target_comp_id="TICKERPLANT", heartbeat_interval=5
    )
    initiator = FixInitiator("127.0.0.1", port, config, on_message)
    client = asyncio.create_task(initiator.run())
    try:
        await initiator.wait_logged_on(timeout=10)
        initiator.send(
            "V",
            [
                ("262", "req-1"),
                ("263", "1"),
                ("264", "0"),
                ("267", "2"),
                ("269", "0"),
                ("269", "1"),
                ("146", "1"),
                ("55", "BTC-USD"),
            ],
        )
        await asyncio.wait_for(enough.wait(), 20)
        await initiator.stop()
        await asyncio.wait_for(client, 10)
    finally:
        server.cancel()
        client.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server

    assert types[0] == "W" and set(types[1:]) == {"X"}
    snapshot = events[0]
    assert isinstance(snapshot, BookSnapshot) and snapshot.symbol == "BTC-USD"
    assert snapshot.bids and snapshot.asks and snapshot.bids[0][0] < snapshot.asks[0][0]
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert {d.symbol for d in deltas} == {"BTC-USD"}  # ETH-USD was not requested
    assert any(d.batch_end for d in deltas)
    assert not initiator.logged_on
