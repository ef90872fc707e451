"""Source plugins; importing this package registers the built-ins in ``SOURCES``."""

from ingest.sources import simulator, tcp, udp, websocket
from ingest.sources.base import Emit, Source

__all__ = ["Emit", "Source", "simulator", "tcp", "udp", "websocket"]
