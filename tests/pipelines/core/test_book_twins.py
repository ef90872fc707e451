"""The compiled book (``_cbook``) and the reference (``book.py``) agree on every input: real
captures, hypothesis-generated deltas and snapshots, and the int64 range both enforce."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.capture.ws_capture import decode_ws_captures
from ingest.protocols.mapped import MappedJsonDecoder, MappedParams
from pipelines import accel
from pipelines.core.book import PyBook
from pipelines.events import BookDelta, BookSnapshot, Event

INT64_MAX = 2**63 - 1


def compiled_module() -> ModuleType:
    """The twin, imported directly (skipped under TICKERPLANT_PURE_PYTHON: it cimports one-source
    modules, which then run as Python, so it refuses to load)."""
    if accel.pure():
        pytest.skip("TICKERPLANT_PURE_PYTHON is set: the compiled twins are switched off")
    try:
        return importlib.import_module("pipelines.core._cbook")
    except ImportError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"pipelines.core._cbook is not built: {error}")
        pytest.skip(f"pipelines.core._cbook is not built: {error}")


def both() -> tuple[Any, Any]:
    return PyBook("s", "X", 2, 3), compiled_module().Book("s", "X", 2, 3)


def state(book: Any) -> tuple[Any, ...]:
    """Everything the public API reads, boxed the same way on both."""
    return (
        book.top(1_000_000),
        book.best_bid(),
        book.best_ask(),
        book.best_bid_price(),
        book.best_ask_price(),
        book.spread(),
        book.crossed(),
        book.locked(),
        book.mid(),
        len(book),
        len(book.bids),
        len(book.asks),
        list(book.bids.keys),
        list(book.asks.keys),
        sorted(book.bids.levels.items()),
        sorted(book.asks.levels.items()),
        book.bids.best(),
        book.asks.best_price(),
        book.snapshot(3, seq=7, state="LIVE", ts_recv=9),
    )


# Prices near the top (many hits on one level), anywhere in int64, and just outside it.
prices = st.one_of(
    st.integers(-3, 40),
    st.integers(-INT64_MAX, INT64_MAX),
    st.sampled_from([INT64_MAX, -INT64_MAX, INT64_MAX + 1, -INT64_MAX - 1, 2**70, 2**53 + 1]),
)
sizes = st.one_of(
    st.integers(0, 5), st.integers(-INT64_MAX, INT64_MAX), st.sampled_from([INT64_MAX + 1, 2**64])
)
deltas = st.builds(
    lambda side, price, size, action: BookDelta(
        stream="s", symbol="X", side=side, price=price, size=size, action=action
    ),
    st.sampled_from(["bid", "ask"]),
    prices,
    sizes,
    st.sampled_from(["new", "change", "delete"]),
)
levels = st.lists(st.tuples(prices, sizes), max_size=30)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("apply"), deltas),
        st.tuples(st.just("set"), st.tuples(st.sampled_from(["bid", "ask"]), prices, sizes)),
        st.tuples(st.just("load"), st.tuples(levels, levels)),
        st.tuples(st.just("decimals"), st.integers(-2, 30)),
        st.tuples(st.just("clear"), st.none()),
    ),
    max_size=80,
)


def run(book: Any, op: str, argument: Any) -> tuple[str, Any]:
    """One operation on one book: its result, or the OverflowError it raised."""
    try:
        if op == "apply":
            return "ok", book.apply(argument)
        if op == "set":
            side, price, size = argument
            return "ok", book.side(side).set(price, size)
        if op == "load":
            return "ok", book.load(*argument)
        if op == "decimals":
            book.price_decimals = argument
            return "ok", None
        return "ok", book.clear()
    except OverflowError as error:
        return "OverflowError", str(error)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_any_operations_give_the_same_book_and_the_same_errors(ops: list[tuple[str, Any]]) -> None:
    reference, compiled = both()
    for op, argument in ops:
        assert run(reference, op, argument) == run(compiled, op, argument)
        assert state(reference) == state(compiled)


@given(st.lists(st.tuples(st.integers(-(2**60), 2**60), st.integers(1, 10)), max_size=20))
def test_side_views_read_like_the_reference_list_and_dict(entries: list[tuple[int, int]]) -> None:
    reference, compiled = both()
    reference.bids.load(entries)
    compiled.bids.load(entries)
    ref_side, side = reference.bids, compiled.bids
    assert side.keys == ref_side.keys and side.levels == ref_side.levels
    assert bool(side.keys) == bool(ref_side.keys)
    if ref_side.keys:
        assert side.keys[-1] == ref_side.keys[-1] and side.keys[0] == ref_side.keys[0]
        assert side.keys[:-4:-1] == ref_side.keys[:-4:-1]
    for price, _ in entries[:5]:
        assert side.levels[price] == ref_side.levels[price]
        assert side.levels.get(price) == ref_side.levels.get(price)
        assert (price in side.levels) is (price in ref_side.levels)
    assert side.levels.get(2**61) is None and 2**61 not in side.levels
    assert side.get(2**70) == ref_side.get(2**70) == 0


def capture_events(mapping: str, files: list[Path]) -> list[Event]:
    decoder = MappedJsonDecoder("cap", MappedParams(mapping=mapping))
    return [event for batch in decode_ws_captures(decoder, files) for event in batch]


@pytest.mark.parametrize(
    ("mapping", "files"),
    [
        ("binance_spot", ["binance-spot/BINANCE.ws.1.0", "binance-spot/BINANCE.http.0.0"]),
        ("kraken", ["kraken/KRAKEN.ws.50.0"]),
    ],
)
def test_real_captures_give_the_same_books_at_every_venue_message(
    shared_data: Path, mapping: str, files: list[str]
) -> None:
    events = capture_events(mapping, [shared_data / "ws" / name for name in files])
    cbook = compiled_module()
    books: dict[str, tuple[Any, Any]] = {}
    checked = 0
    for event in events:
        if not isinstance(event, BookDelta | BookSnapshot):
            continue
        pair = books.get(event.symbol)
        if pair is None:
            pair = books[event.symbol] = (PyBook(), cbook.Book())
        for book in pair:
            if isinstance(event, BookSnapshot):
                book.apply_snapshot(event)
            else:
                book.apply(event)
        if isinstance(event, BookSnapshot) or event.batch_end:
            assert state(pair[0]) == state(pair[1])
            checked += 1
    assert checked > 100
