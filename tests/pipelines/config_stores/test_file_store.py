"""The file store: compare-and-set versions, atomic replacement, and a watch that follows."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from config_store_specs import ema_spec

from pipelines.config_stores import FileStore, VersionConflict, open_store
from pipelines.spec import SpecError


def test_put_stores_the_next_version_only_when_the_expected_one_is_current(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/spec.json")
    assert isinstance(store, FileStore)
    assert store.get() is None
    first = store.put(ema_spec(10), expected_version=0)
    assert first.version == 1
    with pytest.raises(VersionConflict) as conflict:
        store.put(ema_spec(20), expected_version=0)
    assert (conflict.value.expected, conflict.value.actual) == (0, 1)
    assert store.get() == first
    assert store.put(ema_spec(20), expected_version=1).version == 2


def test_a_bare_path_opens_a_file_store_and_invalid_specs_are_refused(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "spec.json"))
    with pytest.raises(SpecError):
        store.put(ema_spec(0), expected_version=0)  # window must be > 0
    assert store.get() is None


def test_concurrent_writers_expecting_the_same_version_yield_one_winner(tmp_path: Path) -> None:
    path = f"{tmp_path}/spec.json"
    results: list[str] = []

    def attempt(window: int) -> None:
        try:
            open_store(path).put(ema_spec(window), expected_version=0)
            results.append("won")
        except VersionConflict:
            results.append("lost")

    threads = [threading.Thread(target=attempt, args=(w,)) for w in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["lost"] * 7 + ["won"]
    spec = open_store(path).get()
    assert spec is not None and spec.version == 1


@pytest.mark.timeout(30)
async def test_watch_yields_the_current_spec_then_each_newer_one(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/spec.json?poll_interval=0.02")
    store.put(ema_spec(10), expected_version=0)
    watch = store.watch()
    first = await asyncio.wait_for(anext(watch), 5)
    assert first.version == 1
    store.put(ema_spec(20), expected_version=1)
    second = await asyncio.wait_for(anext(watch), 5)
    assert second.version == 2
    assert second.calculators["ema"].params == {"window": 20}
    await watch.aclose()
