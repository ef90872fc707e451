"""The decoder's own view of a book: which price levels are live, in price order.

The decoder needs it to tell ``new`` from ``change`` deltas, to truncate a book to the venue's
subscribed depth, and to verify the venue's checksum over the top levels. It is deliberately
small (``ingest`` does not import ``pipelines.core``): a dict of levels and a sorted list of keys
with the best level last (bids keyed by ``price``, asks by ``-price``), so the best level and the
top N are cheap and updates near the top move few keys.
"""

from __future__ import annotations

from bisect import bisect_left, insort

__all__ = ["BookView", "SideView"]


class SideView:
    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[int, int] = {}
        self.keys: list[int] = []

    def set(self, price: int, size: int) -> str:
        """Apply one level; returns the delta action (new, change, delete)."""
        levels = self.levels
        if size:
            if price in levels:
                levels[price] = size
                return "change"
            insort(self.keys, self.sign * price)
            levels[price] = size
            return "new"
        if price in levels:
            del levels[price]
            key = self.sign * price
            keys = self.keys
            if keys[-1] == key:
                keys.pop()
            else:
                del keys[bisect_left(keys, key)]
        return "delete"

    def top(self, depth: int) -> list[tuple[int, int]]:
        sign, levels = self.sign, self.levels
        return [(sign * k, levels[sign * k]) for k in reversed(self.keys[-depth:])]

    def truncate(self, depth: int) -> list[int]:
        """Drop the levels beyond ``depth``; returns their prices (worst first)."""
        excess = len(self.keys) - depth
        if excess <= 0:
            return []
        dropped = self.keys[:excess]
        del self.keys[:excess]
        sign = self.sign
        for key in dropped:
            del self.levels[sign * key]
        return [sign * key for key in dropped]

    def clear(self) -> None:
        self.levels.clear()
        self.keys.clear()

    def __len__(self) -> int:
        return len(self.keys)


class BookView:
    __slots__ = ("asks", "bids", "ids")

    def __init__(self) -> None:
        self.bids = SideView(1)
        self.asks = SideView(-1)
        # Level id -> (side, price), for venues that key updates by a level id and send the
        # price only with the insert.
        self.ids: dict[object, tuple[str, int]] = {}

    def side(self, side: str) -> SideView:
        return self.bids if side == "bid" else self.asks

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.ids.clear()
