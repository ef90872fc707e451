"""A registry loads its plugins once, and no thread sees it half-loaded."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from pipelines.registry import Registry

SLOW_MODULE = """
import time
import msgspec
import tp_registry_holder

time.sleep(0.3)  # other threads ask while this import is under way


@tp_registry_holder.REGISTRY.register
class Thing:
    kind = "thing"

    class Params(msgspec.Struct, forbid_unknown_fields=True):
        size: int = 1
"""


def test_threads_asking_during_the_first_load_all_see_the_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tp_registry_holder.py").write_text("REGISTRY = None\n")
    (tmp_path / "tp_slow_plugins.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import tp_registry_holder

    registry: Registry[object] = Registry("tp-things", ("tp_slow_plugins",))
    tp_registry_holder.REGISTRY = registry  # type: ignore[attr-defined]
    start = threading.Barrier(6)
    seen: list[bool] = []

    def ask() -> None:
        start.wait()
        seen.append("thing" in registry)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert seen == [True] * 6
    finally:
        for name in ("tp_registry_holder", "tp_slow_plugins"):
            sys.modules.pop(name, None)
