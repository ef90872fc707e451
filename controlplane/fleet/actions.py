"""Writes of the fleet app."""

from __future__ import annotations

import os

from django.db.models import F
from django.utils import timezone

from controlplane.fleet.models import Heartbeat

__all__ = ["do_record_heartbeat", "do_record_process_state"]


def do_record_heartbeat(process: str, pid: int | None = None) -> Heartbeat:
    """Idempotent per call: upsert the row, bump the counter."""
    now = timezone.now()
    beat, created = Heartbeat.objects.get_or_create(
        process=process, defaults={"pid": pid or os.getpid(), "last_seen": now, "beats": 1}
    )
    if not created:
        Heartbeat.objects.filter(pk=beat.pk).update(
            pid=pid or os.getpid(), last_seen=now, beats=F("beats") + 1
        )
        beat.refresh_from_db()
    return beat


def do_record_process_state(process: str, pid: int, state: str, detail: str = "") -> None:
    """The supervisor's report of one process: its state now (``up``, ``starting``, ``down``)."""
    Heartbeat.objects.update_or_create(
        process=process,
        defaults={"pid": pid, "state": state, "detail": detail[:300], "last_seen": timezone.now()},
    )
