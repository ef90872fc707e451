"""The L3 (market-by-order) book agrees with a dict-of-orders reference after every update.

The end-to-end case: the simulator's order flow is written as an order-level CSV file, read back
through the ``orders_csv`` mapping (the csv protocol), and applied to an :class:`L3Book`; after
every event the book equals a reference built from a plain dict of orders, and the L2 book it
aggregates equals the simulator's own level updates.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ingest.protocols.mapped import MappedParams
from ingest.protocols.mapped.csv_decoder import MappedCsvDecoder
from ingest.simulator import MarketSimulator
from pipelines.core.book import Book
from pipelines.core.l3 import L3Book, LevelChange
from pipelines.events import BookDelta, Order, format_scaled

Reference = dict[str, tuple[str, int, int]]  # order id -> (side, price, size)


def reference_apply(orders: Reference, order: Order) -> None:
    """The obvious semantics, written independently of L3Book."""
    known = orders.get(order.order_id)
    if order.action == "add":
        if known is None and order.size > 0:
            orders[order.order_id] = (order.side, order.price, order.size)
    elif known is None:
        return
    elif order.action == "cancel" or (order.action == "modify" and order.size <= 0):
        del orders[order.order_id]
    elif order.action == "execute":
        if order.size <= 0:
            return
        left = known[2] - order.size
        if left > 0:
            orders[order.order_id] = (known[0], known[1], left)
        else:
            del orders[order.order_id]
    else:  # modify
        orders[order.order_id] = (known[0], order.price, order.size)


def levels_of(orders: Reference) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    sides: dict[str, dict[int, int]] = {"bid": defaultdict(int), "ask": defaultdict(int)}
    for side, price, size in orders.values():
        sides[side][price] += size
    return sorted(sides["bid"].items(), reverse=True), sorted(sides["ask"].items())


def assert_equal(book: L3Book, orders: Reference) -> None:
    assert {k: (o.side, o.price, o.size) for k, o in book.orders.items()} == orders
    bids, asks = levels_of(orders)
    assert book.book.top(10_000) == (bids, asks)
    assert book.book.best_bid() == (bids[0] if bids else None)
    assert book.book.best_ask() == (asks[0] if asks else None)


def order(order_id: int, side: str, price: int, size: int, action: str) -> Order:
    return Order(
        stream="s",
        symbol="X",
        order_id=str(order_id),
        side=side,  # type: ignore[arg-type]
        price=price,
        size=size,
        action=action,  # type: ignore[arg-type]
    )


updates = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=25),  # few ids: updates hit live orders
        st.sampled_from(["bid", "ask"]),
        st.integers(min_value=1, max_value=30),
        st.integers(min_value=-1, max_value=8),
        st.sampled_from(["add", "add", "modify", "cancel", "execute"]),
    ),
    max_size=300,
)


@given(updates)
def test_any_order_flow_matches_the_reference(ops: list[tuple[int, str, int, int, str]]) -> None:
    book = L3Book("s", "X")
    orders: Reference = {}
    for order_id, side, price, size, action in ops:
        event = order(order_id, side, price, size, action)
        changes = book.apply(event)
        reference_apply(orders, event)
        assert_equal(book, orders)
        for change in changes:  # each change names the level's new total, like a BookDelta
            assert change.size == book.book.side(change.side).get(change.price)


def test_changes_say_new_change_delete_and_modify_moves_a_level() -> None:
    book = L3Book()
    assert book.apply(order(1, "bid", 10, 5, "add")) == (LevelChange("bid", 10, 5, "new"),)
    assert book.apply(order(2, "bid", 10, 3, "add")) == (LevelChange("bid", 10, 8, "change"),)
    assert book.apply(order(1, "bid", 10, 2, "execute")) == (LevelChange("bid", 10, 6, "change"),)
    assert book.apply(order(1, "bid", 11, 4, "modify")) == (
        LevelChange("bid", 10, 3, "change"),
        LevelChange("bid", 11, 4, "new"),
    )
    assert book.apply(order(2, "bid", 0, 0, "cancel")) == (LevelChange("bid", 10, 0, "delete"),)
    assert book.apply(order(1, "bid", 11, 9, "execute")) == (LevelChange("bid", 11, 0, "delete"),)
    assert len(book) == 0 and len(book.book) == 0
    assert book.apply(order(7, "ask", 5, 1, "cancel")) == () and book.rejected == 1


def test_deltas_are_the_book_delta_equivalent_of_the_changes() -> None:
    book = L3Book("s", "X", price_decimals=2)
    book.apply(order(1, "ask", 500, 2, "add"))
    event = order(1, "ask", 501, 2, "modify")
    deltas = book.deltas(event, book.apply(event))
    assert [(d.price, d.size, d.action, d.batch_end) for d in deltas] == [
        (500, 0, "delete", False),
        (501, 2, "new", True),
    ]
    mirror = Book()
    mirror.apply_batch(deltas)
    assert mirror.top(5) == ([], [(501, 2)])


def iso(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000 // 1000:06d}Z"


def test_simulated_order_flow_through_the_csv_mapping_rebuilds_the_book(tmp_path: Path) -> None:
    simulator = MarketSimulator(["AAPL"], seed=11)  # cents and whole shares, as orders_csv.toml
    events = simulator.take(20_000)
    path = tmp_path / "orders.csv"
    code = {"add": "A", "modify": "M", "cancel": "C", "execute": "E"}
    with open(path, "w") as out:
        out.write("timestamp,symbol,order_id,side,price,size,action\n")
        for event in events:
            if isinstance(event, Order):
                out.write(
                    f"{iso(event.ts_exchange)},{event.symbol},{event.order_id},"
                    f"{'B' if event.side == 'bid' else 'S'},{format_scaled(event.price, 2)},"
                    f"{event.size},{code[event.action]}\n"
                )
    decoded = list(MappedCsvDecoder("csv", MappedParams(mapping="orders_csv")).decode_file(path))
    originals = [event for event in events if isinstance(event, Order)]
    assert len(decoded) == len(originals) > 5_000
    assert {event.action for event in decoded} == {"add", "cancel", "execute"}

    book = L3Book("csv", "AAPL")
    orders: Reference = {}
    for event, original in zip(decoded, originals, strict=True):
        assert isinstance(event, Order)
        assert (event.order_id, event.side, event.price, event.size, event.action) == (
            original.order_id,
            original.side,
            original.price,
            original.size,
            original.action,
        )
        book.apply(event)
        reference_apply(orders, event)
        assert_equal(book, orders)
    assert book.rejected == 0

    # The aggregated book equals the simulator's own L2 view (its BookDeltas).
    levels = Book()
    for event in events:
        if isinstance(event, BookDelta):
            levels.apply(event)
    assert book.book.top(10_000) == levels.top(10_000)


def test_a_level_past_int64_is_rejected_and_changes_nothing() -> None:
    # Each order fits int64; two at one price would not (the Book would raise OverflowError).
    big = (2**63 - 1) // 2 + 1
    l3 = L3Book("s", "X")
    assert l3.add("1", "bid", 100, big)
    assert l3.add("2", "bid", 100, big) == ()
    assert l3.add("3", "bid", 100, 1)
    assert l3.modify("3", 100, big) == ()  # same price, bigger
    assert l3.add("4", "bid", 200, big)
    assert l3.modify("4", 100, big) == ()  # to the full level
    assert l3.rejected == 3
    assert l3.book.bids.get(100) == big + 1 and l3.book.bids.get(200) == big
    assert set(l3.orders) == {"1", "3", "4"} and l3.orders["3"].size == 1
    assert l3.orders["4"].price == 200
