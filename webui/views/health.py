"""Open endpoints: /healthz (up), /readyz (database, config store, workers, Celery), /metrics.

``/readyz`` is ready only when every check is ``ok``:
- ``workers``: each of the ``TICKERPLANT_WORKERS`` workers reported ``up`` by the supervisor
  (``Heartbeat`` rows ``worker-<i>`` written by :class:`controlplane.fleet.reporting.FleetReporter`)
  within ``TICKERPLANT_FLEET_REPORT_STALE_SECONDS`` (older: the supervisor is gone);
- ``worker-<i>``: what each worker reports about itself (:mod:`pipelines.worker_status`): an
  error when all its sources have failed, or its report is stale (its event loop is stuck);
- ``celery`` (unless ``TICKERPLANT_CELERY=0``): the heartbeat task, which beat sends and a
  worker runs, recorded within ``TICKERPLANT_CELERY_STALE_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from controlplane.fleet.failover import worker_name
from controlplane.fleet.models import Heartbeat
from pipelines.config_stores import open_store
from pipelines.worker_status import judge, read_status, status_dir
from webui.metrics import REGISTRY

__all__ = ["healthz", "metrics", "readyz"]


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; say which
        checks["database"] = f"error: {exc}"
    try:
        store = open_store(settings.TICKERPLANT_CONFIG_STORE)
        try:
            spec = store.get()
        finally:
            store.close()
        checks["config_store"] = f"ok (spec v{spec.version})" if spec else "ok (empty)"
    except Exception as exc:  # idem
        checks["config_store"] = f"error: {exc}"
    if checks["database"] == "ok":
        beats = {beat.process: beat for beat in Heartbeat.objects.all()}
        checks["workers"] = _workers_check(beats)
        if settings.TICKERPLANT_CELERY_EXPECTED:
            checks["celery"] = _celery_check(beats.get("celery-worker"))
    checks.update(_worker_checks())
    ready = all(value.startswith("ok") for value in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _age(beat: Heartbeat) -> float:
    return (timezone.now() - beat.last_seen) / dt.timedelta(seconds=1)


def _workers_check(beats: dict[str, Heartbeat]) -> str:
    count = settings.TICKERPLANT_WORKERS
    stale_after = settings.TICKERPLANT_FLEET_REPORT_STALE_SECONDS
    problems = []
    for index in range(count):
        name = worker_name(index)
        beat = beats.get(name)
        if beat is None:
            problems.append(f"{name} not reported yet")
        elif _age(beat) > stale_after:
            problems.append(f"{name} not reported for {_age(beat):.0f} s (supervisor gone?)")
        elif beat.state != "up":
            problems.append(f"{name} {beat.state}: {beat.detail}")
    if problems:
        return "error: " + "; ".join(problems)
    return f"ok ({count} up)"


def _celery_check(beat: Heartbeat | None) -> str:
    if beat is None:
        return "error: no Celery heartbeat yet (worker or beat not running, or starting)"
    age = _age(beat)
    if age > settings.TICKERPLANT_CELERY_STALE_SECONDS:
        return f"error: no Celery heartbeat for {age:.0f} s (worker or beat down, or busy)"
    return f"ok (heartbeat {age:.0f} s ago)"


def _worker_checks() -> dict[str, str]:
    """``worker-<i>`` for each worker that has reported (pipelines.worker_status): an error
    when its report is stale or all its sources failed. A worker that has not reported yet
    (starting, or no platform running here) is not judged."""
    directory = status_dir(settings.VAR_DIR)
    checks: dict[str, str] = {}
    now = time.time()
    for index in range(settings.TICKERPLANT_WORKERS):
        try:
            status = read_status(directory, index)
        except (OSError, ValueError) as exc:
            checks[f"worker-{index}"] = f"error: {exc}"
            continue
        if status is not None:
            checks[f"worker-{index}"] = judge(status, now)
    return checks


def _metrics_allowed(request: HttpRequest) -> bool:
    networks = settings.TICKERPLANT_METRICS_NETWORKS
    token = settings.TICKERPLANT_METRICS_TOKEN
    if not networks and not token:
        return True
    if token and request.headers.get("Authorization", "") == f"Bearer {token}":
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
