"""Writing and checking the audit trail."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from controlplane.audit.chain import GENESIS_HASH, ChainBreak, entry_hash, first_break
from controlplane.audit.models import AuditEntry

__all__ = ["actor_name", "check_audit_chain", "do_record_audit"]

_RETRIES = 5


def actor_name(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    return str(user.get_username())


def do_record_audit(actor: str, action: str, target: str, data: dict[str, Any]) -> AuditEntry:
    """Append one entry to the chain; concurrent writers race on the unique position and retry."""
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                last = AuditEntry.objects.order_by("-position").only("position", "hash").first()
                position = last.position + 1 if last else 1
                prev_hash = last.hash if last else GENESIS_HASH
                created_at = timezone.now()
                entry = AuditEntry(
                    position=position,
                    created_at=created_at,
                    actor=actor,
                    action=action,
                    target=target,
                    data=data,
                    prev_hash=prev_hash,
                )
                entry.hash = entry_hash(
                    position=position,
                    created_at=created_at,
                    actor=actor,
                    action=action,
                    target=target,
                    data=data,
                    prev_hash=prev_hash,
                )
                entry.save()
                return entry
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def check_audit_chain() -> tuple[int, ChainBreak | None]:
    """Verify the whole chain from the database; returns (entries verified, first break)."""
    return first_break(AuditEntry.objects.order_by("position").iterator(chunk_size=2000))
