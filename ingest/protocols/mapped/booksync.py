"""Book-sync rules: is this update the next one, a stale one, or does it show a gap?

A rule only compares ids; the book handler owns the book and the buffer. ``last`` is the id of
the last update applied (or the snapshot's id), ``fresh`` is true until the first update after a
snapshot is applied: venues allow that one to overlap the snapshot.

- ``update_id_range`` (Binance spot): an update covers ids ``[first, last]``. Stale when
  ``last <= L``; the first after a snapshot needs ``first <= L+1 <= last``; then ``first == L+1``.
- ``prev_id_chain`` (Binance futures, and venues with a "previous id" field): stale when
  ``last < L`` (fresh) or ``last <= L``; the first after a snapshot needs ``first <= L <= last``
  (``prev`` stands in for ``first`` when the venue gives none); then ``prev == L``.
- ``strict_increment``: one id per update; stale when ``id <= L``, else it must be ``L+1``.
- ``none``: every update applies.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final, Literal

__all__ = ["APPLY", "GAP", "STALE", "SymbolSync", "Verdict", "check"]

Verdict = Literal["apply", "stale", "gap"]
APPLY: Final = "apply"
STALE: Final = "stale"
GAP: Final = "gap"


def check(rule: str, last: int | None, fresh: bool, first: int, upto: int, prev: int) -> Verdict:
    """The verdict of ``rule`` for an update with ids ``first``..``upto`` (and ``prev``)."""
    if last is None or rule == "none":
        # No reference id yet (no snapshot id, or a rule without ids): the update sets it.
        return APPLY
    if rule == "update_id_range":
        if upto <= last:
            return STALE
        if fresh:
            return APPLY if first <= last + 1 <= upto else GAP
        return APPLY if first == last + 1 else GAP
    if rule == "prev_id_chain":
        if upto < last or (not fresh and upto <= last):
            return STALE
        if fresh:
            return APPLY if min(first, prev) <= last <= upto else GAP
        return APPLY if prev == last else GAP
    # strict_increment
    if upto <= last:
        return STALE
    return APPLY if upto == last + 1 else GAP


class SymbolSync:
    """Sync state of one symbol's book: SYNCING (no snapshot yet), LIVE, or RESYNC (after a gap)."""

    __slots__ = ("announced", "buffer", "fresh", "last", "state")

    def __init__(self, state: str, max_buffer: int) -> None:
        self.state = state
        self.last: int | None = None
        self.fresh = False
        self.announced = False
        # Updates that arrive before the snapshot; bounded: the oldest go first (counted).
        self.buffer: deque[tuple[Any, int]] = deque(maxlen=max_buffer)
