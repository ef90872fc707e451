"""The anchor stores behind the URLs: a file, a real Redis, and Consul's KV API (its double)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from controlplane.audit.anchor_store import (
    ConsulAnchorStore,
    FileAnchorStore,
    RedisAnchorStore,
    open_anchor_store,
)
from tests.pipelines.config_stores.consul_double import ConsulDouble


def _round_trip(url: str) -> None:
    store = open_anchor_store(url)
    try:
        assert store.read() is None
        store.write(b'{"position": 1}')
        store.write(b'{"position": 2}')
        assert store.read() == b'{"position": 2}'
    finally:
        store.close()


def test_file_store(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/audit/anchor.json"
    assert isinstance(open_anchor_store(url), FileAnchorStore)
    _round_trip(url)
    assert (tmp_path / "audit" / "anchor.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "audit").iterdir()] == ["anchor.json"]


def test_redis_store(redis_url: str) -> None:
    key = f"tickerplant:test:anchor:{uuid.uuid4().hex}"
    url = f"{redis_url}?key={key}"
    assert isinstance(open_anchor_store(url), RedisAnchorStore)
    try:
        _round_trip(url)
    finally:
        import redis

        redis.Redis.from_url(redis_url).delete(key)


def test_consul_store() -> None:
    with ConsulDouble(token="s3cret") as consul:
        url = f"consul://127.0.0.1:{consul.port}/tickerplant/test/anchor?token=s3cret"
        assert isinstance(open_anchor_store(url), ConsulAnchorStore)
        _round_trip(url)
        assert "tickerplant/test/anchor" in consul.entries


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown scheme 'ftp'"):
        open_anchor_store("ftp://host/anchor")
