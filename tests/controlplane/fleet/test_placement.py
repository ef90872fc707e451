"""Where a dead worker's shards go: balanced, deterministic, and live workers keep theirs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controlplane.fleet.placement import default_owners, owners, spread
from pipelines.spec import ShardMap


def test_nobody_down_is_the_default_placement() -> None:
    assert spread(8, 4, []) == {}
    assert owners(8, 4, {}) == {k: k % 4 for k in range(8)}


def test_two_workers_one_dead_gives_its_shard_to_the_other() -> None:
    assert spread(2, 2, [1]) == {"0": [0, 1], "1": []}
    assert spread(2, 2, [0]) == {"0": [], "1": [0, 1]}


def test_dead_shards_go_to_the_least_loaded_live_worker_lowest_index_first() -> None:
    # 10 shards on 4 workers: 0:[0,4,8] 1:[1,5,9] 2:[2,6] 3:[3,7]; worker 1 dies.
    assert spread(10, 4, [1]) == {"0": [0, 4, 8, 9], "1": [], "2": [1, 2, 6], "3": [3, 5, 7]}
    # ... and its last shard, 9, goes to worker 0 (all at 3 then, lowest index wins).
    assert owners(10, 4, spread(10, 4, [1]))[9] == 0


def test_everybody_down_keeps_the_default_placement() -> None:
    assert spread(4, 2, [0, 1]) == {}


def test_the_assignment_is_what_a_worker_reads_from_the_shard_map() -> None:
    shard_map = ShardMap(count=6, assignment=spread(6, 3, [2]))
    assert shard_map.shards_for(0, 3) == {0, 2, 3}
    assert shard_map.shards_for(1, 3) == {1, 4, 5}
    assert shard_map.shards_for(2, 3) == frozenset()


@given(
    st.integers(min_value=1, max_value=8).flatmap(
        lambda workers: st.tuples(
            st.integers(min_value=workers, max_value=64),
            st.just(workers),
            st.sets(st.integers(min_value=0, max_value=workers - 1), max_size=workers - 1),
        )
    )
)
def test_every_shard_once_live_workers_keep_theirs_balanced_and_deterministic(
    case: tuple[int, int, set[int]],
) -> None:
    count, workers, down = case
    assignment = spread(count, workers, down)
    assert assignment == spread(count, workers, sorted(down, reverse=True))  # deterministic
    if not down:
        assert assignment == {}
        return
    every = sorted(k for shards in assignment.values() for k in shards)
    assert every == list(range(count))  # each shard exactly once
    base = default_owners(count, workers)
    loads = []
    for worker in range(workers):
        mine = set(assignment[str(worker)])
        if worker in down:
            assert not mine
        else:
            assert set(base[worker]) <= mine  # a live worker keeps its own shards
            assert mine - set(base[worker]) <= {k for w in down for k in base[w]}
            loads.append(len(mine))
    assert max(loads) - min(loads) <= 1
