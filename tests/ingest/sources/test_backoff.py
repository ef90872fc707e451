"""Reconnect delays: exponential, capped, fully jittered; a healthy connection resets them."""

from __future__ import annotations

import pytest

from ingest.sources.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(0.1, 1.0, random=lambda: 1.0)
    assert [round(backoff.next_delay(), 6) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_full_jitter_draws_anywhere_below_the_ceiling() -> None:
    draws = iter([0.0, 0.5, 0.25])
    backoff = Backoff(1.0, 60.0, random=lambda: next(draws))
    assert [backoff.next_delay() for _ in range(3)] == [0.0, 1.0, 1.0]  # 0*1, .5*2, .25*4


def test_a_connection_that_stayed_up_resets_the_backoff() -> None:
    clock = FakeClock()
    backoff = Backoff(0.1, 10.0, reset_after=5.0, random=lambda: 1.0, clock=clock)
    for _ in range(4):
        backoff.next_delay()
    backoff.connected()
    clock.now += 5.0
    assert backoff.next_delay() == pytest.approx(0.1)


def test_a_venue_that_drops_every_connection_at_once_keeps_backing_off() -> None:
    clock = FakeClock()
    backoff = Backoff(0.1, 10.0, reset_after=5.0, random=lambda: 1.0, clock=clock)
    delays = []
    for _ in range(4):
        backoff.connected()
        clock.now += 0.5  # accepted, then dropped half a second later
        delays.append(round(backoff.next_delay(), 6))
    assert delays == [0.1, 0.2, 0.4, 0.8]


def test_many_attempts_stay_at_the_cap() -> None:
    backoff = Backoff(0.1, 30.0, random=lambda: 1.0)
    backoff.attempt = 10_000  # factor**attempt would overflow a float
    assert backoff.next_delay() == 30.0


@pytest.mark.parametrize(("initial", "maximum", "factor"), [(0, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_nonsense_settings_are_refused(initial: float, maximum: float, factor: float) -> None:
    with pytest.raises(ValueError):
        Backoff(initial, maximum, factor=factor)
