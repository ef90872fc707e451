"""The chain head anchored outside the database, and what it proves about the chain.

An anchor is the head (position and hash) at a moment, plus checkpoints of earlier heads, written
to a store the database does not hold (:mod:`controlplane.audit.anchor_store`). Someone who can
rewrite the database but not the anchor can no longer truncate the chain (the anchored position is
missing) nor alter an entry and recompute every hash after it (the anchored hashes differ). With
an audit key the anchor carries an HMAC, so a forged anchor is refused too.

Pure (no Django).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from controlplane.audit.chain import ChainBreak, ChainReport, Keyring, canonical

__all__ = ["CHECKPOINTS", "Anchor", "AnchorError", "check_anchor", "decode_anchor", "next_anchor"]

CHECKPOINTS = 512
"""Checkpoints an anchor keeps: the most recent ones all, older ones thinned by halves."""


class AnchorError(ValueError):
    """The anchor cannot be read or trusted (unreadable, forged, or signed with an unknown key)."""


@dataclass(frozen=True)
class Anchor:
    position: int
    hash: str
    anchored_at: str
    """ISO-8601 UTC time of the anchoring."""
    checkpoints: tuple[tuple[int, str], ...] = ()
    """Earlier heads (position, hash), ascending; the last one is this head."""
    key_id: str = ""
    """The key that signed the anchor ("" when unsigned)."""
    mac: str = ""

    def body(self) -> bytes:
        return canonical(
            {
                "format": 1,
                "position": self.position,
                "hash": self.hash,
                "anchored_at": self.anchored_at,
                "checkpoints": [list(point) for point in self.checkpoints],
                "key_id": self.key_id,
            }
        )

    def encode(self) -> bytes:
        document = json.loads(self.body())
        document["mac"] = self.mac
        return json.dumps(document, indent=1).encode()


def _thin(points: Sequence[tuple[int, str]]) -> tuple[tuple[int, str], ...]:
    kept = list(points)
    while len(kept) > CHECKPOINTS:
        half = len(kept) // 2
        kept = kept[:half:2] + kept[half:]  # older half: every other one
    return tuple(kept)


def next_anchor(
    previous: Anchor | None, position: int, head_hash: str, at: str, keyring: Keyring
) -> Anchor:
    """The anchor of head ``position``/``head_hash``, after ``previous``; signed with the
    current key when there is one."""
    points = list(previous.checkpoints) if previous is not None else []
    if position and (not points or points[-1][0] != position):
        points.append((position, head_hash))
    anchor = Anchor(position, head_hash, at, _thin(points), keyring.current)
    if keyring.current:
        anchor = replace(anchor, mac=keyring.mac(keyring.current, anchor.body()))
    return anchor


def decode_anchor(data: bytes, keyring: Keyring) -> Anchor:
    try:
        document = json.loads(data)
        anchor = Anchor(
            position=int(document["position"]),
            hash=str(document["hash"]),
            anchored_at=str(document["anchored_at"]),
            checkpoints=tuple((int(p), str(h)) for p, h in document.get("checkpoints", [])),
            key_id=str(document.get("key_id", "")),
            mac=str(document.get("mac", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"the audit anchor is unreadable: {exc}") from None
    if anchor.key_id:
        if anchor.key_id not in keyring.keys:
            raise AnchorError(
                f"the audit anchor is signed with key id {anchor.key_id}, and neither "
                "TICKERPLANT_AUDIT_KEY nor TICKERPLANT_AUDIT_OLD_KEYS is that key"
            )
        if keyring.mac(anchor.key_id, anchor.body()) != anchor.mac:
            raise AnchorError("the audit anchor was forged or altered: its MAC does not verify")
    return anchor


def check_anchor(report: ChainReport, anchor: Anchor) -> ChainBreak | None:
    """What the anchor says about a chain that verified on its own (``report.broken`` is None).

    ``report.hashes_at`` must hold the stored hash at each checkpoint position."""
    if report.first_keyed and report.first_keyed <= anchor.position and not anchor.key_id:
        return ChainBreak(
            anchor.position,
            "unverifiable",
            f"the audit anchor (#{anchor.position}, {anchor.anchored_at}) is not signed, yet the "
            f"entries it covers are keyed from #{report.first_keyed}: the anchor was replaced",
        )
    head = report.head_position
    if anchor.position > head:
        if head == 0:
            reason = (
                f"every entry was deleted: the chain is empty, but the anchor of "
                f"{anchor.anchored_at} holds #{anchor.position}"
            )
        else:
            gone = (
                f"#{head + 1}"
                if anchor.position == head + 1
                else f"#{head + 1}..#{anchor.position}"
            )
            reason = (
                f"entry {gone} deleted (the chain was truncated): it ends at #{head}, but the "
                f"anchor of {anchor.anchored_at} holds #{anchor.position}"
            )
        return ChainBreak(head + 1, "truncated", reason)
    last_good = 0
    for position, anchored in anchor.checkpoints:
        if position > head:
            break
        if report.hashes_at.get(position) == anchored:
            last_good = position
            continue
        first = last_good + 1
        where = f"#{position}" if first == position else f"one of #{first}..#{position}"
        return ChainBreak(
            first,
            "rewritten",
            f"the chain was rewritten (hashes recomputed): #{position}'s hash is not the one "
            f"anchored; the first altered entry is {where}"
            + (f" (#{last_good} is still as anchored)" if last_good else ""),
        )
    return None
