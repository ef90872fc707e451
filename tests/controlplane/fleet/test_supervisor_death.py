"""Children die with the supervisor, and the next start cleans up after a dead platform."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from controlplane.fleet.platform_lock import PlatformLock, PlatformRunning
from tests.e2e.platform_harness import (
    REPO,
    Platform,
    manage,
    platform_env,
    stop_platform,
    wait_healthy,
)

_SUPERVISOR = """
import json, os, sys
from pathlib import Path
from controlplane.fleet.supervisor import ChildSpec, Supervisor
record = Path(sys.argv[1])
sleeper = [sys.executable, "-c", "import time; time.sleep(300)"]
Supervisor(
    [ChildSpec("a", sleeper), ChildSpec("b", sleeper)],
    env=dict(os.environ),
    cwd=Path.cwd(),
    on_started=lambda pids: record.write_text(json.dumps(dict(pids))),
).run()
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its parent's wait is missing


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if _running(pid)}
        if not alive:
            return alive
        time.sleep(0.05)
    return {pid for pid in pids if _running(pid)}


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    stack = [pid]
    while stack:
        current = stack.pop()
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                children = {int(c) for c in task.read_text().split()}
            except OSError:
                continue
            stack += list(children - found)
            found |= children
    return found


def test_sigkill_of_the_supervisor_takes_its_children_down(tmp_path: Path) -> None:
    record = tmp_path / "children.json"
    supervisor = subprocess.Popen(
        [sys.executable, "-c", _SUPERVISOR, str(record)], cwd=REPO, start_new_session=True
    )
    try:
        _wait_for(
            lambda: record.exists() and len(json.loads(record.read_text() or "{}")) == 2,
            30,
            "both children",
        )
        children = set(json.loads(record.read_text()).values())
        assert all(_running(pid) for pid in children)
        supervisor.kill()
        supervisor.wait()
        assert _wait_gone(children, 10) == set()
    finally:
        supervisor.kill()
        supervisor.wait()


def test_a_running_platform_holds_the_lock(tmp_path: Path) -> None:
    first = PlatformLock(tmp_path, 8123)
    assert first.acquire() == []
    with pytest.raises(PlatformRunning, match=f"supervisor pid {os.getpid()}"):
        PlatformLock(tmp_path, 8123).acquire()
    first.release()
    assert not any(tmp_path.iterdir())
    second = PlatformLock(tmp_path, 8123)
    assert second.acquire() == []
    second.release()


def test_the_next_start_kills_what_a_dead_platform_left(tmp_path: Path) -> None:
    """A child's own child is not reached by the parent-death signal: the sweep kills its group."""
    grandchild_file = tmp_path / "grandchild"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
            f"open({str(grandchild_file)!r}, 'w').write(str(p.pid)); time.sleep(300)",
        ],
        start_new_session=True,
    )
    try:
        _wait_for(
            lambda: grandchild_file.exists() and grandchild_file.read_text(), 30, "grandchild"
        )
        grandchild = int(grandchild_file.read_text())
        dead = PlatformLock(tmp_path, 8124)
        dead.acquire()
        dead.record({"worker-0": child.pid})
        os.close(dead._fd or -1)  # the supervisor dies: the kernel drops its lock, files stay
        child.kill()  # the parent-death signal took the child; its own child lives on
        child.wait()
        assert _running(grandchild)
        after = PlatformLock(tmp_path, 8124)
        assert after.acquire() == [child.pid]
        assert _wait_gone({grandchild}, 10) == set()
        after.release()
    finally:
        child.kill()
        child.wait()


def test_a_pid_reused_by_another_process_is_left_alone(tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = PlatformLock(tmp_path, 8125)
        dead.acquire()
        dead.children_path.write_text(
            json.dumps({"worker-0": {"pid": bystander.pid, "start_time": 1}})
        )
        os.close(dead._fd or -1)
        assert PlatformLock(tmp_path, 8125).acquire() == []
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.slow
def test_a_killed_platform_leaves_nothing_running_and_starts_again(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    """runplatform under SIGKILL: daphne, workers and Celery go with it; the next start on the
    same port and var dir removes the stale rings and pid files, and starts."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("the platform runs on its own SQLite database: the SQLite pass covers it")
    port = free_port()
    env = platform_env(tmp_path / "var", port, free_port())
    manage(env, "migrate", "--noinput")

    def start(workers: int, log: Path) -> Platform:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "manage.py", "runplatform", "--port", str(port)),
                    *("--workers", str(workers), "--grace", "5"),
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        platform = Platform(port, "", process, tmp_path / "var", log)
        wait_healthy(platform)
        return platform

    rings = Path("/dev/shm")
    first = start(2, tmp_path / "first.log")
    try:
        _wait_for(lambda: len(_descendants(first.process.pid)) >= 5, 60, "every child")
        _wait_for(
            lambda: len(list(rings.glob(f"tickerplant-{port}-w*"))) == 2, 60, "both workers' rings"
        )
        children = _descendants(first.process.pid)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        assert _wait_gone(children, 20) == set(), first.log_tail()
    finally:
        if first.process.poll() is None:
            first.process.kill()
    pid_file = tmp_path / "var" / "run" / f"platform-{port}.pid"
    assert pid_file.exists() and len(list(rings.glob(f"tickerplant-{port}-w*"))) == 2
    second = start(1, tmp_path / "second.log")
    try:
        assert "shared-memory ring(s) removed" in second.log_tail()
        _wait_for(lambda: (rings / f"tickerplant-{port}-w0").exists(), 60, "worker 0's ring")
        assert not (rings / f"tickerplant-{port}-w1").exists()  # the dead platform's, removed
        assert pid_file.read_text().strip() == str(second.process.pid)
    finally:
        assert stop_platform(second) == 0
    assert not pid_file.exists() and not list(rings.glob(f"tickerplant-{port}-*"))
