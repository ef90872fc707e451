"""Mapped JSON decode + normalize throughput on real Binance frames.

Three ways through the same frames (``shared/data/ws/binance-spot/BINANCE.ws.1.0``: depth diffs,
bookTicker, aggTrade, kline), one run, frames/s and ratios:

- ``mapped``: :class:`ingest.protocols.mapped.MappedJsonDecoder` with ``binance_spot.toml``
  (msgspec decode, compiled getters, exact integers, events with seq, new/change/delete);
- ``json+dict``: ``json.loads`` and hand-written dict code producing the same events;
- ``msgspec bare``: ``msgspec.json.Decoder().decode`` of each frame into dicts, nothing else.

Before timing, the first 2,000 frames go through ``mapped`` and ``json+dict`` and their events must
be equal field by field (the two do the same work).

The depth message's sync rule is switched off for the run (``rule = none``, no snapshot source),
so every pass normalizes every diff instead of buffering or dropping repeats as stale.

``mapped`` runs the compiled twin (``ingest/protocols/mapped/_cjson_decoder.pyx``) when it is
built, the pure-Python reference otherwise or with ``TICKERPLANT_PURE_PYTHON=1``; the header line
says which. The three are timed in turn, ``--rounds`` times, and each keeps its best round: the
machine is shared, so read the ratios.

    .venv/bin/python -m bench.bench_json [--frames 200000] [--rounds 5] [--clock cpu|wall] [--rows]

``--rows`` also times messages with ``rows`` (decision 0127): the Bitget spot trade frames
(``ws/bitget/BITGET.ws.1.0``, up to 50 trades a frame, ``bitget_spot.toml``), cycled to
``--frames``, mapped against msgspec bare, in rows (trade events) per second.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from ingest.capture.ws_capture import read_ws_capture
from ingest.protocols.base import Sequencer
from ingest.protocols.mapped import MappedJsonDecoder, load_mapping
from ingest.protocols.mapped.schema import BookMessage, SnapshotSource, Sync
from pipelines.events import BookDelta, Event, Quote, Trade

REPO = Path(__file__).resolve().parent.parent


def frames(count: int) -> list[bytes]:
    path = _data() / "ws" / "binance-spot" / "BINANCE.ws.1.0"
    payloads = [r.payload for r in read_ws_capture(path) if r.direction == "recv"]
    return (payloads * (count // len(payloads) + 1))[:count]


def _data() -> Path:
    return Path(os.environ.get("TICKERPLANT_SAMPLE_DATA", REPO.parent / "shared" / "data"))


def bitget_trade_frames(count: int) -> tuple[list[bytes], int]:
    """The Bitget spot trade frames (not the acks), cycled to ``count``; and their rows."""
    path = _data() / "ws" / "bitget" / "BITGET.ws.1.0"
    payloads = [
        r.payload
        for r in read_ws_capture(path)
        if r.direction == "recv" and b'"channel":"trade"' in r.payload
        and b'"event"' not in r.payload
    ]  # fmt: skip
    data = (payloads * (count // len(payloads) + 1))[:count]
    return data, sum(len(msgspec.json.decode(frame)["data"]) for frame in data)


def rows_figures(count: int, rounds: int, clock: Callable[[], float]) -> None:
    data, rows = bitget_trade_frames(count)
    decoder = MappedJsonDecoder("bench", load_mapping("bitget_spot"))
    decode = decoder.decode

    def mapped(frames: list[bytes]) -> None:
        for frame in frames:
            decode(frame, 0)

    events: list[Event] = []
    for frame in data[:200]:
        events.extend(decode(frame, 0))
    assert all(type(e) is Trade for e in events) and not decoder.row_errors
    runs = {"mapped": mapped, "msgspec bare": run_bare}
    rates = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, run in runs.items():
            rates[name] = max(rates[name], timed(run, data, clock) * rows / len(data))
    how = "compiled" if decoder.accelerated else "pure Python"
    print(f"{len(data):,} Bitget trade frames ({rows:,} rows), mapped {how}")
    for name, rate in rates.items():
        print(f"  {name:<13} {rate:>12,.0f} rows/s")
    print(f"  mapped / msgspec bare = {rates['mapped'] / rates['msgspec bare']:.2f}x")


def mapped_decoder() -> MappedJsonDecoder:
    mapping = load_mapping("binance_spot")
    depth = mapping.messages["depth"]
    assert isinstance(depth, BookMessage)
    unsynced = msgspec.structs.replace(depth, sync=Sync(), snapshot=SnapshotSource())
    messages = {**mapping.messages, "depth": unsynced}
    return MappedJsonDecoder("bench", msgspec.structs.replace(mapping, messages=messages))


def run_mapped(data: list[bytes], keep: list[Event] | None = None) -> int:
    decode = mapped_decoder().decode
    total = 0
    for frame in data:
        events = decode(frame, 0)
        total += len(events)
        if keep is not None:
            keep.extend(events)
    return total


def _scale(text: str, decimals: int = 8) -> int:
    whole, _, frac = text.partition(".")
    return int(whole + frac.ljust(decimals, "0")[:decimals])


def run_json_dict(data: list[bytes], keep: list[Event] | None = None) -> int:
    """What a hand-written Binance adapter does with json.loads and dicts."""
    sequencer = Sequencer("bench")
    live: dict[tuple[str, str], set[int]] = {}
    total = 0
    for frame in data:
        message = json.loads(frame)
        payload = message["data"]
        kind = payload.get("e") or message["stream"].split("@")[1]
        events: list[Event] = []
        if kind == "depthUpdate":
            symbol, venue_seq, ts = payload["s"], payload["u"], payload["E"] * 1_000_000
            entries = [("bid", e) for e in payload["b"]] + [("ask", e) for e in payload["a"]]
            for index, (side, (price_text, size_text)) in enumerate(entries):
                price, size = _scale(price_text), _scale(size_text)
                levels = live.setdefault((symbol, side), set())
                if size == 0:
                    action = "delete"
                    levels.discard(price)
                elif price in levels:
                    action = "change"
                else:
                    action = "new"
                    levels.add(price)
                events.append(
                    BookDelta(
                        stream="bench",
                        symbol=symbol,
                        seq=sequencer.next(),
                        venue_seq=venue_seq,
                        ts_exchange=ts,
                        side=side,
                        price=price,
                        size=size,  # type: ignore[arg-type]
                        action=action,
                        batch_end=index == len(entries) - 1,  # type: ignore[arg-type]
                        price_decimals=8,
                        size_decimals=8,
                    )
                )
        elif kind == "bookTicker":
            events.append(
                Quote(
                    stream="bench",
                    symbol=payload["s"],
                    seq=sequencer.next(),
                    venue_seq=payload["u"],
                    bid_price=_scale(payload["b"]),
                    bid_size=_scale(payload["B"]),
                    ask_price=_scale(payload["a"]),
                    ask_size=_scale(payload["A"]),
                    price_decimals=8,
                    size_decimals=8,
                )
            )
        elif kind == "aggTrade":
            events.append(
                Trade(
                    stream="bench",
                    symbol=payload["s"],
                    seq=sequencer.next(),
                    venue_seq=payload["a"],
                    ts_exchange=payload["T"] * 1_000_000,
                    price=_scale(payload["p"]),
                    size=_scale(payload["q"]),
                    price_decimals=8,
                    size_decimals=8,
                    side="sell" if payload["m"] else "buy",
                    trade_id=str(payload["a"]),
                )
            )
        total += len(events)
        if keep is not None:
            keep.extend(events)
    return total


def run_bare(data: list[bytes]) -> int:
    decode = msgspec.json.Decoder().decode
    total = 0
    for frame in data:
        total += len(decode(frame))
    return total


CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


def timed(
    run: Callable[[list[bytes]], Any], data: list[bytes], clock: Callable[[], float]
) -> float:
    start = clock()
    run(data)
    return len(data) / (clock() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    # The thread's CPU time by default, as bench_pipeline and bench_book: the other processes of a
    # shared machine do not inflate it; every contestant is timed with the same clock.
    parser.add_argument("--clock", choices=list(CLOCKS), default="cpu", help="what is timed")
    parser.add_argument("--rows", action="store_true", help="also time Bitget trade rows")
    args = parser.parse_args()
    data = frames(args.frames)
    # The same work: both produce equal events (every field) for the first frames.
    mapped_events: list[Event] = []
    dict_events: list[Event] = []
    run_mapped(data[:2000], mapped_events)
    run_json_dict(data[:2000], dict_events)
    assert mapped_events == dict_events, "mapped and json+dict disagree"
    runs = {"mapped": run_mapped, "json+dict": run_json_dict, "msgspec bare": run_bare}
    rates = dict.fromkeys(runs, 0.0)
    for _ in range(args.rounds):
        for name, run in runs.items():
            rates[name] = max(rates[name], timed(run, data, CLOCKS[args.clock]))
    how = "compiled" if mapped_decoder().accelerated else "pure Python"
    print(
        f"{len(data):,} Binance frames, best of {args.rounds} rounds, {args.clock} time,"
        f" mapped {how}"
    )
    for name, rate in rates.items():
        print(f"  {name:<13} {rate:>12,.0f} frames/s")
    print(f"  mapped / json+dict    = {rates['mapped'] / rates['json+dict']:.2f}x")
    print(f"  mapped / msgspec bare = {rates['mapped'] / rates['msgspec bare']:.2f}x")
    if args.rows:
        rows_figures(args.frames, args.rounds, CLOCKS[args.clock])


if __name__ == "__main__":
    main()
