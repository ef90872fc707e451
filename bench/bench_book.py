"""Book apply + best bid/ask throughput: our L2 book against bmoscon's ``order-book`` C extension,
sortedcontainers and a heap.

``pipelines Book`` is the implementation the pipeline runs: the compiled twin (``_cbook``, C int64
arrays) when it is built, else the pure-Python reference; the ``PyBook`` rows are always the
pure-Python reference, timed in the same run (docs/decisions/0115).

The first tables replay the *real* book updates of the Binance and Kraken captures in
``shared/data/ws`` (decoded once with the mapped decoders, snapshots included; only the book is
timed): every level entry is applied and followed by a best bid and best ask read. Then the
simulator workload (most updates near the top), and a top-10 read per update (what a BookSnapshot
at each venue message costs). Every figure of a table comes from the same run; ``ours/this`` > 1
means ours is faster.

    .venv/bin/pip install -r requirements-bench.txt     # order-book, sortedcontainers
    .venv/bin/python -m bench.bench_book [--updates 500000] [--repeat 20] [--clock cpu|wall]

Times are the thread's CPU time by default (``--clock cpu``), wall time with ``--clock wall``.
"""

from __future__ import annotations

import argparse
import heapq
import os
import time
from collections.abc import Callable
from pathlib import Path

from order_book import OrderBook
from sortedcontainers import SortedDict

from ingest.capture.ws_capture import decode_ws_captures
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from ingest.simulator import MarketSimulator
from pipelines.core.book import COMPILED, Book, PyBook
from pipelines.events import BookDelta, BookSnapshot, Event

Update = tuple[bool, int, int]  # is_bid, price, size (0 deletes)

CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}
# What the timed sections read (--clock): the thread's CPU time by default, which the other
# processes of a shared machine do not inflate; wall time with --clock wall. Every peer of a
# table is timed with the same clock.
clock = CLOCKS["cpu"]


def workload(count: int) -> list[Update]:
    simulator = MarketSimulator(["BTC-USD"], seed=1)
    updates: list[Update] = []
    while len(updates) < count:
        for event in simulator.take(4096):
            if isinstance(event, BookDelta):
                size = 0 if event.action == "delete" else event.size
                updates.append((event.side == "bid", event.price, size))
    return updates[:count]


# -- the real captures ------------------------------------------------------------------------

# (symbol index, is_bid, price, size), size 0 deleting the level.
RealUpdate = tuple[int, bool, int, int]
Snapshot = tuple[list[tuple[int, int]], list[tuple[int, int]]]


def capture_events(mapping: str, files: list[Path]) -> list[Event]:
    """Decode a capture (and its REST snapshots) once, in receive-time order."""
    decoder = MappedJsonDecoder("bench", MappedParams(mapping=mapping))
    return [event for batch in decode_ws_captures(decoder, files) for event in batch]


def real_workload(
    events: list[Event],
) -> tuple[list[Snapshot], list[RealUpdate], list[tuple[int, BookDelta]]]:
    """One snapshot per symbol (loaded before the clock starts), then every delta in order: each
    symbol's snapshot precedes its deltas in the decoded stream, so the books end the same."""
    symbols: dict[str, int] = {}
    snapshots: list[Snapshot] = []
    updates: list[RealUpdate] = []
    deltas: list[tuple[int, BookDelta]] = []
    for event in events:
        if isinstance(event, BookSnapshot):
            assert event.symbol not in symbols, "one snapshot per symbol"
            symbols[event.symbol] = len(snapshots)
            snapshots.append((list(event.bids), list(event.asks)))
        elif isinstance(event, BookDelta):
            index = symbols[event.symbol]
            size = 0 if event.action == "delete" else event.size
            updates.append((index, event.side == "bid", event.price, size))
            deltas.append((index, event))
    return snapshots, updates, deltas


def ours_from(snapshots: list[Snapshot], cls: type[Book] = Book) -> list[Book]:
    books = [cls() for _ in snapshots]
    for book, (bids, asks) in zip(books, snapshots, strict=True):
        book.load(bids, asks)
    return books


def order_books_from(snapshots: list[Snapshot]) -> list[OrderBook]:
    books = [OrderBook() for _ in snapshots]
    for book, (bids, asks) in zip(books, snapshots, strict=True):
        for price, size in bids:
            book.bids[price] = size
        for price, size in asks:
            book.asks[price] = size
        if len(book.bids):
            book.bids.index(0)  # sorted before the clock starts
    return books


def sorted_dicts_from(snapshots: list[Snapshot]) -> list[tuple[SortedDict, SortedDict]]:
    return [(SortedDict((-p, s) for p, s in bids), SortedDict(asks)) for bids, asks in snapshots]


def real_ours(
    snapshots: list[Snapshot],
    deltas: list[tuple[int, BookDelta]],
    repeat: int,
    cls: type[Book] = Book,
) -> float:
    """What the pipeline does: Book.apply per BookDelta, then the best prices."""
    elapsed = 0.0
    for _ in range(repeat):
        books = ours_from(snapshots, cls)
        started = clock()
        for index, delta in deltas:
            book = books[index]
            book.apply(delta)
            book.best_bid()
            book.best_ask()
        elapsed += clock() - started
    return elapsed


def real_ours_set(snapshots: list[Snapshot], updates: list[RealUpdate], repeat: int) -> float:
    elapsed = 0.0
    for _ in range(repeat):
        books = ours_from(snapshots)
        started = clock()
        for index, is_bid, price, size in updates:
            book = books[index]
            (book.bids if is_bid else book.asks).set(price, size)
            book.bids.best()
            book.asks.best()
        elapsed += clock() - started
    return elapsed


def real_order_book(snapshots: list[Snapshot], updates: list[RealUpdate], repeat: int) -> float:
    """bmoscon's order-book: a C SortedDict per side; ``index(0)`` is the best level."""
    elapsed = 0.0
    for _ in range(repeat):
        books = order_books_from(snapshots)
        started = clock()
        for index, is_bid, price, size in updates:
            book = books[index]
            side = book.bids if is_bid else book.asks
            if size:
                side[price] = size
            elif price in side:
                del side[price]
            if len(book.bids):
                book.bids.index(0)
            if len(book.asks):
                book.asks.index(0)
        elapsed += clock() - started
    return elapsed


def real_sorted_dict(snapshots: list[Snapshot], updates: list[RealUpdate], repeat: int) -> float:
    elapsed = 0.0
    for _ in range(repeat):
        books = sorted_dicts_from(snapshots)
        started = clock()
        for index, is_bid, price, size in updates:
            bids, asks = books[index]
            side, key = (bids, -price) if is_bid else (asks, price)
            if size:
                side[key] = size
            else:
                side.pop(key, None)
            if bids:
                bids.peekitem(0)
            if asks:
                asks.peekitem(0)
        elapsed += clock() - started
    return elapsed


def check_same_books(
    snapshots: list[Snapshot], updates: list[RealUpdate], deltas: list[tuple[int, BookDelta]]
) -> None:
    """Every implementation ends with the same books (the comparison is of equal work)."""
    ours = ours_from(snapshots)
    for index, delta in deltas:
        ours[index].apply(delta)
    peers = order_books_from(snapshots)
    for index, is_bid, price, size in updates:
        side = peers[index].bids if is_bid else peers[index].asks
        if size:
            side[price] = size
        elif price in side:
            del side[price]
    for book, peer in zip(ours, peers, strict=True):
        bids, asks = book.top(100_000)
        assert bids == list(peer.bids.to_list()) and asks == list(peer.asks.to_list())


def run_real(name: str, mapping: str, files: list[Path], repeat: int) -> None:
    snapshots, updates, deltas = real_workload(capture_events(mapping, files))
    check_same_books(snapshots, updates, deltas)
    levels = sum(len(b) + len(a) for b, a in snapshots)
    count = len(updates) * repeat
    runs: list[tuple[str, Callable[[], float]]] = [
        ("pipelines Book.apply(BookDelta)", lambda: real_ours(snapshots, deltas, repeat)),
        ("pipelines Book (side.set)", lambda: real_ours_set(snapshots, updates, repeat)),
        ("PyBook.apply (reference)", lambda: real_ours(snapshots, deltas, repeat, PyBook)),
        ("order-book 0.6.1 (C extension)", lambda: real_order_book(snapshots, updates, repeat)),
        ("sortedcontainers SortedDict", lambda: real_sorted_dict(snapshots, updates, repeat)),
    ]
    report(
        f"{name}: {len(updates):,} deltas x {repeat} on {len(snapshots)} books "
        f"({levels:,} snapshot levels, loaded untimed), each followed by best bid + best ask",
        count,
        [(label, count / run()) for label, run in runs],
    )


def run_ours(updates: list[Update], cls: type[Book] = Book) -> float:
    book = cls()
    bids, asks = book.bids, book.asks
    started = clock()
    for is_bid, price, size in updates:
        (bids if is_bid else asks).set(price, size)
        bids.best()
        asks.best()
    return clock() - started


def run_ours_via_deltas(deltas: list[BookDelta]) -> float:
    book = Book()
    started = clock()
    for delta in deltas:
        book.apply(delta)
        book.best_bid()
        book.best_ask()
    return clock() - started


def run_sorted_dict(updates: list[Update]) -> float:
    bids: SortedDict = SortedDict()  # keyed by -price: the best bid is the first item
    asks: SortedDict = SortedDict()
    started = clock()
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
    return clock() - started


def run_order_book(updates: list[Update]) -> float:
    book = OrderBook()
    bids, asks = book.bids, book.asks
    started = clock()
    for is_bid, price, size in updates:
        side = bids if is_bid else asks
        if size:
            side[price] = size
        elif price in side:
            del side[price]
        if len(bids):
            bids.index(0)
        if len(asks):
            asks.index(0)
    return clock() - started


def run_order_book_top(updates: list[Update]) -> float:
    book = OrderBook()
    bids, asks = book.bids, book.asks
    started = clock()
    for is_bid, price, size in updates:
        side = bids if is_bid else asks
        if size:
            side[price] = size
        elif price in side:
            del side[price]
        [bids.index(i) for i in range(min(10, len(bids)))]
        [asks.index(i) for i in range(min(10, len(asks)))]
    return clock() - started


def run_heap(updates: list[Update]) -> float:
    """Heaps of keys with lazy deletion: stale keys are popped when they reach the top."""
    levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
    heaps: tuple[list[int], list[int]] = ([], [])

    def best(index: int) -> int | None:
        heap, side = heaps[index], levels[index]
        while heap and (-heap[0] if index == 0 else heap[0]) not in side:
            heapq.heappop(heap)
        return (-heap[0] if index == 0 else heap[0]) if heap else None

    started = clock()
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
    return clock() - started


def run_ours_top(updates: list[Update], cls: type[Book] = Book) -> float:
    book = cls()
    bids, asks = book.bids, book.asks
    started = clock()
    for is_bid, price, size in updates:
        (bids if is_bid else asks).set(price, size)
        book.top(10)
    return clock() - started


def run_sorted_dict_top(updates: list[Update]) -> float:
    bids: SortedDict = SortedDict()
    asks: SortedDict = SortedDict()
    started = clock()
    for is_bid, price, size in updates:
        side, key = (bids, -price) if is_bid else (asks, price)
        if size:
            side[key] = size
        else:
            side.pop(key, None)
        [(-k, bids[k]) for k in bids.islice(0, 10)]
        [(k, asks[k]) for k in asks.islice(0, 10)]
    return clock() - started


def run_heap_top(updates: list[Update]) -> float:
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    started = clock()
    for is_bid, price, size in updates:
        side = bids if is_bid else asks
        if size:
            side[price] = size
        else:
            side.pop(price, None)
        heapq.nlargest(10, bids.items())
        heapq.nsmallest(10, asks.items())
    return clock() - started


def report(title: str, count: int, results: list[tuple[str, float]]) -> None:
    ours = results[0][1]
    print(title)
    for name, rate in results:
        print(f"  {name:34s} {rate:>12,.0f} updates/s   ours/this = {ours / rate:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=20, help="passes over each capture")
    parser.add_argument("--clock", choices=list(CLOCKS), default="cpu", help="what is timed")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    print(f"pipelines Book: {'compiled twin (_cbook)' if COMPILED else 'pure-Python reference'}")
    data = Path(
        os.environ.get("TICKERPLANT_SAMPLE_DATA", Path(__file__).parents[2] / "shared" / "data")
    )
    ws = data / "ws"
    if ws.is_dir():
        binance = [ws / "binance-spot" / "BINANCE.ws.1.0", ws / "binance-spot" / "BINANCE.http.0.0"]
        run_real("Binance spot capture", "binance_spot", binance, args.repeat * 10)
        run_real("Kraken capture", "kraken", [ws / "kraken" / "KRAKEN.ws.50.0"], args.repeat)
    else:
        print(f"(no captures under {ws}: real-delta tables skipped)")
    updates = workload(args.updates)
    deltas = [
        BookDelta(stream="s", symbol="X", side="bid" if b else "ask", price=p, size=s,
                  action="change" if s else "delete")
        for b, p, s in updates
    ]  # fmt: skip
    runs: list[tuple[str, Callable[[], float]]] = [
        ("pipelines Book (side.set)", lambda: run_ours(updates)),
        ("pipelines Book.apply(BookDelta)", lambda: run_ours_via_deltas(deltas)),
        ("PyBook (side.set, reference)", lambda: run_ours(updates, PyBook)),
        ("order-book 0.6.1 (C extension)", lambda: run_order_book(updates)),
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
        ("PyBook.top(10) (reference)", lambda: run_ours_top(updates, PyBook)),
        ("order-book index(0..9)", lambda: run_order_book_top(updates)),
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
