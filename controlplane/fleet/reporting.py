"""The supervisor's report of its workers, which ``/readyz`` reads (``Heartbeat`` rows).

A supervisor observer (:data:`controlplane.fleet.supervisor.Observer`): every ``interval``
seconds it writes each worker's state — ``up`` (running, its metrics port answers), ``starting``
(running, not answering yet) or ``down`` (exited, waiting for its restart) — with the reason. The
rows' age proves the supervisor itself alive: when it dies the rows go stale and ``/readyz``
says so.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping

from django.db import Error as DatabaseError
from django.db import connection

from controlplane.fleet.actions import do_record_process_state
from controlplane.fleet.failover import metrics_port_answers, worker_name
from controlplane.fleet.supervisor import ChildState

__all__ = ["FleetReporter", "worker_state"]

log = logging.getLogger(__name__)

_WARN_EVERY = 60.0


def worker_state(
    child: ChildState, now: float, port: int | None, port_answers: Callable[[int], bool]
) -> tuple[str, str]:
    """(state, detail) of one worker as the supervisor sees it."""
    if not child.alive:
        code = child.last_exit_code
        how = (
            "unknown status"
            if code is None
            else (f"signal {-code}" if code < 0 else f"code {code}")
        )
        return "down", f"exited ({how}) {now - child.last_exit_at:.0f} s ago; restarting"
    if port is not None and not port_answers(port):
        return "starting", f"running {now - child.started_at:.0f} s, metrics port {port} silent"
    return "up", f"running {now - child.started_at:.0f} s"


class FleetReporter:
    def __init__(
        self,
        workers: int,
        *,
        metrics_ports: Mapping[int, int] | None = None,
        interval: float = 2.0,
        port_answers: Callable[[int], bool] = metrics_port_answers,
    ) -> None:
        self.workers = workers
        self.interval = interval
        self._ports = dict(metrics_ports or {})
        self._port_answers = port_answers
        self._next = -math.inf
        self._warned_at = -math.inf

    def __call__(self, now: float, children: Mapping[str, ChildState]) -> None:
        if now < self._next:
            return
        self._next = now + self.interval
        try:
            for index in range(self.workers):
                child = children.get(worker_name(index))
                if child is None:
                    continue
                state, detail = worker_state(child, now, self._ports.get(index), self._port_answers)
                do_record_process_state(worker_name(index), child.pid or 0, state, detail)
        except DatabaseError as exc:  # a locked or unreachable database: report again later
            connection.close()
            if time.monotonic() - self._warned_at >= _WARN_EVERY:
                self._warned_at = time.monotonic()
                log.warning("fleet: could not record the workers' states: %s", exc)
