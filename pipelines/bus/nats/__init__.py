"""The NATS JetStream bus: ingest publishes, shard workers pull (see docs/scaling.md).

- :class:`NatsLayout`: streams per data class (md, ctl = priority lane, an), ``s<k>.`` subjects;
- :class:`NatsPublisher`: bounded, async, batched publishing with ``Nats-Msg-Id = stream:seq``;
- :class:`ShardConsumer`: one shard's durable pull consumers, explicit acks after processing;
- :func:`ensure_streams`, :func:`ensure_lease_bucket`, :func:`delete_plant`: administration.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client

from pipelines.bus.nats.admin import (
    delete_plant,
    ensure_consumer,
    ensure_lease_bucket,
    ensure_streams,
)
from pipelines.bus.nats.consumer import Checkpoint, Deliver, ShardConsumer
from pipelines.bus.nats.layout import CONSUMED_LANES, LANES, Lane, NatsLayout, lane_of
from pipelines.bus.nats.publisher import NatsPublisher

__all__ = [
    "CONSUMED_LANES",
    "LANES",
    "Checkpoint",
    "Deliver",
    "Lane",
    "NatsLayout",
    "NatsPublisher",
    "ShardConsumer",
    "connect",
    "delete_plant",
    "ensure_consumer",
    "ensure_lease_bucket",
    "ensure_streams",
    "lane_of",
]


async def connect(url: str) -> Client:
    """A client that reconnects forever (a worker outlives a NATS restart)."""
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
