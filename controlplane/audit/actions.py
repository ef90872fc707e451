"""Writing, anchoring and checking the audit trail."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from controlplane.audit.anchor import Anchor, AnchorError, check_anchor, decode_anchor, next_anchor
from controlplane.audit.anchor_store import open_anchor_store
from controlplane.audit.chain import (
    GENESIS_HASH,
    ChainBreak,
    ChainReport,
    Keyring,
    entry_hash,
    verify_chain,
)
from controlplane.audit.models import AuditEntry

__all__ = [
    "AuditKeyMissing",
    "AuditVerification",
    "actor_name",
    "audit_keyring",
    "check_audit_chain",
    "do_anchor_audit_head",
    "do_record_audit",
    "do_record_login",
    "do_record_login_failure",
    "do_record_logout",
]

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the chain head: every append takes it, so appends are serial.
_HEAD_LOCK = 0x7470_6175_6469_74  # "tpaudit"


class AuditKeyMissing(RuntimeError):
    """The chain is keyed but the key is not configured: appending would break the chain."""


def audit_keyring() -> Keyring:
    """The keys from the settings (``TICKERPLANT_AUDIT_KEY``, ``TICKERPLANT_AUDIT_OLD_KEYS``)."""
    current = settings.TICKERPLANT_AUDIT_KEY
    older = settings.TICKERPLANT_AUDIT_OLD_KEYS
    return Keyring.of(current.encode() if current else None, *(k.encode() for k in older))


def actor_name(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    return str(user.get_username())


def _lock_head() -> None:
    """Serialize appends on the chain head until the transaction ends.

    Postgres: a transaction-scoped advisory lock. SQLite: the settings open every transaction
    with BEGIN IMMEDIATE, which already holds the database's one write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HEAD_LOCK])


def do_record_audit(actor: str, action: str, target: str, data: dict[str, Any]) -> AuditEntry:
    """Append one entry to the chain, serialized with every other append on the chain head.

    Inside a caller's transaction the head stays locked until that transaction ends, so two
    writers never read the same head (the chain cannot fork; the unique position is the last
    guard)."""
    keyring = audit_keyring()
    with transaction.atomic():
        _lock_head()
        last = AuditEntry.objects.order_by("-position").only("position", "hash", "key_id").first()
        if last is not None and last.key_id and not keyring.current:
            raise AuditKeyMissing(
                f"the audit chain is keyed (key id {last.key_id}) but TICKERPLANT_AUDIT_KEY is "
                "not set: appending an unkeyed entry would break it"
            )
        position = last.position + 1 if last else 1
        prev_hash = last.hash if last else GENESIS_HASH
        created_at = timezone.now()
        entry = AuditEntry(
            position=position,
            created_at=created_at,
            actor=actor,
            action=action,
            target=target[:200],
            data=data,
            prev_hash=prev_hash,
            key_id=keyring.current,
        )
        entry.hash = entry_hash(
            position=position,
            created_at=created_at,
            actor=actor,
            action=action,
            target=entry.target,
            data=data,
            prev_hash=prev_hash,
            key_id=keyring.current,
            keyring=keyring,
        )
        entry.save()
    return entry


def do_record_login(username: str, address: str) -> AuditEntry:
    return do_record_audit(username, "auth.login", username, {"address": address})


def do_record_logout(username: str, address: str) -> AuditEntry:
    return do_record_audit(username, "auth.logout", username, {"address": address})


def do_record_login_failure(
    username: str, address: str, *, locked: bool, via: str = "login"
) -> AuditEntry:
    """A failed login (``via="login"``, the attempted username as target) or the lockout of a
    client address after failed tokens (``via="token"``); ``locked``: this failure locked."""
    return do_record_audit(
        "anonymous",
        "auth.login_failed" if via == "login" else "auth.token_locked",
        username,
        {"address": address, "locked": locked},
    )


@dataclass(frozen=True)
class AuditVerification:
    """The chain as verified, the anchor it was compared with, and the first problem."""

    report: ChainReport
    anchor: Anchor | None
    anchor_url: str
    broken: ChainBreak | None


def _read_anchor(url: str, keyring: Keyring) -> Anchor | None:
    store = open_anchor_store(url)
    try:
        data = store.read()
    finally:
        store.close()
    return decode_anchor(data, keyring) if data is not None else None


def check_audit_chain() -> AuditVerification:
    """Verify the whole chain, then compare it with the anchor (AnchorError if unreadable)."""
    keyring = audit_keyring()
    url = settings.TICKERPLANT_AUDIT_ANCHOR
    anchor = _read_anchor(url, keyring)
    want = [p for p, _ in anchor.checkpoints] if anchor is not None else []
    entries = AuditEntry.objects.order_by("position").iterator(chunk_size=2000)
    report = verify_chain(entries, keyring, want=want)
    broken = report.broken
    if broken is None and anchor is not None:
        broken = check_anchor(report, anchor)
    return AuditVerification(report, anchor, url, broken)


def do_anchor_audit_head() -> Anchor | ChainBreak:
    """Write the chain head to the anchor store, once the entries since the last anchor verify.

    Never moves the anchor over a chain that does not extend it: that would launder a
    truncation or a rewrite. Returns the new anchor, or the break that stopped it (logged)."""
    keyring = audit_keyring()
    url = settings.TICKERPLANT_AUDIT_ANCHOR
    store = open_anchor_store(url)
    try:
        data = store.read()
        try:
            previous = decode_anchor(data, keyring) if data is not None else None
        except AnchorError as exc:
            log.error("audit anchor %s: %s; not anchoring", url, exc)
            return ChainBreak(0, "unverifiable", str(exc))
        start = None
        if previous is not None and previous.position:
            start = AuditEntry.objects.filter(position=previous.position).first()
            if start is None or start.hash != previous.hash:
                head = AuditEntry.objects.order_by("-position").only("position").first()
                report = ChainReport(head_position=head.position if head else 0)
                report.hashes_at = {previous.position: start.hash} if start else {}
                broken = check_anchor(report, _only_head(previous)) or ChainBreak(
                    previous.position, "rewritten", "the anchored head differs"
                )
                log.error(
                    "audit chain: %s; not anchoring (run manage.py audit_verify)", broken.reason
                )
                return broken
        rest = AuditEntry.objects.order_by("position")
        if start is not None:
            rest = rest.filter(position__gt=start.position)
        report = verify_chain(rest.iterator(chunk_size=2000), keyring, start=start)
        if report.broken is not None:
            log.error(
                "audit chain: %s; not anchoring (run manage.py audit_verify)", report.broken.reason
            )
            return report.broken
        if (
            previous is not None
            and previous.position == report.head_position
            and (previous.key_id == keyring.current)
        ):
            return previous  # nothing new since the last anchor
        at = timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds")
        anchor = next_anchor(previous, report.head_position, report.head_hash, at, keyring)
        store.write(anchor.encode())
        return anchor
    finally:
        store.close()


def _only_head(anchor: Anchor) -> Anchor:
    return Anchor(
        anchor.position, anchor.hash, anchor.anchored_at, ((anchor.position, anchor.hash),)
    )
