"""Move a dead worker's shards to the live workers, and give them back once it is up again.

A supervisor observer (:data:`controlplane.fleet.supervisor.Observer`). The supervisor restarts a
dead worker with its backoff as always; meanwhile this publishes a spec whose shard map deals the
dead worker's shards to the live ones (:func:`controlplane.fleet.placement.spread`), through the
catalog's publish path (compare-and-set, a PublishedSpec row) plus an audit entry by ``system``.
Once the worker is up again, the default placement is published and it takes its shards back.

- **down**: the worker's process exited (not while the platform stops: the supervisor calls no
  observer then) and it has not been up since; its shards move once it has been down
  ``move_after`` seconds (a worker restarts in well under that, but takes longer to be up).
- **up**: the current process has run ``up_after`` seconds and, when the worker's metrics port
  is known, that port accepts a connection (a worker serves metrics before it reads the spec).
- **rate limit**: at most one placement change per ``min_interval`` seconds. A crash loop never
  reaches "up", so it costs one move and one restore, however many times the worker dies.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import Error as DatabaseError
from django.db import connection

from controlplane.audit.actions import do_record_audit
from controlplane.catalog.publish import publish_catalog
from controlplane.fleet.placement import Assignment, owners, spread
from controlplane.fleet.supervisor import ChildState

__all__ = ["FailoverPolicy", "ShardFailover", "metrics_port_answers", "worker_name"]

log = logging.getLogger(__name__)

ACTOR = "system"
_RETRY_AFTER_ERROR = 1.0


def worker_name(index: int) -> str:
    """The supervisor's name of worker ``index`` (as runplatform names its children)."""
    return f"worker-{index}"


def metrics_port_answers(port: int, timeout: float = 0.3) -> bool:
    """True when something accepts a TCP connection on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout):
        return True
    return False


@dataclass(frozen=True)
class FailoverPolicy:
    move_after: float = 1.0
    """Seconds a worker stays down before its shards move."""
    up_after: float = 3.0
    """Seconds a restarted worker runs (and answers on its metrics port) before it counts as up."""
    min_interval: float = 5.0
    """Seconds between two placement changes (a flapping worker cannot spam specs)."""


class ShardFailover:
    """Observer of the supervisor that keeps the shard map in line with the live workers."""

    def __init__(
        self,
        workers: int,
        *,
        store_url: str | None = None,
        metrics_ports: Mapping[int, int] | None = None,
        policy: FailoverPolicy | None = None,
        port_answers: Callable[[int], bool] = metrics_port_answers,
    ) -> None:
        """``metrics_ports``: worker index -> metrics port to probe (None: uptime alone).

        Assumes the store holds the default placement when the supervisor starts (runplatform
        publishes it before it starts the workers)."""
        self.workers = workers
        self.store_url = store_url
        self.policy = policy or FailoverPolicy()
        self._ports = dict(metrics_ports or {})
        self._port_answers = port_answers
        self._down_since: dict[int, float] = {}
        self._exits_seen: dict[int, int] = {}
        self._out: frozenset[int] = frozenset()  # workers whose shards the store has moved
        self._next_change = -math.inf

    @property
    def moved_away(self) -> frozenset[int]:
        """Workers whose shards the published spec gives to others."""
        return self._out

    def __call__(self, now: float, children: Mapping[str, ChildState]) -> None:
        self.observe(now, children)

    def observe(self, now: float, children: Mapping[str, ChildState]) -> None:
        for index in range(self.workers):
            child = children.get(worker_name(index))
            if child is not None:
                self._track(index, child, now)
        out = frozenset(
            index
            for index, since in self._down_since.items()
            if now - since >= self.policy.move_after
        )
        if out != self._out and now >= self._next_change:
            self._change(out, now, children)

    def _track(self, index: int, child: ChildState, now: float) -> None:
        died = child.exits > self._exits_seen.get(index, 0)
        self._exits_seen[index] = child.exits
        if died and index not in self._down_since:
            self._down_since[index] = child.last_exit_at
        elif index in self._down_since and self._is_up(index, child, now):
            del self._down_since[index]

    def _is_up(self, index: int, child: ChildState, now: float) -> bool:
        if not child.alive or now - child.started_at < self.policy.up_after:
            return False
        port = self._ports.get(index)
        return port is None or self._port_answers(port)

    def _change(self, out: frozenset[int], now: float, children: Mapping[str, ChildState]) -> None:
        gone, back = sorted(out - self._out), sorted(self._out - out)
        reasons = [
            f"{worker_name(i)} exited ({_exit(children, i)}) and stayed down "
            f"{self.policy.move_after:g} s or more"
            for i in gone
        ] + [f"{worker_name(i)} is up again" for i in back]
        counts: list[int] = []

        def placement(count: int) -> Assignment:
            counts.append(count)
            return spread(count, self.workers, out)

        try:
            published = publish_catalog(
                ACTOR, workers=self.workers, store_url=self.store_url, placement=placement
            )
        except Exception as error:  # store or database unreachable: retry soon, never crash
            log.error("failover: could not publish the shard map: %s", error)
            if isinstance(error, DatabaseError):
                connection.close()  # a dropped database connection: reconnect next time
            self._next_change = now + _RETRY_AFTER_ERROR
            return
        count = counts[-1]
        before = owners(count, self.workers, spread(count, self.workers, self._out))
        after = spread(count, self.workers, out)
        moved = _moves(before, owners(count, self.workers, after))
        self._out = out
        self._next_change = now + self.policy.min_interval
        log.warning(
            "failover: %s; shards moved %s (spec %s)",
            "; ".join(reasons),
            moved,
            f"v{published.version}" if published else "unchanged",
        )
        if published is None:
            return  # the store already had this map: no spec change, nothing to audit
        do_record_audit(
            ACTOR,
            "shards.move" if gone else "shards.restore",
            ",".join(worker_name(i) for i in gone + back),
            {
                "version": published.version,
                "reason": "; ".join(reasons),
                "moved": {str(shard): move for shard, move in moved.items()},
                "down": sorted(out),
                "assignment": after,
            },
        )


def _exit(children: Mapping[str, ChildState], index: int) -> str:
    child = children.get(worker_name(index))
    code = child.last_exit_code if child is not None else None
    if code is None:
        return "unknown status"
    return f"signal {-code}" if code < 0 else f"code {code}"


def _moves(before: Mapping[int, int], after: Mapping[int, int]) -> dict[int, dict[str, int]]:
    return {
        shard: {"from": before[shard], "to": owner}
        for shard, owner in sorted(after.items())
        if before.get(shard) != owner
    }
