"""``python -m pipelines``: the data plane's command line (``worker``, ``run``, ``replay``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence


def _shard(text: str) -> tuple[int, int]:
    try:
        mine, total = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected i/N, got {text!r}") from None
    if total < 1 or not 0 <= mine < total:
        raise argparse.ArgumentTypeError(f"need 0 <= i < N, got {text!r}")
    return mine, total


def _cpus(text: str) -> frozenset[int] | None:
    from pipelines.runtime.affinity import parse_cpus

    try:
        return parse_cpus(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _placement(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cpu",
        type=_cpus,
        default=False,
        metavar="auto|LIST",
        help="pin to CPUs: 'auto' = core (index mod allowed cores), or a list like 0,2-3 "
        "(default: not pinned)",
    )
    parser.add_argument(
        "--gc-freeze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gc.freeze() the start-up heap once the first spec is applied (default: on)",
    )


def _bus(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--bus",
        required=required,
        default="",
        metavar="nats://HOST:PORT",
        help="NATS JetStream bus"
        + (
            ""
            if required
            else ": consume this worker's shards from it (sources run in "
            "'python -m pipelines ingest'); default: run the spec's sources in-process"
        ),
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("TICKERPLANT_NATS_NAMESPACE", ""),
        help="NATS namespace: prefixes subjects, names streams TICKERPLANT_<NS>_* (default none)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines", description="Tickerplant data plane."
    )
    parser.add_argument(
        "--log-level", default=os.environ.get("TICKERPLANT_LOG_LEVEL", "INFO"), help="log level"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    worker = commands.add_parser(
        "worker",
        help="run one worker from a config store",
        description="Run one worker: follows the spec in the config store and applies each new "
        "version live. Publishes to /dev/shm/$TICKERPLANT_SHM_PREFIX-w<index>.",
    )
    worker.add_argument(
        "--store", required=True, help="config store URL (file:///..., redis://...)"
    )
    worker.add_argument("--index", type=int, default=0, help="this worker's index (default 0)")
    worker.add_argument("--count", type=int, default=1, help="number of workers (default 1)")
    worker.add_argument(
        "--shard", type=_shard, default=None, help="own shard i of N (overrides the spec's map)"
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="Prometheus port (default $TICKERPLANT_METRICS_PORT or 9100, plus the index; "
        "0 = any free port)",
    )
    _bus(worker, required=False)
    worker.add_argument(
        "--journal",
        default="",
        metavar="FILE",
        help="with --bus: append 'stream TAB seq TAB shard TAB lane' of every consumed event",
    )
    worker.add_argument(
        "--lease-ttl",
        type=float,
        default=10.0,
        help="with --bus: seconds a dead worker's shard leases live (default 10)",
    )
    _placement(worker)

    ingest = commands.add_parser(
        "ingest",
        help="run the spec's sources only, publishing to NATS",
        description="Ingest-only mode: follow the spec in the config store, run its sources and "
        "publish every event to the NATS JetStream bus (subject s<shard>.<topic>, Nats-Msg-Id "
        "stream:seq); shard workers ('worker --bus') consume it, on this or other machines.",
    )
    ingest.add_argument("--store", required=True, help="config store URL")
    _bus(ingest, required=True)
    ingest.add_argument("--cpu", type=_cpus, default=False, metavar="auto|LIST",
                        help="pin to CPUs (auto = core 0, or a list like 0,2-3)")  # fmt: skip

    run = commands.add_parser(
        "run",
        help="run the data plane alone from a config file",
        description="Run one in-process worker from config.toml, print a status line every few "
        "seconds, and live-apply edits of the file. Its shared-memory rings are named "
        "tickerplant-run-<pid> (unless TICKERPLANT_SHM_PREFIX is set) and its metrics port is "
        "a free one, so it never collides with a running platform.",
    )
    run.add_argument("--config", default="config.toml", help="config file (default config.toml)")
    run.add_argument(
        "--status-interval", type=float, default=2.0, help="seconds between status lines"
    )
    run.add_argument(
        "--metrics-port", type=int, default=None, help="Prometheus port (default: any free port)"
    )
    run.add_argument(
        "--gc-freeze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gc.freeze() the start-up heap (default: on)",
    )

    from pipelines.replay.cli import add_arguments as replay_arguments

    replay = commands.add_parser(
        "replay",
        help="decode a capture file to stdout (events, books or stats)",
        description="Decode a recorded capture (pcap/pcapng of UDP, ws capture text, NDJSON, "
        "CSV, FIX lines; detected from the content) and print every normalized event, the "
        "books, or one stats line. Exit 0 once the file is read (decode errors are counted); "
        "2 for bad arguments, 1 for unreadable input. See docs/replay.md.",
    )
    replay_arguments(replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "replay":
        from pipelines.replay.cli import run as run_replay

        return run_replay(args)
    if args.count < 1 if args.command == "worker" else False:
        print("--count must be >= 1", file=sys.stderr)
        return 2
    # Imported after parsing so that --help answers fast.
    from pipelines.runtime.process import BusOptions, run_config, run_ingest, run_worker

    if args.command == "worker":
        bus = BusOptions(url=args.bus, namespace=args.namespace, journal=args.journal,
                         lease_ttl=args.lease_ttl)  # fmt: skip
        return run_worker(args.store, args.index, args.count, args.shard, args.metrics_port,
                          bus=bus, cpus=args.cpu, gc_freeze=args.gc_freeze)  # fmt: skip
    if args.command == "ingest":
        return run_ingest(args.store, BusOptions(url=args.bus, namespace=args.namespace),
                          cpus=args.cpu)  # fmt: skip
    with _run_dead_letter_dir():
        return run_config(args.config, args.status_interval, args.metrics_port,
                          gc_freeze=args.gc_freeze)  # fmt: skip


@contextlib.contextmanager
def _run_dead_letter_dir() -> Iterator[None]:
    """`run` keeps its dead letters out of the platform's var/, in a temporary directory that is
    removed at the end unless a dead letter was written to it (then its path is printed)."""
    if os.environ.get("TICKERPLANT_DEAD_LETTER_DIR"):
        yield
        return
    import tempfile

    directory = tempfile.mkdtemp(prefix="tickerplant-run-dead-letter-")
    os.environ["TICKERPLANT_DEAD_LETTER_DIR"] = directory
    try:
        yield
    finally:
        del os.environ["TICKERPLANT_DEAD_LETTER_DIR"]
        try:
            os.rmdir(directory)
        except OSError:  # not empty: keep what was dead-lettered
            print(f"dead letters kept in {directory}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
