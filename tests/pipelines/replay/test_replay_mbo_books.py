"""``replay --emit books`` for market-by-order input (issue 9): the aggregated L2 book (per
price, sizes summed over live orders) after each ``Order`` event, CSV and JSON, seeded from a
``--snapshots`` file when one is given. Before: no line at all (only ``BookDelta`` and
``BookSnapshot`` were read). The expected books are computed here from the rows, independently
of :mod:`pipelines.core.l3`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.pipelines.replay.conftest import Replay

ORDER_MESSAGE = """
[messages.order]
kind = "order"
symbol = "symbol"
order_id = "id"
side = { path = "side", map = { B = "bid", S = "ask" } }
price = "price"
size = "size"
action = { path = "action", map = { A = "add", M = "modify", C = "cancel", E = "execute" } }

# Never routed: it only says where the REST snapshots of the books come from.
[messages.depth]
kind = "book"
symbol = "symbol"
[[messages.depth.levels]]
path = "levels"
side = "bid"
[messages.depth.snapshot]
source = "rest"
url = "https://example.test/depth?symbol={symbol}"
"""

HEADER = """
[venue]
name = "mbo_{protocol}"
protocol = "{protocol}"

[numbers]
price_decimals = 2
size_decimals = 0

[routing]
default = "order"
"""

# (order id, side, price, size, action): size is the new remaining size for M and the filled
# quantity for E. Two orders share 101.25 (the sizes add up), one moves its price, a partial
# and a whole fill, a cancel.
ROWS = [
    ("1", "B", "101.25", "300", "A"),
    ("2", "B", "101.25", "50", "A"),
    ("3", "S", "101.50", "100", "A"),
    ("4", "S", "101.75", "40", "A"),
    ("1", "B", "101.25", "200", "M"),  # size down, same price
    ("2", "B", "101.00", "50", "M"),  # to another price
    ("3", "S", "101.50", "30", "E"),  # partial fill: 70 left
    ("3", "S", "101.50", "70", "E"),  # the rest: the order goes
    ("1", "B", "101.25", "0", "C"),
    ("5", "S", "101.75", "10", "A"),
]

SNAPSHOT = {"bids": [["101.25", "1000"], ["100.50", "7"]], "asks": [["101.75", "5"]]}


def _expected(seed: dict[str, list[list[str]]] | None) -> list[dict[str, list[list[str]]]]:
    """The L2 book after each row: snapshot levels plus the live orders' sizes per price."""
    orders: dict[str, tuple[str, Decimal, int]] = {}
    base: dict[tuple[str, Decimal], int] = defaultdict(int)
    for name, side in (("bids", "B"), ("asks", "S")):
        for price, size in (seed or {}).get(name, []):
            base[(side, Decimal(price))] += int(size)
    books = []
    for order_id, side, price, size, action in ROWS:
        if action in ("A", "M"):  # an add, or a modify to a new price and remaining size
            orders[order_id] = (side, Decimal(price), int(size))
        elif action == "E":
            old_side, old_price, left = orders[order_id]
            left -= int(size)
            if left:
                orders[order_id] = (old_side, old_price, left)
            else:
                del orders[order_id]
        else:
            del orders[order_id]
        levels = defaultdict(int, base)
        for s, p, q in orders.values():
            levels[(s, p)] += q
        bids = sorted(((p, q) for (s, p), q in levels.items() if s == "B" and q), reverse=True)
        asks = sorted((p, q) for (s, p), q in levels.items() if s == "S" and q)
        books.append(
            {
                "bids": [[f"{p:.2f}", str(q)] for p, q in bids],
                "asks": [[f"{p:.2f}", str(q)] for p, q in asks],
            }
        )
    return books


def _write(tmp_path: Path, protocol: str, snapshot: bool) -> list[str | Path]:
    mapping = tmp_path / f"mbo_{protocol}.toml"
    mapping.write_text(HEADER.format(protocol=protocol) + ORDER_MESSAGE)
    keys = ("id", "side", "price", "size", "action")
    if protocol == "csv":
        data = tmp_path / "orders.csv"
        lines = ["symbol,id,side,price,size,action", *(f"ACME,{','.join(r)}" for r in ROWS)]
    else:
        data = tmp_path / "orders.ndjson"
        lines = [json.dumps({"symbol": "ACME", **dict(zip(keys, r, strict=True))}) for r in ROWS]
    data.write_text("\n".join(lines) + "\n")
    args: list[str | Path] = [data, "--protocol", protocol, "--mapping", mapping]
    if snapshot:
        snapshots = tmp_path / "depth.http"
        body = json.dumps(SNAPSHOT, separators=(",", ":"))
        url = "https://example.test/depth?symbol=ACME"
        snapshots.write_text(f"{url} -> 1700000000.25: {body}\n")
        args += ["--snapshots", snapshots]
    return args


@pytest.mark.parametrize("protocol", ["csv", "json"])
@pytest.mark.parametrize("snapshot", [False, True])
def test_order_level_replay_prints_the_l2_book_after_each_order(
    replay: Replay, tmp_path: Path, protocol: str, snapshot: bool
) -> None:
    result = replay(*_write(tmp_path, protocol, snapshot), "--emit", "books")
    assert result.code == 0, result.stderr
    lines = result.lines
    if snapshot:  # the snapshot's own line first (the file has no receive times: it goes first)
        first = lines.pop(0)
        assert {"bids": first["bids"], "asks": first["asks"]} == SNAPSHOT
    assert [{"bids": line["bids"], "asks": line["asks"]} for line in lines] == _expected(
        SNAPSHOT if snapshot else None
    )
    assert all(line["symbol"] == "ACME" and line["state"] == "LIVE" for line in lines)
    stats = replay(*_write(tmp_path, protocol, snapshot), "--emit", "stats").stats
    assert stats["decode_errors"] == 0


def test_depth_limits_the_printed_levels(replay: Replay, tmp_path: Path) -> None:
    result = replay(*_write(tmp_path, "csv", True), "--emit", "books", "--depth", "1")
    assert result.code == 0, result.stderr
    for line, expected in zip(result.lines[1:], _expected(SNAPSHOT), strict=True):
        assert line["bids"] == expected["bids"][:1] and line["asks"] == expected["asks"][:1]


def test_orders_summing_past_int64_are_rejected_not_a_crash(replay: Replay, tmp_path: Path) -> None:
    # Each size fits int64, two at one price do not (found by the fuzz suite): the second add
    # and a modify that would overflow change nothing; the replay goes on.
    big = (2**63 - 1) // 2 + 1
    rows = [
        ("1", "B", "1.00", str(big), "A"),
        ("2", "B", "1.00", str(big), "A"),  # level would be 2 * big > int64: rejected
        ("3", "B", "1.00", "1", "A"),
        ("3", "B", "1.00", str(big), "M"),  # the same: rejected, order 3 keeps size 1
        ("4", "S", "2.00", "5", "A"),
    ]
    mapping = tmp_path / "m.toml"
    mapping.write_text(HEADER.format(protocol="csv") + ORDER_MESSAGE)
    data = tmp_path / "orders.csv"
    lines = ["symbol,id,side,price,size,action", *(f"ACME,{','.join(r)}" for r in rows)]
    data.write_text("\n".join(lines) + "\n")
    result = replay(data, "--protocol", "csv", "--mapping", mapping, "--emit", "books")
    assert result.code == 0, result.stderr
    assert [line["bids"] for line in result.lines] == [
        [["1.00", str(big)]],
        [["1.00", str(big)]],
        [["1.00", str(big + 1)]],
        [["1.00", str(big + 1)]],
        [["1.00", str(big + 1)]],
    ]
    assert result.lines[-1]["asks"] == [["2.00", "5"]]
