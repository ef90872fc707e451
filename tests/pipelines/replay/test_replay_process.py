"""``python -m pipelines replay`` as a real process: exit statuses, stderr, stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def run(*argv: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "TICKERPLANT_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "replay", *map(str, argv)],
        cwd=REPO, env=env, capture_output=True, timeout=120,
    )  # fmt: skip


def test_a_capture_to_stdout_and_exit_0(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "ws" / "binance-spot"
    done = run(
        folder / "BINANCE.ws.1.0", "--protocol", "json", "--mapping", "binance_spot",
        "--snapshots", folder / "BINANCE.http.0.0", "--emit", "stats", tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["events_total"] == 506 and stats["events_per_second"] > 0


def test_exit_statuses(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(os.urandom(2000).replace(b"\n", b"") + b"\n")
    done = run(garbage, "--protocol", "fix", "--emit", "stats", tmp_path=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)["decode_errors"] == 1

    missing = run(tmp_path / "nothing", "--protocol", "fix", tmp_path=tmp_path)
    assert missing.returncode == 1 and b"cannot read input" in missing.stderr

    for argv in (["--protocol", "carrier-pigeon"], ["--emit", "everything"], []):
        bad = run(garbage, *argv, tmp_path=tmp_path)
        assert bad.returncode == 2 and bad.stdout == b"", argv
        assert bad.stderr


def test_help_names_the_contract_flags(tmp_path: Path) -> None:
    done = run("--help", tmp_path=tmp_path)
    assert done.returncode == 0
    for flag in (
        b"--protocol",
        b"--dictionary",
        b"--schema",
        b"--mapping",
        b"--snapshots",
        b"--emit",
        b"--depth",
    ):
        assert flag in done.stdout
