"""FIX time forms (ingest/protocols/fix/timestamps.py, docs/decisions/0126): every accepted form
to exact nanoseconds, checked against datetime arithmetic; an unparsable optional time keeps
the message (a warning, counted and dead-lettered); an unparsable SendingTime stays an error."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.feed import DeadLetterFile, FeedHandler
from ingest.protocols.base import DecodeError
from ingest.protocols.fix import FixDecoder, FixParams
from ingest.protocols.fix.timestamps import (
    FixTimeError,
    parse_entry_time,
    parse_fix_date,
    parse_fix_time,
    parse_time_of_day,
)
from pipelines.events import BookDelta, Event
from tests.ingest.protocols.fix.test_fix_compiled import COMPILED

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
IMPLEMENTATIONS = [False, True] if COMPILED else [False]


def ns(when: dt.datetime, extra_ns: int = 0) -> int:
    """Independent of the parser: datetime's own arithmetic (µs exact) plus sub-µs digits."""
    delta = when.replace(tzinfo=dt.UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000 + extra_ns


def frame(body: str) -> bytes:
    payload = body.replace("|", "\x01").encode("latin-1")
    head = b"8=FIX.4.4\x019=%d\x01" % len(payload) + payload
    return head + b"10=%03d\x01" % (sum(head) % 256)


DAY = dt.datetime(2024, 1, 2)
CASES = [
    # full timestamps
    ("20240102-08:58:52", ns(DAY.replace(hour=8, minute=58, second=52))),
    ("20240102-08:58:52.123", ns(DAY.replace(hour=8, minute=58, second=52, microsecond=123000))),
    ("20240102-08:58:52.123456", ns(DAY.replace(hour=8, minute=58, second=52, microsecond=123456))),
    (
        "20240102-08:58:52.123456789",
        ns(DAY.replace(hour=8, minute=58, second=52, microsecond=123456), 789),
    ),
    ("20240102085852", ns(DAY.replace(hour=8, minute=58, second=52))),
    ("20240102085852123", ns(DAY.replace(hour=8, minute=58, second=52, microsecond=123000))),
    ("20240102085852123456789", ns(DAY.replace(hour=8, minute=58, second=52, microsecond=123456), 789)),
    ("20240102", ns(DAY)),
    ("20161231-23:59:60", ns(dt.datetime(2017, 1, 1))),  # a leap second: the next second's ns
]  # fmt: skip
TIME_OF_DAY = [
    ("08:58:52", dt.timedelta(hours=8, minutes=58, seconds=52)),
    ("08:58:52.000", dt.timedelta(hours=8, minutes=58, seconds=52)),
    ("08:58:52.123456", dt.timedelta(hours=8, minutes=58, seconds=52, microseconds=123456)),
    ("085852", dt.timedelta(hours=8, minutes=58, seconds=52)),
    ("85852", dt.timedelta(hours=8, minutes=58, seconds=52)),
    ("085852123", dt.timedelta(hours=8, minutes=58, seconds=52, milliseconds=123)),
    ("85852000", dt.timedelta(hours=8, minutes=58, seconds=52)),  # CME: HHMMSSmmm as an integer
    ("85852123456", dt.timedelta(hours=8, minutes=58, seconds=52, microseconds=123456)),
    ("085852123456", dt.timedelta(hours=8, minutes=58, seconds=52, microseconds=123456)),
    ("135852123", dt.timedelta(hours=13, minutes=58, seconds=52, milliseconds=123)),
    ("235959999", dt.timedelta(hours=23, minutes=59, seconds=59, milliseconds=999)),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_full_timestamp_forms(text: str, expected: int) -> None:
    assert parse_fix_time(text) == expected


@pytest.mark.parametrize(("text", "offset"), TIME_OF_DAY)
def test_time_of_day_forms(text: str, offset: dt.timedelta) -> None:
    assert parse_time_of_day(text) == offset // dt.timedelta(microseconds=1) * 1000
    assert parse_entry_time(text, "20240102") == ns(DAY + offset)
    assert parse_entry_time(text, None, "20240102-23:00:00") == ns(DAY + offset)  # 52's date


def test_nanosecond_time_of_day_forms() -> None:
    expected = ns(DAY.replace(hour=8, minute=58, second=52, microsecond=123456), 789)
    for text in ("08:58:52.123456789", "085852123456789", "85852123456789"):
        assert parse_entry_time(text, "20240102") == expected, text


@pytest.mark.parametrize(
    "text", ["", "1", "1234", "1330001", "1330001234", "0858521234567", "25:00:00", "08:60:00",
             "08:58:61", "08:58", "08:58:52.1234567890", "08:58:52,123", "2400000", "x", "08h58"]
)  # fmt: skip
def test_refused_times_of_day(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time_of_day(text)


def test_the_length_rule_decides_ambiguous_digits() -> None:
    """Digits only, the length decides (docs/decisions/0126): 5 digits are HMMSS, never the
    integer HHMMSSmmm of 00:00:10.000 that lost four zeros; 7 digits are refused."""
    assert parse_time_of_day("10000") == 3600 * 10**9
    assert parse_time_of_day("100000") == 10 * 3600 * 10**9
    with pytest.raises(ValueError):
        parse_time_of_day("5852000")  # 00:58:52.000 as an integer: no rule reads 7 digits


def test_entry_time_names_the_field_at_fault() -> None:
    with pytest.raises(FixTimeError) as caught:
        parse_entry_time("08:58:52", "2024-01-02")
    assert caught.value.tag == "272"
    with pytest.raises(FixTimeError) as caught:
        parse_entry_time("99:58:52", "20240102")
    assert caught.value.tag == "273"
    with pytest.raises(FixTimeError) as caught:
        parse_entry_time("08:58:52", None, "")  # no date to put it on
    assert caught.value.tag == "273"
    # A full timestamp in 273 carries its own date; 272 is not used.
    assert parse_entry_time("20240102-08:58:52.5", "19990101") == ns(
        DAY.replace(hour=8, minute=58, second=52, microsecond=500000)
    )
    assert parse_fix_date("20240102") == ns(DAY)


@given(
    st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2190, 12, 31)),
    st.integers(0, 999),
    st.sampled_from([0, 3, 6, 9]),
    st.sampled_from(["colon", "digits", "integer"]),
)
@settings(max_examples=300, deadline=None)
def test_every_form_against_datetime(
    when: dt.datetime, sub_us: int, digits: int, style: str
) -> None:
    """Each precision and separator style of one instant, against datetime arithmetic."""
    fraction = f"{when.microsecond:06d}{sub_us:03d}"[:digits]
    truncated_ns = int(fraction.ljust(9, "0")) if fraction else 0
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    expected = ns(midnight) + (when.hour * 3600 + when.minute * 60 + when.second) * 10**9
    expected += truncated_ns
    date = when.strftime("%Y%m%d")
    clock = when.strftime("%H:%M:%S") if style == "colon" else when.strftime("%H%M%S")
    if style == "colon":
        text = clock + ("." + fraction if fraction else "")
        assert parse_fix_time(f"{date}-{text}") == expected
    else:
        text = clock + fraction
        assert parse_fix_time(date + text) == expected
        if style == "integer":
            if when.hour == 0:
                return  # more than one zero lost: the length rule reads another form (below)
            text = str(int(text))  # the integer a venue writes: no leading zero before 10:00
    assert parse_entry_time(text, date) == expected


# -- the decoder ----------------------------------------------------------------------------------
CME_LIKE = frame(
    # CME historical FIX: compact SendingTime, MDEntryTime as the integer HHMMSSmmm (08:58:52.000)
    "35=X|34=5|52=20130714160302084|268=2|"
    "279=0|269=0|55=ESU3|270=1680.25|271=12|273=85852000|"
    "279=0|269=1|55=ESU3|270=1680.50|271=7|273=85852000|"
)


@pytest.mark.parametrize("compiled", IMPLEMENTATIONS)
def test_cme_integer_entry_time_keeps_every_entry(compiled: bool) -> None:
    """Before decision 0126 this whole message was rejected (bad_time: '2013071485852000' read
    as hour 85), losing both book entries."""
    decoder = FixDecoder("cme", compiled=compiled)
    events = decoder.decode(CME_LIKE, 1)
    assert [type(event) for event in events] == [BookDelta, BookDelta]
    assert {event.ts_exchange for event in events} == {ns(dt.datetime(2013, 7, 14, 8, 58, 52))}
    assert decoder.warnings == []


def _feed(decoder: FixDecoder, tmp_path: Path) -> tuple[FeedHandler, list[list[Event]]]:
    batches: list[list[Event]] = []
    return FeedHandler("fix", decoder, batches.append, dead_letters=DeadLetterFile(
        tmp_path / "dead.ndjson"
    )), batches  # fmt: skip


@pytest.mark.parametrize("compiled", IMPLEMENTATIONS)
def test_unparsable_entry_time_is_a_warning(compiled: bool, tmp_path: Path) -> None:
    message = frame(
        "35=X|34=5|52=20240102-13:30:00.250|268=3|"
        "279=0|269=0|55=A|270=1.5|271=2|273=13:29:59|"
        "279=0|269=1|55=A|270=1.75|271=2|273=99:00:00|"  # not a time: the message's time
        "279=0|269=1|55=A|270=2|271=2|272=2024-01-02|273=13:29:58|"  # a bad date: the same
    )
    handler, batches = _feed(FixDecoder("fix", compiled=compiled), tmp_path)
    events = handler.on_message(message, 1)
    sending = ns(dt.datetime(2024, 1, 2, 13, 30, 0, 250000))
    assert [event.ts_exchange for event in events] == [
        ns(dt.datetime(2024, 1, 2, 13, 29, 59)), sending, sending
    ]  # fmt: skip
    assert batches == [events]
    stats = handler.stats
    assert stats.decode_errors == 0 and stats.events == 3
    assert stats.decode_warnings == 2
    assert stats.warnings_by_reason == {"bad_time:273": 1, "bad_time:272": 1}
    letters = DeadLetterFile.read(tmp_path / "dead.ndjson")
    assert [(letter.reason, letter.severity) for letter in letters] == [
        ("bad_time:273", "warning"), ("bad_time:272", "warning")
    ]  # fmt: skip
    assert base64.b64decode(letters[0].raw_b64) == message
    assert "99:00:00" in letters[0].detail
    # The next message starts with no warnings.
    handler.on_message(CME_LIKE, 2)
    assert stats.decode_warnings == 2 and len(DeadLetterFile.read(tmp_path / "dead.ndjson")) == 2


@pytest.mark.parametrize("compiled", IMPLEMENTATIONS)
def test_unparsable_transact_time_falls_back_to_sending_time(compiled: bool) -> None:
    decoder = FixDecoder("fix", compiled=compiled)
    events = decoder.decode(
        frame("35=W|34=5|52=20240102-13:30:00|60=20240102-13:30:61|55=A|268=1|269=0|270=1|271=1|"),
        1,
    )
    assert events[0].ts_exchange == ns(dt.datetime(2024, 1, 2, 13, 30))
    assert [reason for reason, _ in decoder.warnings] == ["bad_time:60"]


@pytest.mark.parametrize("compiled", IMPLEMENTATIONS)
def test_unparsable_sending_time_stays_an_error(compiled: bool, tmp_path: Path) -> None:
    message = frame("35=X|34=5|52=20240102-25:00:00|268=1|279=0|269=0|55=A|270=1|271=1|")
    decoder = FixDecoder("fix", compiled=compiled)
    with pytest.raises(DecodeError) as caught:
        decoder.decode(message, 1)
    assert caught.value.reason == "bad_time" and decoder.sequencer.seq == 0
    assert decoder.warnings == []
    handler, batches = _feed(FixDecoder("fix", compiled=compiled), tmp_path)
    assert handler.on_message(message, 1) == [] and batches == []
    assert handler.stats.errors_by_reason == {"bad_time": 1} and handler.stats.decode_warnings == 0
    (letter,) = DeadLetterFile.read(tmp_path / "dead.ndjson")
    assert (letter.reason, letter.severity) == ("bad_time", "error")


def test_decoders_agree_on_the_time_cases() -> None:
    if not COMPILED:
        pytest.skip("the compiled FIX twins are not loaded")
    from tests.ingest.protocols.fix.test_fix_compiled import assert_decoders_agree

    assert_decoders_agree(
        FixParams(),
        [
            CME_LIKE,
            frame("35=X|52=20240102-13:30:00|268=1|279=0|269=0|55=A|270=1|271=1|273=85852|"),
            frame("35=X|52=20240102-13:30:00|268=1|279=0|269=0|55=A|270=1|271=1|273=1330001|"),
            frame("35=X|52=bad|268=1|279=0|269=0|55=A|270=1|271=1|273=99:00:00|"),
            frame("35=X|268=1|279=0|269=0|55=A|270=1|271=1|273=08:00:00|"),
        ],
    )
