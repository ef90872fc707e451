"""The ``csv`` plugin: the same mapping language over CSV/TSV rows, one event per row."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedCsvDecoder, MappedParams, loads_mapping
from pipelines.events import BookDelta, Order, Trade
from pipelines.registry import PROTOCOLS

ORDERS = """\
timestamp,symbol,order_id,side,price,size,action
2024-03-01T14:30:00.000001Z,ACME,1001,B,101.25,300,A
2024-03-01T14:30:00.000002Z,ACME,1002,S,101.30,100,A
2024-03-01T14:30:00.5Z,ACME,1001,B,101.25,200,M
2024-03-01T14:30:01Z,ACME,1002,S,101.30,100,E
2024-03-01T14:30:02Z,ACME,1001,B,101.25,0,C
"""


def test_order_level_csv_becomes_order_events(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS)
    decoder = MappedCsvDecoder("orders", MappedParams(mapping="orders_csv"))
    events = list(decoder.decode_file(path))
    assert all(isinstance(event, Order) for event in events)
    orders = [event for event in events if isinstance(event, Order)]
    assert [(o.order_id, o.side, o.price, o.size, o.action) for o in orders] == [
        ("1001", "bid", 10125, 300, "add"),
        ("1002", "ask", 10130, 100, "add"),
        ("1001", "bid", 10125, 200, "modify"),
        ("1002", "ask", 10130, 100, "execute"),
        ("1001", "bid", 10125, 0, "cancel"),
    ]
    assert orders[0].ts_exchange == 1709303400_000_001_000
    assert orders[2].ts_exchange == 1709303400_500_000_000
    assert [o.seq for o in orders] == [1, 2, 3, 4, 5]
    assert (orders[0].price_decimals, orders[0].size_decimals) == (2, 0)


def test_price_finer_than_the_instrument_scale_is_a_decode_error() -> None:
    decoder = MappedCsvDecoder("orders", MappedParams(mapping="orders_csv"))
    decoder.decode(ORDERS.splitlines()[0].encode(), 0)
    with pytest.raises(DecodeError) as info:
        decoder.decode(b"2024-03-01T14:30:00Z,ACME,1,B,101.255,1,A", 0)
    assert info.value.reason == "precision"


TSV_MAPPING = """
[venue]
name = "mixed_tsv"
protocol = "csv"

[csv]
delimiter = "\\t"
header = false
comment = "#"

[numbers]
price_decimals = 4
size_decimals = 2

[instruments.BIG]
price_decimals = 1

# Column 0 says what a row is: T = trade, D = one book level.
[[routing.rules]]
path = "[0]"
values = { T = "trade", D = "level", H = "ignore" }

[messages.trade]
kind = "trade"
symbol = "[1]"
price = "[2]"
size = "[3]"
side = { path = "[4]", map = { b = "buy", s = "sell" }, default = "" }
ts_exchange = { path = "[-1]", unit = "ms" }

[messages.level]
kind = "book"
symbol = "[1]"
ts_exchange = { path = "[-1]", unit = "ms" }

[[messages.level.levels]]
path = ""
single = true
side_field = { path = "[4]", map = { b = "bid", a = "ask" } }
price = "[2]"
size = "[3]"
"""


def test_tsv_without_header_columns_by_index_and_routing() -> None:
    decoder = MappedCsvDecoder("tsv", loads_mapping(TSV_MAPPING))
    lines = [
        b"# a comment line",
        b"H\theader-ish row the mapping ignores",
        b"T\tSMALL\t1.2345\t10\tb\t1700000000000",
        b"T\tBIG\t250.5\t0.25\t\t1700000000001",
        b"D\tSMALL\t1.2\t5\tb\t1700000000002",
        b"D\tSMALL\t1.2\t7\tb\t1700000000003",
        b"D\tSMALL\t1.2\t0\tb\t1700000000004",
    ]
    events = list(decoder.decode_lines(lines, ts_recv=9))
    trades = [event for event in events if isinstance(event, Trade)]
    assert [(t.symbol, t.price, t.price_decimals, t.size, t.side) for t in trades] == [
        ("SMALL", 12345, 4, 1000, "buy"),
        ("BIG", 2505, 1, 25, ""),
    ]
    deltas = [event for event in events if isinstance(event, BookDelta)]
    assert [(d.side, d.price, d.size, d.action, d.batch_end) for d in deltas] == [
        ("bid", 12000, 500, "new", True),
        ("bid", 12000, 700, "change", True),
        ("bid", 12000, 0, "delete", True),
    ]
    assert deltas[0].ts_exchange == 1700000000002 * 1_000_000 and deltas[0].ts_recv == 9
    assert decoder.stats.ignored == 1


def test_header_row_sets_column_names_and_bad_rows_are_decode_errors() -> None:
    decoder = MappedCsvDecoder("orders", MappedParams(mapping="orders_csv"))
    assert decoder.decode(b"timestamp,symbol,order_id,side,price,size,action\n", 0) == []
    with pytest.raises(DecodeError):
        decoder.decode(b"only,three,fields", 0)
    with pytest.raises(DecodeError):
        decoder.decode(b"2024-03-01T14:30:00Z,ACME,1,X,1,1,A", 0)  # side X is not mapped


def test_both_plugins_are_registered() -> None:
    assert PROTOCOLS.get("csv") is MappedCsvDecoder
    params = PROTOCOLS.params("json", {"mapping": "kraken"})
    assert isinstance(params, MappedParams)
    assert "mapping" in PROTOCOLS.params_schema("csv")["$defs"]["MappedParams"]["properties"]
