"""``python -m pipelines replay FILE --protocol ...``: decode a capture to stdout.

Exit status: 0 once the file is read to the end (decode errors are counted, not fatal); 2 for bad
arguments (unknown protocol, missing or unusable dictionary/schema/mapping, ``--snapshots`` for a
decoder that takes none); 1 when the input cannot be read. Messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, TextIO

from ingest.capture.replay_input import (
    CaptureFile,
    ReplayError,
    ReplayFeed,
    ReplayOptions,
    build_decoder,
    derive_stream,
    fix_separator_params,
    merge_snapshots,
)
from ingest.feed import FeedHandler, IngestStats
from pipelines.events import Event
from pipelines.replay.emit import BooksEmitter, EventsEmitter, KindCounter, Output

__all__ = ["add_arguments", "run"]

EXIT_BAD_ARGUMENTS = 2
EXIT_UNREADABLE = 1


def _param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value  # a bare string


def _depth(text: str) -> int:
    try:
        depth = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if depth < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return depth


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The replay command's arguments (the contract of ARCHITECTURE.md, plus --stream/--param)."""
    parser.add_argument("file", help="capture: pcap/pcapng, ws capture text, NDJSON, CSV or FIX")
    parser.add_argument(
        "--protocol",
        required=True,
        help="fix | sbe | json | csv, or any registered protocol plugin (e.g. cme_mdp3)",
    )
    parser.add_argument("--dictionary", default="", help="FIX: QuickFIX XML data dictionary")
    parser.add_argument("--schema", default="", help="sbe: SBE XML schema (CME MDP 3.0)")
    parser.add_argument(
        "--mapping", default="", help="json/csv: a mapping file or a shipped name (binance_spot)"
    )
    parser.add_argument(
        "--snapshots", default="", help="REST snapshot capture (<url> -> <ts>: <json> lines)"
    )
    parser.add_argument(
        "--emit", choices=("events", "books", "stats"), default="events", help="default: events"
    )
    parser.add_argument(
        "--depth", type=_depth, default=10, help="levels per side with --emit books (10)"
    )
    parser.add_argument(
        "--stream", default="", help="stream id (default: the file name up to its first dot)"
    )
    parser.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another protocol parameter, VALUE as JSON or a bare string "
        "(e.g. symbol_tags=[107,55,48]); repeatable",
    )


def run(
    args: argparse.Namespace, stdout: BinaryIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the command for parsed ``args``; returns the exit status."""
    err = stderr if stderr is not None else sys.stderr
    out = stdout if stdout is not None else sys.stdout.buffer
    try:
        return _run(args, out, err)
    except ReplayError as exc:
        print(f"replay: {exc}", file=err)
        return EXIT_BAD_ARGUMENTS
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        return EXIT_UNREADABLE


def _open(path: str, what: str) -> CaptureFile:
    try:
        return CaptureFile(path)
    except OSError as exc:
        raise _Unreadable(f"cannot read {what} {path}: {exc.strerror or exc}") from None


class _Unreadable(Exception):
    pass


def _run(args: argparse.Namespace, out: BinaryIO, err: TextIO) -> int:
    try:
        capture = _open(args.file, "input")
        snapshots = _open(args.snapshots, "snapshots") if args.snapshots else None
    except _Unreadable as exc:
        print(f"replay: {exc}", file=err)
        return EXIT_UNREADABLE
    options = ReplayOptions(
        protocol=args.protocol,
        dictionary=args.dictionary,
        schema=args.schema,
        mapping=args.mapping,
        params=dict(args.param),
    )
    options = fix_separator_params(options, capture)
    stream = args.stream or derive_stream(args.file)
    setup_started = time.perf_counter()
    kind, decoder = build_decoder(options, stream)
    setup_seconds = time.perf_counter() - setup_started

    output = Output(out)
    counter: KindCounter | None = None
    emit: Callable[[list[Event]], None]
    if args.emit == "events":
        emit = EventsEmitter(output)
    elif args.emit == "books":
        emit = BooksEmitter(output, args.depth)
    else:
        emit = counter = KindCounter()
    stats = IngestStats()
    feed = ReplayFeed(FeedHandler(stream, decoder, emit, stats=stats))
    if snapshots is not None and not feed.takes_snapshots:
        raise ReplayError(f"--snapshots: protocol {kind!r} takes no snapshots")

    started = time.perf_counter()
    feed.run(merge_snapshots(capture, snapshots))
    elapsed = time.perf_counter() - started
    if counter is not None:
        skipped = capture.skipped + (snapshots.skipped if snapshots is not None else Counter())
        line = {
            "kind": "stats",
            "file": args.file,
            "format": capture.format,
            "protocol": kind,
            "stream": stream,
            "messages": stats.messages,
            "bytes": stats.bytes,
            "events": counter.by_kind(),
            "events_total": stats.events,
            "decode_errors": stats.decode_errors,
            "errors_by_reason": dict(sorted(stats.errors_by_reason.items())),
            "decode_warnings": stats.decode_warnings,
            "warnings_by_reason": dict(sorted(stats.warnings_by_reason.items())),
            "gaps": stats.gaps,
            "skipped": dict(sorted(skipped.items())),
            "setup_seconds": round(setup_seconds, 6),
            "elapsed_seconds": round(elapsed, 6),
            "events_per_second": round(stats.events / elapsed, 1) if elapsed > 0 else 0.0,
            "messages_per_second": round(stats.messages / elapsed, 1) if elapsed > 0 else 0.0,
        }
        output.write(json.dumps(line).encode() + b"\n")
    output.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (``python -m pipelines replay`` is the documented one)."""
    parser = argparse.ArgumentParser(prog="python -m pipelines replay")
    add_arguments(parser)
    return run(parser.parse_args(argv))
