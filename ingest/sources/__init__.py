"""Source plugins; importing this package registers the built-ins in ``SOURCES``."""

from ingest.sources import replay, simulator, tcp, udp, websocket
from ingest.sources.base import Emit, Source

__all__ = ["Emit", "Source", "replay", "simulator", "tcp", "udp", "websocket"]
