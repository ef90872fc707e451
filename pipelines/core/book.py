"""An L2 order book on integer prices.

Each side keeps a dict of levels (price -> size) and a sorted list of keys. Keys are ordered so
that the best level is always the *last* element: bids store ``price``, asks store ``-price``. Best
bid/ask is therefore O(1), and since most venue updates touch levels near the top, an insert or a
delete moves only the few keys behind it (bisect finds the spot in O(log n)); a size change of an
existing level is one dict store. Measured against bmoscon's ``order-book`` C extension and
sortedcontainers in ``bench/bench_book.py``.

Deltas of one venue message are applied one by one (:meth:`Book.apply`) or together
(:meth:`Book.apply_batch`); the book is consistent only after the message's ``batch_end`` entry.

Prices and sizes a book keeps must fit a signed 64-bit integer (less its minimum), the range the
wire and log encoding (msgpack) carries: setting a level beyond it raises OverflowError, deleting
one is ignored (no such level exists).

This module is the reference implementation. When the compiled twin ``_cbook`` is built (and
``TICKERPLANT_PURE_PYTHON`` is not set), ``Book`` and ``BookSideLevels`` are its classes: the same
API and results, with levels in C arrays of int64 (docs/decisions/0115). Its ``keys`` and
``levels`` are live read-only views of the reference's list and dict. ``PyBook`` and
``PyBookSideLevels`` always name the reference classes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from pipelines import accel
from pipelines.events import BookDelta, BookSide, BookSnapshot

__all__ = ["COMPILED", "Book", "BookSideLevels", "PyBook", "PyBookSideLevels"]

_LIMIT = 2**63 - 1  # |price| and |size| of a level: the int64 range, less INT64_MIN


def _out_of_range(what: str, value: int) -> OverflowError:
    return OverflowError(f"{what} {value} is out of the int64 range")


class BookSideLevels:
    """One side of a book. ``sign`` is +1 for bids and -1 for asks (the key of a price)."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, int] = {}
        self.keys: list[int] = []  # sign * price, ascending: the best level is keys[-1]

    def set(self, price: int, size: int) -> None:
        """Set a level's size; size 0 deletes it (a delete of an absent level is ignored)."""
        levels = self.levels
        if size:
            if not -_LIMIT <= size <= _LIMIT:
                raise _out_of_range("size", size)
            if price not in levels:
                if not -_LIMIT <= price <= _LIMIT:
                    raise _out_of_range("price", price)
                insort(self.keys, self.sign * price)
            levels[price] = size
        elif price in levels:
            del levels[price]
            keys = self.keys
            key = self.sign * price
            if keys[-1] == key:  # the common case: the top level goes away
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]

    def get(self, price: int) -> int:
        """The size at ``price`` (0 when there is no level)."""
        return self.levels.get(price, 0)

    def best(self) -> tuple[int, int] | None:
        if not self.keys:
            return None
        price = self.sign * self.keys[-1]
        return price, self.levels[price]

    def best_price(self) -> int | None:
        return self.sign * self.keys[-1] if self.keys else None

    def top(self, depth: int) -> list[tuple[int, int]]:
        """The best ``depth`` levels, best first."""
        if depth <= 0:
            return []
        levels = self.levels
        # A reversed slice of the keys (best first), one comprehension per sign: read at every
        # venue message for the published BookSnapshot.
        if self.sign > 0:
            return [(k, levels[k]) for k in self.keys[: -depth - 1 : -1]]
        return [(-k, levels[-k]) for k in self.keys[: -depth - 1 : -1]]

    def load(self, levels: Iterable[tuple[int, int]]) -> None:
        """Replace every level (a snapshot); entries of size 0 are skipped."""
        loaded = {price: size for price, size in levels if size}
        sign = self.sign
        keys = sorted(sign * price for price in loaded)
        # Range checks in C-speed passes (min/max), and before the side changes.
        if keys and not -_LIMIT <= keys[0] <= keys[-1] <= _LIMIT:
            bad = keys[0] if keys[0] < -_LIMIT else keys[-1]
            raise _out_of_range("price", sign * bad)
        if loaded and not -_LIMIT <= min(loaded.values()) <= max(loaded.values()) <= _LIMIT:
            raise _out_of_range("size", next(v for v in loaded.values() if abs(v) > _LIMIT))
        self.levels = loaded
        self.keys = keys

    def __len__(self) -> int:
        return len(self.levels)

    def clear(self) -> None:
        self.levels.clear()
        self.keys.clear()


class Book:
    """Price levels of one (stream, symbol); deltas are applied as the venue sends them."""

    __slots__ = ("asks", "bids", "price_decimals", "size_decimals", "stream", "symbol")

    def __init__(
        self, stream: str = "", symbol: str = "", price_decimals: int = 0, size_decimals: int = 0
    ) -> None:
        self.stream = stream
        self.symbol = symbol
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        # The reference side class, even where ``BookSideLevels`` names the compiled one.
        self.bids = PyBookSideLevels(1)
        self.asks = PyBookSideLevels(-1)

    def side(self, side: BookSide) -> BookSideLevels:
        return self.bids if side == "bid" else self.asks

    def apply(self, delta: BookDelta) -> None:
        """Apply one level entry: ``delete`` (or size 0) removes the level, else sets its size."""
        # BookSideLevels.set inlined: this is the hottest call of the pipeline.
        if delta.side == "bid":
            side, key = self.bids, delta.price
        else:
            side, key = self.asks, -delta.price
        levels = side.levels
        price = delta.price
        size = delta.size
        if size and delta.action != "delete":
            if not -_LIMIT <= size <= _LIMIT:
                raise _out_of_range("size", size)
            if price not in levels:
                if not -_LIMIT <= price <= _LIMIT:
                    raise _out_of_range("price", price)
                insort(side.keys, key)
            levels[price] = size
        elif price in levels:
            del levels[price]
            keys = side.keys
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]

    def apply_batch(self, deltas: Iterable[BookDelta]) -> None:
        """Apply the entries of one venue message, in order."""
        apply = self.apply
        for delta in deltas:
            apply(delta)

    def load(self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]]) -> None:
        """Replace the whole book by these levels (any order; size 0 entries are skipped)."""
        self.bids.load(bids)
        self.asks.load(asks)

    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        """Replace the book by a snapshot, taking its scale."""
        self.price_decimals = snapshot.price_decimals
        self.size_decimals = snapshot.size_decimals
        self.load(snapshot.bids, snapshot.asks)

    def best_bid(self) -> tuple[int, int] | None:
        # Inlined (no call to the side): read at every venue message.
        keys = self.bids.keys
        if not keys:
            return None
        price = keys[-1]
        return price, self.bids.levels[price]

    def best_ask(self) -> tuple[int, int] | None:
        keys = self.asks.keys
        if not keys:
            return None
        price = -keys[-1]
        return price, self.asks.levels[price]

    def best_bid_price(self) -> int | None:
        keys = self.bids.keys
        return keys[-1] if keys else None

    def best_ask_price(self) -> int | None:
        keys = self.asks.keys
        return -keys[-1] if keys else None

    def spread(self) -> int | None:
        """Best ask minus best bid (integer, book scale); None unless both sides exist."""
        bids, asks = self.bids.keys, self.asks.keys
        if not bids or not asks:
            return None
        return -asks[-1] - bids[-1]

    def crossed(self) -> bool:
        """True when the best bid is above the best ask."""
        bids, asks = self.bids.keys, self.asks.keys
        return bool(bids and asks and bids[-1] > -asks[-1])

    def two_sided(self) -> bool:
        """True when both sides have a level (the ``top_*`` readers' precondition)."""
        return bool(self.bids.keys and self.asks.keys)

    def top_bid_price(self) -> int:
        """The best bid's price (IndexError on an empty side)."""
        keys = self.bids.keys
        if not keys:
            raise IndexError("no bid")
        return keys[-1]

    def top_ask_price(self) -> int:
        """The best ask's price (IndexError on an empty side)."""
        keys = self.asks.keys
        if not keys:
            raise IndexError("no ask")
        return -keys[-1]

    def top_bid_size(self) -> int:
        """The best bid's size (IndexError on an empty side)."""
        keys = self.bids.keys
        if not keys:
            raise IndexError("no bid")
        return self.bids.levels[keys[-1]]

    def top_ask_size(self) -> int:
        """The best ask's size (IndexError on an empty side)."""
        keys = self.asks.keys
        if not keys:
            raise IndexError("no ask")
        return self.asks.levels[-keys[-1]]

    def locked(self) -> bool:
        """True when the best bid equals the best ask."""
        bids, asks = self.bids.keys, self.asks.keys
        return bool(bids and asks and bids[-1] == -asks[-1])

    def mid(self) -> float | None:
        """The mid price in instrument units (not scaled); None unless both sides exist."""
        bids, asks = self.bids.keys, self.asks.keys
        if not bids or not asks:
            return None
        return float((bids[-1] - asks[-1]) / (2 * 10**self.price_decimals))

    def top(self, depth: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return self.bids.top(depth), self.asks.top(depth)

    def snapshot(
        self, depth: int = 10, seq: int = 0, state: str = "", ts_recv: int = 0
    ) -> BookSnapshot:
        bids, asks = self.top(depth)
        return BookSnapshot(
            stream=self.stream,
            symbol=self.symbol,
            seq=seq,
            ts_recv=ts_recv,
            bids=bids,
            asks=asks,
            price_decimals=self.price_decimals,
            size_decimals=self.size_decimals,
            state=state,
        )

    def __len__(self) -> int:
        """Levels on both sides."""
        return len(self.bids.levels) + len(self.asks.levels)

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()


# The reference classes, whichever implementation runs (tests compare the two).
PyBook = Book
PyBookSideLevels = BookSideLevels

_compiled = accel.load("pipelines.core._cbook")
COMPILED = _compiled is not None
"""Whether ``Book`` and ``BookSideLevels`` are the compiled twin's classes."""
if _compiled is not None:
    Book = _compiled.Book  # type: ignore[misc]
    BookSideLevels = _compiled.BookSideLevels  # type: ignore[misc]
