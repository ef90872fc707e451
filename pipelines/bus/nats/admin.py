"""Create (idempotently) and remove a plant's streams, per-shard consumers and lease bucket."""

from __future__ import annotations

import contextlib

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from pipelines.bus.nats.layout import CONSUMED_LANES, LANES, Lane, NatsLayout

__all__ = ["delete_plant", "ensure_consumer", "ensure_lease_bucket", "ensure_streams"]

DEFAULT_MAX_AGE_S = 3600.0
DEFAULT_DUPLICATE_WINDOW_S = 120.0
DEFAULT_ACK_WAIT_S = 30.0
DEFAULT_MAX_ACK_PENDING = 20_000
DEFAULT_LEASE_TTL_S = 10.0


async def ensure_streams(
    js: JetStreamContext,
    layout: NatsLayout,
    *,
    max_age: float = DEFAULT_MAX_AGE_S,
    duplicate_window: float = DEFAULT_DUPLICATE_WINDOW_S,
    storage: StorageType = StorageType.FILE,
) -> None:
    """Create the three lane streams unless they exist (an existing stream keeps its config)."""
    for lane in LANES:
        name = layout.stream(lane)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.stream_info(name)
            continue
        config = StreamConfig(
            name=name,
            subjects=layout.stream_subjects(lane),
            retention=RetentionPolicy.LIMITS,  # readers (gateway, replays) may read it too
            max_age=max_age,
            duplicate_window=duplicate_window,
            storage=storage,
        )
        with contextlib.suppress(nats.js.errors.BadRequestError):  # created meanwhile: fine
            await js.add_stream(config)


async def ensure_consumer(
    js: JetStreamContext,
    layout: NatsLayout,
    lane: Lane,
    shard: int,
    *,
    ack_wait: float = DEFAULT_ACK_WAIT_S,
    max_ack_pending: int = DEFAULT_MAX_ACK_PENDING,
) -> str:
    """The durable pull consumer ``s<k>`` of a lane's stream (explicit acks); returns its name."""
    assert lane in CONSUMED_LANES
    name = layout.consumer(shard)
    config = ConsumerConfig(
        durable_name=name,
        filter_subject=layout.filter_subject(lane, shard),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait,
        max_ack_pending=max_ack_pending,
    )
    stream = layout.stream(lane)
    try:
        await js.consumer_info(stream, name)
    except nats.js.errors.NotFoundError:
        await js.add_consumer(stream, config)
    return name


async def ensure_lease_bucket(
    js: JetStreamContext, layout: NatsLayout, *, ttl: float = DEFAULT_LEASE_TTL_S
) -> KeyValue:
    """The KV bucket of shard leases; ``ttl`` is how long an unrefreshed lease lives."""
    try:
        return await js.key_value(layout.kv_bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(bucket=layout.kv_bucket, ttl=ttl))


async def delete_plant(js: JetStreamContext, layout: NatsLayout) -> None:
    """Delete a plant's streams and lease bucket (its consumers go with them). Tests only call
    this for the namespaces they created."""
    for lane in LANES:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(layout.stream(lane))
    with contextlib.suppress(nats.js.errors.NotFoundError, nats.js.errors.BucketNotFoundError):
        await js.delete_key_value(layout.kv_bucket)
