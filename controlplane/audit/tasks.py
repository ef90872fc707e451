"""Periodic anchoring of the audit chain head (Celery beat + worker)."""

from __future__ import annotations

from celery import shared_task

from controlplane.audit.actions import do_anchor_audit_head
from controlplane.audit.anchor import Anchor
from controlplane.jobs.tasks import IdempotentTask

__all__ = ["anchor_audit_head"]


@shared_task(base=IdempotentTask, name="controlplane.audit.tasks.anchor_audit_head")
def anchor_audit_head() -> int:
    """The anchored position, or -1 when the chain did not verify (logged as an error)."""
    result = do_anchor_audit_head()
    return result.position if isinstance(result, Anchor) else -1
