"""Process entry points: ``worker`` (spec from a config store), ``ingest`` (sources only, onto
NATS) and ``run`` (spec from a file).

All run on uvloop, freeze the start-up heap out of the GC's reach (``gc.freeze``: fewer, shorter
collections; ``--no-gc-freeze`` turns it off), may be pinned to CPUs (``--cpu``), and stop
cleanly on SIGTERM/SIGINT: sources stop, shards are handed over, sinks close, rings are
unlinked, exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import msgspec
import uvloop

from pipelines.config_stores import ConfigStore, open_store
from pipelines.runtime.affinity import apply_gc_policy, pin_cpus, resolve_cpus
from pipelines.runtime.metrics import WorkerMetrics, metrics_port_for
from pipelines.runtime.status import status_line
from pipelines.runtime.worker import Worker
from pipelines.spec import PipelineSpec
from pipelines.worker_status import status_dir

__all__ = ["BusOptions", "run_config", "run_ingest", "run_worker"]

log = logging.getLogger(__name__)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _run(main: Coroutine[Any, Any, int]) -> int:
    return uvloop.run(main)


class BusOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Where a worker's events come from: its own sources (``url`` empty) or a NATS bus."""

    url: str = ""
    namespace: str = ""
    journal: str = ""
    """Append ``stream<TAB>seq<TAB>shard<TAB>lane`` of every event consumed from the bus."""
    lease_ttl: float = 10.0


def _place(index: int, cpus: frozenset[int] | bool | None) -> None:
    """``cpus``: False = no pinning, None = auto (core ``index`` mod cores), else that set."""
    if cpus is False:
        return
    pinned = pin_cpus(resolve_cpus(cpus if isinstance(cpus, frozenset) else None, index))
    log.info("worker %d pinned to CPUs %s", index, sorted(pinned))


def run_worker(
    store_url: str,
    index: int,
    count: int,
    shard: tuple[int, int] | None,
    metrics_port: int | None,
    *,
    bus: BusOptions | None = None,
    cpus: frozenset[int] | bool | None = False,
    gc_freeze: bool = True,
) -> int:
    _place(index, cpus)
    main = _worker_main(
        store_url, index, count, shard, metrics_port, bus or BusOptions(), gc_freeze
    )
    return _run(main)


async def _specs(store: ConfigStore[Any], strip_sources: bool) -> AsyncIterator[PipelineSpec]:
    async for spec in store.watch():
        # On the bus, sources run in the ingest process: the worker only consumes.
        yield msgspec.structs.replace(spec, sources={}) if strip_sources else spec


async def _worker_main(
    store_url: str,
    index: int,
    count: int,
    shard: tuple[int, int] | None,
    metrics_port: int | None,
    bus: BusOptions,
    gc_freeze: bool,
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
        status_dir=status_dir(),
    )
    worker.report_status()  # up, no sources yet: /readyz judges it from now on
    log.info("worker %d/%d: store %s, metrics on port %d", index, count, store_url, port)
    frozen = False
    runner = None
    journal = open(bus.journal, "a", encoding="utf-8") if bus.journal else None  # noqa: SIM115
    if bus.url:
        from pipelines.runtime.sharding import open_runner

        client, runner = await open_runner(
            bus.url, bus.namespace, f"w{index}", worker.bus.publish,
            on_change=lambda: worker.pipeline.set_owner(worker.bus_owns),  # type: ignore[arg-type]
            journal=journal, lease_ttl=bus.lease_ttl,
        )  # fmt: skip
        worker.bus_owns = runner.owns
        log.info("worker %d consumes NATS %s (namespace %r)", index, bus.url, bus.namespace)

    async def after_apply(spec: PipelineSpec) -> None:
        nonlocal frozen
        if runner is not None:
            shards, total = worker.owned_shards(spec)
            await runner.assign(shards, total, spec.version)
        if not frozen:  # the start-up heap (imports, first plugins) never needs collecting
            apply_gc_policy(gc_freeze)
            frozen = True

    async def follow_store() -> None:
        async for spec in _specs(store, strip_sources=runner is not None):
            if await worker.apply(spec):
                await after_apply(spec)

    follow = asyncio.create_task(follow_store(), name="config-watch")
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({follow, stopped}, return_when=asyncio.FIRST_COMPLETED)
    follow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await follow
    if not follow.cancelled() and follow.exception() is not None:
        log.error("config watch failed: %s", follow.exception())
    stopped.cancel()
    if runner is not None:  # hand every shard over before the process goes
        await runner.close()
        await client.drain()
    if journal is not None:
        journal.close()
    await worker.stop()
    store.close()
    metrics.close()
    return 0


def run_ingest(
    store_url: str, bus: BusOptions, *, cpus: frozenset[int] | bool | None = False
) -> int:
    """Sources only: follow the store's spec, run its sources, publish their events to NATS."""
    _place(0, cpus)
    return _run(_ingest_main(store_url, bus))


async def _ingest_main(store_url: str, bus: BusOptions) -> int:
    from pipelines.bus.nats import NatsLayout, NatsPublisher, connect, ensure_streams

    stop = _stop_event()
    store = open_store(store_url)
    client = await connect(bus.url)
    layout = NatsLayout(bus.namespace)
    await ensure_streams(client.jetstream(), layout)
    publisher = NatsPublisher(client, layout, shard_count=1)
    publisher.start()
    worker = Worker(shm_prefix=os.environ.get("TICKERPLANT_SHM_PREFIX", ""))
    worker.bus.unsubscribe(worker.pipeline.process)  # sources -> bus -> NATS, nothing else
    worker.bus.subscribe(publisher.publish)

    async def follow() -> None:
        async for spec in store.watch():
            only_sources = PipelineSpec(version=spec.version, sources=spec.sources,
                                        shards=spec.shards)  # fmt: skip
            publisher.shard_count = spec.shards.count
            await worker.apply(only_sources)

    task = asyncio.create_task(follow(), name="config-watch")
    print(f"[ingest] publishing to {bus.url} (namespace {bus.namespace!r})", flush=True)
    await stop.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await worker.stop()
    await publisher.close()
    await client.drain()
    store.close()
    print(
        f"[ingest] queued {publisher.queued} stored {publisher.stored} duplicates "
        f"{publisher.duplicates} dropped {publisher.dropped} failed {publisher.failed}",
        flush=True,
    )
    return 0


def run_config(
    config_path: str, status_interval: float, metrics_port: int | None, *, gc_freeze: bool = True
) -> int:
    return _run(_run_main(config_path, status_interval, metrics_port, gc_freeze))


async def _run_main(
    config_path: str, status_interval: float, metrics_port: int | None, gc_freeze: bool = True
) -> int:
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
    apply_gc_policy(gc_freeze)
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
        line = status_line(
            worker.pipeline, rate, ingest=worker.ingest_rates(), sources=worker.source_status()
        )
        print(line, flush=True)


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
