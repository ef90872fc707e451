"""A price or size past int64 in a REST snapshot or a diff (issue 12, defect 3): replay reads
the file to the end and exits 0, the two messages are counted decode errors (out_of_range), and
the symbol's book comes back with the next good snapshot. Before issue 12: a traceback
(OverflowError from the book) and exit 1."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import unavailable
from tests.pipelines.replay.conftest import Replay


def mutated_binance(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = shared_data / "ws" / "binance-spot"
    if not folder.is_dir():
        unavailable(f"{folder} not found (set TICKERPLANT_SAMPLE_DATA)")
    frames = (folder / "BINANCE.ws.1.0").read_bytes().splitlines(keepends=True)
    responses = (folder / "BINANCE.http.0.0").read_bytes().splitlines(keepends=True)
    (nkn,) = [r for r in responses if b"symbol=NKNUSDT" in r]
    # The snapshot with one price past int64 at 8 decimals; the same good one a microsecond
    # later (a REST retry).
    bad = nkn.replace(b'["0.35210000","672.00000000"]', b'["99999999999999999999.0","672.0"]', 1)
    url, _, rest = nkn.partition(b" -> ")
    ts, _, body = rest.partition(b": ")
    retry = url + b" -> " + ts + b"1: " + body  # the same seconds with one more digit
    http = [bad if r is nkn else r for r in responses]
    http.insert(http.index(bad) + 1, retry)
    # A diff of another symbol with a price past int64: its last one (its book is live then).
    index = max(i for i, f in enumerate(frames) if b"blzeth@depth" in f and b'"b":[["' in f)
    start = frames[index].index(b'"b":[["') + len(b'"b":[["')
    end = frames[index].index(b'"', start)
    frames[index] = frames[index][:start] + b"1e400" + frames[index][end:]
    stream, snapshots = tmp_path / "BINANCE.ws", tmp_path / "BINANCE.http"
    stream.write_bytes(b"".join(frames))
    snapshots.write_bytes(b"".join(http))
    return stream, snapshots


def test_values_past_int64_are_counted_and_the_books_come_back(
    replay: Replay, shared_data: Path, tmp_path: Path
) -> None:
    stream, snapshots = mutated_binance(shared_data, tmp_path)
    args = ("--protocol", "json", "--mapping", "binance_spot", "--snapshots", snapshots)
    stats = replay(stream, *args, "--emit", "stats")
    assert stats.code == 0, stats.stderr
    assert stats.stats["decode_errors"] == 2
    assert stats.stats["errors_by_reason"] == {"out_of_range": 2}
    books = replay(stream, *args, "--emit", "books", "--depth", "1")
    assert books.code == 0 and "Traceback" not in books.stderr, books.stderr
    symbols = {line["symbol"] for line in books.lines}
    assert symbols == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
    last = [line for line in books.lines if line["symbol"] == "NKNUSDT"][-1]
    assert last["state"] == "LIVE" and last["bids"] and last["asks"]
