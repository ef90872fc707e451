"""``python -m pipelines replay`` on every shared capture: counts, values, output shapes, errors.

Counts are cross-checked against the protocol tests that decode the same files without replay
(CME messages per template, Binance's documented sync, Kraken's 4,269 matching checksums).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingest.protocols.fix import FixEncoder
from pipelines.events import BookDelta, BookSnapshot, Trade

Replay = Callable[..., Any]  # the `replay` fixture of conftest.py: (*argv) -> Result

V8 = {
    # capture -> (packets, events by kind, gap statuses)
    "MdIncrementalRefreshSessionStatistics.pcap": (
        356,
        {"book_delta": 303, "statistic": 246, "status": 209},
        206,
    ),
    "MdIncrementalRefreshVolume.pcap": (
        112,
        {"book_delta": 113, "statistic": 97, "status": 109},
        106,
    ),
    "MdIncrementalRefreshTradeSummary.pcap": (1, {"book_delta": 1, "statistic": 1, "trade": 1}, 0),
}
V9 = {
    "MdIncrementalRefreshBook.pcap": {"book_delta": 23, "order": 16},
    "MdIncrementalRefreshOrderBook.pcap": {"order": 1},
    "MdIncrementalRefreshTradeSummary.pcap": {
        "book_delta": 2,
        "order": 2,
        "statistic": 1,
        "trade": 1,
    },
    "MdIncrementalRefreshVolume.pcap": {"book_delta": 2, "order": 2, "statistic": 2, "trade": 1},
}


# -- FIX -----------------------------------------------------------------------------------------


def test_cme_secdefs_with_the_cme_dictionary(replay: Replay, fix: Path) -> None:
    folder = fix / "cme-secdef"
    args = (
        folder / "200secdef.cme.txt",
        "--protocol",
        "fix",
        "--dictionary",
        folder / "FIX50SP2.CME.xml",
    )
    result = replay(*args, "--param", "symbol_tags=[107,55,48]")
    assert result.code == 0, result.stderr
    events = result.lines
    assert len(events) == 200 and {e["kind"] for e in events} == {"instrument"}
    assert [e["seq"] for e in events] == list(range(1, 201))
    first = events[0]
    assert (first["stream"], first["symbol"], first["venue_seq"]) == ("200secdef", "G6M4", 4408)
    assert (first["tick_size"], first["price_decimals"]) == ("0.01", 2)
    assert first["venue_ids"]["security_id"] == "34043"
    assert first["ts_exchange"] == 1373817781_792_000_000 and first["ts_recv"] == 0

    stats = replay(*args, "--emit", "stats").stats
    assert stats["format"] == "fix" and stats["protocol"] == "fix"
    assert stats["messages"] == 200 and stats["events"] == {"instrument": 200}
    assert stats["decode_errors"] == 0 and stats["gaps"] == 0
    assert stats["decode_warnings"] == 0 and stats["warnings_by_reason"] == {}


def test_fix_time_warnings_in_the_stats(replay: Replay, tmp_path: Path) -> None:
    """An entry time that does not parse keeps the message (decision 0126): events counted, a
    warning by reason; CME's integer MDEntryTime (85852000 = 08:58:52.000) parses."""

    def frame(body: str) -> bytes:
        payload = body.replace("|", "\x01").encode("latin-1")
        head = b"8=FIX.4.4\x019=%d\x01" % len(payload) + payload
        return head + b"10=%03d\x01" % (sum(head) % 256)

    path = tmp_path / "times.fix"
    path.write_bytes(
        frame("35=X|34=1|52=20130714160302084|268=1|279=0|269=0|55=A|270=1|271=1|273=85852000|")
        + b"\n"
        + frame("35=X|34=2|52=20130714160302084|268=1|279=0|269=1|55=A|270=2|271=1|273=99:00:00|")
        + b"\n"
    )
    stats = replay(path, "--protocol", "fix", "--emit", "stats").stats
    assert stats["messages"] == 2 and stats["events"] == {"book_delta": 2}
    assert stats["decode_errors"] == 0
    assert stats["decode_warnings"] == 1 and stats["warnings_by_reason"] == {"bad_time:273": 1}


def fix_market_data(path: Path, separator: bytes = b"\x01") -> Path:
    """A W (2 bids, 2 asks) then an X changing a bid and adding an ask, then an X trade."""
    common = {"stream": "s", "symbol": "ESZ4", "price_decimals": 2}
    ts = 1_700_000_000_000_000_000
    events = [
        BookSnapshot(
            **common,
            ts_exchange=ts,
            bids=[(450025, 10), (450000, 5)],
            asks=[(450050, 7), (450075, 3)],
        ),
        BookDelta(
            **common,
            ts_exchange=ts + 1,
            side="bid",
            price=450025,
            size=12,
            action="change",
            batch_end=False,
        ),
        BookDelta(
            **common,
            ts_exchange=ts + 1,
            side="ask",
            price=450100,
            size=1,
            action="new",
            batch_end=True,
        ),
        Trade(**common, ts_exchange=ts + 2, price=450050, size=2, side="buy"),
    ]
    messages = FixEncoder("FIX.4.4", "VENUE", "US").encode_messages(events)
    path.write_bytes(b"".join(m.replace(b"\x01", separator) + b"\n" for m in messages))
    return path


def test_fix_market_data_events_and_books(replay: Replay, tmp_path: Path, fix: Path) -> None:
    path = fix_market_data(tmp_path / "ES.fix")
    dictionary = fix / "quickfix-dict" / "FIX44.xml"
    events = replay(path, "--protocol", "fix", "--dictionary", dictionary).lines
    assert [e["kind"] for e in events] == ["book_snapshot", "book_delta", "book_delta", "trade"]
    assert events[0]["bids"] == [["4500.25", "10"], ["4500.00", "5"]]
    delta = events[2]
    assert (delta["side"], delta["price"], delta["size"], delta["action"], delta["batch_end"]) == (
        "ask", "4501.00", "1", "new", True,
    )  # fmt: skip
    assert events[3]["price"] == "4500.50" and events[3]["stream"] == "es"

    books = replay(
        path, "--protocol", "fix", "--dictionary", dictionary, "--emit", "books", "--depth", "2"
    ).lines
    assert books == [
        {"kind": "book", "stream": "es", "symbol": "ESZ4", "seq": 1, "state": "LIVE",
         "bids": [["4500.25", "10"], ["4500.00", "5"]], "asks": [["4500.50", "7"], ["4500.75", "3"]]},
        {"kind": "book", "stream": "es", "symbol": "ESZ4", "seq": 3, "state": "LIVE",
         "bids": [["4500.25", "12"], ["4500.00", "5"]], "asks": [["4500.50", "7"], ["4500.75", "3"]]},
    ]  # fmt: skip


def test_fix_logs_with_pipes_and_without_a_dictionary(replay: Replay, tmp_path: Path) -> None:
    path = fix_market_data(tmp_path / "piped.log", separator=b"|")
    result = replay(path, "--protocol", "fix", "--stream", "desk", "--emit", "stats")
    assert result.stats["format"] == "fix"
    assert result.stats["events"] == {"book_delta": 2, "book_snapshot": 1, "trade": 1}
    assert result.stats["stream"] == "desk" and result.stats["decode_errors"] == 0


# -- SBE / CME MDP 3.0 ---------------------------------------------------------------------------


@pytest.mark.parametrize("capture", sorted(V8))
def test_cme_v8_captures(replay: Replay, cme: Path, capture: str) -> None:
    packets, kinds, gaps = V8[capture]
    for schema in ("templates_FixBinary_v8.xml", "templates_FixBinary_v9.xml"):
        stats = replay(
            cme / "v8_samples" / capture,
            "--protocol",
            "sbe",
            "--schema",
            cme / schema,
            "--emit",
            "stats",
        ).stats
        assert stats["format"] == "pcap" and stats["protocol"] == "cme_mdp3"
        assert stats["messages"] == packets
        assert stats["events"] == kinds
        assert stats["gaps"] == gaps and stats["decode_errors"] == 0


@pytest.mark.parametrize("capture", sorted(V9))
def test_cme_v9_captures(replay: Replay, cme: Path, capture: str) -> None:
    stats = replay(
        cme / "v9_samples" / capture,
        "--protocol",
        "sbe",
        "--schema",
        cme / "templates_FixBinary_v9.xml",
        "--emit",
        "stats",
    ).stats
    assert stats["messages"] == 1 and stats["events"] == V9[capture] and stats["decode_errors"] == 0


def test_cme_trade_values_and_registered_kind(replay: Replay, cme: Path) -> None:
    capture = cme / "v8_samples" / "MdIncrementalRefreshTradeSummary.pcap"
    # --protocol cme_mdp3 names the plugin directly; the same as sbe with CME's schema.
    events = replay(
        capture, "--protocol", "cme_mdp3", "--param", f"schema={cme / 'templates_FixBinary_v8.xml'}"
    ).lines
    trade = events[0]
    assert trade == {
        "kind": "trade", "stream": "mdincrementalrefreshtradesummary", "symbol": "175316", "seq": 1,
        "venue_seq": 3166132, "ts_exchange": 1475013600442630767, "ts_recv": trade["ts_recv"],
        "priority": 0, "price": "11260.0000000", "size": "1", "price_decimals": 7,
        "size_decimals": 0, "side": "buy", "trade_id": "",
    }  # fmt: skip
    assert trade["ts_recv"] > trade["ts_exchange"]  # the pcap's capture time


def test_cme_books_stop_at_rptseq_gaps(replay: Replay, cme: Path) -> None:
    capture = cme / "v8_samples" / "MdIncrementalRefreshVolume.pcap"
    schema = cme / "templates_FixBinary_v8.xml"
    books = replay(
        capture, "--protocol", "sbe", "--schema", schema, "--emit", "books", "--depth", "1"
    ).lines
    # The sampled capture has an RptSeq gap after each instrument's first message and no
    # snapshots: as in the pipeline, no update is applied across a gap, so each of the 9 books
    # is printed until its first gap, then waits in RESYNC for a snapshot that never comes.
    assert Counter(book["symbol"] for book in books) == {
        "174969": 1, "175316": 1, "74586": 1, "121269": 1, "88307": 1, "159266": 1, "71373": 1,
        "80935": 1, "175382": 2,
    }  # fmt: skip
    assert {book["state"] for book in books} == {"LIVE"}
    assert books[0] == {
        "kind": "book", "stream": "mdincrementalrefreshvolume", "symbol": "174969", "seq": 4,
        "state": "LIVE", "bids": [["7573.0000000", "30"]], "asks": [["7580.0000000", "46"]],
    }  # fmt: skip


# -- WebSocket captures ---------------------------------------------------------------------------


def binance(replay: Replay, ws: Path, *extra: str) -> list[dict]:
    folder = ws / "binance-spot"
    return replay(
        folder / "BINANCE.ws.1.0", "--protocol", "json", "--mapping", "binance_spot",
        "--snapshots", folder / "BINANCE.http.0.0", *extra,
    ).lines  # fmt: skip


def test_binance_with_rest_snapshots(replay: Replay, ws: Path) -> None:
    (stats,) = binance(replay, ws, "--emit", "stats")
    assert stats["format"] == "ws_capture" and stats["stream"] == "binance"
    assert stats["messages"] == 265 + 4  # frames + REST snapshots
    assert stats["events"] == {
        "book_delta": 408,
        "book_snapshot": 4,
        "quote": 84,
        "status": 8,
        "trade": 2,
    }
    assert stats["decode_errors"] == 0 and stats["gaps"] == 0
    assert stats["skipped"] == {"capture_open": 1}

    events = binance(replay, ws)
    assert [e["seq"] for e in events] == list(range(1, 507))
    nkn = [e for e in events if e["symbol"] == "NKNUSDT"]
    assert [e["state"] for e in nkn if e["kind"] == "status"] == ["SYNCING", "LIVE"]
    snapshot = next(e for e in nkn if e["kind"] == "book_snapshot")
    assert snapshot["venue_seq"] == 499869752 and snapshot["bids"][0] == [
        "0.35210000",
        "672.00000000",
    ]
    # Binance's rule: the diff u=499869752 is inside the snapshot; u=499869754 is the first applied.
    assert next(e for e in nkn if e["kind"] == "book_delta")["venue_seq"] == 499869754


def test_binance_books(replay: Replay, ws: Path) -> None:
    books = binance(replay, ws, "--emit", "books", "--depth", "3")
    assert len(books) == 176
    assert {book["state"] for book in books} == {"LIVE"}
    assert Counter(book["symbol"] for book in books).keys() == {
        "NKNUSDT",
        "BLZETH",
        "LRCBTC",
        "RUNEEUR",
    }
    first = books[0]
    assert (first["symbol"], first["seq"]) == ("NKNUSDT", 2)
    assert first["bids"] == [
        ["0.35210000", "672.00000000"],
        ["0.35200000", "1144.00000000"],
        ["0.35190000", "3260.00000000"],
    ]
    assert all(len(book["bids"]) <= 3 and len(book["asks"]) <= 3 for book in books)
    for book in books:  # best first: bids descending, asks ascending
        assert [float(p) for p, _ in book["bids"]] == sorted(
            (float(p) for p, _ in book["bids"]), reverse=True
        )
        assert [float(p) for p, _ in book["asks"]] == sorted(float(p) for p, _ in book["asks"])


def test_kraken(replay: Replay, ws: Path) -> None:
    capture = ws / "kraken" / "KRAKEN.ws.50.0"
    stats = replay(capture, "--protocol", "json", "--mapping", "kraken", "--emit", "stats").stats
    assert stats["messages"] == 4321
    assert stats["events"] == {"book_delta": 4272, "book_snapshot": 10, "status": 10}
    assert stats["decode_errors"] == 0 and stats["gaps"] == 0  # every checksum matched
    assert stats["skipped"] == {"capture_open": 1, "capture_send": 1}
    books = replay(
        capture, "--protocol", "json", "--mapping", "ingest/mappings/kraken.toml", "--emit", "books"
    ).lines
    assert {book["state"] for book in books} == {"LIVE"}
    assert len({book["symbol"] for book in books}) == 10
    assert all(len(book["bids"]) == 10 and len(book["asks"]) == 10 for book in books)


def test_ndjson_frames_without_times(replay: Replay, ws: Path, tmp_path: Path) -> None:
    frames = [
        line.split(b": ", 1)[1]
        for line in (ws / "binance-spot" / "BINANCE.ws.1.0").read_bytes().splitlines()
        if b"@bookTicker" in line and line[:1].isdigit()  # received frames, not the URL line
    ]
    path = tmp_path / "tickers.ndjson"
    path.write_bytes(b"\n".join(frames) + b"\n")
    events = replay(path, "--protocol", "json", "--mapping", "binance_spot").lines
    assert len(events) == 84 and {e["kind"] for e in events} == {"quote"}
    assert {e["ts_recv"] for e in events} == {0}  # NDJSON records no receive time


def test_csv_with_a_shipped_mapping(replay: Replay, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "timestamp,symbol,order_id,side,price,size,action\n"
        "2024-03-01T14:30:00.000001Z,ACME,1001,B,101.25,300,A\n"
        "2024-03-01T14:30:00.000002Z,ACME,1001,B,101.25,100,M\n"
        "2024-03-01T14:30:00.000003Z,ACME,1002,S,oops,5,A\n"
    )
    result = replay(path, "--protocol", "csv", "--mapping", "orders_csv")
    assert result.code == 0
    orders = result.lines
    assert [(o["order_id"], o["action"], o["price"], o["size"]) for o in orders] == [
        ("1001", "add", "101.25", "300"),
        ("1001", "modify", "101.25", "100"),
    ]
    assert orders[0]["ts_exchange"] == 1709303400000001000
    stats = replay(path, "--protocol", "csv", "--mapping", "orders_csv", "--emit", "stats").stats
    assert stats["format"] == "csv" and stats["messages"] == 4 and stats["decode_errors"] == 1


# -- errors ----------------------------------------------------------------------------------------


def test_garbage_is_read_to_the_end_with_errors_counted(replay: Replay, tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(b"\x00\xff\x13garbage\n" * 3 + bytes(range(1, 10)) + b"\n")
    for protocol in ("fix", "json"):
        args = ("--mapping", "kraken") if protocol == "json" else ()
        result = replay(path, "--protocol", protocol, *args, "--emit", "stats")
        assert result.code == 0
        stats = result.stats
        assert stats["format"] == "lines" and stats["messages"] == 4
        assert stats["decode_errors"] == 4 and stats["events"] == {}
    result = replay(path, "--protocol", "json", "--mapping", "kraken", "--emit", "stats")
    assert result.stats["errors_by_reason"] == {"bad_json": 4}


def test_a_truncated_pcap_keeps_what_it_read(replay: Replay, cme: Path, tmp_path: Path) -> None:
    data = (cme / "v8_samples" / "MdIncrementalRefreshVolume.pcap").read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: len(data) // 2])
    stats = replay(
        path, "--protocol", "sbe", "--schema", cme / "templates_FixBinary_v8.xml", "--emit", "stats"
    ).stats
    assert 0 < stats["messages"] < 112 and stats["skipped"] == {"capture_truncated": 1}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--protocol", "nope"], "unknown protocols plugin 'nope'"),
        (["--protocol", "sbe"], "--protocol sbe needs --schema"),
        (["--protocol", "json"], "protocol parameters"),  # no mapping
        (
            ["--protocol", "json", "--mapping", "binance_spot", "--dictionary", "x.xml"],
            "--dictionary does not apply",
        ),
        (["--protocol", "json", "--mapping", "no_such_venue"], "cannot build the json decoder"),
        (["--protocol", "fix", "--dictionary", "/no/such.xml"], "cannot build the fix decoder"),
        (["--protocol", "fix", "--snapshots", "SELF"], "takes no snapshots"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    replay: Replay, tmp_path: Path, argv: list[str], message: str
) -> None:
    path = tmp_path / "x.fix"
    path.write_bytes(b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01\n")
    result = replay(path, *[str(path) if a == "SELF" else a for a in argv])
    assert result.code == 2 and result.stdout == b""
    assert message in result.stderr


def test_a_generic_sbe_schema_is_refused(replay: Replay, shared_data: Path) -> None:
    car = shared_data / "sbe" / "reallogic-car"
    result = replay(
        car / "car_example_baseline_data.sbe",
        "--protocol",
        "sbe",
        "--schema",
        car / "example-schema.xml",
    )
    assert result.code == 2 and "not a CME MDP 3.0 schema" in result.stderr


def test_unreadable_input_exits_1(replay: Replay, tmp_path: Path) -> None:
    result = replay(tmp_path / "missing.pcap", "--protocol", "fix")
    assert result.code == 1 and "cannot read input" in result.stderr
