"""The feed handler: bad input is counted, logged at most once per interval and dead-lettered;
good input becomes one batch of events per message."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from ingest.feed import DeadLetterFile, FeedHandler, RateLimitedLog
from ingest.protocols.base import DecodeError, Sequencer
from pipelines.events import Event, Status, Trade


class DigitsParams(msgspec.Struct):
    pass


class DigitsDecoder:
    """b"<price>,<ts_exchange>" -> a Trade; b"gap" -> a GAP status; anything else is rejected."""

    kind: ClassVar[str] = "digits"
    Params: ClassVar[type[msgspec.Struct]] = DigitsParams

    def __init__(self, stream: str, params: Any = None, sequencer: Sequencer | None = None) -> None:
        self.stream = stream
        self.sequencer = sequencer or Sequencer(stream)

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        if data == b"gap":
            return [Status(stream=self.stream, symbol="X", seq=self.sequencer.next(), state="GAP")]
        if data == b"boom":
            raise ZeroDivisionError("a decoder bug")
        price, _, ts = data.partition(b",")
        if not price.isdigit():
            raise DecodeError("not_a_number", repr(data[:20]))
        return [
            Trade(
                stream=self.stream,
                symbol="X",
                seq=self.sequencer.next(),
                price=int(price),
                size=1,
                ts_exchange=int(ts or 0),
                ts_recv=ts_recv,
            )
        ]


def test_each_message_becomes_one_emitted_batch_with_ingest_seq(tmp_path: Path) -> None:
    batches: list[list[Event]] = []
    feed = FeedHandler("ticks", DigitsDecoder("ticks"), batches.append)
    feed.on_message(b"100,1000", ts_recv=3000)
    feed.on_message(b"101", ts_recv=4000)
    assert [[e.seq for e in b] for b in batches] == [[1], [2]]
    assert feed.stats.messages == 2 and feed.stats.bytes == 11 and feed.stats.events == 2
    # receive minus exchange time is sampled where the feed has an exchange time
    assert feed.stats.latency_count == 1 and feed.stats.latency_sum == pytest.approx(2e-6)


def test_bad_messages_are_counted_dead_lettered_and_never_raise(tmp_path: Path) -> None:
    letters = DeadLetterFile(tmp_path / "dead" / "letters.ndjson")
    batches: list[list[Event]] = []
    feed = FeedHandler("ticks", DigitsDecoder("ticks"), batches.append, dead_letters=letters)
    for raw in (b"abc", b"\xff\x00", b"boom", b"5"):
        feed.on_message(raw, ts_recv=1)
    assert feed.stats.decode_errors == 3
    assert feed.stats.errors_by_reason == {"not_a_number": 2, "internal:ZeroDivisionError": 1}
    assert [e.seq for b in batches for e in b] == [1], "rejected messages use up no seq"
    written = DeadLetterFile.read(letters.path)
    assert [(d.source, d.reason) for d in written] == [
        ("ticks", "not_a_number"),
        ("ticks", "not_a_number"),
        ("ticks", "internal:ZeroDivisionError"),
    ]
    assert base64.b64decode(written[1].raw_b64) == b"\xff\x00"


def test_gap_and_resync_statuses_are_counted() -> None:
    feed = FeedHandler("ticks", DigitsDecoder("ticks"), lambda batch: None)
    feed.on_message(b"gap", ts_recv=1)
    assert feed.stats.gaps == 1


def test_the_dead_letter_file_rolls_over(tmp_path: Path) -> None:
    letters = DeadLetterFile(tmp_path / "letters.ndjson", max_bytes=400)
    for _ in range(5):
        letters.write("s", "r", "", b"x" * 100)
    assert (tmp_path / "letters.ndjson.1").exists()
    assert letters.written == 5


def test_a_reason_is_logged_at_most_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limited = RateLimitedLog(logging.getLogger("t"), interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        assert limited.warning("checksum", "bad checksum")
        assert not limited.warning("checksum", "bad checksum")
        assert limited.warning("garbled", "garbled")
        now[0] = 11.0
        assert limited.warning("checksum", "bad checksum")
    assert [r.getMessage() for r in caplog.records] == [
        "bad checksum",
        "garbled",
        "bad checksum (1 more like it in the last 10 s)",
    ]


# -- issue 12, defect 3: nothing a message holds gets past the boundary ---------------------------

BINANCE_DEPTH = (
    b'{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":%s,"s":"NKNUSDT",'
    b'"U":499869750,"u":499869752,"b":[["%s","6195.00000000"]],"a":[]}}'
)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize(
    ("time", "price"),
    [
        (b"1e400", b"0.35130000"),  # the reported frame: OverflowError in on_message
        (b"1633998512068", b"99999999999999999999.0"),  # a price past int64
        (b"1633998512068", b"1e400"),
        (b"-9223372036854775809", b"0.35130000"),
    ],
)
def test_a_value_past_int64_is_a_counted_decode_error(
    tmp_path: Path, compiled: bool, time: bytes, price: bytes
) -> None:
    """Binance's diff depth through the mapping the JSON bench uses (every diff normalized), on
    the compiled twin and on the reference: the frame is rejected as ``out_of_range`` and
    dead-lettered, no exception leaves ``on_message``, no seq is used up, and the next frame
    decodes."""
    from bench.bench_json import mapped_decoder
    from ingest.protocols.mapped import json_decoder

    if compiled and json_decoder._compiled is None:
        pytest.skip("the compiled JSON decoder is not built (or TICKERPLANT_PURE_PYTHON)")
    saved = json_decoder._compiled
    json_decoder._compiled = saved if compiled else None
    try:
        decoder = mapped_decoder()
    finally:
        json_decoder._compiled = saved
    assert (decoder.accelerator is not None) == compiled
    letters = DeadLetterFile(tmp_path / "letters.ndjson")
    batches: list[list[Event]] = []
    feed = FeedHandler("binance", decoder, batches.append, dead_letters=letters)
    bad = BINANCE_DEPTH % (time, price)
    assert feed.on_message(bad, ts_recv=1633998512063356900) == []
    assert feed.stats.decode_errors == 1
    assert feed.stats.errors_by_reason == {"out_of_range": 1}
    (letter,) = DeadLetterFile.read(letters.path)
    assert letter.reason == "out_of_range" and base64.b64decode(letter.raw_b64) == bad
    good = BINANCE_DEPTH % (b"1633998512068", b"0.35130000")
    (event,) = feed.on_message(good, ts_recv=1633998512063356900)
    assert event.seq == 1 and batches == [[event]]
    assert feed.stats.latency_count == 1


def test_the_accounting_of_a_message_is_inside_the_boundary() -> None:
    """A decoder that lets a time past int64 through (a plugin): the latency sample cannot be
    taken (OverflowError); that is counted against the message, the source goes on."""
    feed = FeedHandler("ticks", DigitsDecoder("ticks"), lambda batch: None)
    assert feed.on_message(b"100," + b"9" * 400, ts_recv=1) == []
    assert feed.stats.errors_by_reason == {"internal:OverflowError": 1}
    assert feed.on_message(b"101,5", ts_recv=9) != []


def test_a_failing_consumer_is_counted_not_raised(tmp_path: Path) -> None:
    def emit(batch: list[Event]) -> None:
        raise OverflowError("a book refused it")

    letters = DeadLetterFile(tmp_path / "letters.ndjson")
    feed = FeedHandler("ticks", DigitsDecoder("ticks"), emit, dead_letters=letters)
    assert len(feed.on_message(b"100", ts_recv=1)) == 1
    assert feed.stats.errors_by_reason == {"emit:OverflowError": 1}
    assert [d.reason for d in DeadLetterFile.read(letters.path)] == ["emit:OverflowError"]


class WarningDecoder(DigitsDecoder):
    """DigitsDecoder that keeps ``b"<price>,<ts>?"`` with a warning (a field it left out)."""

    def __init__(self, stream: str, params: Any = None, sequencer: Sequencer | None = None) -> None:
        super().__init__(stream, params, sequencer)
        self.warnings: list[tuple[str, str]] = []

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        self.warnings.clear()
        if data.endswith(b"?"):
            data = data[:-1]
            self.warnings += [("bad_time:273", "x"), ("bad_time:273", "y"), ("bad_time:272", "z")]
        return super().decode(data, ts_recv)


def test_warnings_keep_the_events_are_counted_and_dead_lettered_once_per_reason(
    tmp_path: Path,
) -> None:
    from prometheus_client import generate_latest

    from pipelines.runtime.metrics import WorkerMetrics

    batches: list[list[Event]] = []
    dead = DeadLetterFile(tmp_path / "dead.ndjson")
    feed = FeedHandler("w", WarningDecoder("w"), batches.append, dead_letters=dead)
    assert len(feed.on_message(b"5,1?", 2)) == 1 and len(feed.on_message(b"6,1", 2)) == 1
    assert len(batches) == 2
    stats = feed.stats
    assert stats.decode_errors == 0 and stats.decode_warnings == 3
    assert stats.warnings_by_reason == {"bad_time:273": 2, "bad_time:272": 1}
    letters = DeadLetterFile.read(dead.path)
    assert [(x.reason, x.severity, x.detail) for x in letters] == [
        ("bad_time:273", "warning", "x"),
        ("bad_time:272", "warning", "z"),
    ]
    assert base64.b64decode(letters[0].raw_b64) == b"5,1?"
    feed.decoder = DigitsDecoder("w")  # a decoder without warnings (as a resync swaps it)
    assert len(feed.on_message(b"7,1", 2)) == 1 and stats.decode_warnings == 3
    metrics = WorkerMetrics()
    metrics.watch_ingest(lambda: {"w": stats})
    text = generate_latest(metrics.registry).decode()
    assert 'tickerplant_ingest_decode_warnings_total{reason="bad_time:273",source="w"} 2.0' in text
