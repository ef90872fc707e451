"""Delivery: sink plugins and the shared-memory ring; importing registers the built-in sinks."""

from pipelines.delivery import redis_pubsub, shm
from pipelines.delivery.base import Routed, Sink, SinkContext
from pipelines.delivery.shm_ring import (
    RingReader,
    RingWriter,
    default_prefix,
    ring_path,
    ring_paths,
)

__all__ = [
    "RingReader",
    "RingWriter",
    "Routed",
    "Sink",
    "SinkContext",
    "default_prefix",
    "redis_pubsub",
    "ring_path",
    "ring_paths",
    "shm",
]
