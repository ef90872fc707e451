"""The L2 book agrees with a plain dict-of-levels reference on any sequence of updates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipelines.core.book import Book
from pipelines.events import BookDelta, BookSnapshot

operations = st.lists(
    st.tuples(
        st.sampled_from(["bid", "ask"]),
        st.integers(min_value=1, max_value=60),  # few prices: many updates hit the same level
        st.integers(min_value=0, max_value=5),  # size 0 deletes the level
    ),
    max_size=300,
)


def delta(side: str, price: int, size: int) -> BookDelta:
    return BookDelta(
        stream="s",
        symbol="X",
        side=side,  # type: ignore[arg-type]
        price=price,
        size=size,
        action="delete" if size == 0 else "change",
    )


@given(operations, st.integers(min_value=1, max_value=12))
def test_book_matches_a_reference_dict_book(ops: list[tuple[str, int, int]], depth: int) -> None:
    book = Book("s", "X")
    reference: dict[str, dict[int, int]] = {"bid": {}, "ask": {}}
    for side, price, size in ops:
        book.apply(delta(side, price, size))
        if size:
            reference[side][price] = size
        else:
            reference[side].pop(price, None)

        bids = sorted(reference["bid"].items(), reverse=True)
        asks = sorted(reference["ask"].items())
        assert book.best_bid() == (bids[0] if bids else None)
        assert book.best_ask() == (asks[0] if asks else None)
        assert book.top(depth) == (bids[:depth], asks[:depth])
    assert len(book.bids) == len(reference["bid"])
    assert len(book.asks) == len(reference["ask"])


def test_mid_is_in_instrument_units_and_needs_both_sides() -> None:
    book = Book("s", "X", price_decimals=2)
    book.apply(delta("bid", 10_000, 1))
    assert book.mid() is None
    book.apply(delta("ask", 10_050, 1))
    assert book.mid() == 100.25


def test_snapshot_lists_best_levels_first_and_clear_empties_the_book() -> None:
    book = Book("s", "X", price_decimals=1)
    for price in (10, 11, 12):
        book.apply(delta("bid", price, price))
        book.apply(delta("ask", price + 10, 1))
    snapshot = book.snapshot(depth=2, seq=9, state="LIVE")
    assert snapshot.bids == [(12, 12), (11, 11)]
    assert snapshot.asks == [(20, 1), (21, 1)]
    assert (snapshot.seq, snapshot.state, snapshot.price_decimals) == (9, "LIVE", 1)
    book.clear()
    assert book.best_bid() is None and book.best_ask() is None


def test_deleting_an_absent_level_is_ignored() -> None:
    book = Book()
    book.apply(delta("bid", 5, 0))
    assert book.best_bid() is None


def test_apply_batch_applies_one_venue_message_in_order() -> None:
    book = Book("s", "X")
    book.apply_batch(
        [delta("bid", 10, 1), delta("bid", 11, 2), delta("bid", 10, 0), delta("ask", 12, 3)]
    )
    assert book.top(5) == ([(11, 2)], [(12, 3)])
    assert len(book) == 2


def test_a_snapshot_replaces_every_level_and_takes_its_scale() -> None:
    book = Book("s", "X")
    book.apply_batch([delta("bid", 1, 1), delta("ask", 99, 1)])
    book.apply_snapshot(
        BookSnapshot(
            stream="s",
            symbol="X",
            bids=[(10, 1), (12, 2), (11, 0)],  # any order; size 0 is no level
            asks=[(14, 1), (13, 5)],
            price_decimals=3,
            size_decimals=1,
        )
    )
    assert book.top(10) == ([(12, 2), (10, 1)], [(13, 5), (14, 1)])
    assert (book.price_decimals, book.size_decimals) == (3, 1)
    book.apply(delta("bid", 12, 0))  # the keys follow the loaded levels
    assert book.best_bid() == (10, 1)


def test_spread_crossed_and_locked() -> None:
    book = Book()
    assert book.spread() is None and not book.crossed() and not book.locked()
    book.apply_batch([delta("bid", 100, 1), delta("ask", 103, 1)])
    assert (book.best_bid_price(), book.best_ask_price(), book.spread()) == (100, 103, 3)
    book.apply(delta("bid", 103, 1))
    assert book.locked() and not book.crossed()
    book.apply(delta("bid", 104, 1))
    assert book.crossed() and book.spread() == -1


def test_a_delete_action_removes_the_level_whatever_size_it_names() -> None:
    book = Book()
    book.apply(delta("ask", 7, 3))
    book.apply(BookDelta(stream="s", symbol="X", side="ask", price=7, size=3, action="delete"))
    assert book.best_ask() is None
