"""Process placement and GC policy for a worker: CPU pinning and ``gc.freeze``.

``--cpu auto`` pins worker ``i`` to core ``allowed[i % len(allowed)]`` (of the cores the process may
use), ``--cpu 0,2-3`` to an explicit set, no option leaves the scheduler free. Pinning keeps a
worker's caches warm and stops two busy workers from trading places on one core.

``gc.freeze()`` after start-up moves every object alive then (imports, plugins, the first spec)
into a permanent generation the collector never scans again: fewer and shorter collections on
the hot path. ``--no-gc-freeze`` turns it off (to measure, or to debug leaks with ``gc``).
"""

from __future__ import annotations

import gc
import os

__all__ = ["apply_gc_policy", "parse_cpus", "pin_cpus", "resolve_cpus"]


def parse_cpus(text: str) -> frozenset[int] | None:
    """``"auto"`` -> None (resolved per worker by :func:`resolve_cpus`); ``"0,2-3"`` -> {0,2,3}."""
    text = text.strip()
    if text == "auto":
        return None
    cpus: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"bad CPU list {text!r}: expected auto or e.g. 0,2-3") from None
        if first < 0 or last < first:
            raise ValueError(f"bad CPU range {part!r}")
        cpus.update(range(first, last + 1))
    if not cpus:
        raise ValueError("empty CPU list")
    return frozenset(cpus)


def resolve_cpus(requested: frozenset[int] | None, worker_index: int) -> frozenset[int]:
    """The set to pin to: ``requested``, or (auto) the ``worker_index``-th allowed core, modulo."""
    if requested is not None:
        return requested
    allowed = sorted(os.sched_getaffinity(0))
    return frozenset({allowed[worker_index % len(allowed)]})


def pin_cpus(cpus: frozenset[int]) -> frozenset[int]:
    """Pin this process to ``cpus``; returns the affinity now in force (OSError if refused)."""
    os.sched_setaffinity(0, cpus)
    return frozenset(os.sched_getaffinity(0))


def apply_gc_policy(freeze: bool) -> bool:
    """Call once start-up is done: freezes the heap when ``freeze``; returns whether it did."""
    if freeze:
        gc.freeze()
    return freeze
