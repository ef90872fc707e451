"""``replay --protocol csv --snapshots FILE`` (issue 9): a CSV level stream seeded from a REST
snapshot capture, read exactly as the JSON replay reads it (the decoders share the code).

Before: ``--snapshots: protocol 'csv' takes no snapshots`` (exit 2).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.pipelines.replay.conftest import Replay

MAPPING = """
[venue]
name = "levels_csv"
protocol = "csv"

[csv]
header = true

[numbers]
price_decimals = 2
size_decimals = 0

[routing]
default = "level"

[messages.level]
kind = "book"
symbol = "symbol"
venue_seq = "u"

[[messages.level.levels]]
path = ""
single = true
side_field = { path = "side", map = { B = "bid", S = "ask" } }
price = "price"
size = "size"

[messages.level.sync]
rule = "strict_increment"
last_id = "u"

[messages.level.snapshot]
source = "rest"
url = "https://example.test/depth?symbol={symbol}"
id = "lastUpdateId"
"""

SNAPSHOT_ID = 10
SNAPSHOT = {"bids": [("101.00", "4"), ("100.75", "9")], "asks": [("101.50", "2")]}
# (update id, side, price, size); id 10 is already in the snapshot (stale: dropped).
UPDATES = [
    (10, "B", "101.00", "5"),
    (11, "B", "101.25", "7"),
    (12, "S", "101.50", "3"),
    (13, "B", "101.00", "0"),
    (14, "S", "102.00", "1"),
]


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    mapping, updates, snapshots = (tmp_path / n for n in ("m.toml", "u.csv", "s.http"))
    mapping.write_text(MAPPING)
    rows = ["symbol,u,side,price,size", *(f"ACME,{u},{s},{p},{q}" for u, s, p, q in UPDATES)]
    updates.write_text("\n".join(rows) + "\n")
    levels = {
        side: ",".join(f'["{p}","{q}"]' for p, q in SNAPSHOT[side]) for side in ("bids", "asks")
    }
    body = f'{{"lastUpdateId":{SNAPSHOT_ID},"bids":[{levels["bids"]}],"asks":[{levels["asks"]}]}}'
    snapshots.write_text(f"https://example.test/depth?symbol=ACME -> 1700000000.5: {body}\n")
    return mapping, updates, snapshots


def _expected_books() -> list[tuple[list[list[str]], list[list[str]]]]:
    """The book after the snapshot and after each applied update, by plain dict arithmetic."""
    sides: dict[str, dict[Decimal, str]] = {
        "bids": {Decimal(p): q for p, q in SNAPSHOT["bids"]},
        "asks": {Decimal(p): q for p, q in SNAPSHOT["asks"]},
    }

    def view() -> tuple[list[list[str]], list[list[str]]]:
        bids = sorted(sides["bids"].items(), reverse=True)
        asks = sorted(sides["asks"].items())
        return [[f"{p:.2f}", q] for p, q in bids], [[f"{p:.2f}", q] for p, q in asks]

    books = [view()]
    for update_id, side, price, size in UPDATES:
        if update_id <= SNAPSHOT_ID:
            continue
        levels = sides["bids" if side == "B" else "asks"]
        if size == "0":
            levels.pop(Decimal(price), None)
        else:
            levels[Decimal(price)] = size
        books.append(view())
    return books


def test_csv_replay_is_seeded_from_the_snapshot_file(replay: Replay, tmp_path: Path) -> None:
    mapping, updates, snapshots = _files(tmp_path)
    args = ("--protocol", "csv", "--mapping", mapping, "--snapshots", snapshots)
    result = replay(updates, *args, "--emit", "books")
    assert result.code == 0, result.stderr
    got = [(line["bids"], line["asks"]) for line in result.lines]
    assert got == _expected_books()
    assert {line["state"] for line in result.lines} == {"LIVE"}
    stats = replay(updates, *args, "--emit", "stats").stats
    assert stats["messages"] == 1 + len(UPDATES) + 1  # header, rows, the REST snapshot
    assert stats["decode_errors"] == 0


def test_csv_replay_without_the_snapshot_file_waits_for_one(replay: Replay, tmp_path: Path) -> None:
    # The mapping says the book syncs from a REST snapshot: without one no book is printed
    # (the same as the JSON replay of a REST-synced venue without --snapshots).
    mapping, updates, _ = _files(tmp_path)
    result = replay(updates, "--protocol", "csv", "--mapping", mapping, "--emit", "books")
    assert result.code == 0, result.stderr
    assert all(not line["bids"] and not line["asks"] for line in result.lines)
