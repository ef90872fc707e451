"""AuditEntry: append-only and hash-chained.

The model refuses updates and deletes; database triggers (migration 0002) refuse them to raw SQL
too, and on Postgres refuse TRUNCATE. Only the test runner's flush may lift them
(:mod:`controlplane.audit.maintenance`).
"""

from __future__ import annotations

from typing import Any

from django.db import models

__all__ = ["AuditEntry", "AuditImmutableError"]


class AuditImmutableError(RuntimeError):
    """Raised on any attempt to change or remove an audit entry through the ORM."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("audit entries are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit entries are append-only")


class AuditEntry(models.Model):
    """One change. ``hash`` = SHA-256 (or HMAC-SHA256 under the audit key) of the canonical
    JSON of the entry, ``prev_hash`` included (:mod:`controlplane.audit.chain`)."""

    position = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=16, blank=True, default="")
    """The audit key's id when the hash is an HMAC under it; "" for a plain SHA-256."""

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.position} {self.action} {self.target} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit entries are append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("audit entries are append-only")
