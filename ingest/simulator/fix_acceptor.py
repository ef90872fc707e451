"""The simulator's market data served as a FIX 4.4 acceptor.

An initiator logs on and sends MarketDataRequest (V, 263=1 snapshot + updates, 146 symbols);
each requested symbol gets a W snapshot of the simulator's current book, then X incrementals as
the simulator produces them (``messages_per_second`` venue messages in real time). 263=2
unsubscribes. Messages are made by :class:`~ingest.protocols.fix.encoder.FixEncoder`; the
session layer gives them their header and sequence numbers.

``python -m ingest.simulator.fix_acceptor --port 9878`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from typing import Final

from ingest.protocols.fix.encoder import FixEncoder
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.session import (
    FixAcceptor,
    FixSession,
    SessionConfig,
    UnsupportedMessageType,
)
from ingest.protocols.fix.session.messages import split_fields
from ingest.simulator.instruments import PRESETS
from ingest.simulator.market import MarketSimulator
from pipelines.events import BookDelta, BookSnapshot, Event, Statistic, Trade

__all__ = ["MarketDataApplication", "serve_fix"]

_HEADER: Final = frozenset({"8", "9", "35", "49", "56", "34", "52", "10"})


class MarketDataApplication:
    """The acceptor's application: subscriptions per session, books kept from the deltas."""

    def __init__(self, simulator: MarketSimulator) -> None:
        self.simulator = simulator
        self.encoder = FixEncoder("FIX.4.4", time_digits=3)
        self.subscriptions: dict[FixSession, dict[str, str]] = {}  # symbol → MDReqID
        self._books: dict[str, tuple[dict[int, int], dict[int, int], int, int]] = {}

    def __call__(self, session: FixSession, message: FixMessage) -> None:
        if message.msg_type != "V":
            raise UnsupportedMessageType(message.msg_type)
        request_id = message.get("262")
        # Every Symbol (55) of the request: read off the wire, so no dictionary is needed to
        # know the NoRelatedSym (146) group.
        symbols = [value for tag, value in split_fields(message.raw) if tag == "55"]
        wanted = self.subscriptions.setdefault(session, {})
        if message.get("263") == "2":
            for symbol in symbols:
                wanted.pop(symbol, None)
            return
        for symbol in symbols:
            if symbol not in self.simulator.symbols:
                continue
            self._send(session, [self._snapshot(symbol)], request_id)
            if message.get("263") == "1":
                wanted[symbol] = request_id

    def step(self, messages: int) -> None:
        """Advance the simulator by ``messages`` venue messages; send them to subscribers."""
        events: list[Event] = []
        for _ in range(messages):
            events.extend(self.simulator.next_message())
        for event in events:
            if isinstance(event, BookDelta):
                self._apply(event)
        for session, wanted in list(self.subscriptions.items()):
            if not session.logged_on:
                del self.subscriptions[session]
                continue
            mine: list[Event] = [
                e
                for e in events
                if isinstance(e, BookDelta | Trade | Statistic) and e.symbol in wanted
            ]
            if mine:
                self._send(session, mine, "")

    def _send(self, session: FixSession, events: list[Event], request_id: str) -> None:
        for raw in self.encoder.encode_messages(events):
            fields = [f.split("=", 1) for f in raw.decode("latin-1").split("\x01")[:-1]]
            msg_type = next(value for tag, value in fields if tag == "35")
            body = [(tag, value) for tag, value in fields if tag not in _HEADER]
            if request_id and msg_type == "W":
                body.insert(0, ("262", request_id))
            session.send(msg_type, body)

    def _apply(self, delta: BookDelta) -> None:
        bids, asks, _, _ = self._books.setdefault(
            delta.symbol, ({}, {}, delta.price_decimals, delta.size_decimals)
        )
        side = bids if delta.side == "bid" else asks
        if delta.action == "delete" or not delta.size:
            side.pop(delta.price, None)
        else:
            side[delta.price] = delta.size

    def _snapshot(self, symbol: str) -> BookSnapshot:
        config = PRESETS.get(symbol)
        price_decimals = config.price_decimals if config else 2
        size_decimals = config.size_decimals if config else 0
        bids, asks, price_decimals, size_decimals = self._books.get(
            symbol, ({}, {}, price_decimals, size_decimals)
        )
        return BookSnapshot(
            stream=self.simulator.stream,
            symbol=symbol,
            seq=0,
            ts_exchange=0,
            ts_recv=0,
            bids=sorted(bids.items(), reverse=True),
            asks=sorted(asks.items()),
            price_decimals=price_decimals,
            size_decimals=size_decimals,
        )


async def serve_fix(
    host: str,
    port: int,
    simulator: MarketSimulator,
    *,
    sender_comp_id: str = "TICKERPLANT",
    target_comp_id: str = "CLIENT",
    messages_per_second: float = 200.0,
    session: SessionConfig | None = None,
    started: asyncio.Future[int] | None = None,
) -> None:
    """Serve until cancelled. ``started`` (optional) receives the bound port (``port=0``)."""
    config = session or SessionConfig(
        sender_comp_id=sender_comp_id,
        target_comp_id=target_comp_id,
        persist_messages=False,  # stale market data is never resent: GapFill instead
        reset_on_logon=True,
        reset_on_disconnect=True,
    )
    application = MarketDataApplication(simulator)
    application.step(1)  # the first venue messages build the books
    acceptor = FixAcceptor(host, port, [config], lambda config: application)
    tick = 0.02
    per_tick = max(1, round(messages_per_second * tick))
    async with acceptor:
        if started is not None:
            started.set_result(acceptor.port)
        while True:
            application.step(per_tick)
            for connection in list(acceptor.connections.values()):
                connection.flush()
            await asyncio.sleep(tick)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.simulator.fix_acceptor",
        description="Serve the simulator's market data as a FIX 4.4 acceptor (V → W, then X).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9878)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--symbols", default=",".join(PRESETS))
    parser.add_argument("--sender", default="TICKERPLANT", help="our SenderCompID")
    parser.add_argument("--target", default="CLIENT", help="the initiator's CompID")
    parser.add_argument("--rate", type=float, default=200.0, help="venue messages per second")
    args = parser.parse_args(argv)
    symbols = [s for s in args.symbols.split(",") if s]
    simulator = MarketSimulator(symbols, seed=args.seed)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_fix(
                args.host,
                args.port,
                simulator,
                sender_comp_id=args.sender,
                target_comp_id=args.target,
                messages_per_second=args.rate,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
