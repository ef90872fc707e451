"""Bytes → FixMessage: framing checks with stable DecodeError reasons, groups, header fields."""

from __future__ import annotations

import pytest

from ingest.protocols.base import DecodeError
from ingest.protocols.fix import (
    FixDictionary,
    FixParser,
    checksum,
    format_utc_timestamp,
    parse_fix_time,
    validate,
)

X44 = (
    "35=X|49=VENUE|56=US|34=7|43=Y|52=20240102-13:30:00.123|268=2|"
    "279=0|269=0|55=ESH4|270=4750.25|271=10|"
    "279=2|269=1|55=ESH4|270=4750.50|271=0|"
)


def reason_of(parser: FixParser, data: bytes) -> str:
    with pytest.raises(DecodeError) as caught:
        parser.parse(data)
    return caught.value.reason


def test_checksum_is_the_byte_sum_mod_256() -> None:
    for size in (0, 1, 255, 256, 257, 1000, 5000):
        data = bytes(range(256)) * (size // 256 + 1)
        assert checksum(data[:size]) == sum(data[:size]) % 256


def test_header_fields_for_a_session_layer(fix44: FixDictionary, frame) -> None:
    message = FixParser(fix44).parse(frame("FIX.4.4", X44))
    assert message.msg_type == "X"
    assert message.begin_string == "FIX.4.4"
    assert message.msg_seq_num == 7
    assert message.poss_dup is True
    assert message.sender_comp_id == "VENUE"
    assert message.target_comp_id == "US"
    assert message.sending_time == parse_fix_time("20240102-13:30:00.123")
    entries = message.group(268)
    assert [entry["270"] for entry in entries] == ["4750.25", "4750.50"]
    assert message.errors == []


def test_bad_checksum(fix44: FixDictionary, frame) -> None:
    good = frame("FIX.4.4", X44)
    bad = good[:-4] + b"%03d\x01" % ((int(good[-4:-1]) + 1) % 256)
    assert reason_of(FixParser(fix44), bad) == "checksum"
    assert reason_of(FixParser(fix44), good[:-4] + b"1x3\x01") == "checksum"
    # Turned off, the same bytes parse.
    assert FixParser(fix44, validate_checksum=False).parse(bad).msg_type == "X"


def test_bad_body_length(fix44: FixDictionary, frame) -> None:
    good = frame("FIX.4.4", X44)
    declared = good.split(b"\x01")[1]
    bad = good.replace(declared, b"9=%d" % (int(declared[2:]) + 1), 1)
    bad = bad[:-4] + b"%03d\x01" % (sum(bad[:-7]) % 256)  # checksum right, length wrong
    assert reason_of(FixParser(fix44), bad) == "body_length"
    no_length = good.replace(declared + b"\x01", b"", 1)
    no_length = no_length[:-4] + b"%03d\x01" % (sum(no_length[:-7]) % 256)
    assert reason_of(FixParser(fix44), no_length) == "body_length"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"garbage",
        b"8=FIX.4.4\x019=5\x0135=X\x01",  # no trailer: truncated
        b"8=FIX.4.4\x019=12\x0135=X\x01abc\x0110=000\x01",  # a field without "="
        b"35=X\x01x1=2\x01",
        b"35=X\x01268=two\x01",
    ],
)
def test_garbled(data: bytes) -> None:
    parser = FixParser(validate_checksum=False, validate_body_length=False)
    assert reason_of(parser, data) in {"garbled", "checksum"}
    assert (
        reason_of(
            FixParser(validate_checksum=False, validate_body_length=False), b"35=X\x01x1=2\x01"
        )
        == "garbled"
    )


def test_unknown_msg_type_with_a_dictionary(fix44: FixDictionary, frame) -> None:
    assert (
        reason_of(FixParser(fix44), frame("FIX.4.4", "35=ZZ|49=A|56=B|34=1|")) == "unknown_msg_type"
    )
    # Without a dictionary any type parses (the normalizer gives it no events).
    assert FixParser().parse(frame("FIX.4.4", "35=ZZ|49=A|")).msg_type == "ZZ"


def test_message_without_begin_string_validates_what_is_present(frame) -> None:
    full = frame("FIX.4.4", "35=f|55=ESH4|326=2|")
    history = b"1128=9\x01" + full[full.index(b"\x019=") + 1 :]  # "1128=9|9=..|35=f..."
    history = history[:-4] + b"%03d\x01" % (sum(history[:-7]) % 256)
    message = FixParser().parse(history + b"\r\n")
    assert message.appl_ver_id == "9"
    assert message.get(326) == "2"
    bare = b"35=f\x0155=ESH4\x01326=2\x01"  # no 8, 9 or 10 at all
    assert FixParser().parse(bare).get("55") == "ESH4"


def test_group_count_mismatch_is_reported(frame) -> None:
    message = FixParser().parse(frame("FIX.4.4", "35=W|55=A|268=3|269=0|270=1|271=1|"))
    assert [(error.tag, error.reason) for error in message.errors] == [("268", 16)]


def test_entries_without_the_dictionary_delimiter(fix44: FixDictionary, frame) -> None:
    # Venues that omit MDUpdateAction (279): every entry starts with 269.
    message = FixParser(fix44).parse(
        frame("FIX.4.4", "35=X|268=2|269=0|270=1|271=1|269=1|270=2|271=3|")
    )
    assert [entry["269"] for entry in message.group(268)] == ["0", "1"]
    assert {(error.tag, error.reason) for error in message.errors} == {("269", 15)}


def test_validate_reports_session_reject_reasons(fix44: FixDictionary, frame) -> None:
    parser = FixParser(fix44)
    message = parser.parse(
        frame("FIX.4.4", "35=f|49=A|56=B|52=20240102-13:30:00|55=X|326=99|336=|9999=1|44=1|")
    )
    reasons = {(error.tag, error.reason) for error in validate(message, fix44)}
    assert ("34", 1) in reasons  # MsgSeqNum missing
    assert ("326", 5) in reasons  # not a SecurityTradingStatus value
    assert ("336", 4) in reasons  # empty value
    assert ("9999", 0) in reasons  # not in the dictionary
    assert ("44", 2) in reasons  # Price is not a SecurityStatus field
    clean = parser.parse(frame("FIX.4.4", "35=f|49=A|56=B|34=1|52=20240102-13:30:00|55=X|326=2|"))
    assert validate(clean, fix44) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240102-13:30:00", 1704202200_000_000_000),
        ("20240102-13:30:00.123", 1704202200_123_000_000),
        ("20240102-13:30:00.123456", 1704202200_123_456_000),
        ("20240102-13:30:00.123456789", 1704202200_123_456_789),
        ("20130714160301792", 1373817781_792_000_000),  # CME compact
        ("20240102", 1704153600_000_000_000),
    ],
)
def test_times(text: str, expected: int) -> None:
    assert parse_fix_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024",
        "20241302-00:00:00",
        "20240102-25:00:00",
        "20240102-13:30:00,1",
        "20240102T13:30:00",
        "x" * 17,
    ],
)
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_fix_time(text)


def test_format_utc_timestamp() -> None:
    assert format_utc_timestamp(1704202200_123_456_789) == "20240102-13:30:00.123456789"
    assert format_utc_timestamp(1704202200_123_456_789, 3) == "20240102-13:30:00.123"
    assert format_utc_timestamp(1704202200_000_000_000, 0) == "20240102-13:30:00"
