"""The FIX initiator: connects to a venue, logs on, hands application messages to a callback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from ingest.protocols.fix.dictionary import FixDictionary
from ingest.protocols.fix.message import FixMessage
from ingest.protocols.fix.session.config import SessionConfig
from ingest.protocols.fix.session.machine import FixSession, SessionError
from ingest.protocols.fix.session.transport import SessionConnection

__all__ = ["FixInitiator"]


class FixInitiator:
    """One connection attempt per :meth:`run`; reconnecting (with back-off) is the caller's
    job, and the session's sequence numbers and store carry over between runs.

    ``on_app_message(message)`` is called for every application message in sequence order.
    Typical use::

        initiator = FixInitiator(host, port, config, on_message)
        task = asyncio.create_task(initiator.run())
        await initiator.wait_logged_on(timeout=10)
        initiator.send("V", [...])
        ...
        await initiator.stop()
    """

    def __init__(
        self,
        host: str,
        port: int,
        session_config: SessionConfig,
        on_app_message: Callable[[FixMessage], None],
        *,
        dictionary: FixDictionary | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.host = host
        self.port = port
        self.on_app_message = on_app_message
        self.session = FixSession(
            session_config,
            initiator=True,
            application=lambda session, message: on_app_message(message),
            dictionary=dictionary,
            clock=clock,
        )
        self._connection: SessionConnection | None = None
        self._logged_on = asyncio.Event()

    @property
    def logged_on(self) -> bool:
        return self.session.logged_on

    async def run(self) -> None:
        """Connect, log on, serve until the session ends (Logout, timeout, peer closed).
        Raises OSError when the connection cannot be made."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        connection = SessionConnection(self.session, reader, writer)
        connection.logged_on = self._logged_on
        self._connection = connection
        try:
            await connection.run()
        finally:
            self._connection = None
            self._logged_on.clear()

    async def wait_logged_on(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._logged_on.wait(), timeout)

    def send(self, msg_type: str, body: list[tuple[str, str]]) -> int:
        """Send an application message; its MsgSeqNum. Raises SessionError when not logged on."""
        if self._connection is None:
            raise SessionError("not connected")
        return self._connection.send(msg_type, body)

    async def stop(self, timeout: float = 5.0) -> None:
        """Logout handshake, then close (at the latest after ``timeout`` seconds)."""
        connection = self._connection
        if connection is None:
            return
        connection.logout()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connection.closed.wait(), timeout)
        connection.writer.close()
