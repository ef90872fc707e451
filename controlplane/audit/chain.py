"""The hash chain: canonical JSON of an entry plus the previous entry's hash.

Pure (no Django): the functions here take anything with the entry's attributes.

- Unkeyed entries: ``hash = sha256(canonical JSON)``. Keyed entries (``TICKERPLANT_AUDIT_KEY``
  set when written): the body carries ``key_id`` too and ``hash = HMAC-SHA256(key, body)``, so
  nobody without the key can recompute the chain after altering it.
- :func:`verify_chain` walks the entries in order and names the first deleted, inserted or altered
  one; :func:`check_anchor` then compares the chain with the head anchored outside the database,
  which is what catches a truncated chain or one whose hashes were all recomputed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "GENESIS_HASH",
    "ChainBreak",
    "ChainEntry",
    "ChainReport",
    "Keyring",
    "canonical",
    "entry_hash",
    "key_id_of",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


class ChainEntry(Protocol):
    position: int
    created_at: dt.datetime
    actor: str
    action: str
    target: str
    data: Any
    prev_hash: str
    hash: str
    key_id: str


def canonical(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def key_id_of(key: bytes) -> str:
    """A short public name of a key (never the key): which key an entry or anchor needs."""
    return hashlib.sha256(b"tickerplant-audit-key-id\0" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The audit keys: ``current`` signs new entries and anchors ("" for none); ``keys`` (by
    key id) verify, so entries written under an older key still verify after a rotation."""

    keys: Mapping[str, bytes] = field(default_factory=dict)
    current: str = ""

    @classmethod
    def of(cls, current: bytes | None, *older: bytes) -> Keyring:
        keys = {key_id_of(key): key for key in (*older, *([current] if current else []))}
        return cls(keys, key_id_of(current) if current else "")

    def mac(self, key_id: str, body: bytes) -> str:
        """HMAC-SHA256 of ``body`` under key ``key_id``; KeyError when the ring lacks it."""
        return hmac.new(self.keys[key_id], body, hashlib.sha256).hexdigest()


def entry_hash(
    *,
    position: int,
    created_at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    data: Any,
    prev_hash: str,
    key_id: str = "",
    keyring: Keyring | None = None,
) -> str:
    """The entry's hash; ``key_id`` non-empty needs ``keyring`` to hold that key."""
    body: dict[str, Any] = {
        "position": position,
        "created_at": created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "data": data,
        "prev_hash": prev_hash,
    }
    if not key_id:  # the original, unkeyed form: chains written before keys existed still verify
        return hashlib.sha256(canonical(body)).hexdigest()
    if keyring is None:
        raise KeyError(key_id)
    body["key_id"] = key_id
    return keyring.mac(key_id, canonical(body))


@dataclass(frozen=True)
class ChainBreak:
    position: int
    """The first entry that is wrong (or missing, or the anchored position)."""
    kind: str
    """``deleted``, ``inserted``, ``altered``, ``rewritten``, ``truncated``, ``unverifiable``."""
    reason: str


@dataclass
class ChainReport:
    """What a walk over the chain found: entries checked, head, and the first break if any."""

    checked: int = 0
    head_position: int = 0
    head_hash: str = GENESIS_HASH
    broken: ChainBreak | None = None
    hashes_at: dict[int, str] = field(default_factory=dict)
    """The stored hash at each position asked for (the anchor's checkpoints)."""
    first_keyed: int = 0
    """The first position of a keyed entry (0: none)."""


def verify_chain(
    entries: Iterable[ChainEntry],
    keyring: Keyring,
    *,
    want: Iterable[int] = (),
    start: ChainEntry | None = None,
) -> ChainReport:
    """Walk ``entries`` (ascending positions) and stop at the first break.

    ``start``: the entry just before the first of ``entries`` (a walk that resumes mid-chain,
    e.g. from the anchored head); None walks from position 1. ``want``: positions whose stored
    hash the report should carry.

    The link to the previous entry is checked before the entry's own hash: an entry inserted in
    the middle shifts the positions after it, and the entry after it still links to the one
    before it, which names the inserted entry rather than the shifted one.
    """
    wanted = set(want)
    report = ChainReport()
    before_prev: str | None = None
    prev_hash = start.hash if start is not None else GENESIS_HASH
    expected = start.position + 1 if start is not None else 1
    keyed = bool(start is not None and start.key_id)
    if start is not None:
        report.head_position, report.head_hash = start.position, start.hash
    for entry in entries:
        position = entry.position
        if position != expected:
            missing = (
                f"#{expected}" if position == expected + 1 else f"#{expected}..#{position - 1}"
            )
            report.broken = ChainBreak(
                expected,
                "deleted",
                f"entry {missing} missing (deleted): the chain jumps to #{position}",
            )
            return report
        if entry.prev_hash != prev_hash:
            if before_prev is not None and entry.prev_hash == before_prev:
                report.broken = ChainBreak(
                    position - 1,
                    "inserted",
                    f"entry #{position - 1} was inserted: #{position} links to the entry before it",
                )
            else:
                report.broken = ChainBreak(
                    position,
                    "altered",
                    f"entry #{position} does not link to #{position - 1} "
                    "(prev_hash differs: one of them was altered)",
                )
            return report
        if keyed and not entry.key_id:
            report.broken = ChainBreak(
                position,
                "altered",
                f"entry #{position} is not keyed but an entry before it is "
                "(written or rewritten without the audit key)",
            )
            return report
        try:
            actual = entry_hash(
                position=position,
                created_at=entry.created_at,
                actor=entry.actor,
                action=entry.action,
                target=entry.target,
                data=entry.data,
                prev_hash=entry.prev_hash,
                key_id=entry.key_id,
                keyring=keyring,
            )
        except KeyError:
            report.broken = ChainBreak(
                position,
                "unverifiable",
                f"entry #{position} is keyed with key id {entry.key_id}, and "
                "neither TICKERPLANT_AUDIT_KEY nor TICKERPLANT_AUDIT_OLD_KEYS is that key: "
                "it cannot be verified",
            )
            return report
        if not hmac.compare_digest(actual, entry.hash):
            how = " (keyed: altered, or forged without the key)" if entry.key_id else ""
            report.broken = ChainBreak(
                position,
                "altered",
                f"entry #{position} was altered: its content does not match its hash{how}",
            )
            return report
        if entry.key_id and not keyed:
            keyed = True
            report.first_keyed = position
        if position in wanted:
            report.hashes_at[position] = entry.hash
        before_prev, prev_hash = prev_hash, entry.hash
        expected += 1
        report.checked += 1
        report.head_position, report.head_hash = position, entry.hash
    return report
