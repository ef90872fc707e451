"""Process entry points: ``worker`` (spec from a config store) and ``run`` (spec from a file).

Both run on uvloop, freeze the start-up heap out of the GC's reach (``gc.freeze``: fewer, shorter
collections), and stop cleanly on SIGTERM/SIGINT: sources stop, sinks close, rings are unlinked,
exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any

import msgspec
import uvloop

from pipelines.config_stores import open_store
from pipelines.runtime.metrics import WorkerMetrics, metrics_port_for
from pipelines.runtime.status import status_line
from pipelines.runtime.worker import Worker
from pipelines.spec import PipelineSpec

__all__ = ["run_config", "run_worker"]

log = logging.getLogger(__name__)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _run(main: Coroutine[Any, Any, int]) -> int:
    return uvloop.run(main)


def run_worker(
    store_url: str,
    index: int,
    count: int,
    shard: tuple[int, int] | None,
    metrics_port: int | None,
) -> int:
    return _run(_worker_main(store_url, index, count, shard, metrics_port))


async def _worker_main(
    store_url: str, index: int, count: int, shard: tuple[int, int] | None, metrics_port: int | None
) -> int:
    stop = _stop_event()
    store = open_store(store_url)
    metrics = WorkerMetrics()
    port = metrics.serve(metrics_port_for(index) if metrics_port is None else metrics_port)
    worker = Worker(
        index=index,
        count=count,
        shard=shard,
        shm_prefix=os.environ.get("TICKERPLANT_SHM_PREFIX", ""),
        metrics=metrics,
    )
    log.info("worker %d/%d: store %s, metrics on port %d", index, count, store_url, port)
    frozen = False

    async def after_apply(spec: PipelineSpec) -> None:
        nonlocal frozen
        if not frozen:  # the start-up heap (imports, first plugins) never needs collecting
            gc.freeze()
            frozen = True

    follow = asyncio.create_task(worker.follow(store, after_apply), name="config-watch")
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({follow, stopped}, return_when=asyncio.FIRST_COMPLETED)
    follow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await follow
    if not follow.cancelled() and follow.exception() is not None:
        log.error("config watch failed: %s", follow.exception())
    stopped.cancel()
    await worker.stop()
    store.close()
    metrics.close()
    return 0


def run_config(config_path: str, status_interval: float, metrics_port: int | None) -> int:
    return _run(_run_main(config_path, status_interval, metrics_port))


async def _run_main(config_path: str, status_interval: float, metrics_port: int | None) -> int:
    # Lazy: the lead's loader, and only this command needs it.
    from pipelines.config_file import load_config

    prefix = os.environ.get("TICKERPLANT_SHM_PREFIX") or f"tickerplant-run-{os.getpid()}"
    try:
        spec = load_config(config_path)
    except (OSError, ValueError) as exc:
        print(f"[run] cannot load {config_path}: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = _stop_event()
    metrics = WorkerMetrics()
    port = metrics.serve(0 if metrics_port is None else metrics_port)
    worker = Worker(shm_prefix=prefix, metrics=metrics)
    if not await worker.apply(spec):
        print(f"[run] {config_path} was rejected (see the log)", file=sys.stderr, flush=True)
        await worker.stop()
        return 2
    gc.freeze()
    print(f"[run] {config_path}: shm prefix {prefix}, metrics on port {port}", flush=True)
    tasks = [
        asyncio.create_task(_print_status(worker, status_interval)),
        asyncio.create_task(_watch_config(worker, config_path)),
    ]
    await stop.wait()
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await worker.stop()
    metrics.close()
    print("[run] stopped", flush=True)
    return 0


async def _print_status(worker: Worker, interval: float) -> None:
    last_count, last_time = worker.source_events, time.monotonic()
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        rate = (worker.source_events - last_count) / max(now - last_time, 1e-9)
        last_count, last_time = worker.source_events, now
        print(status_line(worker.pipeline, rate, ingest=worker.ingest_rates()), flush=True)


async def _watch_config(worker: Worker, path: str, poll_interval: float = 0.5) -> None:
    """Live-apply edits of the config file; a bad edit is reported and the old spec runs on."""
    from pipelines.config_file import load_config

    def identity() -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    seen = identity()
    version = worker.spec.version if worker.spec is not None else 0
    while True:
        await asyncio.sleep(poll_interval)
        current = identity()
        if current is None or current == seen:
            continue
        seen = current
        try:
            spec = load_config(path)
        except (OSError, ValueError) as exc:
            print(f"[run] {path} not applied: {exc}", file=sys.stderr, flush=True)
            continue
        version += 1
        if await worker.apply(msgspec.structs.replace(spec, version=version)):
            print(f"[run] applied {path} (version {version})", flush=True)
        else:
            print(
                f"[run] {path} rejected; the previous config runs on", file=sys.stderr, flush=True
            )
