"""The NATS JetStream bus: layout, de-duplication, bounded publishing, shard consumers, priority.

Every test runs in a namespace of its own (random), so its streams never meet another run's; the
fixture deletes exactly those streams afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client

from pipelines.bus.nats import (
    NatsLayout,
    NatsPublisher,
    ShardConsumer,
    connect,
    delete_plant,
    ensure_streams,
)
from pipelines.events import Alert, Event, Metric, Status, Trade
from pipelines.spec import shard_of


class Plant:
    def __init__(self, client: Client, layout: NatsLayout) -> None:
        self.client = client
        self.js = client.jetstream()
        self.layout = layout

    async def messages(self, lane: str) -> int:
        info = await self.js.stream_info(self.layout.stream(lane))  # type: ignore[arg-type]
        return int(info.state.messages)


@pytest.fixture
async def plant(nats_url: str) -> AsyncIterator[Plant]:
    client = await connect(nats_url)
    layout = NatsLayout(f"t{uuid.uuid4().hex[:10]}")
    await ensure_streams(client.jetstream(), layout)
    try:
        yield Plant(client, layout)
    finally:
        await delete_plant(client.jetstream(), layout)
        await client.close()


def trade(seq: int, symbol: str = "BTC-USD", stream: str = "feed") -> Trade:
    return Trade(stream=stream, symbol=symbol, seq=seq, price=100 + seq, size=1)


async def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_subjects_are_the_topic_behind_the_shard_and_lanes_are_disjoint() -> None:
    layout = NatsLayout()
    assert layout.subject(3, "md.feed.BTC-USD.trade") == "s3.md.feed.BTC-USD.trade"
    assert layout.subject(3, "alert.feed.X.critical", "ctl") == "s3.pri.alert.feed.X.critical"
    assert layout.stream_subjects("md") == ["*.md.>"]
    assert layout.stream_subjects("ctl") == ["*.pri.>"]
    assert layout.filter_subject("md", 7) == "s7.md.>"
    assert NatsLayout("run1").filter_subject("ctl", 0) == "run1.s0.pri.>"
    assert NatsLayout("run1").stream("md") == "TICKERPLANT_RUN1_MD"
    with pytest.raises(ValueError):
        NatsLayout("bad.name")


async def test_publishing_the_same_event_twice_stores_it_once(plant: Plant) -> None:
    publisher = NatsPublisher(plant.client, plant.layout, shard_count=4)
    publisher.start()
    publisher.publish([trade(1), trade(2)])
    publisher.publish([trade(1)])  # a replay restarted from the beginning
    await publisher.flush()
    await publisher.close()
    assert await plant.messages("md") == 2
    assert (publisher.stored, publisher.duplicates, publisher.failed) == (2, 1, 0)


async def test_each_data_class_lands_in_its_own_stream_under_its_shard(plant: Plant) -> None:
    publisher = NatsPublisher(plant.client, plant.layout, shard_count=8)
    publisher.start()
    publisher.publish([trade(1)])
    publisher.publish([Alert(stream="feed", symbol="BTC-USD", seq=2, rule="r", severity="warning",
                             message="m")])  # fmt: skip
    publisher.publish([Status(stream="feed", symbol="BTC-USD", seq=3, state="STALE")])
    publisher.publish([Metric(stream="feed", symbol="BTC-USD", seq=4, name="ema", value=1.5)])
    await publisher.close()
    assert [await plant.messages(lane) for lane in ("md", "ctl", "an")] == [1, 2, 1]
    shard = shard_of("feed", "BTC-USD", 8)
    stored = await plant.js.get_last_msg(plant.layout.stream("ctl"),
                                         plant.layout.subject(shard, "md.feed.BTC-USD.status", "ctl"))  # fmt: skip
    assert stored.headers is not None and stored.headers["Nats-Msg-Id"] == "feed:3"


async def test_a_full_publisher_drops_and_counts_without_blocking(plant: Plant) -> None:
    publisher = NatsPublisher(plant.client, plant.layout, shard_count=1, capacity=100)
    publisher.publish([trade(seq) for seq in range(1, 81)])
    publisher.publish([trade(seq) for seq in range(81, 161)])  # does not fit: dropped, counted
    assert (publisher.depth, publisher.dropped) == (80, 80)
    publisher.start()
    await publisher.close()
    assert await plant.messages("md") == 80


async def test_shard_consumers_process_each_event_once_then_ack_and_checkpoint(
    plant: Plant,
) -> None:
    count = 4
    events = [trade(seq, symbol=f"SYM{seq % 13}") for seq in range(1, 2001)]
    publisher = NatsPublisher(plant.client, plant.layout, shard_count=count)
    publisher.start()
    for start in range(0, len(events), 100):
        publisher.publish(events[start : start + 100])
    await publisher.close()

    seen: dict[int, list[Event]] = {k: [] for k in range(count)}
    consumers = [ShardConsumer(plant.client, plant.layout, k, seen[k].extend) for k in range(count)]
    for consumer in consumers:
        await consumer.start()
    await wait_for(lambda: sum(len(v) for v in seen.values()) >= len(events))
    for consumer in consumers:
        await consumer.stop()

    for shard, got in seen.items():
        assert all(shard_of(e.stream, e.symbol, count) == shard for e in got)
        assert [e.seq for e in got] == sorted(e.seq for e in got)  # the stream's order kept
    assert sorted(e.seq for v in seen.values() for e in v) == list(range(1, 2001))
    for consumer in consumers:
        info = await plant.js.consumer_info(plant.layout.stream("md"), f"s{consumer.shard}")
        assert (info.num_ack_pending, info.num_pending) == (0, 0)  # everything acked
        got = seen[consumer.shard]
        assert consumer.checkpoint()["md"] == ({"feed": got[-1].seq} if got else {})


async def test_a_new_owner_skips_what_the_checkpoint_says_was_processed(plant: Plant) -> None:
    publisher = NatsPublisher(plant.client, plant.layout, shard_count=1)
    publisher.start()
    publisher.publish([trade(seq) for seq in range(1, 11)])
    await publisher.close()
    got: list[Event] = []
    consumer = ShardConsumer(plant.client, plant.layout, 0, got.extend,
                             checkpoint={"md": {"feed": 6}})  # fmt: skip
    await consumer.start()
    await wait_for(lambda: consumer.duplicates == 6 and len(got) == 4)
    await consumer.stop()
    assert [e.seq for e in got] == [7, 8, 9, 10]


async def test_alerts_and_status_overtake_a_market_data_backlog(plant: Plant) -> None:
    publisher = NatsPublisher(plant.client, plant.layout, shard_count=1)
    publisher.start()
    backlog = [trade(seq) for seq in range(1, 5001)]
    for start in range(0, len(backlog), 500):
        publisher.publish(backlog[start : start + 500])
    publisher.publish([Status(stream="feed", symbol="BTC-USD", seq=5001, state="STALE")])
    await publisher.close()

    order: list[Event] = []
    consumer = ShardConsumer(plant.client, plant.layout, 0, order.extend, batch=100)
    await consumer.start()
    await wait_for(lambda: len(order) == 5001)
    await consumer.stop()
    position = next(i for i, e in enumerate(order) if isinstance(e, Status))
    assert position < 1000, f"status processed after {position} of 5000 earlier trades"
