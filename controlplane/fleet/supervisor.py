"""A small process supervisor: process groups, restart with backoff, clean stop.

Every child runs in its own session (process group), so a signal to the group reaches the
grandchildren too, and the terminal's Ctrl-C reaches only the supervisor, which then stops the
children in order: SIGTERM to each group, SIGKILL to what is left after the grace period.

Children die with the supervisor: each starts with the parent-death signal SIGKILL
(``prctl(PR_SET_PDEATHSIG)``, Linux), so a supervisor killed by SIGKILL or the OOM killer leaves
no child running under PID 1. The signal follows the *thread* that started the child, so children
are started from the thread that runs the supervisor for its whole life (``run``'s caller).
Grandchildren, which the kernel does not signal, are swept from their recorded process groups by
the next start (:mod:`controlplane.fleet.platform_lock`).

Observers (e.g. :class:`controlplane.fleet.failover.ShardFailover`) see a snapshot of every child
after each watch step, and never once a stop was requested: the platform's own shutdown is not a
death.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ChildSpec", "ChildState", "Observer", "Supervisor", "unlink_rings"]

log = logging.getLogger(__name__)

_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 30.0
_HEALTHY_AFTER = 30.0  # a child that ran this long restarts without waiting
_PR_SET_PDEATHSIG = 1
# Loaded once here: a child between fork and exec should do as little as possible.
_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with(parent_pid: int) -> Callable[[], None]:
    """The child's preexec: SIGKILL when the parent dies, and at once if it already has."""

    def preexec() -> None:
        if _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(126)  # a child that would outlive the supervisor must not start
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(126)

    return preexec


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    restart: bool = True


@dataclass(frozen=True)
class ChildState:
    """What observers see of a child (times are ``time.monotonic()``)."""

    name: str
    pid: int | None
    """The running process, None while it waits for its restart."""
    started_at: float
    exits: int
    """How many times it exited since the supervisor started."""
    last_exit_at: float
    last_exit_code: int | None

    @property
    def alive(self) -> bool:
        return self.pid is not None


Observer = Callable[[float, Mapping[str, ChildState]], None]
"""Called with (now, children by name) after every watch step while the supervisor runs."""


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float = 0.0
    restarts: int = field(default=0)
    exits: int = 0
    last_exit_at: float = 0.0
    last_exit_code: int | None = None

    def state(self) -> ChildState:
        return ChildState(
            name=self.spec.name,
            pid=self.process.pid if self.process is not None else None,
            started_at=self.started_at,
            exits=self.exits,
            last_exit_at=self.last_exit_at,
            last_exit_code=self.last_exit_code,
        )


def unlink_rings(prefix: str) -> list[str]:
    """Remove every shared-memory ring of ``prefix`` (``/dev/shm/<prefix>-*``)."""
    removed = []
    for path in glob.glob(f"/dev/shm/{glob.escape(prefix)}-*"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(path)
    return removed


class Supervisor:
    def __init__(
        self,
        children: list[ChildSpec],
        *,
        env: dict[str, str],
        cwd: Path,
        grace_seconds: float = 10.0,
        on_stopped: Callable[[], object] | None = None,
        observers: Sequence[Observer] = (),
        on_started: Callable[[Mapping[str, int]], object] | None = None,
    ) -> None:
        """``on_started``: called with the pid of every running child, by name, after each
        start (``runplatform`` records them for the next start's sweep)."""
        self._children = [_Child(spec) for spec in children]
        self._on_started = on_started
        self._env = env
        self._cwd = cwd
        self._grace = grace_seconds
        self._on_stopped = on_stopped
        self._observers = list(observers)
        self._stopping = False

    @property
    def stopping(self) -> bool:
        return self._stopping

    def states(self) -> dict[str, ChildState]:
        """A snapshot of every child, by name."""
        return {child.spec.name: child.state() for child in self._children}

    def request_stop(self, signum: int = signal.SIGTERM, _frame: object = None) -> None:
        if not self._stopping:
            log.info("supervisor: %s received, stopping", signal.Signals(signum).name)
        self._stopping = True

    def run(self) -> int:
        """Start everything, watch until SIGINT/SIGTERM, stop everything; returns exit code."""
        previous = {
            sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.start()
            while not self._stopping:
                self.poll()
                time.sleep(0.2)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def start(self) -> None:
        """Start every child (``run`` does this; for driving the supervisor step by step)."""
        for child in self._children:
            self._start(child)

    def poll(self) -> None:
        """One watch step: reap and restart children, then tell the observers."""
        self._watch()
        if self._stopping or not self._observers:
            return
        now = time.monotonic()
        states = self.states()
        for observer in self._observers:
            if self._stopping:  # a signal may arrive while an observer works
                return
            try:
                observer(now, states)
            except Exception:
                log.exception("supervisor: observer %r failed", observer)

    def stop(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL after the grace period); no observer runs."""
        self._stopping = True
        self._stop_all()
        if self._on_stopped is not None:
            self._on_stopped()

    def _start(self, child: _Child) -> None:
        child.process = subprocess.Popen(
            child.spec.argv,
            env=self._env,
            cwd=self._cwd,
            start_new_session=True,
            preexec_fn=_die_with(os.getpid()),
        )
        child.started_at = time.monotonic()
        log.info("supervisor: started %s (pid %d)", child.spec.name, child.process.pid)
        if self._on_started is not None:
            self._on_started(
                {c.spec.name: c.process.pid for c in self._children if c.process is not None}
            )

    def _watch(self) -> None:
        now = time.monotonic()
        for child in self._children:
            process = child.process
            if process is None:
                if now >= child.restart_at and not self._stopping:
                    child.restarts += 1
                    self._start(child)
                continue
            code = process.poll()
            if code is None:
                continue
            self._kill_group(process.pid, signal.SIGKILL)  # sweep what the leader left behind
            child.process = None
            child.exits += 1
            child.last_exit_at = now
            child.last_exit_code = code
            if not child.spec.restart:
                log.error("supervisor: %s exited (%s); not restarting", child.spec.name, code)
                continue
            ran = now - child.started_at
            child.failures = 0 if ran >= _HEALTHY_AFTER else child.failures + 1
            delay = min(_BACKOFF_MAX, _BACKOFF_FIRST * 2 ** max(0, child.failures - 1))
            delay = 0.0 if child.failures == 0 else delay
            child.restart_at = now + delay
            log.warning(
                "supervisor: %s exited with %s after %.1fs; restarting in %.1fs",
                child.spec.name,
                code,
                ran,
                delay,
            )

    @staticmethod
    def _kill_group(pgid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def _stop_all(self) -> None:
        running = [c.process for c in self._children if c.process is not None]
        for process in reversed(running):
            self._kill_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for process in running:
            self._kill_group(process.pid, signal.SIGKILL)
            if process.poll() is None:
                process.wait()
        log.info("supervisor: all processes stopped")
