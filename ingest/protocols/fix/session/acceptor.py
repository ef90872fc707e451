"""An asyncio TCP acceptor of FIX sessions, and the echo application of its test mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Final

from ingest.protocols.fix.dictionary import FixDictionary, load_dictionary
from ingest.protocols.fix.framing import FixFramer
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.session.config import SessionConfig
from ingest.protocols.fix.session.machine import Application, FixSession, UnsupportedMessageType
from ingest.protocols.fix.session.messages import HEADER_TAGS, TRAILER_TAGS, Fields, flatten
from ingest.protocols.fix.session.transport import SessionConnection

__all__ = ["EchoApplication", "FixAcceptor"]

_log = logging.getLogger("ingest.fix.session")
_NOT_ECHOED: Final = frozenset({"8", "9", "35", "34", "49", "52", "56", "43", "122"})


class EchoApplication:
    """QuickFIX's test acceptor: application messages of ``msg_types`` come back with the same
    body and a new header (PossDup and OrigSendingTime dropped, other header fields kept; body
    fields in ascending tag order, as QuickFIX writes them); a PossResend (97=Y) message whose
    ClOrdID (11) was seen before is ignored (19a); other types get BusinessMessageReject (2r)."""

    def __init__(self, msg_types: Iterable[str] = ("D", "d")) -> None:
        self.msg_types = frozenset(msg_types)
        self._seen: set[tuple[str, str]] = set()

    def __call__(self, session: FixSession, message: FixMessage) -> None:
        if message.msg_type not in self.msg_types:
            raise UnsupportedMessageType(message.msg_type)
        key = (session.config.session_id, message.get("11"))
        if message.poss_resend and key in self._seen:
            return
        self._seen.add(key)
        header: Fields = []
        body: dict[str, str | list[dict[str, object]]] = {}
        for tag, value in message.fields.items():
            if tag in HEADER_TAGS:
                if tag not in _NOT_ECHOED and isinstance(value, str):
                    header.append((tag, value))
            elif tag not in TRAILER_TAGS:
                body[tag] = value
        ordered = dict(sorted(body.items(), key=lambda item: int(item[0])))
        session.send(message.msg_type, flatten(ordered), header)


class FixAcceptor:
    """Serves the configured sessions on ``host:port``. A connection is bound to a session by
    its first message (BeginString and CompIDs, seen from our side); unknown identities and a
    second connection of a session already connected are closed without a word (1c, 1b).

    ``application(config)`` makes the callback of each session (e.g. an EchoApplication in
    test mode); ``port=0`` picks a free port (see :attr:`port` after :meth:`start`)."""

    def __init__(
        self,
        host: str,
        port: int,
        sessions: Iterable[SessionConfig],
        application: Callable[[SessionConfig], Application | None] = lambda config: None,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.host = host
        self.port = port
        self.clock = clock
        dictionaries: dict[str, FixDictionary] = {}
        self.sessions: dict[tuple[str, str, str], FixSession] = {}
        for config in sessions:
            dictionary = None
            if config.dictionary:
                if config.dictionary not in dictionaries:
                    dictionaries[config.dictionary] = load_dictionary(config.dictionary)
                dictionary = dictionaries[config.dictionary]
            key = (config.begin_string, config.sender_comp_id, config.target_comp_id)
            self.sessions[key] = FixSession(
                config,
                initiator=False,
                application=application(config),
                dictionary=dictionary,
                clock=clock,
            )
        self.connections: dict[tuple[str, str, str], SessionConnection] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop accepting, log out connected sessions, close everything."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections.values()):
            connection.logout()
        for connection in list(self.connections.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.closed.wait(), 5)
            connection.writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
        for session in self.sessions.values():
            session.close()

    async def __aenter__(self) -> FixAcceptor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = bytearray()
        framer = FixFramer(trust_body_length=True)
        frames: list[bytes] = []
        timeout = min((s.config.logon_timeout for s in self.sessions.values()), default=10.0)
        try:
            async with asyncio.timeout(timeout):
                while not frames and not framer.skipped_bytes:
                    data = await reader.read(1 << 16)
                    if not data:
                        break
                    received += data
                    frames = framer.feed(data)
        except (TimeoutError, ConnectionError, OSError):
            frames = []
        key = _identity(frames[0]) if frames and not framer.skipped_bytes else None
        session = self.sessions.get(key) if key else None
        if key is None or session is None or key in self.connections:
            _log.info("FIX connection refused: identity %s", key)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            return
        connection = SessionConnection(session, reader, writer)
        self.connections[key] = connection
        try:
            await connection.run(bytes(received))
        finally:
            del self.connections[key]


def _identity(raw: bytes) -> tuple[str, str, str]:
    """(BeginString, our CompID, theirs) of a message: its 8, 56 and 49."""
    fields = dict(part.split("=", 1) for part in raw.decode("latin-1").split("\x01") if "=" in part)
    return fields.get("8", ""), fields.get("56", ""), fields.get("49", "")
