"""``python -m pipelines run`` leaves no empty dead-letter folder behind in the temp dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TICKERPLANT_DEAD_LETTER_DIR"}
    return {
        **env,
        "TMPDIR": str(tmp),
        "TICKERPLANT_SHM_PREFIX": f"tickerplant-test-run-{os.getpid()}",
    }


def _leftovers(tmp: Path) -> list[Path]:
    return list(tmp.glob("tickerplant-run-dead-letter-*"))


def test_a_run_that_fails_to_start_removes_its_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "run", "--config", str(tmp_path / "missing.toml")],
        cwd=REPO,
        env=_env(tmp_path),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert _leftovers(tmp_path) == []


def test_a_run_stopped_by_a_signal_removes_its_folder(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[data_sources]\n[sim]\ntype = "simulator"\nsymbols = ["BTC-USD"]\n')
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "pipelines", "run", "--config", str(config)),
            *("--status-interval", "0.2"),
        ],
        cwd=REPO,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        while b"[run]" not in process.stdout.readline():
            assert time.monotonic() < deadline and process.poll() is None
        assert len(_leftovers(tmp_path)) == 1  # the folder exists while it runs
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()  # type: ignore[union-attr]
    assert _leftovers(tmp_path) == []
