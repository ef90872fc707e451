"""``kind="tcp"``: a TCP client (asyncio streams) framing its byte stream into messages.

Framing (:mod:`ingest.sources.framing`): ``fix`` (BodyLength), ``length`` (a 2- or 4-byte
big-endian length prefix) or ``line``; empty picks ``fix`` for the fix protocol, else ``line``.
Each framed message goes to :meth:`ingest.feed.FeedHandler.on_message`. After connecting, the
source sends ``Params.send_on_connect`` (or the mapping's subscribe messages), framed the same
way. A lost connection resyncs and reconnects exactly as the websocket source does: RESYNC,
fresh decoder, capped exponential backoff with full jitter, ``stats.reconnects``, SYNCING.

With ``fix_session`` set, the connection is a FIX session instead
(:class:`~ingest.protocols.fix.session.FixInitiator`): logon, heartbeats, sequence numbers kept
across reconnects (in ``store_dir`` when given), resend and gap-fill handling; once logged on it
sends a MarketDataRequest (V) for the symbols, and every application message the session
delivers, in sequence order, goes to the feed handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.session import FixInitiator, SessionConfig
from ingest.sources.base import Emit
from ingest.sources.framing import FramingKind, make_framer
from ingest.sources.reconnecting import ReconnectingSource
from pipelines.registry import SOURCES
from pipelines.spec import SourceSpec

__all__ = ["TcpParams", "TcpSource", "frame_outgoing", "market_data_request", "parse_address"]

log = logging.getLogger(__name__)

Seconds = Annotated[float, Meta(gt=0, le=3600)]


class TcpParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    address: str = ""
    """``host:port`` (``[v6]:port``); empty: the source's ``endpoint`` (``tcp://`` allowed)."""
    framing: Literal["", "fix", "length", "line"] = ""
    """How messages are delimited; empty: ``fix`` for the fix protocol, else ``line``."""
    length_width: Literal[2, 4] = 4
    """Bytes of the big-endian length prefix (``framing = "length"``)."""
    symbols: list[Annotated[str, Meta(min_length=1, max_length=64)]] = []
    """Symbols of this feed (subscribe templates, status events); empty: the spec's."""
    protocol_params: dict[str, Any] = {}
    """Params of the protocol plugin (the spec's ``mapping`` is filled in for json/csv)."""
    send_on_connect: list[str] = []
    """Messages sent after connecting (framed as above); empty: the mapping's subscribe ones."""
    snapshot_base: str = ""
    """Replaces scheme and host of the mapping's REST snapshot URLs."""
    connect_timeout: Seconds = 10.0
    """Seconds allowed for the TCP connect."""
    max_message_size: Annotated[int, Meta(ge=64, le=1 << 30)] = 1 << 20
    """Largest framed message; a longer length prefix or line is dropped and counted."""
    read_size: Annotated[int, Meta(ge=512, le=1 << 24)] = 1 << 16
    """Bytes asked of the socket per read."""
    backoff_initial: Seconds = 0.1
    """First reconnect delay cap (seconds); doubles per failed attempt."""
    backoff_max: Seconds = 30.0
    """Cap of the reconnect delay (seconds)."""
    fix_session: SessionConfig | None = None
    """Run a FIX session (logon, heartbeats, sequence numbers, resends) over the connection."""
    market_data_request: bool = True
    """With ``fix_session``: send a MarketDataRequest (V, snapshot + updates) for the symbols."""


def parse_address(address: str) -> tuple[str, int]:
    """``host:port``, ``tcp://host:port`` or ``[::1]:port`` -> (host, port)."""
    text = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"not a host:port address: {address!r}")
    return host.strip("[]"), int(port)


def frame_outgoing(framing: FramingKind, data: bytes, length_width: int = 4) -> bytes:
    """``data`` as one message of ``framing`` (what the peer's framer expects)."""
    if framing == "length":
        return len(data).to_bytes(length_width, "big") + data
    if framing == "line":
        return data if data.endswith(b"\n") else data + b"\n"
    return data


@SOURCES.register
class TcpSource(ReconnectingSource[TcpParams]):
    kind: ClassVar[str] = "tcp"
    Params: ClassVar[type[msgspec.Struct]] = TcpParams

    def __init__(self, name: str, spec: SourceSpec, params: TcpParams, emit: Emit) -> None:
        super().__init__(name, spec, params, emit)
        self.host, self.port = parse_address(params.address or spec.endpoint)
        self.framing: FramingKind = params.framing or ("fix" if spec.protocol == "fix" else "line")
        self._writer: asyncio.StreamWriter | None = None
        self._initiator: FixInitiator | None = None

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def _session(self) -> None:
        if self.params.fix_session is not None:
            await self._fix_session(self.params.fix_session)
            return
        params = self.params
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=params.read_size),
                params.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            log.warning("%s: connect %s:%s: %s", self.name, self.host, self.port, exc)
            return
        self._writer = writer
        reconnected = self._connected()
        try:
            outgoing = [
                m.encode() for m in params.send_on_connect
            ] or self.feed.subscribe_messages()
            if outgoing:
                writer.write(
                    b"".join(frame_outgoing(self.framing, m, params.length_width) for m in outgoing)
                )
                await writer.drain()
            if reconnected:
                self.emit(self.feed.status("SYNCING", "reconnected, waiting for snapshot"))
            await self._read(reader)
        except (OSError, TimeoutError) as exc:
            if not self._stopping.is_set():
                log.warning("%s: %s:%s: %s", self.name, self.host, self.port, exc)
        finally:
            self._writer = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if not self._stopping.is_set():
                self.feed.resync("disconnected")

    async def _fix_session(self, config: SessionConfig) -> None:
        """One FIX session over one connection; the initiator (and its sequence numbers and
        store) lives across reconnects, as the FIX session does."""
        if self._initiator is None:
            on_message = self.feed.on_message

            def deliver(message: FixMessage) -> None:
                on_message(message.raw, time.time_ns())

            self._initiator = FixInitiator(self.host, self.port, config, deliver)
        initiator = self._initiator
        running = asyncio.ensure_future(initiator.run())
        try:
            try:
                await asyncio.wait_for(
                    asyncio.shield(initiator.wait_logged_on()), self.params.connect_timeout
                )
            except TimeoutError:
                if not running.done():
                    raise
            if running.done():
                running.result()  # the connect failed or the logon was refused: raise why
                return
            if self._connected():
                self.emit(self.feed.status("SYNCING", "FIX session logged on again"))
            if self.params.market_data_request:
                initiator.send("V", market_data_request(self.connections, self.feed.symbols))
            await running
        except (OSError, TimeoutError) as exc:
            if not self._stopping.is_set():
                log.warning("%s: FIX session %s:%s: %s", self.name, self.host, self.port, exc)
        except Exception as exc:  # a refused logon, a session error: reconnect, never crash
            if not self._stopping.is_set():
                log.warning("%s: FIX session %s:%s: %r", self.name, self.host, self.port, exc)
        finally:
            if not running.done():
                await initiator.stop()
                with contextlib.suppress(Exception):
                    await running
            if not self._stopping.is_set() and self.connections:
                self.feed.resync("FIX session ended")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        framer = make_framer(
            self.framing,
            length_width=self.params.length_width,
            max_message=self.params.max_message_size,
        )
        on_message = self.feed.on_message
        snapshots = self.snapshots
        read_size = self.params.read_size
        clock = time.time_ns
        while True:
            chunk = await reader.read(read_size)
            if not chunk:
                return  # the peer closed
            ts_recv = clock()
            for message in framer.feed(chunk):
                on_message(message, ts_recv)
            if snapshots is not None:
                snapshots.poll()

    def update(self, params: TcpParams) -> bool:
        """Backoff cap and timeouts change in place; anything else reconnects."""
        old = self.params
        same = msgspec.structs.replace(
            params,
            backoff_max=old.backoff_max,
            connect_timeout=old.connect_timeout,
        )
        if same != old:
            return False
        self.backoff.maximum = max(params.backoff_max, self.backoff.initial)
        self.params = params
        return True

    async def stop(self) -> None:
        self._stopping.set()
        if self._initiator is not None:
            await self._initiator.stop()  # logs out cleanly
        writer = self._writer
        if writer is not None:
            writer.close()

    async def drop_connection(self) -> None:
        """Abort the current connection as a network failure would (operations, tests)."""
        writer = self._writer
        if writer is None and self._initiator is not None:
            connection = self._initiator._connection
            writer = connection.writer if connection is not None else None
        if writer is not None:
            writer.transport.abort()


def market_data_request(request: int, symbols: list[str]) -> list[tuple[str, str]]:
    """The body of a MarketDataRequest (V): snapshot plus updates, full book, bids, offers and
    trades, for ``symbols``."""
    body = [
        ("262", f"tickerplant-{request}"),
        ("263", "1"),  # SubscriptionRequestType: snapshot + updates
        ("264", "0"),  # MarketDepth: full book
        ("265", "1"),  # MDUpdateType: incremental refresh
        ("267", "3"),
        ("269", "0"),
        ("269", "1"),
        ("269", "2"),
        ("146", str(len(symbols))),
    ]
    body.extend(("55", symbol) for symbol in symbols)
    return body
