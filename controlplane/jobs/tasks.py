"""The base task class shared by every Celery task of the control plane."""

from __future__ import annotations

from celery import Task

__all__ = ["IdempotentTask"]


class IdempotentTask(Task):
    """Tasks take ids and may run twice: retry transient errors with backoff, log the rest."""

    abstract = True
    autoretry_for = (ConnectionError, TimeoutError)
    retry_backoff = True
    retry_backoff_max = 60
    max_retries = 5
    acks_late = True
