"""/readyz tells the truth about the workers and Celery, not only the database and the store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from controlplane.fleet.actions import do_record_heartbeat, do_record_process_state
from controlplane.fleet.models import Heartbeat
from controlplane.fleet.reporting import FleetReporter
from controlplane.fleet.supervisor import ChildState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_workers(settings: Any) -> None:
    settings.TICKERPLANT_WORKERS = 2
    settings.TICKERPLANT_CELERY_EXPECTED = True


def _all_up() -> None:
    for index in range(2):
        do_record_process_state(f"worker-{index}", 100 + index, "up", "running 5 s")
    do_record_heartbeat("celery-worker")


def _readyz(client: Client) -> tuple[int, dict[str, str]]:
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]


def test_ready_when_every_worker_and_celery_report(client: Client) -> None:
    _all_up()
    status, checks = _readyz(client)
    assert status == 200 and checks["workers"] == "ok (2 up)"
    assert checks["celery"].startswith("ok (heartbeat")


def test_nothing_reported_is_not_ready(client: Client) -> None:
    status, checks = _readyz(client)
    assert status == 503
    assert checks["workers"] == "error: worker-0 not reported yet; worker-1 not reported yet"
    assert checks["celery"].startswith("error: no Celery heartbeat yet")


def test_a_dead_worker_is_not_ready_and_named(client: Client) -> None:
    _all_up()
    do_record_process_state("worker-1", 0, "down", "exited (signal 9) 1 s ago; restarting")
    status, checks = _readyz(client)
    assert status == 503
    assert checks["workers"] == "error: worker-1 down: exited (signal 9) 1 s ago; restarting"


def test_reports_of_a_dead_supervisor_go_stale(client: Client) -> None:
    _all_up()
    Heartbeat.objects.filter(process__startswith="worker-").update(
        last_seen=timezone.now() - dt.timedelta(seconds=60)
    )
    status, checks = _readyz(client)
    assert (
        status == 503 and "worker-0 not reported for 60 s (supervisor gone?)" in checks["workers"]
    )


def test_dead_celery_is_not_ready(client: Client) -> None:
    _all_up()
    Heartbeat.objects.filter(process="celery-worker").update(
        last_seen=timezone.now() - dt.timedelta(seconds=120)
    )
    status, checks = _readyz(client)
    assert status == 503 and checks["celery"].startswith("error: no Celery heartbeat for 120 s")
    assert checks["workers"] == "ok (2 up)"


def test_without_celery_it_is_not_checked(client: Client, settings: Any) -> None:
    settings.TICKERPLANT_CELERY_EXPECTED = False
    for index in range(2):
        do_record_process_state(f"worker-{index}", 100 + index, "up")
    status, checks = _readyz(client)
    assert status == 200 and "celery" not in checks


def test_the_reporter_records_what_the_supervisor_sees() -> None:
    answering = {9100}
    reporter = FleetReporter(
        2, metrics_ports={0: 9100, 1: 9101}, port_answers=answering.__contains__
    )
    children = {
        "worker-0": ChildState(
            "worker-0", 11, started_at=0.0, exits=0, last_exit_at=0.0, last_exit_code=None
        ),
        "worker-1": ChildState(
            "worker-1", None, started_at=0.0, exits=1, last_exit_at=8.0, last_exit_code=-9
        ),
    }
    reporter(10.0, children)
    rows = {b.process: b for b in Heartbeat.objects.all()}
    assert (rows["worker-0"].state, rows["worker-0"].pid) == ("up", 11)
    assert (rows["worker-1"].state, rows["worker-1"].detail) == (
        "down",
        "exited (signal 9) 2 s ago; restarting",
    )
    children["worker-1"] = ChildState("worker-1", 12, 11.0, 1, 8.0, -9)
    reporter(11.0, children)  # within the interval: nothing written
    assert Heartbeat.objects.get(process="worker-1").state == "down"
    reporter(12.5, children)
    assert Heartbeat.objects.get(process="worker-1").state == "starting"
