"""``python -m ingest.simulator``: print simulated events as NDJSON (the edge form)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

import msgspec

from ingest.simulator.instruments import PRESETS
from ingest.simulator.market import MarketSimulator
from pipelines.events import to_json_dict


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.simulator",
        description="Order-level market simulator; prints one event per line "
        "(prices and sizes as decimal strings). The same seed prints the same events.",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--symbols",
        default=",".join(PRESETS),
        help="comma-separated symbols (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="order arrivals per second of simulated time (default 1000)",
    )
    parser.add_argument("--count", type=int, default=1000, help="events to print (default 1000)")
    parser.add_argument("--stream", default="sim", help="stream id of the events (default sim)")
    parser.add_argument("--format", choices=["ndjson"], default="ndjson", help="output format")
    parser.add_argument(
        "--serve-ws",
        type=int,
        metavar="PORT",
        help="serve the market as WebSocket JSON on PORT (mapping simulator_ws; REST /depth) "
        "until Ctrl-C; --rate is then messages per second of wall-clock time",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address for --serve-ws/--serve-fix")
    parser.add_argument(
        "--serve-fix",
        type=int,
        metavar="PORT",
        help="serve the market as a FIX 4.4 acceptor on PORT (SenderCompID TICKERPLANT, "
        "TargetCompID CLIENT; MarketDataRequest V → W snapshot, then X) until Ctrl-C",
    )
    return parser


def serve_ws(symbols: list[str], seed: int, rate: float, host: str, port: int) -> int:
    import asyncio

    from ingest.simulator.ws_server import SimulatorWsServer

    async def serve() -> None:
        async with SimulatorWsServer(symbols, seed=seed, rate=rate, host=host, port=port) as server:
            print(f"serving {','.join(symbols)} at {server.url} (REST {server.http_base}/depth)")
            sys.stdout.flush()
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop serving
        asyncio.run(serve())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    symbols = [s for s in args.symbols.split(",") if s]
    if not symbols or args.rate <= 0 or args.count < 0:
        print("need at least one symbol, a positive rate and a count >= 0", file=sys.stderr)
        return 2
    if args.serve_ws is not None:
        return serve_ws(symbols, args.seed, args.rate, args.host, args.serve_ws)
    if args.serve_fix is not None:
        from ingest.simulator.fix_acceptor import main as serve_main

        options = {"--host": args.host, "--port": str(args.serve_fix), "--seed": str(args.seed)}
        options["--symbols"] = ",".join(symbols)
        return serve_main([item for pair in options.items() for item in pair])
    simulator = MarketSimulator(symbols, seed=args.seed, rate=args.rate, stream=args.stream)
    encoder = msgspec.json.Encoder()
    out = sys.stdout.buffer
    left = args.count
    while left > 0:
        batch = simulator.take(min(left, 4096))[:left]
        out.write(b"".join(encoder.encode(to_json_dict(e)) + b"\n" for e in batch))
        left -= len(batch)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
