"""``manage.py runplatform``: daphne, the workers and (embedded) Celery, supervised."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from controlplane.audit.actions import do_anchor_audit_head
from controlplane.catalog.publish import publish_catalog
from controlplane.fleet.failover import ShardFailover, worker_name
from controlplane.fleet.platform_lock import PlatformLock, PlatformRunning
from controlplane.fleet.reporting import FleetReporter
from controlplane.fleet.supervisor import ChildSpec, Observer, Supervisor, unlink_rings
from controlplane.paths import BASE_DIR
from pipelines.runtime.metrics import metrics_port_for

log = logging.getLogger(__name__)


def _anchor_audit() -> None:
    """Anchor the audit chain head (at start and at stop); a failure is logged, not fatal."""
    try:
        do_anchor_audit_head()
    except Exception:  # the store may be down: the platform runs, the error is in the log
        log.exception("audit: could not anchor the chain head")


def _unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


class Command(BaseCommand):
    help = (
        "Run the platform: publish the catalog's spec, start daphne on 127.0.0.1:PORT, N pipeline "
        "workers and (embedded mode) a Celery worker and beat; restart what dies, and move a dead "
        "worker's shards to the live workers until it is up again; stop all on Ctrl-C or SIGTERM "
        "and remove the shared-memory rings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=settings.TICKERPLANT_WORKERS)
        parser.add_argument("--port", type=int, default=settings.TICKERPLANT_PORT)
        parser.add_argument(
            "--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL"
        )
        parser.add_argument(
            "--no-celery", action="store_true", help="do not start the Celery worker and beat"
        )
        parser.add_argument(
            "--no-failover",
            action="store_true",
            help="do not move a dead worker's shards to the live workers (only restart it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers: int = options["workers"]
        port: int = options["port"]
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        unapplied = _unapplied_migrations()
        if unapplied:
            raise CommandError(
                f"{len(unapplied)} unapplied migration(s) ({', '.join(unapplied[:5])}); "
                "run `python manage.py migrate` first"
            )
        lock = PlatformLock(settings.VAR_DIR / "run", port)
        try:
            swept = lock.acquire()
        except PlatformRunning as exc:
            raise CommandError(str(exc)) from None
        try:
            self._run(options, workers, port, lock, swept)
        finally:
            lock.release()

    def _run(
        self, options: dict[str, Any], workers: int, port: int, lock: PlatformLock, swept: list[int]
    ) -> None:
        prefix = f"tickerplant-{port}"
        store = settings.TICKERPLANT_CONFIG_STORE
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "controlplane.settings"
            ),
            "TICKERPLANT_VAR_DIR": str(settings.VAR_DIR),
            "TICKERPLANT_PORT": str(port),
            "TICKERPLANT_WORKERS": str(workers),
            "TICKERPLANT_SHM_PREFIX": prefix,
            "TICKERPLANT_CONFIG_STORE": store,
            "PYTHONUNBUFFERED": "1",
            # /readyz expects a Celery heartbeat only where a Celery runs
            "TICKERPLANT_CELERY": "0"
            if options["no_celery"]
            else os.environ.get("TICKERPLANT_CELERY", "1"),
        }
        os.environ.update(env)
        # Every worker starts now: the default placement, whatever a previous run had moved.
        published = publish_catalog(
            "runplatform", workers=workers, store_url=store, placement=lambda count: {}
        )
        self.stdout.write(
            f"spec v{published.version} published to {store}"
            if published
            else f"spec unchanged in {store}"
        )
        stale = unlink_rings(prefix)  # stale rings of a previous run that was killed hard
        if swept or stale:
            self.stdout.write(
                f"cleaned up after a platform that died: {len(swept)} process group(s) killed, "
                f"{len(stale)} shared-memory ring(s) removed"
            )
        _anchor_audit()
        python = sys.executable
        children = [
            ChildSpec(
                "daphne",
                [
                    python,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "controlplane.asgi:application",
                ],
            ),
            *(
                ChildSpec(
                    worker_name(i),
                    [
                        python,
                        "-m",
                        "pipelines",
                        "worker",
                        "--store",
                        store,
                        "--index",
                        str(i),
                        "--count",
                        str(workers),
                    ],
                )
                for i in range(workers)
            ),
        ]
        if settings.TICKERPLANT_EMBEDDED and not options["no_celery"]:
            children += [
                ChildSpec(
                    "celery-worker",
                    [
                        python,
                        "-m",
                        "celery",
                        "-A",
                        "controlplane",
                        "worker",
                        "-P",
                        "solo",
                        "-l",
                        "INFO",
                        "-n",
                        f"{prefix}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                ),
                ChildSpec(
                    "celery-beat",
                    [
                        python,
                        "-m",
                        "celery",
                        "-A",
                        "controlplane",
                        "beat",
                        "-l",
                        "INFO",
                        "-s",
                        settings.CELERY_BEAT_SCHEDULE_FILENAME,
                    ],
                ),
            ]
        self.stdout.write(
            f"Tickerplant on http://127.0.0.1:{port}/ with {workers} worker(s); Ctrl-C stops"
        )
        self.stdout.flush()
        ports = {i: metrics_port_for(i) for i in range(workers)}
        observers: list[Observer] = [FleetReporter(workers, metrics_ports=ports)]
        if workers > 1 and not options["no_failover"]:
            observers.append(ShardFailover(workers, store_url=store, metrics_ports=ports))

        def stopped() -> None:
            unlink_rings(prefix)
            _anchor_audit()

        supervisor = Supervisor(
            children,
            env=env,
            cwd=BASE_DIR,
            grace_seconds=options["grace"],
            on_stopped=stopped,
            observers=observers,
            on_started=lock.record,
        )
        supervisor.run()
        self.stdout.write("Tickerplant stopped")
