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

from controlplane.catalog.publish import publish_catalog
from controlplane.fleet.failover import ShardFailover, worker_name
from controlplane.fleet.supervisor import ChildSpec, Observer, Supervisor, unlink_rings
from controlplane.paths import BASE_DIR
from pipelines.runtime.metrics import metrics_port_for

log = logging.getLogger(__name__)


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
        unlink_rings(prefix)  # stale rings of a previous run that was killed hard
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
        observers: list[Observer] = []
        if workers > 1 and not options["no_failover"]:
            ports = {i: metrics_port_for(i) for i in range(workers)}
            observers.append(ShardFailover(workers, store_url=store, metrics_ports=ports))
        supervisor = Supervisor(
            children,
            env=env,
            cwd=BASE_DIR,
            grace_seconds=options["grace"],
            on_stopped=lambda: unlink_rings(prefix),
            observers=observers,
        )
        supervisor.run()
        self.stdout.write("Tickerplant stopped")
