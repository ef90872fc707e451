"""Running a :class:`FixSession` over an asyncio stream: read, time, write, close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from ingest.protocols.fix.session.machine import FixSession, SessionOutput

__all__ = ["SessionConnection"]

_log = logging.getLogger("ingest.fix.session")
_READ_SIZE: Final = 1 << 16
_NS: Final = 1_000_000_000


class SessionConnection:
    """One TCP connection of a session. Application code sends through :meth:`send` (the
    message goes out at once); the session's own traffic is handled by :meth:`run`."""

    def __init__(
        self, session: FixSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.session = session
        self.reader = reader
        self.writer = writer
        self.closed = asyncio.Event()
        self.logged_on = asyncio.Event()

    def send(self, msg_type: str, body: list[tuple[str, str]]) -> int:
        """Send an application message now; raises SessionError when not logged on."""
        seq = self.session.send(msg_type, body)
        self._write(self.session.drain())
        return seq

    def flush(self) -> None:
        """Write what the application queued with ``session.send`` outside a callback."""
        self._write(self.session.drain())

    def logout(self, text: str = "") -> None:
        self._write(self.session.logout(text))

    async def run(self, first_data: bytes = b"") -> None:
        """Until the connection closes; ``first_data``: bytes already read (by an acceptor
        that looked at the first message to pick the session)."""
        session = self.session
        try:
            self._write(session.connect())
            if first_data:
                self._write(session.receive(first_data))
            while not self.writer.is_closing():
                await self.writer.drain()
                deadline = session.next_deadline()
                timeout = None
                if deadline is not None:
                    timeout = max(0.0, (deadline - session.clock()) / _NS)
                try:
                    data = await asyncio.wait_for(self.reader.read(_READ_SIZE), timeout)
                except TimeoutError:
                    self._write(session.on_timer())
                    continue
                if not data:
                    _log.info("%s: connection closed by the peer", session.config.session_id)
                    break
                self._write(session.receive(data))
                deadline = session.next_deadline()
                if deadline is not None and deadline <= session.clock():
                    self._write(session.on_timer())
        except (ConnectionError, OSError) as error:
            _log.info("%s: connection lost: %s", session.config.session_id, error)
        finally:
            session.disconnected()
            self.logged_on.clear()
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
            self.closed.set()

    def _write(self, output: SessionOutput) -> None:
        session = self.session
        for event in output.events:
            _log.debug("%s: %s", session.config.session_id, event)
        if output.outgoing and not self.writer.is_closing():
            # Durable before visible: the counterparty never sees a MsgSeqNum we could forget.
            session.store.sync()
            self.writer.write(b"".join(output.outgoing))
        if session.logged_on:
            self.logged_on.set()
        if output.disconnect:
            self.writer.close()
