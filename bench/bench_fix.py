"""FIX decode throughput against simplefix and QuickFIX's Python binding (not a test).

    .venv/bin/python -m bench.bench_fix [--messages 20000] [--repeat 5]

Two inputs: the 200 real CME SecurityDefinitions (shared/data/fix/cme-secdef, CME dictionary)
and ~20,000 FIX 4.4 W/X market-data messages generated with our encoder into a temp file.
Ours is measured twice: ``parse`` (bytes → FixMessage with groups resolved, BodyLength and
CheckSum validated) and ``decode`` (→ normalized events), each with the compiled twins (the
default when built, docs/decisions/0114) and with the pure-Python reference (``compiled=False``).
Peers (optional, ``pip install -r requirements-bench.txt``): simplefix's FixParser (flat
tag/value pairs, no groups, no checksum check; told to accept the CME lines, which start at
ApplVerID 1128 instead of BeginString 8) and quickfix.Message(str, DataDictionary,
validate=False) (C++ parse with groups; the Python binding's call overhead included — it is what
a Python worker would pay). A peer that returns no message fails the run: it would be timing
nothing.

Rounds are interleaved (each contestant once per round, best round kept), so that load from
other processes on a shared machine hits every contestant alike; read the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ingest.protocols.fix import FixDecoder, FixEncoder, FixParams, FixParser, load_dictionary
from pipelines.events import BookDelta, BookSnapshot, Event, Statistic, Trade

DATA = (
    Path(
        os.environ.get(
            "TICKERPLANT_SAMPLE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
        )
    )
    / "fix"
)


def generate(count: int, seed: int = 7) -> list[bytes]:
    """W/X messages as a venue sends them: mostly 1-10 entry X, some W with 10+10 levels."""
    rng = random.Random(seed)
    encoder = FixEncoder("FIX.4.4", "VENUE", "US")
    symbols = ["ESZ4", "NQZ4", "CLF5", "GCG5", "ZNH5"]
    ts = 1_700_000_000_000_000_000
    events: list[Event] = []
    for _ in range(count):
        ts += rng.randint(1_000, 1_000_000)
        symbol = rng.choice(symbols)
        base = rng.randint(400_000, 500_000)
        common = {"stream": "bench", "symbol": symbol, "ts_exchange": ts}
        if rng.random() < 0.05:
            bids = [(base - 25 * i, rng.randint(1, 500)) for i in range(10)]
            asks = [(base + 25 * (i + 1), rng.randint(1, 500)) for i in range(10)]
            events.append(BookSnapshot(**common, price_decimals=2, bids=bids, asks=asks))
            continue
        entries = rng.randint(1, 10)
        for index in range(entries):
            roll = rng.random()
            if roll < 0.1:
                events.append(
                    Trade(**common, price=base, size=rng.randint(1, 50), price_decimals=2)
                )
            elif roll < 0.13:
                events.append(Statistic(**common, name="volume", value=rng.randint(1, 10**6)))
            else:
                events.append(
                    BookDelta(
                        **common,
                        side=rng.choice(["bid", "ask"]),
                        price=base + 25 * rng.randint(-10, 10),
                        size=rng.randint(0, 500),
                        action=rng.choice(["new", "change", "delete"]),
                        batch_end=index == entries - 1,
                        price_decimals=2,
                    )
                )
        if not isinstance(events[-1], BookDelta):  # close the message
            events.append(
                BookDelta(
                    **common,
                    side="bid",
                    price=base,
                    size=1,
                    action="change",
                    batch_end=True,
                    price_decimals=2,
                )
            )
    return encoder.encode_messages(events)[:count]


def measure(
    contestants: dict[str, Callable[[list[bytes]], object]], messages: list[bytes], repeat: int
) -> dict[str, float]:
    """Messages per second of each contestant: the best of ``repeat`` interleaved rounds."""
    best = dict.fromkeys(contestants, float("inf"))
    for _ in range(repeat):
        for name, run in contestants.items():
            started = time.perf_counter()
            run(messages)
            best[name] = min(best[name], time.perf_counter() - started)
    for name, seconds in best.items():
        rate = len(messages) / seconds
        print(f"  {name:<40} {rate:>12,.0f} msgs/s  ({seconds * 1e6 / len(messages):6.2f} µs/msg)")
    return {name: len(messages) / seconds for name, seconds in best.items()}


def parse_all(parser: FixParser) -> Callable[[list[bytes]], None]:
    def run(messages: list[bytes]) -> None:
        parse = parser.parse
        for message in messages:  # not kept: a list of 20,000 messages would time the GC
            parse(message)

    return run


def decode_all(params: FixParams, compiled: bool | None = None) -> Callable[[list[bytes]], None]:
    def run(messages: list[bytes]) -> None:
        decoder = FixDecoder("bench", params, compiled=compiled)  # a fresh stream each round
        decode = decoder.decode
        for message in messages:
            decode(message, 0)

    return run


def peers(
    dictionary_xml: Path | None, *, begin_string: bool = True
) -> dict[str, Callable[[list[bytes]], object]]:
    """The installed peers; ``begin_string=False`` for messages that do not start at 8=."""
    found: dict[str, Callable[[list[bytes]], object]] = {}
    try:
        import simplefix

        # Without these, simplefix drops every field before an 8= and returns None per line.
        options = (
            {}
            if begin_string
            else {"allow_missing_begin_string": True, "strip_fields_before_begin_string": False}
        )

        def run_simplefix(messages: list[bytes]) -> None:
            parser = simplefix.FixParser(**options)
            for message in messages:
                parser.append_buffer(message)
                if parser.get_message() is None:
                    raise RuntimeError(f"simplefix parsed no message from {message[:40]!r}")

        found["simplefix (flat pairs)"] = run_simplefix
    except ImportError:
        print("  simplefix not installed (pip install simplefix)")
    if dictionary_xml is None:
        return found
    try:
        import quickfix

        data_dictionary = quickfix.DataDictionary(str(dictionary_xml))

        def run_quickfix(messages: list[bytes]) -> None:
            for message in messages:
                quickfix.Message(message.decode("latin-1"), data_dictionary, False)

        found["quickfix C++ (groups, via Python)"] = run_quickfix
    except ImportError:
        print("  quickfix not installed (pip install quickfix: builds C++, several minutes)")
    return found


def report(
    title: str,
    messages: list[bytes],
    ours: dict[str, Callable[[list[bytes]], object]],
    others: dict[str, Callable[[list[bytes]], object]],
    repeat: int,
) -> None:
    average = sum(map(len, messages)) / len(messages)
    print(f"\n{title}: {len(messages):,} messages, {average:.0f} B avg")
    rates = measure({**ours, **others}, messages, repeat)
    for name in ours:
        for peer in others:
            print(f"  {name} / {peer}: {rates[name] / rates[peer]:5.2f}×")
    for name in ours:
        pure = name.replace("ours:", "ours pure:")
        if pure != name and pure in ours:
            print(f"  {name} / {pure}: {rates[name] / rates[pure]:5.2f}× (the compiled twins)")


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    arguments.add_argument("--messages", type=int, default=20_000)
    arguments.add_argument("--repeat", type=int, default=5)
    options = arguments.parse_args()

    started = time.perf_counter()
    cme_xml = DATA / "cme-secdef" / "FIX50SP2.CME.xml"
    fix44_xml = DATA / "quickfix-dict" / "FIX44.xml"
    cme = load_dictionary(cme_xml)
    fix44 = load_dictionary(fix44_xml)
    print(
        f"dictionaries loaded (CME 5.0SP2 + FIX 4.4) in {time.perf_counter() - started:.3f}s "
        "(cached after the first run)"
    )

    secdefs = [
        line
        for line in (DATA / "cme-secdef" / "200secdef.cme.txt").read_bytes().split(b"\n")
        if line
    ] * 25
    cme_params = FixParams(dictionary=str(cme_xml), symbol_tags=(107, 55, 48))
    report(
        "CME SecurityDefinitions (x25)",
        secdefs,
        {
            "ours: parse": parse_all(FixParser(cme)),
            "ours: decode → Instrument": decode_all(cme_params),
            "ours pure: parse": parse_all(FixParser(cme, compiled=False)),
            "ours pure: decode → Instrument": decode_all(cme_params, compiled=False),
        },
        peers(None, begin_string=False),  # quickfix needs BeginString; these start at 1128=
        options.repeat,
    )

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "md.fix"
        path.write_bytes(b"\n".join(generate(options.messages)) + b"\n")
        market_data = [line for line in path.read_bytes().split(b"\n") if line]
    md_params = FixParams(dictionary=str(fix44_xml))
    report(
        "FIX 4.4 W/X market data (generated)",
        market_data,
        {
            "ours: parse": parse_all(FixParser(fix44)),
            "ours: decode → events": decode_all(md_params),
            "ours pure: parse": parse_all(FixParser(fix44, compiled=False)),
            "ours pure: decode → events": decode_all(md_params, compiled=False),
        },
        peers(fix44_xml),
        options.repeat,
    )


if __name__ == "__main__":
    main()
