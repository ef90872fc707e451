"""Source plugins; importing this package registers the built-ins in ``SOURCES``."""

from ingest.sources import replay, simulator
from ingest.sources.base import Emit, Source

__all__ = ["Emit", "Source", "replay", "simulator"]
