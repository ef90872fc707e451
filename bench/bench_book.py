"""Book apply + best bid/ask throughput: our L2 book against sortedcontainers and a heap.

One run, a realistic workload: the level updates the market simulator produces (most of them near
the top of the book), each followed by a best bid and best ask read, as a pipeline does at every
venue message. Prints updates/s per implementation and the ratio to ours.

    .venv/bin/python -m bench.bench_book [--updates 500000]

A second table adds a top-10 read per update (what a BookSnapshot at each venue message costs),
where a heap has to sort its live levels.
"""

from __future__ import annotations

import argparse
import heapq
import time
from collections.abc import Callable

from sortedcontainers import SortedDict

from ingest.simulator import MarketSimulator
from pipelines.core.book import Book
from pipelines.events import BookDelta

Update = tuple[bool, int, int]  # is_bid, price, size (0 deletes)


def workload(count: int) -> list[Update]:
    simulator = MarketSimulator(["BTC-USD"], seed=1)
    updates: list[Update] = []
    while len(updates) < count:
        for event in simulator.take(4096):
            if isinstance(event, BookDelta):
                size = 0 if event.action == "delete" else event.size
                updates.append((event.side == "bid", event.price, size))
    return updates[:count]


def run_ours(updates: list[Update]) -> float:
    book = Book()
    bids, asks = book.bids, book.asks
    started = time.perf_counter()
    for is_bid, price, size in updates:
        (bids if is_bid else asks).set(price, size)
        bids.best()
        asks.best()
    return time.perf_counter() - started


def run_ours_via_deltas(deltas: list[BookDelta]) -> float:
    book = Book()
    started = time.perf_counter()
    for delta in deltas:
        book.apply(delta)
        book.best_bid()
        book.best_ask()
    return time.perf_counter() - started


def run_sorted_dict(updates: list[Update]) -> float:
    bids: SortedDict = SortedDict()  # keyed by -price: the best bid is the first item
    asks: SortedDict = SortedDict()
    started = time.perf_counter()
    for is_bid, price, size in updates:
        side, key = (bids, -price) if is_bid else (asks, price)
        if size:
            side[key] = size
        else:
            side.pop(key, None)
        if bids:
            bids.peekitem(0)
        if asks:
            asks.peekitem(0)
    return time.perf_counter() - started


def run_heap(updates: list[Update]) -> float:
    """Heaps of keys with lazy deletion: stale keys are popped when they reach the top."""
    levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
    heaps: tuple[list[int], list[int]] = ([], [])

    def best(index: int) -> int | None:
        heap, side = heaps[index], levels[index]
        while heap and (-heap[0] if index == 0 else heap[0]) not in side:
            heapq.heappop(heap)
        return (-heap[0] if index == 0 else heap[0]) if heap else None

    started = time.perf_counter()
    for is_bid, price, size in updates:
        index = 0 if is_bid else 1
        side = levels[index]
        if size:
            if price not in side:
                heapq.heappush(heaps[index], -price if is_bid else price)
            side[price] = size
        else:
            side.pop(price, None)
        best(0)
        best(1)
    return time.perf_counter() - started


def run_ours_top(updates: list[Update]) -> float:
    book = Book()
    bids, asks = book.bids, book.asks
    started = time.perf_counter()
    for is_bid, price, size in updates:
        (bids if is_bid else asks).set(price, size)
        book.top(10)
    return time.perf_counter() - started


def run_sorted_dict_top(updates: list[Update]) -> float:
    bids: SortedDict = SortedDict()
    asks: SortedDict = SortedDict()
    started = time.perf_counter()
    for is_bid, price, size in updates:
        side, key = (bids, -price) if is_bid else (asks, price)
        if size:
            side[key] = size
        else:
            side.pop(key, None)
        [(-k, bids[k]) for k in bids.islice(0, 10)]
        [(k, asks[k]) for k in asks.islice(0, 10)]
    return time.perf_counter() - started


def run_heap_top(updates: list[Update]) -> float:
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    started = time.perf_counter()
    for is_bid, price, size in updates:
        side = bids if is_bid else asks
        if size:
            side[price] = size
        else:
            side.pop(price, None)
        heapq.nlargest(10, bids.items())
        heapq.nsmallest(10, asks.items())
    return time.perf_counter() - started


def report(title: str, count: int, results: list[tuple[str, float]]) -> None:
    ours = results[0][1]
    print(title)
    for name, rate in results:
        print(f"  {name:34s} {rate:>12,.0f} updates/s   ours/this = {ours / rate:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500_000)
    args = parser.parse_args()
    updates = workload(args.updates)
    deltas = [
        BookDelta(stream="s", symbol="X", side="bid" if b else "ask", price=p, size=s,
                  action="change" if s else "delete")
        for b, p, s in updates
    ]  # fmt: skip
    runs: list[tuple[str, Callable[[], float]]] = [
        ("pipelines Book (side.set)", lambda: run_ours(updates)),
        ("pipelines Book.apply(BookDelta)", lambda: run_ours_via_deltas(deltas)),
        ("sortedcontainers SortedDict", lambda: run_sorted_dict(updates)),
        ("heapq + lazy deletion", lambda: run_heap(updates)),
    ]
    count = len(updates)
    report(
        f"{count:,} level updates, each followed by best bid + best ask",
        count,
        [(name, count / run()) for name, run in runs],
    )
    top_runs: list[tuple[str, Callable[[], float]]] = [
        ("pipelines Book.top(10)", lambda: run_ours_top(updates)),
        ("sortedcontainers islice(10)", lambda: run_sorted_dict_top(updates)),
        ("dict + heapq.nlargest(10)", lambda: run_heap_top(updates)),
    ]
    report(
        f"{count:,} level updates, each followed by the top 10 levels of both sides",
        count,
        [(name, count / run()) for name, run in top_runs],
    )


if __name__ == "__main__":
    main()
