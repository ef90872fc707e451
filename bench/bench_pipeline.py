"""End-to-end core throughput: decoded events -> ``Pipeline.process`` (books, health, rules,
calculators, sinks), single thread, against peers from the same run; then resident memory over a
long run.

The real captures of ``shared/data/ws`` (Binance depth with its REST snapshots, Kraken book) are
decoded ONCE with the mapped JSON decoder, and the simulator's order flow (Orders, BookDeltas,
Trades) is generated once; only ``Pipeline.process(batch)`` is timed, one batch per venue message
(what a source hands the worker's bus). Each configuration runs on a fresh pipeline after one
untimed warm-up pass; the figure is the best of ``--rounds`` rounds (the machine is shared).

Peers in the same run: a bare loop that only dispatches on the event type (the ceiling: nothing a
Python handler does per event can be cheaper), ``Book.apply`` alone with a per-symbol lookup
(what bench_book measures), and the full spec on ``Pipeline(compiled=False)``: the pure-Python
reference loop, book, health, keeper and rule engine (the calculator and rule kernels are
whatever is loaded, compiled or not; the header lists every accelerator in use). Ratios are
``this / full`` (how much faster than the full pipeline).

The memory run cycles the same decoded events with rising ``seq`` and ``ts_recv`` through the full
pipeline with the shared-memory sink, sampling RSS (``/proc/self/statm``) every 1M events.

Times are the thread's CPU time (``--clock cpu``, the default: events/s per core, not inflated by
the other processes of a shared machine) or wall time (``--clock wall``).

    .venv/bin/python -m bench.bench_pipeline [--rounds 3] [--events 200000] [--memory 10000000]
    .venv/bin/python -m bench.bench_pipeline --profile full+shm   # cProfile of one configuration
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from ingest.capture.ws_capture import decode_ws_captures
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from ingest.simulator import MarketSimulator
from pipelines import accel
from pipelines.core.book import Book
from pipelines.core.rules import RuleSet
from pipelines.delivery.base import SinkContext
from pipelines.delivery.shm import ShmParams, ShmSink
from pipelines.events import BookDelta, BookSnapshot, Event, Order, Trade
from pipelines.registry import CALCULATORS
from pipelines.runtime.metrics import WorkerMetrics
from pipelines.runtime.pipeline import CalculatorEntry, Pipeline
from pipelines.spec import CalculatorSpec, RuleSpec, SinkSpec

Batch = list[Event]

CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
# What the timed sections read (--clock): the thread's CPU time by default, which the other
# processes of a shared machine do not inflate (the goal is events/s per core); wall time with
# --clock wall. Every peer of a table is timed with the same clock.
clock = CLOCKS["cpu"]

# The spec: an EMA and a rolling regression on the mid, and book rules.
CALCULATOR_SPECS: dict[str, CalculatorSpec] = {
    "ema": CalculatorSpec(kind="ema", params={"window": 20}),
    "ols": CalculatorSpec(kind="ols", params={"window": 100}),
}
RULE_SPECS: dict[str, RuleSpec] = {
    "crossed": RuleSpec(kind="crossed_book", action="alert"),
    "wide": RuleSpec(kind="max_spread", action="alert", params={"max_bps": 50.0}),
    "band": RuleSpec(kind="price_band", action="alert", params={"input": "mid", "k": 6.0}),
}


# -- workloads (decoded once, never timed) ------------------------------------------------------


def capture_batches(mapping: str, stream: str, files: list[Path]) -> list[Batch]:
    """One batch per decoded frame (and per REST snapshot), in receive-time order."""
    decoder = MappedJsonDecoder(stream, MappedParams(mapping=mapping))
    return [batch for batch in decode_ws_captures(decoder, files) if batch]


def simulator_batches(events: int) -> list[Batch]:
    """The simulator's order flow, one batch per simulated venue message."""
    simulator = MarketSimulator(["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD"], seed=7)
    batches: list[Batch] = [simulator.instruments()]
    count = 0
    while count < events:
        message = simulator.next_message()
        batches.append(message)
        count += len(message)
    return batches


def workloads(data: Path, sim_events: int) -> dict[str, list[Batch]]:
    found: dict[str, list[Batch]] = {}
    ws = data / "ws"
    if ws.is_dir():
        binance = [ws / "binance-spot" / "BINANCE.ws.1.0", ws / "binance-spot" / "BINANCE.http.0.0"]
        found["binance"] = capture_batches("binance_spot", "binance", binance)
        found["kraken"] = capture_batches("kraken", "kraken", [ws / "kraken" / "KRAKEN.ws.50.0"])
    else:
        print(f"(no captures under {ws}: simulator only)")
    found["simulator"] = simulator_batches(sim_events)
    return found


# -- what is timed ------------------------------------------------------------------------------

Runner = Callable[[list[Batch], int], float]  # (batches, passes) -> seconds


def bare_loop(batches: list[Batch], passes: int) -> float:
    """Ceiling: iterate every batch and dispatch on the event's type, nothing else."""
    deltas = others = 0
    started = clock()
    for _ in range(passes):
        for batch in batches:
            for event in batch:
                kind = type(event)
                if kind is BookDelta:
                    deltas += 1
                elif kind is Order or kind is BookSnapshot or kind is Trade:
                    others += 1
    return clock() - started


def book_only(batches: list[Batch], passes: int) -> float:
    """Peer: ``Book.apply`` per delta (snapshots loaded) with a per-(stream, symbol) lookup."""
    books: dict[tuple[str, str], Book] = {}
    started = clock()
    for _ in range(passes):
        for batch in batches:
            for event in batch:
                kind = type(event)
                if kind is BookDelta or kind is BookSnapshot:
                    key = (event.stream, event.symbol)
                    book = books.get(key)
                    if book is None:
                        book = books[key] = Book(event.stream, event.symbol)
                    if kind is BookDelta:
                        book.apply(event)  # type: ignore[arg-type]
                    else:
                        book.apply_snapshot(event)  # type: ignore[arg-type]
    return clock() - started


class ShmRun:
    """A shared-memory sink on a ring of its own (unlinked at close)."""

    def __init__(self) -> None:
        self.sink = ShmSink(
            "bench",
            SinkSpec(kind="shm"),
            ShmParams(prefix=f"tp-bench-pipeline-{os.getpid()}"),  # the default ring
            SinkContext(worker_index=0),
        )


def make_pipeline(
    calculators: bool, rules: bool, shm: bool, compiled: bool | None = None
) -> tuple[Pipeline, ShmRun | None]:
    pipeline = Pipeline(WorkerMetrics(), lambda stream, symbol: True, compiled)
    if calculators:
        pipeline.set_calculators(
            {
                name: CalculatorEntry(name, spec, CALCULATORS.params(spec.kind, spec.params))
                for name, spec in CALCULATOR_SPECS.items()
            }
        )
    if rules:
        pipeline.set_rules(RuleSet.plan(RULE_SPECS))
    ring = ShmRun() if shm else None
    if ring is not None:
        pipeline.sinks = {"shm": ring.sink}
    return pipeline, ring


def pipeline_runner(
    calculators: bool, rules: bool, shm: bool, compiled: bool | None = None
) -> Runner:
    def run(batches: list[Batch], passes: int) -> float:
        pipeline, ring = make_pipeline(calculators, rules, shm, compiled)
        process = pipeline.process
        try:
            for batch in batches:  # warm-up: books, calculators and rules exist and are filled
                process(batch)
            started = clock()
            for _ in range(passes):
                for batch in batches:
                    process(batch)
            return clock() - started
        finally:
            if ring is not None:
                ring.sink.close()

    return run


CONFIGURATIONS: dict[str, tuple[str, Runner]] = {
    "bare": ("bare loop, dispatch on type only (ceiling)", bare_loop),
    "book": ("Book.apply alone (bench_book)", book_only),
    "books": ("Pipeline: books + health", pipeline_runner(False, False, False)),
    "full": ("Pipeline: + ema + ols + 3 rules", pipeline_runner(True, True, False)),
    "full+shm": ("Pipeline: + ema + ols + 3 rules + shm sink", pipeline_runner(True, True, True)),
    "full-py": (
        "same as full, all Python (compiled=False)",
        pipeline_runner(True, True, False, False),
    ),
}


def measure(runner: Runner, batches: list[Batch], target: int, rounds: int) -> float:
    """Best events/s of ``rounds`` rounds of about ``target`` events each."""
    per_pass = sum(len(batch) for batch in batches)
    passes = max(1, target // per_pass)
    best = min(runner(batches, passes) for _ in range(rounds))
    return per_pass * passes / best


def report(loads: dict[str, list[Batch]], target: int, rounds: int) -> None:
    for name, batches in loads.items():
        events = sum(len(b) for b in batches)
        deltas = sum(isinstance(e, BookDelta) for b in batches for e in b)
        print(
            f"{name}: {events:,} events in {len(batches):,} venue messages "
            f"({deltas:,} book deltas), ~{target:,} events per round, best of {rounds}"
        )
        rates = {
            key: measure(run, batches, target, rounds) for key, (_, run) in CONFIGURATIONS.items()
        }
        full = rates["full"]
        for key, (label, _) in CONFIGURATIONS.items():
            rate = rates[key]
            print(
                f"  {label:44s} {rate:>12,.0f} events/s  {1e9 / rate:>7,.0f} ns/event"
                f"   this/full = {rate / full:5.2f}x"
            )


# -- memory ------------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_run(loads: dict[str, list[Batch]], total: int, every: int = 1_000_000) -> None:
    """The full pipeline with the shm sink over ``total`` events: the decoded events cycled with
    rising seq and ts_recv (copies made per lap, outside what is measured only by RSS). Each
    workload's ts_recv moves on by its own span per lap: shifting by the span across workloads
    (the captures are years apart) would pass the int64 nanosecond range, year 2262, within a
    hundred laps."""
    cycle = [
        (batch, workload_span)
        for batches in loads.values()
        for workload_span in [
            1
            + max(e.ts_recv for b in batches for e in b)
            - min(e.ts_recv for b in batches for e in b)
        ]
        for batch in batches
    ]
    seq_span = 1 + max(e.seq for b, _ in cycle for e in b)
    pipeline, ring = make_pipeline(True, True, True)
    replace = msgspec.structs.replace
    samples: list[tuple[int, int]] = [(0, rss_bytes())]
    done, lap, mark = 0, 0, every
    started = clock()
    try:
        while done < total:
            seq_shift = lap * seq_span
            for batch, ts_span in cycle:
                if lap:
                    ts_shift = lap * ts_span
                    batch = [
                        replace(e, seq=e.seq + seq_shift, ts_recv=e.ts_recv + ts_shift)
                        for e in batch
                    ]
                pipeline.process(batch)
                done += len(batch)
                if done >= mark:
                    samples.append((done, rss_bytes()))
                    mark += every
                if done >= total:
                    break
            lap += 1
    finally:
        assert ring is not None
        ring.sink.close()
    elapsed = clock() - started
    states = sum(len(symbols) for symbols in pipeline.states.values())
    per_lap = sum(len(b) for b, _ in cycle)
    print(
        f"memory: {done:,} events ({lap} laps of {per_lap:,}) through the full "
        f"pipeline + shm sink in {elapsed:.0f} s (copying included), {states} books"
    )
    print("  events      RSS MiB")
    for count, rss in samples:
        print(f"  {count:>10,}  {rss / 2**20:8.1f}")
    by_count = dict(samples)
    if 2 * every in by_count and samples[-1][0] > 2 * every:
        growth = samples[-1][1] - by_count[2 * every]
        print(
            f"  growth from {2 * every:,} to {samples[-1][0]:,} events: {growth / 2**20:+.2f} MiB"
        )


def profile(loads: dict[str, list[Batch]], key: str, target: int) -> None:
    _, runner = CONFIGURATIONS[key]
    batches = [batch for batches in loads.values() for batch in batches]
    per_pass = sum(len(b) for b in batches)
    profiler = cProfile.Profile()
    profiler.enable()
    runner(batches, max(1, target // per_pass))
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=200_000, help="events per timed round")
    parser.add_argument("--sim-events", type=int, default=50_000)
    parser.add_argument("--memory", type=int, default=10_000_000, help="0 skips the memory run")
    parser.add_argument("--profile", choices=list(CONFIGURATIONS), help="cProfile one and stop")
    parser.add_argument("--clock", choices=list(CLOCKS), default="cpu", help="what is timed")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    data = Path(
        os.environ.get("TICKERPLANT_SAMPLE_DATA", Path(__file__).parents[2] / "shared" / "data")
    )
    loads = workloads(data, args.sim_events)
    make_pipeline(True, True, False)  # imports every accelerator the spec uses
    used = sorted(name for name, compiled in accel.loaded().items() if compiled)
    print(f"compiled accelerators in use: {', '.join(used) or 'none (pure Python)'}")
    if args.profile:
        profile(loads, args.profile, args.events)
        return
    report(loads, args.events, args.rounds)
    if args.memory:
        memory_run(loads, args.memory)


if __name__ == "__main__":
    main()
