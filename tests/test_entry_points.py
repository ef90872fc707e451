"""Third-party plugins arrive through entry points: the package in tests/plugins/ is installed
into a temporary directory (never into the venv) and found by a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "tests" / "plugins" / "tickerplant_pipe_protocol"

PROBE = """
from pipelines.registry import PROTOCOLS
plugin = PROTOCOLS.get("pipe")
decoder = plugin("ticks", PROTOCOLS.params("pipe", {"price_decimals": 3}))
(trade,) = decoder.decode(b"ACME|101.125|7", 5)
print(plugin.__module__, trade.symbol, trade.price, trade.price_decimals, trade.size, trade.seq)
"""


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target``: the dist-info (with its entry point) lands in a
    temporary directory; the venv's site-packages stay as they were."""
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(PLUGIN)],
        check=True, capture_output=True, timeout=240, cwd=tmp_path_factory.mktemp("build"),
    )  # fmt: skip
    assert list(target.glob("tickerplant_pipe_protocol-0.1.0.dist-info/entry_points.txt"))
    return target


def run(plugin_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(REPO)])}
    return subprocess.run(
        [sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_the_registry_finds_the_plugin_through_its_entry_point(plugin_path: Path) -> None:
    done = run(plugin_path, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tickerplant_pipe_protocol", "ACME", "101125", "3", "7", "1"]


@pytest.mark.slow
def test_replay_uses_any_registered_protocol(plugin_path: Path, tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.txt"
    ticks.write_text("ACME|101.25|7\nACME|oops|1\nBETA|9.5|2\n")
    done = run(plugin_path, "-m", "pipelines", "replay", str(ticks), "--protocol", "pipe")
    assert done.returncode == 0, done.stderr
    trades = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(t["symbol"], t["price"], t["size"], t["seq"]) for t in trades] == [
        ("ACME", "101.25", "7", 1),
        ("BETA", "9.50", "2", 2),
    ]
    stats = run(plugin_path, "-m", "pipelines", "replay", str(ticks), "--protocol", "pipe",
                "--emit", "stats")  # fmt: skip
    assert json.loads(stats.stdout)["errors_by_reason"] == {"bad_number": 1}


def test_without_the_package_the_kind_is_unknown() -> None:
    from pipelines.registry import PROTOCOLS

    assert "pipe" not in PROTOCOLS  # the venv itself was never modified
