"""The Consul store: CAS on the key's ModifyIndex, watch by blocking queries on the modify index.

Consul cannot be installed on this machine: these tests run against ``ConsulDouble``, a local
double of Consul's documented KV HTTP API (see its docstring for what it implements).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from config_store_specs import ema_spec
from consul_double import ConsulDouble

from pipelines.config_stores import ConsulStore, VersionConflict, open_store
from pipelines.spec import encode_spec


@pytest.fixture
def consul_server() -> Iterator[ConsulDouble]:
    with ConsulDouble(token="s3cret") as server:
        yield server


@pytest.fixture
def store(consul_server: ConsulDouble) -> Iterator[ConsulStore]:
    opened = open_store(
        f"consul://127.0.0.1:{consul_server.port}/tickerplant/test/spec?token=s3cret&wait=20s"
    )
    assert isinstance(opened, ConsulStore)
    yield opened
    opened.close()


def test_url_names_host_port_key_and_options(consul_server: ConsulDouble) -> None:
    store = open_store("consuls://consul.internal:8501/a/b?dc=dc2&wait=10s")
    assert isinstance(store, ConsulStore)
    assert (store.params.host, store.params.port, store.params.scheme) == (
        "consul.internal",
        8501,
        "https",
    )
    assert (store.params.key, store.params.dc, store.params.wait) == ("a/b", "dc2", "10s")


def test_the_token_never_appears_in_repr(store: ConsulStore) -> None:
    assert "s3cret" not in repr(store.params)
    assert "token='***'" in repr(store.params)


def test_requests_without_the_acl_token_are_refused(consul_server: ConsulDouble) -> None:
    anonymous = open_store(f"consul://127.0.0.1:{consul_server.port}/tickerplant/test/spec")
    with pytest.raises(Exception, match="ACL"):
        anonymous.get()


def test_put_is_a_compare_and_set_on_the_version(
    store: ConsulStore, consul_server: ConsulDouble
) -> None:
    assert store.get() is None
    assert store.put(ema_spec(10), expected_version=0).version == 1
    with pytest.raises(VersionConflict) as conflict:
        store.put(ema_spec(20), expected_version=0)
    assert conflict.value.actual == 1
    assert store.put(ema_spec(20), expected_version=1).version == 2
    stored = store.get()
    assert stored is not None and stored.calculators["ema"].params == {"window": 20}
    # Every write was a check-and-set on the ModifyIndex: cas=0 (create), then cas=<index>.
    puts = [q for method, q in consul_server.requests if method == "PUT"]
    assert "cas=0" in puts[0] and "cas=0" not in puts[1]


def test_a_write_that_lands_between_read_and_cas_is_a_conflict(
    store: ConsulStore, consul_server: ConsulDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put(ema_spec(10), expected_version=0)
    real_read = store._read

    def read_then_race() -> tuple[object, int]:
        result = real_read()
        # Another control plane publishes v2 right after our read: our CAS must lose.
        consul_server.put_raw(
            store.key, encode_spec(ema_spec(99)).replace(b'"version":0', b'"version":2')
        )
        return result

    monkeypatch.setattr(store, "_read", read_then_race)
    with pytest.raises(VersionConflict) as conflict:
        store.put(ema_spec(20), expected_version=1)
    assert conflict.value.actual == 2


@pytest.mark.timeout(30)
async def test_watch_returns_as_soon_as_the_key_changes(
    store: ConsulStore, consul_server: ConsulDouble
) -> None:
    store.put(ema_spec(10), expected_version=0)
    before = len(consul_server.requests)
    watch = store.watch()
    assert (await asyncio.wait_for(anext(watch), 5)).version == 1
    waiting = asyncio.ensure_future(anext(watch))

    def watcher_gets() -> list[str]:
        return [q for method, q in consul_server.requests[before:] if method == "GET"]

    deadline = time.monotonic() + 10
    while len(watcher_gets()) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a polling watcher would have sent more requests by now
    gets = watcher_gets()
    # One plain read, then one blocking query on the key's index: no polling loop.
    assert len(gets) == 2 and "index=2" in gets[1] and "wait=20s" in gets[1], gets
    # The watcher now blocks on the modify index (wait=5s): a change must come back at once.
    changed_at = time.monotonic()
    await asyncio.to_thread(store.put, ema_spec(20), 1)
    spec = await asyncio.wait_for(waiting, 15)
    assert spec.version == 2 and spec.calculators["ema"].params == {"window": 20}
    # The server holds the query up to 20 s: an answer well before that was the change waking it.
    assert time.monotonic() - changed_at < 10, "woken by the blocking query, not its timeout"
    await watch.aclose()


@pytest.mark.timeout(30)
async def test_watch_waits_for_a_key_that_does_not_exist_yet(store: ConsulStore) -> None:
    watch = store.watch()
    waiting = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await asyncio.to_thread(store.put, ema_spec(10), 0)
    assert (await asyncio.wait_for(waiting, 10)).version == 1
    await watch.aclose()


@pytest.mark.timeout(30)
async def test_watch_skips_an_unreadable_value_and_keeps_going(
    store: ConsulStore, consul_server: ConsulDouble
) -> None:
    store.put(ema_spec(10), expected_version=0)
    watch = store.watch()
    assert (await anext(watch)).version == 1
    consul_server.put_raw(store.key, b"{not json")
    consul_server.put_raw(
        store.key, encode_spec(ema_spec(30)).replace(b'"version":0', b'"version":3')
    )
    spec = await asyncio.wait_for(anext(watch), 10)
    assert spec.version == 3
    await watch.aclose()
