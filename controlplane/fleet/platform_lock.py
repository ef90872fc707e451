"""One platform per port, and what a dead one left behind cleaned on the next start.

``var/run/platform-<port>.pid`` holds the supervisor's pid under an ``flock`` that the kernel
releases when the supervisor dies, however it dies: a lock that is taken means a platform is
running; a free one with a pid file means the last one died without stopping. Beside it,
``platform-<port>.children.json`` records each child's pid and start time, so the next start can
kill what the parent-death signal does not reach (grandchildren in a child's process group) and
nothing else (a pid reused by an unrelated process has another start time).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path

__all__ = ["PlatformLock", "PlatformRunning", "process_start_time"]

log = logging.getLogger(__name__)


class PlatformRunning(RuntimeError):
    def __init__(self, pid: int | None, path: Path) -> None:
        self.pid = pid
        who = f"supervisor pid {pid}" if pid else "pid unknown"
        super().__init__(f"a platform is already running here ({who}; lock {path})")


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat``), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])  # field 22 of proc(5)


class PlatformLock:
    def __init__(self, run_dir: Path, port: int) -> None:
        self.run_dir = run_dir
        self.pid_path = run_dir / f"platform-{port}.pid"
        self.children_path = run_dir / f"platform-{port}.children.json"
        self._fd: int | None = None

    def acquire(self) -> list[int]:
        """Take the lock or raise :class:`PlatformRunning`; kill the recorded leftovers of a dead
        platform and return their process groups."""
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.pid_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise PlatformRunning(int(text) if text.isdigit() else None, self.pid_path) from None
        self._fd = fd
        previous = os.pread(fd, 32, 0).decode(errors="replace").strip()
        if previous:
            log.warning(
                "platform: pid file of a dead platform (pid %s) found; cleaning up", previous
            )
        swept = self._sweep()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return swept

    def record(self, children: Mapping[str, int]) -> None:
        """Remember the running children (their pid and start time), replacing the file."""
        document = {
            name: {"pid": pid, "start_time": process_start_time(pid)}
            for name, pid in children.items()
        }
        tmp = self.children_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
        os.replace(tmp, self.children_path)

    def release(self) -> None:
        """After a clean stop: nothing is left to sweep."""
        with contextlib.suppress(FileNotFoundError):
            self.children_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

    def _sweep(self) -> list[int]:
        try:
            recorded = json.loads(self.children_path.read_text())
        except FileNotFoundError:
            return []
        except ValueError:
            log.warning("platform: unreadable %s; nothing swept", self.children_path)
            return []
        swept = []
        for name, child in recorded.items():
            pid, started = int(child["pid"]), child.get("start_time")
            now = process_start_time(pid)
            if now is not None and now != started:
                continue  # the pid was reused by another process: not ours
            # The leader (if alive) is ours, or the pid is unused and the group, if it still
            # has members, can only be ours: pids are not handed out while a group uses them.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                swept.append(pid)
                log.warning(
                    "platform: killed %s (process group %d) left by a dead platform", name, pid
                )
        self.children_path.unlink()
        return swept
