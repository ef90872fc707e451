"""A market-by-order (L3) book that keeps its own aggregated L2 :class:`~pipelines.core.book.Book`.

Feeds that carry order ids send ``Order`` events: ``add`` (a new resting order), ``modify`` (the
order's new price and remaining size), ``cancel`` (the order goes, whatever size it names) and
``execute`` (``size`` is the quantity filled: a partial fill shrinks the order, a fill of its whole
remaining size removes it). Each update changes one or two price levels; :meth:`L3Book.apply`
returns those changes as :class:`LevelChange` tuples, the same (side, price, new level size,
action) a venue's ``BookDelta`` would carry, and :meth:`L3Book.deltas` turns them into events.

Unknown order ids (an update for an order never added, e.g. after a gap), duplicate adds and
updates that would take a level's total size past int64 (what a Book keeps: each order fits, but
two at one price need not) are counted in ``rejected`` and change nothing: a bad message never
stops the book.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from pipelines.core.book import Book
from pipelines.events import BookAction, BookDelta, BookSide, Order

__all__ = ["L3Book", "LevelChange", "RestingOrder"]


class LevelChange(NamedTuple):
    side: BookSide
    price: int
    size: int
    """The level's new total size; 0 when the level is gone."""
    action: BookAction


class RestingOrder:
    __slots__ = ("price", "side", "size")

    def __init__(self, side: BookSide, price: int, size: int) -> None:
        self.side: BookSide = side
        self.price = price
        self.size = size


_NO_CHANGE: tuple[LevelChange, ...] = ()
_LIMIT: Final = 2**63 - 1  # a level's size in a Book (pipelines.core.book: the int64 range)


class L3Book:
    """Orders by id of one (stream, symbol), aggregated into ``self.book`` (an L2 Book)."""

    __slots__ = ("book", "orders", "rejected")

    def __init__(
        self,
        stream: str = "",
        symbol: str = "",
        price_decimals: int = 0,
        size_decimals: int = 0,
        book: Book | None = None,
    ) -> None:
        """``book``: aggregate into this L2 book (it is cleared) instead of a new one."""
        if book is None:
            book = Book(stream, symbol, price_decimals, size_decimals)
        else:
            book.clear()
        self.book = book
        self.orders: dict[str, RestingOrder] = {}
        self.rejected = 0

    def _level(self, side: BookSide, price: int, change: int) -> LevelChange:
        levels = self.book.bids if side == "bid" else self.book.asks
        before = levels.get(price)
        after = before + change
        levels.set(price, after)
        action: BookAction = "delete" if not after else "change" if before else "new"
        return LevelChange(side, price, after, action)

    def _fits(self, side: BookSide, price: int, change: int) -> bool:
        """Whether ``change`` can be added to the level (checked before anything is changed)."""
        levels = self.book.bids if side == "bid" else self.book.asks
        return levels.get(price) + change <= _LIMIT

    def add(self, order_id: str, side: BookSide, price: int, size: int) -> tuple[LevelChange, ...]:
        if order_id in self.orders or size <= 0 or not self._fits(side, price, size):
            self.rejected += 1
            return _NO_CHANGE
        self.orders[order_id] = RestingOrder(side, price, size)
        return (self._level(side, price, size),)

    def cancel(self, order_id: str) -> tuple[LevelChange, ...]:
        order = self.orders.pop(order_id, None)
        if order is None:
            self.rejected += 1
            return _NO_CHANGE
        return (self._level(order.side, order.price, -order.size),)

    def execute(self, order_id: str, size: int) -> tuple[LevelChange, ...]:
        """A fill of ``size``; the order goes when nothing of it remains."""
        order = self.orders.get(order_id)
        if order is None or size <= 0:
            self.rejected += 1
            return _NO_CHANGE
        filled = min(size, order.size)
        order.size -= filled
        if not order.size:
            del self.orders[order_id]
        return (self._level(order.side, order.price, -filled),)

    def modify(self, order_id: str, price: int, size: int) -> tuple[LevelChange, ...]:
        """New price and remaining size; size 0 removes the order."""
        order = self.orders.get(order_id)
        if order is None:
            self.rejected += 1
            return _NO_CHANGE
        if size <= 0:
            return self.cancel(order_id)
        if not self._fits(order.side, price, size - order.size if price == order.price else size):
            self.rejected += 1
            return _NO_CHANGE
        if price == order.price:
            change = size - order.size
            order.size = size
            return (self._level(order.side, price, change),) if change else _NO_CHANGE
        removed = self._level(order.side, order.price, -order.size)
        order.price, order.size = price, size
        return removed, self._level(order.side, price, size)

    def apply(self, order: Order) -> tuple[LevelChange, ...]:
        """Apply one ``Order`` event; returns the price levels it changed."""
        action = order.action
        if action == "add":
            return self.add(order.order_id, order.side, order.price, order.size)
        if action == "execute":
            return self.execute(order.order_id, order.size)
        if action == "cancel":
            return self.cancel(order.order_id)
        return self.modify(order.order_id, order.price, order.size)

    def deltas(self, order: Order, changes: tuple[LevelChange, ...]) -> list[BookDelta]:
        """The ``BookDelta`` events equivalent to ``changes`` (``batch_end`` on the last)."""
        last = len(changes) - 1
        return [
            BookDelta(
                stream=order.stream,
                symbol=order.symbol,
                seq=order.seq,
                venue_seq=order.venue_seq,
                ts_exchange=order.ts_exchange,
                ts_recv=order.ts_recv,
                side=change.side,
                price=change.price,
                size=change.size,
                action=change.action,
                batch_end=index == last,
                price_decimals=order.price_decimals,
                size_decimals=order.size_decimals,
            )
            for index, change in enumerate(changes)
        ]

    def clear(self) -> None:
        self.orders.clear()
        self.book.clear()

    def __len__(self) -> int:
        return len(self.orders)
