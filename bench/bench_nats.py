"""NATS JetStream bus vs the in-process bus and the shared-memory ring, in one run.

    .venv/bin/python -m bench.bench_nats [--events 50000] [--url nats://127.0.0.1:4222]

Each transport carries the same msgpack-encoded trades (the NATS and ring paths encode and decode,
the in-process bus passes objects). Throughput: events/s from the first publish until the last
event was consumed (NATS: batched async publish with ``Nats-Msg-Id``, consumed by one shard's
durable pull consumer with explicit acks). Added latency: publish -> consume per event, at a paced
rate (not saturating), p50/p99. The bench runs in a namespace of its own and deletes its streams.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

from pipelines.bus import InProcessBus
from pipelines.bus.nats import (
    NatsLayout,
    NatsPublisher,
    ShardConsumer,
    connect,
    delete_plant,
    ensure_streams,
)
from pipelines.delivery.shm_ring import RingReader, RingWriter
from pipelines.events import Event, Trade, decode, encoder

BATCH = 256


def trades(count: int, stamp: bool = False) -> list[Trade]:
    now = time.perf_counter_ns
    return [
        Trade(
            stream="bench",
            symbol=f"S{i % 16}",
            seq=i + 1,
            price=1000 + i % 7,
            size=1,
            ts_recv=now() if stamp else 0,
        )
        for i in range(count)
    ]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- in-process ---------------------------------------------------------------------------------
def inprocess(events: list[Trade]) -> tuple[float, list[float]]:
    bus = InProcessBus()
    received = 0
    latencies: list[float] = []

    def handler(batch: list[Event]) -> None:
        nonlocal received
        received += len(batch)

    bus.subscribe(handler)
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        bus.publish(events[i : i + BATCH])  # type: ignore[arg-type]
    rate = received / (time.perf_counter() - started)
    bus.unsubscribe(handler)
    bus.subscribe(lambda b: latencies.extend((time.perf_counter_ns() - e.ts_recv) / 1e3 for e in b))
    for _ in range(2000):
        bus.publish([trades(1, stamp=True)[0]])
    return rate, latencies


# -- shared-memory ring ---------------------------------------------------------------------------
def ring(events: list[Trade]) -> tuple[float, list[float]]:
    path = f"/dev/shm/tickerplant-bench-{os.getpid()}-w0"
    writer = RingWriter(path, slots=1 << 17, slot_size=256)
    reader = RingReader(path)
    try:
        encode = encoder.encode
        started = time.perf_counter()
        received = 0
        for i in range(0, len(events), BATCH):
            for event in events[i : i + BATCH]:
                writer.publish("md.bench.S.trade", encode(event))
            received += sum(1 for _, _, payload in reader.poll(BATCH) if decode(payload))
        while received < len(events):
            received += len(reader.poll(4096))
        rate = received / (time.perf_counter() - started)
        latencies = []
        for event in trades(2000, stamp=False):
            stamped = Trade(stream=event.stream, symbol=event.symbol, seq=event.seq, price=1,
                            size=1, ts_recv=time.perf_counter_ns())  # fmt: skip
            writer.publish("md.bench.S.trade", encode(stamped))
            for _, _, payload in reader.poll(16):
                latencies.append((time.perf_counter_ns() - decode(payload).ts_recv) / 1e3)
        return rate, latencies
    finally:
        reader.close()
        writer.close()


# -- NATS JetStream -------------------------------------------------------------------------------
async def nats_bus(url: str, events: list[Trade]) -> tuple[float, float, list[float]]:
    client = await connect(url)
    layout = NatsLayout(f"bench{uuid.uuid4().hex[:8]}")
    await ensure_streams(client.jetstream(), layout)
    try:
        received: list[int] = [0]
        latencies: list[float] = []
        measuring = [False]

        def deliver(batch: list[Event]) -> None:
            received[0] += len(batch)
            if measuring[0]:
                now = time.perf_counter_ns()
                latencies.extend((now - e.ts_recv) / 1e3 for e in batch)

        publisher = NatsPublisher(client, layout, shard_count=1, capacity=len(events) + 1)
        consumer = ShardConsumer(client, layout, 0, deliver, batch=BATCH)
        await consumer.start()
        publisher.start()
        started = time.perf_counter()
        for i in range(0, len(events), BATCH):
            publisher.publish(events[i : i + BATCH])  # type: ignore[arg-type]
        await publisher.flush(120)
        publish_rate = len(events) / (time.perf_counter() - started)
        while received[0] < len(events):
            await asyncio.sleep(0.001)
        end_to_end = len(events) / (time.perf_counter() - started)
        measuring[0] = True
        base = len(events)
        for i in range(2000):  # paced: 2000 events/s, one per publish
            event = Trade(stream="bench", symbol="S0", seq=base + i + 1, price=1, size=1,
                          ts_recv=time.perf_counter_ns())  # fmt: skip
            publisher.publish([event])
            await asyncio.sleep(0.0005)
        await publisher.flush(60)
        while received[0] < base + 2000:
            await asyncio.sleep(0.001)
        await consumer.stop()
        await publisher.close()
        return publish_rate, end_to_end, latencies
    finally:
        await delete_plant(client.jetstream(), layout)
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--url", default=os.environ.get("TICKERPLANT_NATS_URL",
                                                        "nats://127.0.0.1:4222"))  # fmt: skip
    args = parser.parse_args()
    events = trades(args.events)
    in_rate, in_lat = inprocess(events)
    ring_rate, ring_lat = ring(events)
    pub_rate, nats_rate, nats_lat = asyncio.run(nats_bus(args.url, events))
    rows = [
        ("in-process bus", in_rate, in_lat),
        ("shm ring", ring_rate, ring_lat),
        ("NATS JetStream", nats_rate, nats_lat),
    ]
    print(f"{args.events} trades, batches of {BATCH}; latency at a paced rate (µs)")
    print(f"{'transport':<16}{'events/s':>12}{'vs NATS':>9}{'p50 µs':>10}{'p99 µs':>10}")
    for name, rate, lat in rows:
        print(f"{name:<16}{rate:>12,.0f}{rate / nats_rate:>8.1f}x"
              f"{statistics.median(lat):>10.1f}{pct(lat, 0.99):>10.1f}")  # fmt: skip
    ratio_ring = statistics.median(nats_lat) / statistics.median(ring_lat)
    ratio_inproc = statistics.median(nats_lat) / statistics.median(in_lat)
    print(
        f"NATS publish alone (acked): {pub_rate:,.0f} events/s; NATS p50 latency = "
        f"{ratio_ring:,.0f}x the ring's, {ratio_inproc:,.0f}x in-process"
    )


if __name__ == "__main__":
    main()
