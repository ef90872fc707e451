"""The Redis pub/sub sink: msgpack on the topic's channel, never blocking the pipeline."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from pipelines.delivery.base import SinkContext
from pipelines.delivery.redis_pubsub import RedisSink
from pipelines.events import Trade, decode
from pipelines.registry import SINKS
from pipelines.spec import SinkSpec
from pipelines.topics import event_topic


def make_sink(url: str, **params: object) -> RedisSink:
    spec = SinkSpec(kind="redis", params={"target": url, **params})
    sink = SINKS.get("redis")("out", spec, SINKS.params("redis", spec.params), SinkContext())
    assert isinstance(sink, RedisSink)
    return sink


@pytest.mark.timeout(30)
def test_events_arrive_as_msgpack_on_their_topic(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}."
    trade = Trade(stream="sim", symbol="BTC-USD", seq=1, price=100, size=2)
    topic = event_topic(trade)
    with redis.Redis.from_url(redis_url) as client, client.pubsub() as pubsub:
        pubsub.subscribe(prefix + topic)
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        sink = make_sink(redis_url, channel_prefix=prefix)
        try:
            sink.publish([(topic, trade)])
            message = pubsub.get_message(timeout=5)
            assert message is not None and message["channel"] == (prefix + topic).encode()
            assert decode(message["data"]) == trade
        finally:
            sink.close()
    assert sink.published == 1


@pytest.mark.timeout(30)
def test_an_unreachable_redis_costs_the_pipeline_nothing_and_drops_are_counted(
    free_port,
) -> None:
    sink = make_sink(f"redis://127.0.0.1:{free_port()}", queue_size=10)
    trade = Trade(stream="s", symbol="X", price=1, size=1)
    routed = [(event_topic(trade), trade)] * 4
    started = time.perf_counter()
    for _ in range(100):
        sink.publish(routed)
    assert time.perf_counter() - started < 0.1
    deadline = time.monotonic() + 10
    while sink.dropped < 400 and sink.queue_depth and time.monotonic() < deadline:
        time.sleep(0.05)
    sink.close()
    assert sink.published == 0
    assert sink.dropped + sink.queue_depth == 400
