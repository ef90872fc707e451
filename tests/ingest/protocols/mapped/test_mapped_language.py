"""The mapping language on small synthetic venues: paths, numbers, routing, sync rules, level ids."""

from __future__ import annotations

import zlib

import pytest

from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedJsonDecoder, loads_mapping
from ingest.protocols.mapped.booksync import check
from ingest.protocols.mapped.numbers import scale, timestamp_ns
from ingest.protocols.mapped.paths import MISSING, PathError, compile_path, parse_path
from pipelines.events import BookDelta, BookSnapshot, Event, Quote, Status, Trade


def decoder_for(text: str) -> MappedJsonDecoder:
    return MappedJsonDecoder("t", loads_mapping(text))


def shape(events: list[Event]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for event in events:
        if isinstance(event, BookDelta):
            out.append((event.side, event.price, event.size, event.action, event.batch_end))
        elif isinstance(event, Status):
            out.append(("status", event.state))
        elif isinstance(event, BookSnapshot):
            out.append(("snapshot", event.venue_seq, tuple(event.bids), tuple(event.asks)))
        else:
            out.append((type(event).__name__,))
    return out


# -- paths and numbers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("a.b", {"a": {"b": 1}}, 1),
        ("a.b.c", {"a": {"b": {"c": 2}}}, 2),
        ("[-2]", [1, 2, 3], 2),
        ("[5]", [1], MISSING),
        ("data[0].px", {"data": [{"px": "1.5"}]}, "1.5"),
        ("[1:-2]", [0, {"a": 1}, {"b": 2}, "book", "X"], [{"a": 1}, {"b": 2}]),
        ("a", [1], MISSING),  # a key on an array is absent, not an error
        ("[0]", "text", MISSING),  # an index never reaches into a string
        ("", {"x": 1}, {"x": 1}),
    ],
)
def test_paths(path: str, value: object, expected: object) -> None:
    assert compile_path(path)(value) == expected


@pytest.mark.parametrize("bad", ["a..b", "a.", "[x]", "a[", ".a"])
def test_bad_paths(bad: str) -> None:
    with pytest.raises(PathError):
        parse_path(bad)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        ("0.35210000", 8, 35210000),
        ("6195.00000000", 8, 619500000000),
        ("1.5", 4, 15000),
        ("-0.5", 2, -50),
        ("12", 3, 12000),
        (7, 2, 700),
        ("1.50000", 2, 150),  # trailing zeros beyond the scale are exact
        ("1e-3", 4, 10),
    ],
)
def test_exact_scaling(value: object, decimals: int, expected: int) -> None:
    assert scale(value, decimals) == expected


def test_scaling_refuses_to_lose_digits() -> None:
    with pytest.raises(DecodeError, match="precision"):
        scale("1.234", 2)
    with pytest.raises(DecodeError, match="number"):
        scale("abc", 2)
    assert scale(150, 2, scaled=True) == 150


def test_a_number_past_decimals_range_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="number"):
        scale("1e33998512568", 6)  # Decimal overflows: not a number we can scale
    # Exact up to what an event holds (int64, decision 0121); beyond it, a counted decode error.
    assert scale("92233720368547758.07", 2) == 2**63 - 1
    assert scale("-92233720368547758.07", 2) == -(2**63 - 1)
    for beyond in ("92233720368547758.08", "-92233720368547758.08", "9" * 5000, "1e400"):
        with pytest.raises(DecodeError) as info:
            scale(beyond, 2)
        assert info.value.reason == "out_of_range"


def test_timestamps() -> None:
    assert timestamp_ns("1618678133.365913", "s") == 1618678133365913000
    assert timestamp_ns(1633998512068, "ms") == 1633998512068000000
    assert timestamp_ns("2021-10-12T00:28:32.068Z", "iso") == 1633998512068000000


def test_json_floats_stay_exact() -> None:
    decoder = decoder_for(
        '[venue]\nname="f"\n[routing]\ndefault="t"\n'
        '[messages.t]\nkind="trade"\nsymbol={const="X"}\nprice="p"\nsize="q"\n'
        "[numbers]\nprice_decimals=2\nsize_decimals=3\n"
    )
    (trade,) = decoder.decode(b'{"p": 0.29, "q": 1.001}', 0)
    assert isinstance(trade, Trade) and (trade.price, trade.size) == (29, 1001)


# -- routing ------------------------------------------------------------------------------------
ARRAY_OF_MESSAGES = """
[venue]
name = "alpaca_like"

[numbers]
price_decimals = 2
size_decimals = 0

[routing]
each = "[:]"
default = "error"

[[routing.rules]]
path = "T"
values = { t = "trade", q = "quote", success = "ignore" }

[messages.trade]
kind = "trade"
symbol = "S"
price = "p"
size = "s"
trade_id = "i"
ts_exchange = { path = "t", unit = "iso" }

[messages.quote]
kind = "quote"
symbol = "S"
bid_price = "bp"
bid_size = "bs"
ask_price = "ap"
ask_size = "as"
"""


def test_frame_holding_several_messages() -> None:
    decoder = decoder_for(ARRAY_OF_MESSAGES)
    frame = (
        b'[{"T":"success","msg":"connected"},'
        b'{"T":"t","S":"AAPL","p":187.5,"s":100,"i":42,"t":"2024-01-02T15:04:05.123456Z"},'
        b'{"T":"q","S":"AAPL","bp":187.49,"bs":3,"ap":187.51,"as":5}]'
    )
    trade, quote = decoder.decode(frame, 0)
    assert isinstance(trade, Trade) and isinstance(quote, Quote)
    assert (trade.price, trade.size, trade.trade_id) == (18750, 100, "42")
    assert trade.ts_exchange == 1704207845123456000
    assert (quote.bid_price, quote.ask_price, quote.ask_size) == (18749, 18751, 5)
    assert decoder.stats.ignored == 1 and decoder.stats.messages == 3
    with pytest.raises(DecodeError) as info:
        decoder.decode(b'[{"T":"x"}]', 0)
    assert info.value.reason == "unrouted"


# -- book sync rules --------------------------------------------------------------------------
def book_mapping(
    sync: str,
    snapshot: str = 'source = "rest"\nurl = "https://v/depth?s={symbol}"\n'
    'symbol_from_url = "query:s"\nid = "id"',
) -> str:
    return f"""
[venue]
name = "v"
[numbers]
price_decimals = 0
size_decimals = 0
[routing]
default = "book"
[messages.book]
kind = "book"
symbol = "s"
venue_seq = "u"
levels = [{{ path = "b", side = "bid" }}, {{ path = "a", side = "ask" }}]
[messages.book.sync]
{sync}
[messages.book.snapshot]
{snapshot}
"""


RANGE = book_mapping('rule = "update_id_range"\nfirst_id = "U"\nlast_id = "u"')
SNAPSHOT = b'{"id": 10, "bids": [[5, 1]], "asks": [[6, 1]]}'


def diff(first: int, last: int, bid: int = 5, size: int = 2) -> bytes:
    return f'{{"s":"X","U":{first},"u":{last},"b":[[{bid},{size}]],"a":[]}}'.encode()


def test_update_id_range_buffers_until_snapshot_then_detects_a_gap_and_resyncs() -> None:
    decoder = decoder_for(RANGE)
    assert shape(decoder.decode(diff(8, 9), 1)) == [("status", "SYNCING")]
    assert decoder.decode(diff(10, 12, size=3), 2) == []
    assert decoder.needs_snapshot() == {"X"}
    events = decoder.apply_snapshot("https://v/depth?s=X", SNAPSHOT, 3)
    assert shape(events) == [
        ("snapshot", 10, ((5, 1),), ((6, 1),)),
        ("status", "LIVE"),
        ("bid", 5, 3, "change", True),  # 8..9 dropped (u <= 10); 10..12 straddles 11: applied
    ]
    assert decoder.stats.stale == 1
    assert shape(decoder.decode(diff(13, 13, bid=4, size=1), 4)) == [("bid", 4, 1, "new", True)]
    assert decoder.decode(diff(12, 13), 5) == []  # a duplicate: stale
    gap = decoder.decode(diff(15, 16), 6)
    assert shape(gap) == [("status", "RESYNC")]
    assert decoder.stats.gaps == 1 and decoder.needs_snapshot() == {"X"}
    decoder.decode(diff(17, 17, bid=3, size=9), 7)  # buffered for the next snapshot
    events = decoder.apply_snapshot("https://v/depth?s=X", b'{"id":16,"bids":[],"asks":[]}', 8)
    assert shape(events) == [
        ("snapshot", 16, (), ()),
        ("status", "LIVE"),
        ("bid", 3, 9, "new", True),
    ]


def test_first_diff_after_snapshot_must_cover_the_next_id() -> None:
    decoder = decoder_for(RANGE)
    decoder.decode(diff(12, 14), 1)  # starts after 11: the snapshot is too old
    events = decoder.apply_snapshot("https://v/depth?s=X", SNAPSHOT, 2)
    assert shape(events)[-1] == ("status", "RESYNC")


@pytest.mark.parametrize(
    ("rule", "last", "fresh", "ids", "verdict"),
    [
        ("update_id_range", 10, True, (11, 12, 0), "apply"),
        ("update_id_range", 10, True, (9, 11, 0), "apply"),
        ("update_id_range", 10, True, (12, 13, 0), "gap"),
        ("update_id_range", 10, False, (10, 11, 0), "gap"),
        ("update_id_range", 10, False, (9, 10, 0), "stale"),
        ("prev_id_chain", 10, True, (8, 12, 7), "apply"),
        ("prev_id_chain", 10, True, (9, 10, 8), "apply"),
        ("prev_id_chain", 10, False, (11, 12, 10), "apply"),
        ("prev_id_chain", 10, False, (11, 12, 9), "gap"),
        ("prev_id_chain", 10, False, (9, 10, 8), "stale"),
        ("strict_increment", 10, False, (11, 11, 0), "apply"),
        ("strict_increment", 10, False, (13, 13, 0), "gap"),
        ("strict_increment", 10, False, (10, 10, 0), "stale"),
        ("none", 10, False, (1, 1, 0), "apply"),
        ("update_id_range", None, False, (1, 5, 0), "apply"),
    ],
)
def test_rules(
    rule: str, last: int | None, fresh: bool, ids: tuple[int, int, int], verdict: str
) -> None:
    first, upto, prev = ids
    assert check(rule, last, fresh, first, upto, prev) == verdict


def test_strict_increment_without_snapshot_is_live_from_the_first_update() -> None:
    decoder = decoder_for(
        book_mapping('rule = "strict_increment"\nlast_id = "u"', 'source = "none"')
    )
    assert shape(decoder.decode(diff(0, 5), 1)) == [("bid", 5, 2, "new", True)]
    assert shape(decoder.decode(diff(0, 6, size=0), 2)) == [("bid", 5, 0, "delete", True)]
    assert shape(decoder.decode(diff(0, 8), 3)) == [("status", "RESYNC")]


# -- level ids, per-entry side, depth truncation, checksum formats -----------------------------
LEVEL_IDS = """
[venue]
name = "bitmex_like"
[numbers]
price_decimals = 1
size_decimals = 0
[routing]
default = "error"
[[routing.rules]]
path = "table"
values = { orderBookL2 = "book" }
[messages.book]
kind = "book"
symbol = "data[0].symbol"
[[messages.book.levels]]
path = "data"
side_field = { path = "side", map = { Buy = "bid", Sell = "ask" } }
id = "id"
price = "price"
size = "size"
"""


def test_levels_keyed_by_id_remember_the_price_of_the_insert() -> None:
    decoder = decoder_for(LEVEL_IDS.replace('path = "action"', 'path = "^action"'))
    decoder = decoder_for(
        LEVEL_IDS.replace(
            'action = { path = "action", map = { insert = "new", '
            'update = "change", delete = "delete" } }\n',
            "",
        )
    )
    insert = (
        b'{"table":"orderBookL2","action":"insert","data":[{"symbol":"XBTUSD","id":1,'
        b'"side":"Sell","size":10,"price":"100.5"},{"symbol":"XBTUSD","id":2,"side":"Buy",'
        b'"size":4,"price":"100.0"}]}'
    )
    update = (
        b'{"table":"orderBookL2","action":"update","data":[{"symbol":"XBTUSD","id":1,'
        b'"side":"Sell","size":7}]}'
    )
    delete = b'{"table":"orderBookL2","action":"delete","data":[{"symbol":"XBTUSD","id":2,"side":"Buy"}]}'
    assert shape(decoder.decode(insert, 0)) == [
        ("ask", 1005, 10, "new", False),
        ("bid", 1000, 4, "new", True),
    ]
    assert shape(decoder.decode(update, 0)) == [("ask", 1005, 7, "change", True)]
    assert shape(decoder.decode(delete, 0)) == [("bid", 1000, 0, "delete", True)]
    with pytest.raises(DecodeError, match="unknown_level"):
        decoder.decode(delete, 0)  # id 2 is gone


def test_depth_truncation_emits_deletes_for_levels_pushed_out() -> None:
    text = book_mapping('rule = "none"', 'source = "none"').replace(
        'kind = "book"', 'kind = "book"\ndepth = 2'
    )
    decoder = decoder_for(text)
    decoder.decode(b'{"s":"X","b":[[5,1],[4,1]],"a":[]}', 0)
    assert shape(decoder.decode(b'{"s":"X","b":[[6,1]],"a":[]}', 0)) == [
        ("bid", 6, 1, "new", False),
        ("bid", 4, 0, "delete", True),
    ]


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ('order = "asks_then_bids"\nformat = "digits"', "15711005"),
        ('order = "bids_then_asks"\nformat = "digits"', "10051571"),
        ('order = "interleaved_bid_ask"\nformat = "decimal"\nseparator = ":"', "10.0:5:15.7:1"),
    ],
)
def test_checksum_formats(options: str, text: str) -> None:
    mapping = f"""
[venue]
name = "c"
[numbers]
price_decimals = 1
size_decimals = 0
[routing]
default = "book"
[messages.book]
kind = "book"
symbol = {{ const = "X" }}
levels = [{{ path = "b", side = "bid" }}, {{ path = "a", side = "ask" }}]
[messages.book.checksum]
path = "c"
signed = true
{options}
"""
    decoder = decoder_for(mapping)
    expected = zlib.crc32(text.encode())
    expected = expected - (1 << 32) if expected >= 1 << 31 else expected
    events = decoder.decode(f'{{"b":[["10.0","5"]],"a":[["15.7","1"]],"c":{expected}}}'.encode(), 0)
    assert decoder.stats.checksums == 1 and decoder.stats.checksum_mismatches == 0, events
