"""The Redis store against a real Redis: CAS by a Lua script, watch by pub/sub and polling.
Every test uses its own key; the shared database is never flushed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis
from config_store_specs import ema_spec

from pipelines.config_stores import RedisStore, VersionConflict, open_store


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    key = f"tickerplant-test-{uuid.uuid4().hex}:spec"
    opened = open_store(f"{redis_url}?key={key}&poll_interval=5")
    assert isinstance(opened, RedisStore)
    yield opened
    opened.close()
    with redis.Redis.from_url(redis_url) as client:
        client.delete(key)


def test_put_is_a_compare_and_set_on_the_version(store: RedisStore) -> None:
    assert store.get() is None
    assert store.put(ema_spec(10), expected_version=0).version == 1
    with pytest.raises(VersionConflict) as conflict:
        store.put(ema_spec(20), expected_version=0)
    assert conflict.value.actual == 1
    assert store.put(ema_spec(20), expected_version=1).version == 2
    stored = store.get()
    assert stored is not None and stored.calculators["ema"].params == {"window": 20}


@pytest.mark.timeout(30)
async def test_watch_is_notified_at_once_not_at_the_next_poll(store: RedisStore) -> None:
    # poll_interval is 5 s: a change seen within 2 s came through the pub/sub notification.
    store.put(ema_spec(10), expected_version=0)
    watch = store.watch()
    assert (await asyncio.wait_for(anext(watch), 5)).version == 1
    await asyncio.sleep(0.2)  # let the watcher go back to waiting on the channel
    store.put(ema_spec(20), expected_version=1)
    assert (await asyncio.wait_for(anext(watch), 2)).version == 2
    await watch.aclose()
