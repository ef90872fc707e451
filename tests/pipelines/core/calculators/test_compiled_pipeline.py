"""End to end: the real captures and the simulator's flow through a Pipeline with every
calculator and every rule give the same published events (every field, every float bit), the same
calculator values and the same rule counters compiled and with ``TICKERPLANT_PURE_PYTHON=1``.

Each path runs in its own process (the implementations are chosen at import), the script
``pipeline_replay.py`` beside this test; it prints a digest of everything published.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines import accel

REPLAY = Path(__file__).with_name("pipeline_replay.py")
OURS = (
    "pipelines.core.calculators.ema_kernel",
    "pipelines.core.calculators.ols_kernel",
    "pipelines.core.calculators.sma_kernel",
    "pipelines.core.calculators.top_of_book_kernels",
    "pipelines.core.rules.engine",
    "pipelines.core.rules.band_kernels",
    "pipelines.core.rules.book_kernels",
)


def replay(shared_data: Path, pure: bool) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key != accel.PURE_ENV}
    if pure:
        env[accel.PURE_ENV] = "1"
    env["PYTHONPATH"] = str(accel.ROOT)
    done = subprocess.run(
        [sys.executable, str(REPLAY), str(shared_data)],
        cwd=accel.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_pipeline_publishes_the_same_with_compiled_and_pure_calculators_and_rules(
    shared_data: Path,
) -> None:
    compiled = replay(shared_data, pure=False)
    if not set(OURS) <= set(compiled["compiled"]):
        pytest.skip("the calculator and rule kernels are not built")
    pure = replay(shared_data, pure=True)
    assert pure["compiled"] == []
    for key in ("events", "kinds", "rules", "ticks", "digest"):
        assert compiled[key] == pure[key], key
    # The run exercised what it claims to: metrics of every calculator, alerts, halts, tags.
    assert compiled["kinds"]["Metric"] > 100_000 and compiled["kinds"]["Alert"] > 100
    assert all(hits for name, (_, hits) in compiled["rules"].items() if name in ("wide", "band"))
