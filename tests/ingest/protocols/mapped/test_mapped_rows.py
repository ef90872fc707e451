"""Messages whose events come as an array of rows (``rows``), and fields read from the frame
(``$`` paths): one event per row, in array order; a bad row is its own counted decode error.

Runs on the compiled twin when it is built (and on the reference with TICKERPLANT_PURE_PYTHON=1);
the twin's agreement with the reference is in test_mapped_compiled.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ingest.capture.ws_capture import read_ws_capture
from ingest.feed import DeadLetterFile, FeedHandler
from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import (
    MappedJsonDecoder,
    MappedParams,
    MappingError,
    json_decoder,
    load_mapping,
    loads_mapping,
)
from ingest.protocols.mapped.numbers import timestamp_ns
from pipelines.events import Event, Quote, Trade

TRADES = """
[venue]
name = "rows"
[numbers]
price_decimals = 2
size_decimals = 0
[routing]
[[routing.rules]]
path = "channel"
values = { trades = "trade", quotes = "quote", orders = "order", one = "one" }
[messages.trade]
kind = "trade"
rows = "data"
symbol = "$.symbol"
ts_exchange = { path = "$.ts", unit = "ms" }
price = "[0]"
size = "[1]"
side = { path = "[2]", map = { b = "buy", s = "sell" } }
trade_id = "[3]"
[messages.quote]
kind = "quote"
root = "payload"
rows = "book"
symbol = "sym"
venue_seq = "$.seq"
bid_price = "bp"
bid_size = "bs"
ask_price = "ap"
ask_size = "as"
[messages.order]
kind = "order"
rows = "data"
symbol = "$.symbol"
order_id = "id"
side = "side"
price = "px"
size = "qty"
action = "act"
[messages.one]
kind = "trade"
root = "data"
symbol = "symbol"
price = "p"
size = "q"
"""


def decoder(text: str = TRADES) -> MappedJsonDecoder:
    return MappedJsonDecoder("t", loads_mapping(text))


def frame(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def trades(rows: list[object], symbol: object = "ABC") -> bytes:
    return frame({"channel": "trades", "symbol": symbol, "ts": 1700000000123, "data": rows})


def test_an_array_of_n_rows_gives_n_events_in_array_order() -> None:
    rows = [[f"{10 + k}.5", k + 1, "bs"[k % 2], f"id{k}"] for k in range(27)]
    d = decoder()
    for _ in range(2):  # the first frame of a symbol and a later one (the twin's own path)
        events = d.decode(trades(rows), 99)
        assert d.row_errors == []
        assert len(events) == 27
        for k, event in enumerate(events):
            assert type(event) is Trade
            assert event.symbol == "ABC"  # from the frame
            assert event.ts_exchange == 1700000000123 * 1_000_000  # from the frame
            assert (event.price, event.size) == ((10 + k) * 100 + 50, k + 1)
            assert event.side == ("buy" if k % 2 == 0 else "sell")
            assert event.trade_id == f"id{k}"
            assert event.ts_recv == 99
        assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 27))
    assert d.stats.messages == 2 and d.stats.events == 54


def test_quotes_and_orders_come_as_rows_too() -> None:
    d = decoder()
    book = [{"sym": s, "bp": "1.5", "bs": 2, "ap": "1.75", "as": 3} for s in ("A", "B", "A")]
    message = {"channel": "quotes", "seq": 41, "payload": {"book": book}}
    for _ in range(2):
        events = d.decode(frame(message), 0)
        assert [(type(e), e.symbol, e.venue_seq) for e in events] == [
            (Quote, "A", 41),
            (Quote, "B", 41),
            (Quote, "A", 41),
        ]
    orders = [{"id": k, "side": "buy", "px": "2.25", "qty": 5, "act": "add"} for k in range(3)]
    events = d.decode(frame({"channel": "orders", "symbol": "Z", "data": orders}), 0)
    assert [(e.symbol, e.order_id, e.price) for e in events] == [
        ("Z", str(k), 225) for k in range(3)
    ]  # type: ignore[attr-defined]


def test_an_empty_array_gives_no_event_and_no_error() -> None:
    d = decoder()
    assert d.decode(trades([]), 0) == []
    assert d.row_errors == []
    assert d.stats.messages == 1 and d.stats.events == 0
    # Even a frame without its symbol: there is no row to read it for.
    assert d.decode(frame({"channel": "trades", "data": []}), 0) == []


def test_rows_at_an_object_give_one_event_and_a_missing_array_is_an_error() -> None:
    d = decoder()
    events = d.decode(trades(["1.25", 3, "b", "x"]), 0)  # type: ignore[arg-type]
    assert events == []  # a list of scalars is four (bad) rows, not one row
    assert [e.reason for e in d.row_errors] == ["missing_field"] * 4
    message = {"channel": "quotes", "seq": 1, "payload": {"book": {"sym": "A", "bp": "1.5",
               "bs": 2, "ap": "1.75", "as": 3}}}  # fmt: skip
    assert [e.symbol for e in d.decode(frame(message), 0)] == ["A"]
    with pytest.raises(DecodeError) as caught:
        d.decode(frame({"channel": "trades", "symbol": "A", "ts": 1}), 0)
    assert (caught.value.reason, caught.value.detail) == ("missing_field", "rows")


def test_a_bad_row_is_a_counted_error_and_the_other_rows_go_through() -> None:
    d = decoder()
    good = [["1.25", 1, "b", "a"], ["1.50", 2, "s", "b"]]
    d.decode(trades(good), 0)  # the symbol's state exists: the next frame runs in the twin
    rows: list[object] = [
        ["2.00", 1, "b", "c"],
        ["2.001", 1, "b", "d"],  # three decimals at a scale of two
        ["2.25", 2, "s", "e"],
        ["2.50", 3, "x", "f"],  # a side the map does not know
        {"price": "1"},  # not a row of this shape
        ["2.75", 4, "s", "g"],
    ]
    seq = d.engine.ctx.sequencer.seq
    events = d.decode(trades(rows), 0)
    assert [e.trade_id for e in events] == ["c", "e", "g"]  # type: ignore[attr-defined]
    # A rejected row leaves no gap in the numbering.
    assert [e.seq for e in events] == [seq + 1, seq + 2, seq + 3]
    assert [(e.reason, e.detail.split(":")[0]) for e in d.row_errors] == [
        ("precision", "row 1"),
        ("unmapped_value", "row 3"),
        ("missing_field", "row 4"),
    ]
    # The next frame starts with no row errors.
    assert len(d.decode(trades(good), 0)) == 2 and d.row_errors == []


def test_a_row_that_teaches_decimals_and_fails_teaches_nothing() -> None:
    d = decoder(TRADES.replace("price_decimals = 2", 'price_decimals = "auto"'))
    events = d.decode(trades([["1.5", "x", "b", "a"], ["1.25", 1, "b", "b"]]), 0)
    assert [e.price_decimals for e in events] == [2]  # type: ignore[attr-defined]
    assert [e.reason for e in d.row_errors] == ["number"]  # "x" is no size


def test_the_feed_handler_counts_and_dead_letters_each_bad_row(tmp_path: Path) -> None:
    emitted: list[list[Event]] = []
    handler = FeedHandler(
        "src", decoder(), emitted.append, dead_letters=DeadLetterFile(tmp_path / "dl.ndjson")
    )
    data = trades([["1.00", 1, "b", "a"], ["1.001", 1, "b", "b"], ["1.00", 1, "q", "c"]])
    events = handler.on_message(data, 0)
    assert [e.trade_id for e in events] == ["a"]  # type: ignore[attr-defined]
    assert emitted == [events]
    stats = handler.stats
    assert (stats.messages, stats.events, stats.decode_errors) == (1, 1, 2)
    assert stats.errors_by_reason == {"precision": 1, "unmapped_value": 1}
    letters = DeadLetterFile.read(tmp_path / "dl.ndjson")
    assert [(x.reason, x.detail.split(":")[0]) for x in letters] == [
        ("precision", "row 1"),
        ("unmapped_value", "row 2"),
    ]
    # A message rejected as a whole is one error, as before.
    handler.on_message(b"{", 0)
    assert stats.decode_errors == 3


def test_existing_single_row_messages_are_unchanged() -> None:
    d = decoder()
    events = d.decode(frame({"channel": "one", "data": {"symbol": "A", "p": "1.5", "q": 2}}), 0)
    assert [(e.symbol, e.price) for e in events] == [("A", 150)]  # type: ignore[attr-defined]
    with pytest.raises(DecodeError):
        d.decode(frame({"channel": "one", "data": {"symbol": "A", "p": "1.5"}}), 0)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("messages.trade.rows", 'rows = "$.data"'),
        ("messages.trade.root", 'root = "$.x"'),
        ("routing.rules[0].path", 'path = "$.channel"'),
    ],
)
def test_dollar_paths_are_refused_where_they_mean_nothing(key: str, text: str) -> None:
    mapping = TRADES.replace('rows = "data"', text, 1) if "rows" in key or "root" in key else None
    if mapping is None:
        mapping = TRADES.replace('path = "channel"', text, 1)
    elif "root" in key:
        mapping = TRADES.replace('rows = "data"', f'{text}\nrows = "data"', 1)
    with pytest.raises(MappingError) as caught:
        loads_mapping(mapping)
    assert key in str(caught.value)


def test_dollar_paths_are_refused_in_books() -> None:
    text = """
[venue]
name = "b"
[routing]
default = "book"
[messages.book]
kind = "book"
symbol = "$.s"
levels = [{ path = "b", side = "bid" }]
"""
    with pytest.raises(MappingError, match=r"messages\.book\.symbol"):
        loads_mapping(text)


# -- a real capture: Bitget spot trades, up to 50 rows a frame, the symbol beside them ----------
def bitget_frames(ws_data: Path) -> list[tuple[int, bytes]]:
    out = []
    for name in ("BITGET.ws.1.0", "BITGET.ws.2.0"):
        for record in read_ws_capture(ws_data / "bitget" / name):
            if record.direction == "recv":
                out.append((record.ts_recv_ns, record.payload))
    return out


def raw_trade_rows(payload: bytes) -> list[tuple[str, list[Any]]]:
    """An independent reading of a frame: (symbol, row) for every trade row it holds."""
    value = json.loads(payload)
    if not isinstance(value, dict) or "event" in value:
        return []
    arg = value.get("arg", {})
    if arg.get("channel") != "trade":
        return []
    return [(arg["instId"], row) for row in value["data"]]


def test_bitget_capture_every_trade_row_is_an_event(ws_data: Path) -> None:
    d = MappedJsonDecoder("bitget", MappedParams(mapping="bitget_spot"))
    trades_out: list[Trade] = []
    expected: list[tuple[str, list[Any]]] = []
    frames_with_rows = 0
    for ts_recv, payload in bitget_frames(ws_data):
        rows = raw_trade_rows(payload)
        expected.extend(rows)
        frames_with_rows += len(rows) > 1
        events = d.decode(payload, ts_recv)
        assert d.row_errors == [], payload[:200]
        trades_out.extend(e for e in events if type(e) is Trade)
    # 8 + 2 snapshots of up to 50 trades and the live updates (README: 430 + 125 rows).
    assert len(expected) == 555
    assert frames_with_rows >= 10
    assert len(trades_out) == len(expected)
    for event, (symbol, row) in zip(trades_out, expected, strict=True):
        ts, price, size, side = row
        assert event.symbol == symbol
        assert event.ts_exchange == timestamp_ns(ts, "ms")
        assert event.price == Decimal(price) * 10**10
        assert event.size == Decimal(size) * 10**8
        assert event.side == side
    if d.accelerator is not None:
        # Only the first frame of each symbol goes to the reference.
        assert d.accelerator.fallbacks <= len({symbol for symbol, _ in expected})


def test_bitget_capture_a_few_rows_field_by_field(ws_data: Path) -> None:
    d = MappedJsonDecoder("bitget", MappedParams(mapping="bitget_spot"))
    for ts_recv, payload in bitget_frames(ws_data):
        rows = raw_trade_rows(payload)
        events = d.decode(payload, ts_recv)
        if len(rows) == 50:
            break
    else:
        pytest.fail("no frame with 50 trades")
    assert len(events) == 50
    first, last = events[0], events[-1]
    assert isinstance(first, Trade) and isinstance(last, Trade)
    for event, (symbol, (ts, price, size, side)) in ((first, rows[0]), (last, rows[-1])):
        assert (event.symbol, event.side, event.ts_recv) == (symbol, side, ts_recv)
        assert event.ts_exchange == int(ts) * 1_000_000
        assert (event.price_decimals, event.size_decimals) == (10, 8)
        assert event.price == Decimal(price) * 10**10
        assert event.size == Decimal(size) * 10**8
    assert [e.seq for e in events] == list(range(first.seq, first.seq + 50))


@pytest.mark.skipif(json_decoder._compiled is None, reason="the compiled decoder is off")
def test_bitget_capture_compiled_and_reference_agree(ws_data: Path) -> None:
    from tests.ingest.protocols.mapped.test_mapped_compiled import lockstep, pair

    compiled, reference = pair(load_mapping("bitget_spot"))
    produced = lockstep(compiled, reference, [p for _, p in bitget_frames(ws_data)])
    assert produced >= 40


def test_bitget_capture_through_the_feed_handler_every_row_is_an_event_or_an_error(
    ws_data: Path,
) -> None:
    """At a scale too small for some prices, those rows are counted errors: none is lost."""
    text = (Path(json_decoder.__file__).parents[2] / "mappings" / "bitget_spot.toml").read_text()
    mapping = loads_mapping(text.replace("price_decimals = 10", "price_decimals = 4"))
    handler = FeedHandler("bitget", MappedJsonDecoder("bitget", mapping), lambda events: None)
    rows = 0
    for ts_recv, payload in bitget_frames(ws_data):
        rows += len(raw_trade_rows(payload))
        handler.on_message(payload, ts_recv)
    stats = handler.stats
    assert stats.decode_errors > 0 and stats.events > 0
    assert stats.events + stats.decode_errors == rows == 555
    assert set(stats.errors_by_reason) == {"precision"}
