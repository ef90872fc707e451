"""Worker placement: ``--cpu`` pins the worker process, ``--gc-freeze`` is an option."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.config_stores import open_store
from pipelines.runtime.affinity import parse_cpus, resolve_cpus
from pipelines.spec import PipelineSpec

REPO = Path(__file__).resolve().parents[3]
ALLOWED = sorted(os.sched_getaffinity(0))


def test_cpu_lists_parse_and_auto_is_the_index_modulo_the_allowed_cores() -> None:
    assert parse_cpus("0,2-3") == {0, 2, 3}
    assert parse_cpus("auto") is None
    for bad in ("", "a", "3-1", "-1"):
        with pytest.raises(ValueError):
            parse_cpus(bad)
    assert resolve_cpus(None, len(ALLOWED) + 1) == {ALLOWED[1 % len(ALLOWED)]}
    assert resolve_cpus(frozenset({5}), 0) == {5}


def start(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    store = open_store(str(tmp_path / "spec.json"))
    if store.get() is None:
        store.put(PipelineSpec(), 0)
    store.close()
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", "worker", "--store", str(tmp_path / "spec.json"),
         "--metrics-port", "0", *args],
        cwd=REPO,
        env={**os.environ, "TICKERPLANT_LOG_LEVEL": "WARNING"},
    )  # fmt: skip


def wait_until_it_handles_sigterm(proc: subprocess.Popen[bytes]) -> None:
    """Until the worker has installed its SIGTERM handler (its start-up is done): a SIGTERM sent
    earlier kills it before it can stop cleanly. Read from /proc (SigCgt), not guessed by a sleep."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        status = Path(f"/proc/{proc.pid}/status").read_text()
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))
                     .split()[1], 16)  # fmt: skip
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.05)
    raise AssertionError("the worker never installed its SIGTERM handler")


def affinity_when_settled(proc: subprocess.Popen[bytes], want: set[int]) -> set[int]:
    deadline = time.monotonic() + 20
    seen: set[int] = set()
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        seen = set(os.sched_getaffinity(proc.pid))
        if seen == want:
            break
        time.sleep(0.05)
    return seen


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["--cpu", str(ALLOWED[-1])], {ALLOWED[-1]}),
        (["--index", "1", "--cpu", "auto", "--no-gc-freeze"], {ALLOWED[1 % len(ALLOWED)]}),
    ],
)
def test_the_worker_process_runs_on_the_requested_cpus(
    tmp_path: Path, args: list[str], want: set[int]
) -> None:
    proc = start(tmp_path, *args)
    try:
        assert affinity_when_settled(proc, want) == want
        wait_until_it_handles_sigterm(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_without_cpu_the_worker_is_not_pinned(tmp_path: Path) -> None:
    proc = start(tmp_path)
    try:
        # Pinning happens before the handler is installed: once it is, the affinity is final.
        wait_until_it_handles_sigterm(proc)
        assert set(os.sched_getaffinity(proc.pid)) == set(ALLOWED)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_a_bad_cpu_list_is_refused_with_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "pipelines", "worker", "--store", "x",
                             "--cpu", "2-1"], cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and "bad CPU range" in result.stderr
