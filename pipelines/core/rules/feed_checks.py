"""Rules on the feed itself: silence (stale feed) and the rate of sequence gaps."""

from __future__ import annotations

from collections import deque
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from pipelines.registry import RULES

from .base import Rule, RuleInput, RuleParams

__all__ = ["GapRate", "GapRateParams", "StaleFeed", "StaleFeedParams"]


class StaleFeedParams(RuleParams, frozen=True):
    """Hit when the book has not changed for ``max_silence_ms`` (checked on the timer tick)."""

    max_silence_ms: Annotated[int, Meta(gt=0)] = 5_000


@RULES.register
class StaleFeed(Rule[StaleFeedParams]):
    kind: ClassVar[str] = "stale_feed"
    Params: ClassVar[type[msgspec.Struct]] = StaleFeedParams
    inputs: frozenset[RuleInput] = frozenset({"tick"})

    def __init__(self, params: StaleFeedParams) -> None:
        super().__init__(params)
        self.limit_ns = params.max_silence_ms * 1_000_000

    def reconfigure(self, params: StaleFeedParams) -> bool:
        self.params, self.limit_ns = params, params.max_silence_ms * 1_000_000
        return True

    def check_tick(self, now_ns: int, last_active_ns: int) -> str | None:
        if last_active_ns >= 0 and now_ns - last_active_ns >= self.limit_ns:
            return f"no update for {(now_ns - last_active_ns) / 1e9:.1f} s"
        return None


class GapRateParams(RuleParams, frozen=True):
    """Hit when more than ``max_gaps`` sequence gaps fall within ``window_s`` seconds; clears on
    the timer once the window has slid past them."""

    max_gaps: Annotated[int, Meta(ge=0, le=100_000)] = 3
    window_s: Annotated[float, Meta(gt=0)] = 60.0


@RULES.register
class GapRate(Rule[GapRateParams]):
    kind: ClassVar[str] = "gap_rate"
    Params: ClassVar[type[msgspec.Struct]] = GapRateParams
    inputs: frozenset[RuleInput] = frozenset({"gap", "tick"})

    def __init__(self, params: GapRateParams) -> None:
        super().__init__(params)
        self.window_ns = int(params.window_s * 1e9)
        # The last max_gaps + 1 gap times: the rate is exceeded when the oldest is in the window.
        self.times: deque[int] = deque(maxlen=params.max_gaps + 1)

    def reconfigure(self, params: GapRateParams) -> bool:
        self.params, self.window_ns = params, int(params.window_s * 1e9)
        self.times = deque(self.times, maxlen=params.max_gaps + 1)
        return True

    def _verdict(self, now_ns: int) -> str | None:
        times = self.times
        if len(times) == times.maxlen and now_ns - times[0] <= self.window_ns:
            return f"{len(times)} gaps within {self.window_ns / 1e9:g} s"
        return None

    def check_gap(self, ts_ns: int) -> str | None:
        self.times.append(ts_ns)
        return self._verdict(ts_ns)

    def check_tick(self, now_ns: int, last_active_ns: int) -> str | None:
        return self._verdict(now_ns)
