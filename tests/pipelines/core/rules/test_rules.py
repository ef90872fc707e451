"""Every rule plugin: typed params, the inputs it declares, hits and clears on its condition."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pipelines.core.book import Book
from pipelines.core.rules import Rule, RuleSet
from pipelines.events import Alert, BookDelta, Event, Status, Trade
from pipelines.registry import RULES, ParamsError
from pipelines.spec import RuleSpec

VALID: dict[str, dict[str, Any]] = {
    "price_band": {"k": 3.0, "window": 20},
    "spike": {"metric": "volume", "threshold": 5},
    "crossed_book": {},
    "max_spread": {"max_bps": 10},
    "stale_feed": {"max_silence_ms": 100},
    "gap_rate": {"max_gaps": 2, "window_s": 1},
}


def build(kind: str, **params: Any) -> Rule:
    rule: Rule = RULES.get(kind)(RULES.params(kind, params))
    return rule


def trade(price: int, size: int = 1, seq: int = 1) -> Trade:
    return Trade(stream="s", symbol="X", seq=seq, price=price, size=size)


def book(bid: int, ask: int, decimals: int = 2) -> Book:
    result = Book("s", "X", price_decimals=decimals)
    for side, price in (("bid", bid), ("ask", ask)):
        result.apply(
            BookDelta(stream="s", symbol="X", side=side, price=price, size=1, action="new")
        )  # type: ignore[arg-type]
    return result


@pytest.mark.parametrize("kind", sorted(RULES))
def test_every_rule_has_typed_params_that_reject_unknown_fields(kind: str) -> None:
    assert kind in VALID, "a new rule needs a case here"
    params = RULES.params(kind, VALID[kind])
    assert msgspec.structs.asdict(params)["severity"] == "warning"
    with pytest.raises(ParamsError):
        RULES.params(kind, {**VALID[kind], "no_such_field": 1})
    rule = build(kind, **VALID[kind])
    assert rule.inputs and rule.inputs <= {"book", "trade", "tick", "gap"}
    assert "severity" in str(RULES.params_schema(kind))


def test_price_band_sigma_and_percent() -> None:
    rule = build("price_band", k=4.0, window=20, warmup=10)
    for i in range(50):
        assert rule.check_trade(trade(10_000 + (i % 3))) is None
    message = rule.check_trade(trade(10_100))
    assert message is not None and "outside" in message
    percent = build("price_band", band="percent", percent=1.0, warmup=1)
    assert percent.check_trade(trade(10_000)) is None
    assert percent.check_trade(trade(10_050)) is None  # 0.5 %
    assert percent.check_trade(trade(10_300)) is not None  # 3 %
    mid = build("price_band", input="mid", band="percent", percent=1.0, warmup=1)
    assert mid.inputs == {"book"}
    assert mid.check_book(book(9_990, 10_010)) is None
    assert mid.check_book(book(11_990, 12_010)) is not None


def test_spike_on_price_and_on_volume() -> None:
    price = build("spike", metric="price", threshold=2.0)
    assert price.check_trade(trade(10_000)) is None
    assert price.check_trade(trade(10_100)) is None  # +1 %
    assert price.check_trade(trade(10_500)) is not None  # +4 %
    volume = build("spike", metric="volume", threshold=5.0, warmup=5)
    for _ in range(10):
        assert volume.check_trade(trade(100, size=10)) is None
    assert volume.check_trade(trade(100, size=100)) is not None


def test_crossed_or_locked_and_max_spread() -> None:
    crossed = build("crossed_book")
    assert crossed.check_book(book(100, 101)) is None
    assert crossed.check_book(book(101, 101)) == "locked: bid = ask = 101"
    assert crossed.check_book(book(102, 101)) is not None
    assert build("crossed_book", include_locked=False).check_book(book(101, 101)) is None
    spread = build("max_spread", max_spread="0.05")  # at the book's scale (2 decimals): 5
    assert spread.check_book(book(10_000, 10_005)) is None
    assert spread.check_book(book(10_000, 10_006)) is not None
    bps = build("max_spread", max_bps=10)
    assert bps.check_book(book(10_000, 10_010)) is None  # ~10 bps
    assert bps.check_book(book(10_000, 10_030)) is not None
    with pytest.raises(ParamsError):
        RULES.params("max_spread", {})


def test_stale_feed_and_gap_rate_run_on_the_timer() -> None:
    stale = build("stale_feed", max_silence_ms=100)
    assert stale.check_tick(50_000_000, 0) is None
    assert stale.check_tick(100_000_000, 0) is not None
    gaps = build("gap_rate", max_gaps=2, window_s=1)
    second = 1_000_000_000
    assert gaps.check_gap(0) is None
    assert gaps.check_gap(second // 2) is None
    assert gaps.check_gap(second) is not None  # 3 gaps within 1 s
    assert gaps.check_tick(second + 1, 0) is None  # the first has left the window


def spec(kind: str, action: str, **params: Any) -> dict[str, RuleSpec]:
    return {"r": RuleSpec(kind=kind, action=action, params=params)}  # type: ignore[arg-type]


def run_trades(rules: Any, prices: list[int]) -> list[tuple[str, Event]]:
    """Trades through a symbol's rules as the pipeline does: the trade, then its tags."""
    out: list[Event] = []
    published: list[tuple[str, Event]] = []
    for seq, price in enumerate(prices, 1):
        event = trade(price, seq=seq)
        if rules.on_trade(event):
            out.append(event)
        rules.flush(out.append)
    for event in out:
        published.append((type(event).__name__, event))
    return published


def test_actions_tag_drop_alert() -> None:
    prices = [100, 100, 110, 110, 110]  # a 10 % jump at seq 3; it clears at seq 4
    for action, expected in (
        ("tag", ["Trade", "Trade", "Trade", "Alert", "Trade", "Trade"]),
        ("drop", ["Trade", "Trade", "Trade", "Trade"]),
        ("alert", ["Trade", "Trade", "Trade", "Alert", "Trade", "Alert", "Trade"]),
    ):
        ruleset = RuleSet()
        ruleset.entries = RuleSet.plan(spec("spike", action, threshold=5.0))
        rules = ruleset.bind("s", "X")
        published = run_trades(rules, prices)
        assert [name for name, _ in published] == expected, action
        alerts = [event for _, event in published if isinstance(event, Alert)]
        if action == "tag":
            assert alerts[0].severity == "info" and alerts[0].seq == 3
            assert alerts[0].message.startswith("tag: ")
        if action == "alert":  # once when it starts to hit, once when it clears
            assert [(a.severity, a.seq) for a in alerts] == [("warning", 3), ("info", 4)]
            assert alerts[0].rule == "r" and alerts[1].message == "cleared"
        stats = ruleset.entries["r"].stats
        assert stats.evaluations == 5 and stats.hits == 1


def test_halt_stops_the_book_until_the_rule_clears_and_a_reload_keeps_state() -> None:
    ruleset = RuleSet()
    ruleset.entries = RuleSet.plan(spec("crossed_book", "halt"))
    rules = ruleset.bind("s", "X")
    out: list[Event] = []

    def publishes(bid: int, seq: int) -> bool:
        publish = rules.on_book(book(bid, 101), seq, 0)
        rules.flush(out.append)
        return publish

    assert publishes(100, 1)
    assert not publishes(102, 2)
    assert isinstance(out[-1], Status) and out[-1].state == "HALTED"
    assert not publishes(102, 3)
    assert len(out) == 1  # HALTED once, not per message
    assert publishes(100, 4)
    assert isinstance(out[-1], Status) and out[-1].state == "RESUMED"

    # Live reload: the same rule with new params keeps its instance; a removed halt releases.
    rule = rules.bound["r"].rule
    assert not publishes(102, 5)
    released = ruleset.update(
        RuleSet.plan(spec("crossed_book", "halt", include_locked=False)), [rules]
    )
    assert released == [] and rules.bound["r"].rule is rule and rules.halted == {"r"}
    released = ruleset.update({}, [rules])
    assert [s.state for s in released if isinstance(s, Status)] == ["RESUMED"]
    assert rules.book == [] and not rules.halted
