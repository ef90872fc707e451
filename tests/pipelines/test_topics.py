"""Topic names and NATS-style wildcard matching."""

from __future__ import annotations

import pytest

from pipelines.events import Alert, BookSnapshot, Metric, Trade
from pipelines.topics import decode_token, encode_token, event_topic, matches, split


def test_symbol_tokens_are_percent_encoded() -> None:
    assert encode_token("XBT/USD") == "XBT%2FUSD"
    assert encode_token("GEZ4 C9862") == "GEZ4%20C9862"
    assert encode_token("BRK.B") == "BRK%2EB"
    for symbol in ("XBT/USD", "GEZ4 C9862", "BRK.B", "a*b>c%d"):
        assert decode_token(encode_token(symbol)) == symbol


def test_topics_by_event_kind() -> None:
    book = BookSnapshot(stream="kraken", symbol="XBT/USD", bids=[], asks=[])
    trade = Trade(stream="kraken", symbol="XBT/USD", price=1, size=1)
    ema = Metric(stream="sim", symbol="BRK.B", name="ema", value=1.0)
    alert = Alert(stream="sim", symbol="A", rule="band", severity="critical", message="m")
    assert event_topic(book) == "md.kraken.XBT%2FUSD.book"
    assert event_topic(trade) == "md.kraken.XBT%2FUSD.trade"
    assert event_topic(ema) == "an.sim.BRK%2EB.ema"
    assert event_topic(alert) == "alert.sim.A.critical"
    assert split(event_topic(ema)) == ["an", "sim", "BRK.B", "ema"]


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("md.sim.A.book", "md.sim.A.book", True),
        ("md.*.*.book", "md.sim.A.book", True),
        ("md.*.*.book", "md.sim.A.trade", False),
        ("md.>", "md.sim.A.book", True),
        ("md.sim.>", "md.sim", False),
        ("md.*", "md.sim.A.book", False),
        ("an.sim.A.*", "an.sim.A.ema", True),
        ("md.sim.A.book", "md.sim.A.book.x", False),
    ],
)
def test_wildcards_follow_nats(pattern: str, topic: str, expected: bool) -> None:
    assert matches(pattern, topic) is expected
