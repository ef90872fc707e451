"""How many WebSocket clients one daphne holds: subscribed, and still receiving at the end.

    .venv/bin/python -m bench.bench_ws_clients [--clients 200 1000] [--hold 30] [--feed sim]
        [--topics 'md.>'] [--procs 2] [--repo CHECKOUT]

For each client count: a fresh daphne (``tests/webui/live_daphne.py``: its own SQLite state, a
viewer token) reads the rings of a real feed: ``--feed sim`` runs ``python -m pipelines run
--config config.toml`` (the simulator, one worker, about 10,000 events/s); ``--feed synthetic``
writes book snapshots of ``--symbols`` symbols at ``--rate`` events/s from this process. The
clients (``--procs`` processes, ``--connect-concurrency`` handshakes in flight each) connect with
the token, subscribe to ``--topics`` and read for ``--hold`` seconds after the last handshake.

Printed, not judged: handshakes (ok / failed, seconds p50/p99/max), first data after the
subscribe, clients *held* (open at the end and given a data frame in the last ``--window``
seconds), data frames per client per second, delivery latency (event ``ts_recv`` to the client's
receipt, sampled), ``/healthz`` latency polled during the hold, daphne's CPU and RSS, ring
overruns, cut-offs and mailbox drops, and the subscriber gauge once the clients have gone.
``--repo`` serves another checkout (e.g. the main branch) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.webui.live_daphne import LiveDaphne, start_daphne  # noqa: E402


# --- client processes --------------------------------------------------------------------------
async def _client(
    url: str, topics: list[str], gate: asyncio.Semaphore, out: dict[str, Any]
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    try:
        async with gate:
            started = time.monotonic()  # the handshake itself, not the wait for a slot
            ws = await connect(
                url, max_size=None, compression=None, open_timeout=60, ping_interval=None
            )
    except Exception as exc:  # any failure is a failed handshake, counted by kind
        out["error"] = type(exc).__name__
        return
    out["handshake"] = time.monotonic() - started
    subscribed = time.monotonic()
    await ws.send(json.dumps({"op": "subscribe", "id": 1, "topics": topics}))
    out.update(frames=0, data=0, window=0, latency=[], errors=[], last=None, closed=None)
    data_seen = 0
    try:
        while True:
            message = await ws.recv()
            now = time.monotonic()
            out["frames"] += 1
            if message.startswith(('{"op": "delta"', '{"op": "snapshot"')):
                out["data"] += 1
                out["last"] = now
                if "first" not in out:
                    out["first"] = now - subscribed
                if now >= out.get("window_from", float("inf")):
                    out["window"] += 1
                data_seen += 1
                if data_seen % 25 == 1:  # a sample: parsing every frame would load the client
                    ts = json.loads(message)["data"].get("ts_recv") or 0
                    if ts:
                        out["latency"].append((time.time_ns() - ts) / 1e6)
            elif message.startswith('{"op": "error"'):
                out["errors"].append(json.loads(message)["code"])
    except ConnectionClosed as exc:
        out["closed"] = exc.rcvd.code if exc.rcvd else "abrupt"
    except asyncio.CancelledError:
        ws.transport.abort()
        raise


async def _client_process(url: str, topics: list[str], count: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    stats: list[dict[str, Any]] = [{} for _ in range(count)]
    tasks = [asyncio.create_task(_client(url, topics, gate, s)) for s in stats]
    while any("handshake" not in s and "error" not in s for s in stats):
        await asyncio.sleep(0.1)
    print("connected", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    window_from, end_at = map(float, line.split())
    for s in stats:
        s["window_from"] = window_from
    await asyncio.sleep(max(end_at - time.monotonic(), 0))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in stats:
        s["open"] = "handshake" in s and s.get("closed") is None
    print(json.dumps(stats), flush=True)


# --- feeds -------------------------------------------------------------------------------------
class SyntheticFeed:
    def __init__(self, prefix: str, symbols: int, rate: float) -> None:
        from pipelines.delivery.shm_ring import RingWriter, ring_path

        self.writer = RingWriter(ring_path(prefix, 0), slots=16_384, slot_size=2048)
        self.symbols = [f"SYN{i}" for i in range(symbols)]
        self.rate = rate
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from pipelines.events import BookSnapshot, encode
        from pipelines.topics import event_topic

        seq, started = 0, time.monotonic()
        while not self.stopped.is_set():
            symbol = self.symbols[seq % len(self.symbols)]
            seq += 1
            bid = 100_00 + seq % 97
            event = BookSnapshot(
                stream="syn", symbol=symbol, seq=seq, ts_recv=time.time_ns(), price_decimals=2,
                size_decimals=3, state="LIVE", bids=[(bid - 50 * i, 1_000 + i) for i in range(10)],
                asks=[(bid + 50 + 50 * i, 2_000 + i) for i in range(10)],
            )  # fmt: skip
            self.writer.publish(event_topic(event), encode(event))
            ahead = seq / self.rate - (time.monotonic() - started)
            if ahead > 0.001:
                time.sleep(ahead)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        self.writer.close(unlink=True)


def _start_sim(prefix: str, repo: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TICKERPLANT_SHM_PREFIX": prefix}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines", "run", "--config", "config.toml"],
            cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


# --- measuring ---------------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _metric(server: LiveDaphne, name: str) -> float | str | None:
    try:
        return server.metric(name)
    except KeyError:  # an older checkout without this metric
        return None
    except OSError as exc:  # TimeoutError included: the server did not answer
        return f"no answer ({type(exc).__name__})"


def _settled(server: LiveDaphne, name: str, deadline: float) -> float | str | None:
    """Gauge ``name`` once it reads 0, or what it still reads at ``deadline``."""
    value = _metric(server, name)
    while value not in (0, None) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = _metric(server, name)
    return value


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _watch_healthz(server: LiveDaphne, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=10):
                out.append(time.monotonic() - started)
        except OSError:
            out.append(float("inf"))
        stop.wait(0.25)


def run_once(args: argparse.Namespace, clients: int) -> str:
    prefix = f"tickerplant-bench-ws-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        feed_log = Path(tmp) / "feed.log"
        sim = _start_sim(prefix, args.repo, feed_log) if args.feed == "sim" else None
        synthetic = (
            SyntheticFeed(prefix, args.symbols, args.rate) if args.feed == "synthetic" else None
        )
        server = start_daphne(Path(tmp), prefix, repo=args.repo)
        procs: list[subprocess.Popen[str]] = []
        spy = None
        if args.py_spy:  # a profile of daphne over the whole client phase (raw collapsed stacks)
            out = f"{args.py_spy_out}.{clients}.txt"
            spy = subprocess.Popen(
                [args.py_spy, "record", "-p", str(server.process.pid), "-r", "50", "-f", "raw",
                 "-o", out, "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            time.sleep(2)  # the gateway attaches to the ring and caches every topic
            per = [clients // args.procs + (i < clients % args.procs) for i in range(args.procs)]
            for count in per:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "bench.bench_ws_clients", "--client-process",
                     server.ws_url, json.dumps(args.topics), str(count),
                     str(args.connect_concurrency)],
                    cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                ))  # fmt: skip
            for proc in procs:
                assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
            cpu_start, wall_start = _cpu_seconds(server.process.pid), time.monotonic()
            end_at = time.monotonic() + args.hold
            healthz: list[float] = []
            stop = threading.Event()
            watcher = threading.Thread(target=_watch_healthz, args=(server, stop, healthz))
            watcher.start()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(f"{end_at - args.window} {end_at}\n")
                proc.stdin.flush()
            stats: list[dict[str, Any]] = []
            for proc in procs:
                assert proc.stdout is not None
                stats += json.loads(proc.stdout.readline())
                proc.wait(timeout=60)
            stop.set()
            watcher.join()
            cpu = (_cpu_seconds(server.process.pid) - cpu_start) / (time.monotonic() - wall_start)
            rss = _rss_mb(server.process.pid)
            overruns = _metric(server, "tickerplant_gateway_ring_overruns_total")
            cut_off = _metric(server, "tickerplant_ws_cut_off_total")
            drops = _metric(server, "tickerplant_gateway_drops_total")
            deadline = time.monotonic() + 30
            left = _settled(server, "tickerplant_ws_subscribers", deadline)
            connections = _settled(server, "tickerplant_ws_connections", deadline)
            log = server.log_text()
            tracebacks = log.count("Traceback")
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            server.stop()
            if sim is not None:
                sim.terminate()
                sim.wait(timeout=30)
            if synthetic is not None:
                synthetic.stop()
    ok = [s for s in stats if "handshake" in s]
    failed = [s["error"] for s in stats if "error" in s]
    firsts = [s["first"] for s in ok if "first" in s]
    held = [s for s in ok if s["open"] and s["window"] > 0]
    rates = [s["data"] / args.hold for s in ok]
    latency = [v for s in ok for v in s["latency"]]
    shakes = [s["handshake"] for s in ok]
    ends = {c for s in ok for c in s["errors"]} | {str(s["closed"]) for s in ok if s["closed"]}
    failures = {e: failed.count(e) for e in set(failed)} or 0
    rate = statistics.median(rates) if rates else 0
    lines = [
        f"clients={clients} feed={args.feed} topics={','.join(args.topics)} hold={args.hold:g}s "
        f"load={os.getloadavg()[0]:.1f}",
        f"handshakes ok {len(ok)}/{clients} (failed: {failures}), s p50 {_pct(shakes, 0.5):.2f} "
        f"p99 {_pct(shakes, 0.99):.2f} max {max(shakes, default=0):.2f}",
        f"subscribed (got data) {len(firsts)}; first data s p50 {_pct(firsts, 0.5):.2f} "
        f"p99 {_pct(firsts, 0.99):.2f} max {max(firsts, default=0):.2f}",
        f"HELD {len(held)}/{clients} (open, data in the last {args.window:g} s); "
        f"closes/errors: {sorted(ends) or 'none'}",
        f"data frames per client per s: median {rate:.1f}; latency ms "
        f"p50 {_pct(latency, 0.5):.0f} p99 {_pct(latency, 0.99):.0f} (n={len(latency)})",
        f"/healthz ms p50 {_pct(healthz, 0.5) * 1e3:.0f} max {max(healthz, default=0) * 1e3:.0f}; "
        f"daphne CPU {cpu * 100:.0f}% RSS {rss:.0f} MB",
        f"ring overruns {overruns}, cut off {cut_off}, mailbox drops {drops}; "
        f"after the clients left: subscribers {left}, connections {connections}; "
        f"tracebacks in daphne's log: {tracebacks}",
    ]
    return "\n  ".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client-process":
        url, topics, count, concurrency = sys.argv[2:6]
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(_client_process(url, json.loads(topics), int(count), int(concurrency)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--hold", type=float, default=30, help="seconds after the last handshake")
    parser.add_argument("--window", type=float, default=5, help="'held' = data in the last N s")
    parser.add_argument("--feed", choices=["sim", "synthetic"], default="sim")
    parser.add_argument("--rate", type=float, default=5000, help="synthetic events/s")
    parser.add_argument("--symbols", type=int, default=20, help="synthetic symbols")
    parser.add_argument("--topics", nargs="+", default=["md.>"])
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--connect-concurrency", type=int, default=100, help="per process")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to serve")
    parser.add_argument("--py-spy", default="", help="py-spy binary: profile daphne meanwhile")
    parser.add_argument("--py-spy-out", default="/tmp/bench-ws-daphne", help="profile prefix")
    args = parser.parse_args()
    for clients in args.clients:
        print(run_once(args, clients), flush=True)


if __name__ == "__main__":
    main()
