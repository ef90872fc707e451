"""The Django project of the Tickerplant control plane (settings, URLs, ASGI, Celery)."""

from controlplane.celery import app as celery_app

__all__ = ["celery_app"]
