"""The book health state machine: every change is one Status event, nothing else is."""

from __future__ import annotations

from pipelines.core.health import LIVE, RESYNC, STALE, SYNCING, TRANSITIONS, BookHealth
from pipelines.events import Status


def status(state: str, reason: str = "") -> Status:
    return Status(stream="s", symbol="X", seq=5, ts_recv=9, state=state, reason=reason)


def test_a_feed_without_snapshots_is_live_from_its_first_update() -> None:
    health = BookHealth("s", "X")
    assert health.state == SYNCING and health.accepting
    change = health.on_update(seq=1, ts=2)
    assert change is not None and (change.state, change.reason, change.seq) == (
        LIVE,
        "first update",
        1,
    )
    assert health.on_update() is None  # no change, no event


def test_a_decoder_that_announces_syncing_holds_updates_until_its_snapshot() -> None:
    health = BookHealth("s", "X")
    about_book, change = health.on_status(status("SYNCING", "waiting for snapshot"))
    assert about_book and change is not None  # the first SYNCING is announced to consumers
    assert (change.state, change.reason) == (SYNCING, "waiting for snapshot")
    assert health.on_status(status("SYNCING")) == (True, None)  # no change, no event
    assert not health.accepting
    change = health.on_snapshot(seq=7)
    assert change is not None and change.state == LIVE and health.accepting
    assert health.on_status(status("LIVE", "snapshot applied")) == (True, None)


def test_gap_resync_live_cycle_with_reasons() -> None:
    health = BookHealth("s", "X")
    health.on_update()
    about_book, change = health.on_status(status("RESYNC", "gap: expected 10, got 12..13"))
    assert about_book and change is not None
    assert (change.state, change.reason, change.seq, change.ts_recv) == (
        RESYNC,
        "gap: expected 10, got 12..13",
        5,
        9,
    )
    assert not health.accepting and health.gaps == 1
    assert health.on_gap("another") is None and health.gaps == 2  # still RESYNC: no event
    change = health.on_snapshot()
    assert change is not None and change.state == LIVE and health.accepting


def test_stale_after_a_silence_on_the_timer_and_live_again_on_the_next_update() -> None:
    health = BookHealth("s", "X", stale_after_ns=1_000)
    health.on_update()
    assert health.tick(10_000) is None  # first tick: activity seen now
    assert health.tick(10_500) is None
    change = health.tick(11_000)
    assert change is not None and change.state == STALE and change.ts_recv == 11_000
    assert health.tick(50_000) is None  # already STALE
    change = health.on_update()
    assert change is not None and (change.state, change.reason) == (LIVE, "updates resumed")
    assert health.tick(50_100) is None  # the update counts as activity


def test_crossed_is_a_flag_with_its_own_status_and_label() -> None:
    health = BookHealth("s", "X")
    health.on_update()
    change = health.set_crossed(True, "bid 101 > ask 100")
    assert change is not None and change.state == "CROSSED"
    assert health.label == "LIVE|CROSSED" and health.state == LIVE
    assert health.set_crossed(True, "still") is None
    change = health.set_crossed(False, "uncrossed")
    assert change is not None and change.state == LIVE and health.label == LIVE


def test_reset_waits_for_a_snapshot_and_other_statuses_are_not_about_the_book() -> None:
    health = BookHealth("s", "X")
    health.on_update()
    about_book, change = health.on_status(status("RESET", "session restart"))
    assert about_book and change is not None and change.state == SYNCING
    assert not health.accepting
    assert health.on_status(status("CONNECTED")) == (False, None)


def test_every_state_handles_every_trigger_it_can_meet() -> None:
    states = {LIVE, RESYNC, STALE, SYNCING}
    for state in states:
        for trigger in ("snapshot", "gap", "reset", "syncing"):
            assert TRANSITIONS[(state, trigger)] in states
