"""Fleet bookkeeping: heartbeats of the control plane's processes and the workers' states."""

from __future__ import annotations

from django.db import models

__all__ = ["Heartbeat"]


class Heartbeat(models.Model):
    """The last time a process reported it was alive, and its state.

    ``celery-worker``: written by the Celery heartbeat task (beat, broker and worker all work).
    ``worker-<i>``: written by the supervisor for its workers (:class:`FleetReporter`), with
    ``state`` ``up``, ``starting`` or ``down`` and why in ``detail``."""

    process = models.CharField(max_length=100, unique=True)
    pid = models.PositiveIntegerField(default=0)
    last_seen = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=20, default="up")
    detail = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["process"]

    def __str__(self) -> str:
        return f"{self.process} @ {self.last_seen:%H:%M:%S}"
