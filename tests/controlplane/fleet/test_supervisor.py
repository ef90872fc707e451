"""The supervisor restarts what dies and leaves nothing behind when stopped."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from controlplane.fleet.supervisor import ChildSpec, Supervisor, unlink_rings
from controlplane.fleet.tasks import record_heartbeat


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_restarts_a_dying_child_and_kills_grandchildren_on_stop(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    pids = tmp_path / "grandchild"
    flaky = f"open({str(starts)!r}, 'a').write('x'); import sys; sys.exit(3)"
    # A child that spawns a grandchild ignoring SIGTERM: only the group SIGKILL ends it.
    stubborn = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)']); "
        f"open({str(pids)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    supervisor = Supervisor(
        [
            ChildSpec("flaky", [sys.executable, "-c", flaky]),
            ChildSpec("stubborn", [sys.executable, "-c", stubborn]),
        ],
        env=dict(os.environ),
        cwd=tmp_path,
        grace_seconds=1.0,
    )
    stopper = threading.Timer(3.5, supervisor.request_stop, args=(signal.SIGTERM,))
    stopper.start()
    # signal handlers can only be installed from the main thread: run() is called here.
    supervisor.run()
    assert len(starts.read_text()) >= 3  # started, then restarted with backoff 0.5 s, 1 s...
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_unlink_rings_removes_only_the_prefix(tmp_path: Path) -> None:
    prefix = f"tickerplant-unittest-{os.getpid()}"
    ours = [Path(f"/dev/shm/{prefix}-w0"), Path(f"/dev/shm/{prefix}-w1")]
    other = Path(f"/dev/shm/{prefix}x-w0")
    for path in [*ours, other]:
        path.write_bytes(b"x")
    try:
        assert sorted(unlink_rings(prefix)) == sorted(map(str, ours))
        assert other.exists() and not any(p.exists() for p in ours)
    finally:
        other.unlink(missing_ok=True)


@pytest.mark.django_db
def test_heartbeat_task_records_and_counts() -> None:
    assert record_heartbeat("celery-test") == 1
    assert record_heartbeat("celery-test") == 2
