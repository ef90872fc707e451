"""Periodic bookkeeping run by Celery beat + worker (proves the embedded Celery is alive)."""

from __future__ import annotations

from celery import shared_task

from controlplane.fleet.actions import do_record_heartbeat
from controlplane.jobs.tasks import IdempotentTask

__all__ = ["record_heartbeat"]


@shared_task(base=IdempotentTask, name="controlplane.fleet.tasks.record_heartbeat")
def record_heartbeat(process: str = "celery-worker") -> int:
    return do_record_heartbeat(process).beats
