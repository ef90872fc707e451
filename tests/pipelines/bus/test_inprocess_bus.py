"""The in-process bus: synchronous, bounded, with a priority lane for alerts and status."""

from __future__ import annotations

from pipelines.bus import InProcessBus
from pipelines.events import Event, Status, Trade


def trade(seq: int) -> Trade:
    return Trade(stream="s", symbol="X", seq=seq, price=1, size=1)


def test_publish_dispatches_before_it_returns() -> None:
    bus = InProcessBus()
    seen: list[list[Event]] = []
    bus.subscribe(seen.append)
    bus.publish([trade(1), trade(2)])
    assert seen == [[trade(1), trade(2)]]
    assert (bus.published, bus.dispatched, bus.depth) == (2, 2, 0)


def test_control_events_overtake_queued_market_data() -> None:
    bus = InProcessBus()
    order: list[str] = []

    def handler(batch: list[Event]) -> None:
        order.append(type(batch[0]).__name__)
        if batch[0].seq == 1:  # published from inside a dispatch: queued, not recursed into
            bus.publish([trade(2)])
            bus.publish([Status(stream="s", symbol="X", state="STALE")])

    bus.subscribe(handler)
    bus.publish([trade(1)])
    assert order == ["Trade", "Status", "Trade"]


def test_a_full_lane_drops_and_counts_without_blocking() -> None:
    bus = InProcessBus(capacity=3)
    bus.publish([trade(1), trade(2), trade(3), trade(4)])  # larger than the lane: dropped
    assert bus.dropped == 4
    assert bus.published == 0


def test_a_failing_handler_does_not_stop_the_others() -> None:
    bus = InProcessBus()
    seen: list[list[Event]] = []

    def broken(batch: list[Event]) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish([trade(1)])
    assert seen == [[trade(1)]]
    assert bus.handler_errors == 1
