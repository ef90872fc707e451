"""Every event kind survives the wire encoding, and its edge form uses decimal strings."""

from __future__ import annotations

import pytest

from pipelines.events import (
    Alert,
    BookDelta,
    BookSnapshot,
    Event,
    Instrument,
    Metric,
    Order,
    Quote,
    Statistic,
    Status,
    Trade,
    decode,
    decode_many,
    encode,
    encoder,
    to_json_dict,
)

BASE = {"stream": "sim", "symbol": "BTC-USD", "seq": 7, "venue_seq": 3, "ts_recv": 1}
EVENTS: list[Event] = [
    Trade(**BASE, price=6400050, size=15, price_decimals=2, size_decimals=4, side="buy"),
    Quote(**BASE, bid_price=100, bid_size=1, ask_price=101, ask_size=2),
    BookDelta(**BASE, side="ask", price=6400100, size=0, action="delete", price_decimals=2),
    BookSnapshot(**BASE, bids=[(99, 1)], asks=[(101, 2), (102, 5)], state="LIVE"),
    Order(**BASE, order_id="42", side="bid", price=99, size=3, action="add"),
    Instrument(**BASE, tick_size=50, price_decimals=2, size_decimals=4),
    Statistic(**BASE, name="volume", value=12345, decimals=2),
    Metric(**BASE, name="ema", value=64001.25, source="ema(window=10)"),
    Alert(**BASE, rule="spread", severity="warning", message="wide"),
    Status(**BASE, state="LIVE"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_an_event_decodes_to_an_equal_event(event: Event) -> None:
    assert decode(encode(event)) == event


def test_a_list_of_events_decodes_in_one_call() -> None:
    assert decode_many(encoder.encode(EVENTS)) == EVENTS


def test_the_edge_form_names_the_kind_and_scales_prices_and_sizes() -> None:
    trade = to_json_dict(EVENTS[0])
    assert trade["kind"] == "trade"
    assert trade["price"] == "64000.50"
    assert trade["size"] == "0.0015"
    snapshot = to_json_dict(EVENTS[3])
    assert snapshot["asks"] == [["101", "2"], ["102", "5"]]
    assert to_json_dict(EVENTS[5])["tick_size"] == "0.50"
