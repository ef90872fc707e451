"""Prices by book level, per SecurityID and side, kept only to translate CME's level actions.

MDP 3.0 books are level-indexed (MDPriceLevel 1 = best) with a fixed depth per instrument, while
the platform's books are keyed by price (``BookDelta.price``). Most entries carry their price, but
four actions change levels the message does not name:
- ``New`` at level L shifts the levels below it down; the one pushed past the depth goes away;
- ``Overlay`` replaces the price at level L (the old price goes away);
- ``DeleteThru`` deletes levels 1..L, ``DeleteFrom`` deletes levels L..depth.
This shadow turns each into explicit price deletes. It only knows levels it has seen since the
instrument's first entry (or its last snapshot); unknown levels yield no deletes.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DEPTH", "DEFAULT_IMPLIED_DEPTH", "LevelShadow"]

# CME's published depths when no instrument definition said otherwise (GBX 10, GBI 2).
DEFAULT_DEPTH = 10
DEFAULT_IMPLIED_DEPTH = 2


class LevelShadow:
    __slots__ = ("books", "depths")

    def __init__(self) -> None:
        self.books: dict[tuple[int, str], list[int]] = {}
        self.depths: dict[tuple[int, bool], int] = {}

    def depth(self, security_id: int, implied: bool) -> int:
        found = self.depths.get((security_id, implied))
        if found is not None:
            return found
        return DEFAULT_IMPLIED_DEPTH if implied else DEFAULT_DEPTH

    def _levels(self, security_id: int, side: str) -> list[int]:
        key = (security_id, side)
        levels = self.books.get(key)
        if levels is None:
            levels = self.books[key] = []
        return levels

    def new(self, security_id: int, side: str, level: int, price: int, depth: int) -> int | None:
        """Insert; returns the price pushed out past ``depth``, if any."""
        levels = self._levels(security_id, side)
        levels.insert(min(max(level - 1, 0), len(levels)), price)
        return levels.pop() if len(levels) > depth else None

    def change(self, security_id: int, side: str, level: int, price: int) -> int | None:
        """Set the price at ``level``; returns the replaced price when it differs (overlay)."""
        levels = self._levels(security_id, side)
        index = level - 1
        if 0 <= index < len(levels):
            old = levels[index]
            levels[index] = price
            return old if old != price else None
        if index == len(levels):
            levels.append(price)
        return None

    def delete(self, security_id: int, side: str, level: int, price: int) -> None:
        levels = self._levels(security_id, side)
        index = level - 1
        if 0 <= index < len(levels) and levels[index] == price:
            del levels[index]
        elif price in levels:
            levels.remove(price)

    def delete_thru(self, security_id: int, side: str, level: int) -> list[int]:
        levels = self._levels(security_id, side)
        removed = levels[:level]
        del levels[:level]
        return removed

    def delete_from(self, security_id: int, side: str, level: int) -> list[int]:
        levels = self._levels(security_id, side)
        start = max(level - 1, 0)
        removed = levels[start:]
        del levels[start:]
        return removed

    def replace(self, security_id: int, side: str, prices: list[int]) -> None:
        self.books[(security_id, side)] = prices

    def clear(self, security_id: int | None = None) -> None:
        if security_id is None:
            self.books.clear()
            return
        for key in [key for key in self.books if key[0] == security_id]:
            del self.books[key]
