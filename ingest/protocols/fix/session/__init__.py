"""The FIX session layer (FIX 4.2/4.4 tag=value over TCP), shared by initiator and acceptor.

- :mod:`.machine`: :class:`FixSession`, the transport-agnostic state machine (bytes in →
  :class:`SessionOutput`), with an injected clock;
- :mod:`.store`: sequence numbers and sent messages, in memory or on disk;
- :mod:`.transport`, :mod:`.acceptor`, :mod:`.initiator`: asyncio TCP wrappers;
- :mod:`.checks`: dictionary validation in the order a Reject reports it.

See docs/protocols/fix-session.md.
"""

from ingest.protocols.fix.session.acceptor import EchoApplication, FixAcceptor
from ingest.protocols.fix.session.config import SessionConfig
from ingest.protocols.fix.session.initiator import FixInitiator
from ingest.protocols.fix.session.machine import (
    FixSession,
    SessionError,
    SessionOutput,
    SessionState,
    UnsupportedMessageType,
)
from ingest.protocols.fix.session.store import FileStore, MemoryStore, SessionStore
from ingest.protocols.fix.session.transport import SessionConnection

__all__ = [
    "EchoApplication",
    "FileStore",
    "FixAcceptor",
    "FixInitiator",
    "FixSession",
    "MemoryStore",
    "SessionConfig",
    "SessionConnection",
    "SessionError",
    "SessionOutput",
    "SessionState",
    "SessionStore",
    "UnsupportedMessageType",
]
