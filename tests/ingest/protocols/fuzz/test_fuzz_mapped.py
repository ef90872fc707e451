"""Mutation fuzzing of the mapped protocols, one test per shipped mapping (``ingest/mappings``):
JSON over the real Binance (with its REST snapshots), Bitget (trade rows) and Kraken captures, the simulator's feed
and the order-level CSV. The property and the mutants: ``harness.py`` and ``mutants.py``."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.protocols.mapped import MappedCsvDecoder, MappedJsonDecoder, json_decoder, load_mapping
from ingest.protocols.mapped.schema import Mapping
from ingest.simulator import MarketSimulator
from ingest.simulator.ws_server import format_decimal
from pipelines.events import BookDelta, Order, Trade
from tests.ingest.protocols.fuzz.conftest import capture_records
from tests.ingest.protocols.fuzz.harness import FuzzReport, check_mutants
from tests.ingest.protocols.fuzz.mutants import Record, mutants

SHIPPED = sorted(
    p.stem for p in (Path(json_decoder.__file__).parents[2] / "mappings").glob("*.toml")
)
MUTANTS = 300


@contextmanager
def pure_json() -> Iterator[None]:
    saved = json_decoder._compiled
    json_decoder._compiled = None
    try:
        yield
    finally:
        json_decoder._compiled = saved


def json_report(
    name: str,
    mapping: Mapping,
    records: list[Record],
    compare: bool,
    *,
    prefix: int = 0,
    anchor: float = 0.5,
) -> FuzzReport:
    def reference() -> MappedJsonDecoder:
        with pure_json():
            return MappedJsonDecoder(name, mapping)

    compiled = None
    if compare and json_decoder._compiled is not None:

        def compiled() -> MappedJsonDecoder:
            decoder = MappedJsonDecoder(name, mapping)
            assert decoder.accelerator is not None
            return decoder

    batch = mutants(name, records, MUTANTS, window=40, prefix=prefix, anchor=anchor)
    return check_mutants(name, batch, compiled, reference)


def simulator_frames(count: int) -> list[Record]:
    """The simulator's WebSocket feed as ``ingest/simulator/ws_server.py`` writes it: a snapshot
    per symbol, then diffs with consecutive update ids and trades (seeded: the same every run)."""
    simulator = MarketSimulator(["BTC-USD", "AAPL"], seed=7, stream="sim")
    scales = {"BTC-USD": (2, 4), "AAPL": (2, 0)}

    frames = [
        {"type": "snapshot", "symbol": s, "u": 0, "ts": 1, "bids": [], "asks": []} for s in scales
    ]
    update = {symbol: 0 for symbol in scales}
    while len(frames) < count:
        changed: dict[str, list[BookDelta]] = {}
        for event in simulator.next_message():
            if type(event) is BookDelta:
                changed.setdefault(event.symbol, []).append(event)
            elif type(event) is Trade:
                pd, sd = scales[event.symbol]
                frames.append({
                    "type": "trade", "symbol": event.symbol, "id": event.trade_id,
                    "price": format_decimal(event.price, pd), "size": format_decimal(event.size, sd),
                    "side": event.side, "ts": event.ts_exchange,
                })  # fmt: skip
        for symbol, deltas in changed.items():
            pd, sd = scales[symbol]
            update[symbol] += 1
            levels = {"bid": [], "ask": []}  # type: dict[str, list[list[str]]]
            for delta in deltas:
                size = 0 if delta.action == "delete" else delta.size
                levels[delta.side].append(
                    [format_decimal(delta.price, pd), format_decimal(size, sd)]
                )
            frames.append({
                "type": "update", "symbol": symbol, "U": update[symbol], "u": update[symbol],
                "ts": deltas[-1].ts_exchange, "b": levels["bid"], "a": levels["ask"],
            })  # fmt: skip
    return [Record(i, json.dumps(f, separators=(",", ":")).encode()) for i, f in enumerate(frames)]


def orders_csv(count: int) -> list[Record]:
    """An order-level CSV in the ``orders_csv`` mapping's layout, from the simulator's orders."""
    simulator = MarketSimulator(["AAPL"], seed=11, stream="sim")
    lines = [b"timestamp,symbol,order_id,side,price,size,action"]
    actions = {"add": "A", "modify": "M", "cancel": "C", "execute": "E"}
    rng = random.Random(3)
    while len(lines) < count:
        for event in simulator.next_message():
            if type(event) is Order:
                seconds, ns = divmod(event.ts_exchange, 1_000_000_000)
                stamp = (
                    f"2024-03-01T14:{seconds % 60:02d}:{rng.randrange(60):02d}.{ns // 1000:06d}Z"
                )
                price = format_decimal(event.price, 2)
                side = "B" if event.side == "bid" else "S"
                row = f"{stamp},{event.symbol},{event.order_id},{side},{price},{event.size},"
                lines.append((row + actions[event.action]).encode())
    return [Record(0, line) for line in lines]


def test_every_shipped_mapping_is_fuzzed() -> None:
    assert SHIPPED == ["binance_spot", "bitget_spot", "kraken", "orders_csv", "simulator_ws"]


def test_binance_spot(shared_data: Path, compare: bool) -> None:
    folder = shared_data / "ws" / "binance-spot"
    records = capture_records(folder / "BINANCE.ws.1.0", folder / "BINANCE.http.0.0")
    # A window from the start holds the four REST snapshots (1,000 levels a side): a quarter of
    # the mutants start there, the others sync no book (tickers, trades, buffered diffs).
    report = json_report(
        "binance_spot", load_mapping("binance_spot"), records, compare, anchor=0.25
    )
    print(report.summary())
    assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
    assert report.rejected > 0 and report.decoded > report.rejected


def test_bitget_spot(shared_data: Path, compare: bool) -> None:
    # Trade frames of up to 50 rows: a mutant may break one row (a row error, the others go
    # through) or the frame; the twin hands a message over at its first row it does not take.
    records = capture_records(shared_data / "ws" / "bitget" / "BITGET.ws.1.0")
    # The trade frames and their acks (46 of 686 records), so every window holds trades.
    trades = [r for r in records if b'"channel":"trade"' in r.payload]
    report = json_report("bitget_spot", load_mapping("bitget_spot"), trades, compare)
    print(report.summary())
    assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
    assert report.rejected > 0 and report.decoded > report.rejected


def test_kraken(shared_data: Path, compare: bool) -> None:
    records = capture_records(shared_data / "ws" / "kraken" / "KRAKEN.ws.50.0")
    # Every mutant starts with the subscriptions and the in-stream snapshots of three of the ten
    # pairs (1,000 levels a side: all ten cost more than the rest of the mutant); the updates of
    # the other pairs still decode, unsynced.
    snapshots = [i for i, r in enumerate(records) if len(r.payload) > 5000]
    head = snapshots[0]
    kept = sorted(snapshots, key=lambda i: len(records[i].payload))[:3]
    seed = records[:head] + [records[i] for i in kept] + records[snapshots[-1] + 1 :]
    report = json_report("kraken", load_mapping("kraken"), seed, compare, prefix=head + 3)
    print(report.summary())
    assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
    assert report.rejected > 0 and report.decoded > report.rejected


def test_simulator_ws(compare: bool) -> None:
    records = simulator_frames(400)
    report = json_report("simulator_ws", load_mapping("simulator_ws"), records, compare)
    print(report.summary())
    assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
    assert report.rejected > 0 and report.decoded > report.rejected


def test_orders_csv(compare: bool) -> None:
    mapping = load_mapping("orders_csv")
    records = orders_csv(400)

    def decoder() -> MappedCsvDecoder:
        return MappedCsvDecoder("orders", mapping)

    # The CSV decoder has no compiled twin: the books behind it are compared.
    batch = mutants("orders_csv", records, MUTANTS, window=40, anchor=0.9)
    report = check_mutants("orders_csv", batch, decoder if compare else None, decoder)
    print(report.summary())
    assert report.escapes == [], "\n".join(map(str, report.escapes[:20]))
    assert report.rejected > 0 and report.decoded > report.rejected


@pytest.mark.parametrize("name", ["binance_spot"])
def test_a_mutant_is_reproduced_by_its_seed(shared_data: Path, name: str) -> None:
    folder = shared_data / "ws" / "binance-spot"
    records = capture_records(folder / "BINANCE.ws.1.0", folder / "BINANCE.http.0.0")
    first = mutants(name, records, 5, window=40)
    again = mutants(name, records, 5, window=40)
    assert first == again
