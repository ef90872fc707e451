"""Fleet bookkeeping: heartbeats of the control plane's own processes."""

from __future__ import annotations

from django.db import models

__all__ = ["Heartbeat"]


class Heartbeat(models.Model):
    """The last time a process (``celery-beat``, ``worker-0``...) reported it was alive."""

    process = models.CharField(max_length=100, unique=True)
    pid = models.PositiveIntegerField(default=0)
    last_seen = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["process"]

    def __str__(self) -> str:
        return f"{self.process} @ {self.last_seen:%H:%M:%S}"
