"""Where shards go when workers are down: a pure function of (shards, workers, down workers).

The default placement puts shard ``k`` on worker ``k % workers`` (``ShardMap`` with an empty
assignment). With some workers down, every live worker keeps its own shards and the down
workers' shards are dealt, lowest shard first, to the live worker holding the fewest shards
(lowest index on a tie): deterministic, and no live worker ends more than one shard above another.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

__all__ = ["Assignment", "default_owners", "owners", "spread"]

Assignment = dict[str, list[int]]
"""``ShardMap.assignment``: worker index (as a string) -> the shards it owns; ``{}`` = default."""


def default_owners(count: int, workers: int) -> dict[int, list[int]]:
    """Worker index -> its shards in the default placement (shard ``k`` on ``k % workers``)."""
    return {w: [k for k in range(count) if k % workers == w] for w in range(workers)}


def spread(count: int, workers: int, down: Collection[int]) -> Assignment:
    """The assignment with the shards of the ``down`` workers moved to the live ones.

    ``{}`` (the default placement) when nobody is down, or when everybody is: with no live
    worker there is no one to take the shards, and the restarted workers find their own.
    """
    down_set = {w for w in down if 0 <= w < workers}
    live = [w for w in range(workers) if w not in down_set]
    if not down_set or not live:
        return {}
    base = default_owners(count, workers)
    held = {w: list(base[w]) for w in live}
    orphans = sorted(k for w in down_set for k in base[w])
    for shard in orphans:
        target = min(live, key=lambda w: (len(held[w]), w))
        held[target].append(shard)
    return {str(w): sorted(held.get(w, [])) for w in range(workers)}


def owners(count: int, workers: int, assignment: Mapping[str, list[int]]) -> dict[int, int]:
    """Shard -> owning worker under ``assignment`` (``{}``: the default placement)."""
    if not assignment:
        return {k: k % workers for k in range(count)}
    return {shard: int(worker) for worker, shards in assignment.items() for shard in shards}
