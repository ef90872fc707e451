# cython: boundscheck=False, wraparound=False
# (every index here is a ring index masked into [0, capacity) or below a count the ring holds)
"""The ring of a rolling window: entries in arrays, the eviction rule, the recompute schedule.

One source (docs/decisions/0117): this module runs as Python, and ``rolling_kernel.pxd`` compiles
it to a C class whose columns are C arrays (typed memoryviews over the same ``array`` objects).
The semantics are those :mod:`.window` documents: the last N entries and/or those with
``ts > now - T``; running sums kept *minus a reference* and recomputed from the retained entries
once every ``max(len, 64)`` updates, and at once when removals leave 8 entries or fewer.

A kernel keeps times and up to three float columns in one ring (capacity a power of two, doubled
when full); subclasses hold their running sums, and override ``_drop_oldest`` (read the oldest
entry's values, take them out of the sums, then ``_pop``) and ``_recompute``.
"""

from __future__ import annotations

import sys
from array import array

from pipelines.core.calculators.kernel import SeriesKernel

__all__ = ["RollingKernel"]

# C constants when compiled (rolling_kernel.pxd): compared on every update.
RECOMPUTE_MIN = 64
SMALL = 8
INITIAL = 16  # entries a new ring holds before its first doubling


def _doubles(n: int) -> array[float]:
    return array("d", bytes(8 * n))


class RollingKernel(SeriesKernel):
    """The window's ring. Times are integer ns (``ts_recv``) from 0 up, held as int64."""

    def __init__(self, columns: int) -> None:
        self._ncols = columns
        self._cap = INITIAL
        self._mask = INITIAL - 1
        self._head = 0  # index of the oldest entry
        self._n = 0  # entries held
        self._since = 0  # updates since the sums were last recomputed
        self._limit = sys.maxsize  # entries kept
        self._span = 0  # ns kept (0: no span)
        self._t = array("q", bytes(8 * INITIAL))
        self._c0 = _doubles(INITIAL if columns > 0 else 0)
        self._c1 = _doubles(INITIAL if columns > 1 else 0)
        self._c2 = _doubles(INITIAL if columns > 2 else 0)
        self._scratch = _doubles(INITIAL)  # one column's terms, for the recomputes' fsum

    def set_window(self, limit: int, span: int) -> None:
        """Keep at most ``limit`` entries and/or those of the last ``span`` ns (0: no span)."""
        self._limit = min(limit, sys.maxsize)
        self._span = span

    def resize(self, limit: int, span: int) -> None:
        """A new window keeps the retained entries that fit it (a longer window fills up)."""
        self.set_window(limit, span)
        if self._n:
            self._evict(self._t[(self._head + self._n - 1) & self._mask])
            self._since = 0
            self._recompute()

    def clear(self) -> None:
        while self._n:
            self._drop_oldest()
        self._since = 0
        self._recompute()

    def __len__(self) -> int:
        return self._n

    def _grow(self) -> None:
        """Double the ring and unwrap it (the oldest entry first, at index 0)."""
        cap = self._cap * 2
        t = array("q", bytes(8 * cap))
        c0 = _doubles(cap if self._ncols > 0 else 0)
        c1 = _doubles(cap if self._ncols > 1 else 0)
        c2 = _doubles(cap if self._ncols > 2 else 0)
        for i in range(self._n):
            k = (self._head + i) & self._mask
            t[i] = self._t[k]
            if self._ncols > 0:
                c0[i] = self._c0[k]
            if self._ncols > 1:
                c1[i] = self._c1[k]
            if self._ncols > 2:
                c2[i] = self._c2[k]
        self._t, self._c0, self._c1, self._c2 = t, c0, c1, c2
        self._scratch = _doubles(cap)
        self._cap = cap
        self._mask = cap - 1
        self._head = 0

    def _push(self, t: int, a: float, b: float, c: float) -> None:
        """The newest entry: its time and its values in the first ``columns`` columns."""
        if self._n == self._cap:
            self._grow()
        i = (self._head + self._n) & self._mask
        self._t[i] = t
        if self._ncols > 0:
            self._c0[i] = a
        if self._ncols > 1:
            self._c1[i] = b
        if self._ncols > 2:
            self._c2[i] = c
        self._n += 1

    def _pop(self) -> None:
        """The oldest entry leaves the ring (its values were read by the caller first)."""
        self._head = (self._head + 1) & self._mask
        self._n -= 1

    def _last(self) -> int:
        """The index of the newest entry (the ring holds one)."""
        return (self._head + self._n - 1) & self._mask

    def _evict(self, now: int) -> None:
        """Drop the entries outside the window; called after the newest entry was added."""
        before = self._n
        if self._span:
            horizon = now - self._span
            while self._n > self._limit or self._t[self._head] <= horizon:
                self._drop_oldest()
        else:
            while self._n > self._limit:
                self._drop_oldest()
        n = self._n
        self._since += 1
        # A window shrunk to a few entries is recomputed at once (O(SMALL)): removals leave a
        # rounding residue of the size of what left, which a few small entries cannot absorb.
        if (self._since >= RECOMPUTE_MIN and self._since >= n) or (n < before and n <= SMALL):
            self._since = 0
            self._recompute()

    def _drop_oldest(self) -> None:
        """Remove the oldest entry from every column and from the running sums."""
        self._pop()

    def _recompute(self) -> None:
        """Rebuild the running sums from the retained entries, around a fresh reference."""
