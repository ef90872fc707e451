"""The hash chain: canonical JSON of an entry plus the previous entry's hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["GENESIS_HASH", "ChainBreak", "entry_hash", "first_break"]

GENESIS_HASH = "0" * 64


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(
    *,
    position: int,
    created_at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "position": position,
        "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "data": data,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(_canonical(body)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    position: int
    reason: str


def first_break(entries: Any) -> tuple[int, ChainBreak | None]:
    """Walk entries in order; returns (entries checked, the first break or None)."""
    prev = GENESIS_HASH
    expected_position = 1
    checked = 0
    for entry in entries:
        if entry.position != expected_position:
            return checked, ChainBreak(
                entry.position, f"expected position {expected_position} (an entry is missing)"
            )
        if entry.prev_hash != prev:
            return checked, ChainBreak(
                entry.position, "prev_hash does not match the previous entry"
            )
        actual = entry_hash(
            position=entry.position,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            data=entry.data,
            prev_hash=entry.prev_hash,
        )
        if actual != entry.hash:
            return checked, ChainBreak(entry.position, "content does not match its hash (altered)")
        prev = entry.hash
        expected_position += 1
        checked += 1
    return checked, None
