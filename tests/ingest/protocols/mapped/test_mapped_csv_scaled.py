"""``numbers.scaled = true`` over CSV: integer cells are already at the scale, as JSON integers.

CSV has no number type, so every cell is text; before issue 9 the ``scaled`` flag only ever
applied to JSON integers and a CSV price ``5853300`` at 4 decimals came out as 5853300.0000.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.protocols.base import INT64_MAX, DecodeError
from ingest.protocols.mapped import MappedCsvDecoder, MappedJsonDecoder, loads_mapping
from pipelines.__main__ import build_parser
from pipelines.events import Order, Trade
from pipelines.replay.cli import run

MAPPING = """
[venue]
name = "scaled_csv"
protocol = "{protocol}"

[csv]
header = true

[numbers]
price_decimals = 4
size_decimals = 2
scaled = {scaled}

[routing]
default = "{message}"

[messages.trade]
kind = "trade"
symbol = "symbol"
price = "price"
size = "size"

[messages.order]
kind = "order"
symbol = "symbol"
order_id = "id"
side = {{ path = "side", map = {{ B = "bid", S = "ask" }} }}
price = "price"
size = "size"
action = {{ path = "action", map = {{ A = "add" }} }}
"""


def _csv(message: str = "trade", scaled: bool = True) -> MappedCsvDecoder:
    text = MAPPING.format(protocol="csv", scaled=str(scaled).lower(), message=message)
    decoder = MappedCsvDecoder("s", loads_mapping(text))
    header = b"symbol,id,side,price,size,action" if message == "order" else b"symbol,price,size"
    assert decoder.decode(header, 0) == []
    return decoder


def _expected(text: str, decimals: int, scaled: bool) -> int:
    """Independent of ``numbers.scale``: Decimal arithmetic on the cell's text."""
    value = Decimal(text)
    if scaled and "." not in text:
        return int(value)  # an integer cell is already in units of 10**-decimals
    return int(value.scaleb(decimals))


@pytest.mark.parametrize(
    ("price", "size"),
    [("5853300", "150"), ("585.33", "1.5"), ("0", "0"), ("-12", "7"), ("585.3300", "2.50")],
)
def test_scaled_csv_trade_matches_an_independent_computation(price: str, size: str) -> None:
    [event] = _csv().decode(f"ACME,{price},{size}".encode(), 0)
    assert isinstance(event, Trade)
    assert event.price == _expected(price, 4, scaled=True)
    assert event.size == _expected(size, 2, scaled=True)
    assert (event.price_decimals, event.size_decimals) == (4, 2)


def test_scaled_csv_price_is_585_33_not_5853300() -> None:
    # The report of issue 9: the wrong value was 5853300 * 10**4 (5853300.0000).
    [event] = _csv().decode(b"ACME,5853300,150", 0)
    assert isinstance(event, Trade)
    assert event.price == 5853300 and Decimal(event.price).scaleb(-4) == Decimal("585.33")
    assert event.price != 5853300 * 10**4


def test_scaled_csv_agrees_with_json_integers() -> None:
    text = MAPPING.format(protocol="json", scaled="true", message="trade")
    json_decoder = MappedJsonDecoder("s", loads_mapping(text))
    [from_json] = json_decoder.decode(b'{"symbol":"ACME","price":5853300,"size":150}', 0)
    [from_csv] = _csv().decode(b"ACME,5853300,150", 0)
    assert isinstance(from_json, Trade) and isinstance(from_csv, Trade)
    assert (from_csv.price, from_csv.size) == (from_json.price, from_json.size)


def test_unscaled_csv_integers_are_still_whole_units() -> None:
    [event] = _csv(scaled=False).decode(b"ACME,5853300,150", 0)
    assert isinstance(event, Trade)
    assert (event.price, event.size) == (5853300 * 10**4, 150 * 10**2)


def test_scaled_csv_order_prices_are_scaled_too() -> None:
    [event] = _csv("order").decode(b"ACME,1,B,5853300,150,A", 0)
    assert isinstance(event, Order)
    assert (event.price, event.size) == (5853300, 150)


@pytest.mark.parametrize("message", ["trade", "order"])
@pytest.mark.parametrize("scaled", [True, False])
def test_integer_beyond_int64_is_an_out_of_range_decode_error(message: str, scaled: bool) -> None:
    # Scaled: the cell itself is past int64. Not scaled: 10**4 times it is.
    price = str(INT64_MAX + 1) if scaled else str(INT64_MAX // 10**4 + 1)
    assert int(price) * (1 if scaled else 10**4) > INT64_MAX
    decoder = _csv(message, scaled)
    row = f"ACME,1,B,{price},1,A" if message == "order" else f"ACME,{price},1"
    with pytest.raises(DecodeError) as info:
        decoder.decode(row.encode(), 0)
    assert info.value.reason == "out_of_range"
    # The decoder is not left broken: the next good row decodes.
    good = "ACME,2,B,5853300,1,A" if message == "order" else "ACME,5853300,1"
    [event] = decoder.decode(good.encode(), 0)
    assert event.price == (5853300 if scaled else 5853300 * 10**4)  # type: ignore[union-attr]


def test_replay_counts_the_out_of_range_row_and_prints_the_others(tmp_path: Path) -> None:
    mapping, data = tmp_path / "scaled.toml", tmp_path / "trades.csv"
    mapping.write_text(MAPPING.format(protocol="csv", scaled="true", message="trade"))
    data.write_text(f"symbol,price,size\nACME,5853300,150\nACME,{INT64_MAX + 1},1\nACME,1,1\n")
    base = ["replay", str(data), "--protocol", "csv", "--mapping", str(mapping)]

    def replay(*extra: str) -> list[dict[str, object]]:
        out, err = io.BytesIO(), io.StringIO()
        assert run(build_parser().parse_args([*base, *extra]), out, err) == 0, err.getvalue()
        return [json.loads(line) for line in out.getvalue().splitlines()]

    [stats] = replay("--emit", "stats")
    assert stats["decode_errors"] == 1
    assert stats["errors_by_reason"] == {"out_of_range": 1}
    events = replay("--emit", "events")
    assert [(e["price"], e["size"]) for e in events] == [("585.3300", "1.50"), ("0.0001", "0.01")]


BOOK_MAPPING = """
[venue]
name = "scaled_levels"
protocol = "csv"

[csv]
header = false

[numbers]
price_decimals = 4
size_decimals = 2
scaled = true

[routing]
default = "level"

[messages.level]
kind = "book"
symbol = "[0]"

[[messages.level.levels]]
path = ""
single = true
side_field = { path = "[1]", map = { B = "bid", S = "ask" } }
price = "[2]"
size = "[3]"
"""


def test_scaled_csv_book_levels() -> None:
    decoder = MappedCsvDecoder("s", loads_mapping(BOOK_MAPPING))
    rows = [("B", "5853300", "150"), ("S", "585.34", "2.5"), ("B", "5853300", "0")]
    deltas = [e for side, p, q in rows for e in decoder.decode(f"ACME,{side},{p},{q}".encode(), 0)]
    assert [(d.price, d.size) for d in deltas] == [  # type: ignore[union-attr]
        (_expected(p, 4, scaled=True), _expected(q, 2, scaled=True)) for _, p, q in rows
    ]
    with pytest.raises(DecodeError) as info:
        decoder.decode(f"ACME,B,1,{INT64_MAX + 1}".encode(), 0)
    assert info.value.reason == "out_of_range"
