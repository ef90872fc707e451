"""``kind="websocket"``: a WebSocket client feeding its frames to the source's decoder.

The URL is ``Params.url``, else ``SourceSpec.endpoint``, else the mapping's ``[subscribe] url``;
after connecting the source sends ``Params.subscribe`` when given, else the mapping's subscribe
messages. Every frame goes to :meth:`ingest.feed.FeedHandler.on_message` with
``ts_recv = time.time_ns()``; the handler emits one batch per frame. With ``protocol = "fix"``
frames carry FIX tag=value messages (one or several per frame).

A lost connection: ``Status(RESYNC)`` per symbol, the decoder's books are dropped (a fresh
decoder on the same sequencer), then reconnect after a capped exponential backoff with full jitter
(:class:`~ingest.sources.backoff.Backoff`), count it in ``stats.reconnects``, resubscribe and emit
``Status(SYNCING)``: the books come back LIVE with the next snapshot (in-stream, or fetched over
REST by :class:`~ingest.sources.bytefeed.SnapshotFetcher`).
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ingest.protocols.fix.framing import FixFramer
from ingest.sources.base import Emit
from ingest.sources.reconnecting import ReconnectingSource
from pipelines.registry import SOURCES
from pipelines.spec import SourceSpec

__all__ = ["WebSocketParams", "WebSocketSource"]

log = logging.getLogger(__name__)

Seconds = Annotated[float, Meta(gt=0, le=3600)]


class WebSocketParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = ""
    """ws:// or wss:// URL; empty: the source's ``endpoint``, else the mapping's subscribe URL."""
    symbols: list[Annotated[str, Meta(min_length=1, max_length=64)]] = []
    """Symbols to subscribe; empty: the source spec's ``symbols``."""
    protocol_params: dict[str, Any] = {}
    """Params of the protocol plugin (the spec's ``mapping`` is filled in for json/csv)."""
    subscribe: list[str] = []
    """Text frames sent after connecting, instead of the mapping's subscribe messages."""
    snapshot_base: str = ""
    """Replaces scheme and host of the mapping's REST snapshot URLs (``http://127.0.0.1:8080``)."""
    ping_interval: Annotated[float, Meta(ge=0, le=3600)] = 20.0
    """Seconds between keepalive pings; 0 disables them."""
    ping_timeout: Seconds = 20.0
    """Seconds without a pong before the connection counts as lost."""
    open_timeout: Seconds = 10.0
    """Seconds allowed for TCP connect, TLS and the WebSocket handshake."""
    max_message_size: Annotated[int, Meta(ge=1024, le=1 << 30)] = 1 << 24
    """Largest frame accepted (venue snapshots can be megabytes)."""
    backoff_initial: Seconds = 0.1
    """First reconnect delay cap (seconds); doubles per failed attempt."""
    backoff_max: Seconds = 30.0
    """Cap of the reconnect delay."""
    compression: bool = True
    """Offer permessage-deflate (most venues use it)."""


@SOURCES.register
class WebSocketSource(ReconnectingSource[WebSocketParams]):
    kind: ClassVar[str] = "websocket"
    Params: ClassVar[type[msgspec.Struct]] = WebSocketParams

    def __init__(self, name: str, spec: SourceSpec, params: WebSocketParams, emit: Emit) -> None:
        super().__init__(name, spec, params, emit)
        self.url = params.url or spec.endpoint or self.feed.url()
        if not self.url:
            raise ValueError(f"websocket source {name!r}: no url (params, endpoint or mapping)")
        self._connection: ClientConnection | None = None

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def _subscribe_frames(self) -> list[str | bytes]:
        if self.params.subscribe:
            return list(self.params.subscribe)
        # The mapping's templates are JSON text: send them as text frames.
        return [message.decode() for message in self.feed.subscribe_messages()]

    async def _session(self) -> None:
        """One connection: connect, subscribe, read until it drops (or stop)."""
        params = self.params
        try:
            async with connect(
                self.url,
                open_timeout=params.open_timeout,
                ping_interval=params.ping_interval or None,
                ping_timeout=params.ping_timeout,
                max_size=params.max_message_size,
                compression="deflate" if params.compression else None,
                proxy=None,  # a live feed never goes through an environment proxy by surprise
                close_timeout=2,
            ) as connection:
                self._connection = connection
                reconnected = self._connected()
                for frame in self._subscribe_frames():
                    await connection.send(frame)
                if reconnected:
                    self.emit(self.feed.status("SYNCING", "resubscribed, waiting for snapshot"))
                await self._read(connection)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
            if not self._stopping.is_set():
                log.warning("%s: websocket %s: %s", self.name, self.url, exc or type(exc).__name__)
        finally:
            was_connected = self._connection is not None
            self._connection = None
            if was_connected and not self._stopping.is_set():
                self.feed.resync("disconnected")

    async def _read(self, connection: ClientConnection) -> None:
        on_message = self.feed.on_message
        snapshots = self.snapshots
        framer = FixFramer() if self._splits_fix() else None
        clock = time.time_ns
        while True:
            data = await connection.recv(decode=False)
            ts_recv = clock()
            if framer is None:
                on_message(data, ts_recv)
            else:
                for message in framer.feed(data):
                    on_message(message, ts_recv)
            if snapshots is not None:
                snapshots.poll()

    def _splits_fix(self) -> bool:
        # Frames may hold several FIX messages; split them by BodyLength. A non-SOH separator
        # (human-edited test feeds) cannot be framed that way: then one message per frame.
        decoder: Any = self.feed.decoder
        fix_params = getattr(decoder, "params", None)
        return self.feed.protocol == "fix" and getattr(fix_params, "separator", "\x01") == "\x01"

    def update(self, params: WebSocketParams) -> bool:
        """Only the backoff cap and timeouts change in place; anything else reconnects."""
        old = self.params
        keep = ("url", "symbols", "protocol_params", "subscribe", "snapshot_base")
        if any(getattr(old, key) != getattr(params, key) for key in keep):
            return False
        self.backoff.maximum = max(params.backoff_max, self.backoff.initial)
        self.params = params
        return True

    async def stop(self) -> None:
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            await connection.close()

    async def drop_connection(self) -> None:
        """Abort the current connection as a network failure would (operations, tests)."""
        connection = self._connection
        if connection is not None:
            connection.transport.abort()
