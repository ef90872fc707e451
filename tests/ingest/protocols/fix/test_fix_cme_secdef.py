"""The 200 real CME SecurityDefinitions decode with the CME dictionary into Instrument events."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.protocols.fix import FixDecoder, FixDictionary, FixParams, FixParser, validate
from pipelines.events import Instrument


@pytest.fixture
def cme_decoder(fix_data: Path) -> FixDecoder:
    return FixDecoder(
        "cme",
        FixParams(
            dictionary=str(fix_data / "cme-secdef" / "FIX50SP2.CME.xml"), symbol_tags=(107, 55, 48)
        ),
    )


def test_all_200_parse_with_valid_trailers(
    cme_dictionary: FixDictionary, cme_lines: list[bytes]
) -> None:
    parser = FixParser(cme_dictionary)  # checksum and body length validated by default
    messages = [parser.parse(line) for line in cme_lines]
    assert len(messages) == 200
    assert all(message.msg_type == "d" for message in messages)
    assert all(message.errors == [] for message in messages)
    with_legs = [m for m in messages if m.group(555)]
    with_events = [m for m in messages if m.group(864)]
    assert with_legs and len(with_events) == 200
    for message in with_legs:
        assert len(message.group(555)) == int(message.raw.split(b"\x01555=")[1].split(b"\x01")[0])
        assert all("602" in leg for leg in message.group(555))  # LegSecurityID in every leg
    # Dictionary validation of real traffic: groups are well formed and every tag is known; the
    # only tags outside the dictionary's SecurityDefinition are ExpirationCycle (827) and
    # ImpliedMarketIndicator (1144), which CME sends although its own dictionary omits them.
    errors = [error for m in messages for error in validate(m, cme_dictionary)]
    assert not [error for error in errors if error.reason in (0, 15, 16)]
    assert {error.tag for error in errors if error.reason == 2} == {"827", "1144"}


def test_golden_outright(cme_dictionary: FixDictionary, cme_lines: list[bytes]) -> None:
    message = FixParser(cme_dictionary).parse(cme_lines[0])
    assert message.get(48) == "34043"
    assert message.get(107) == "G6M4"
    assert message.msg_seq_num == 4408
    assert message.group(864) == [
        {"865": "5", "866": "20130702", "1145": "214900000"},
        {"865": "7", "866": "20140702", "1145": "140000000"},
    ]
    assert message.group(1141) == [{"1022": "GBX", "264": "5"}]
    assert message.sending_time == 1373817781_792_000_000  # 20130714160301792, CME compact


def test_golden_spread_legs(cme_dictionary: FixDictionary, cme_lines: list[bytes]) -> None:
    message = FixParser(cme_dictionary).parse(cme_lines[2])
    assert message.get(107) == "CBX3-CBH4"
    assert message.group(555) == [
        {"600": "[N/A]", "602": "12662", "603": "8", "623": "1", "624": "1"},
        {"600": "[N/A]", "602": "37739", "603": "8", "623": "1", "624": "2"},
    ]
    assert [entry["872"] for entry in message.group(870)] == ["1", "11", "14"]


def test_instrument_events(cme_decoder: FixDecoder, cme_lines: list[bytes]) -> None:
    events = [event for line in cme_lines for event in cme_decoder.decode(line, ts_recv=1)]
    assert len(events) == 200 and all(isinstance(event, Instrument) for event in events)
    assert [event.seq for event in events] == list(range(1, 201))
    first, spread = events[0], events[2]
    assert isinstance(first, Instrument) and isinstance(spread, Instrument)
    assert first.symbol == "G6M4"
    assert (first.tick_size, first.price_decimals) == (1, 2)  # 969=0.01, 1150=686.5
    assert first.venue_seq == 4408
    assert first.ts_exchange == 1373817781_792_000_000
    assert first.venue_ids["security_id"] == "34043"
    assert first.venue_ids["symbol"] == "HW"
    assert first.venue_ids["currency"] == "JPY"
    assert spread.symbol == "CBX3-CBH4"
    assert (spread.tick_size, spread.price_decimals) == (25, 0)  # 969=25
    assert spread.venue_ids["display_factor"] == "0.001"
    assert len({event.symbol for event in events}) == 200  # SecurityDesc names each one
    for event in events:
        assert isinstance(event, Instrument)
        assert event.tick_size > 0 and 0 <= event.price_decimals <= 6


def test_cme_instruments_are_named_by_security_desc_by_default(
    fix_data: Path, cme_lines: list[bytes]
) -> None:
    # On CME Globex (207=XCME) Symbol 55 is the product ("HW"), SecurityDesc 107 the instrument.
    dictionary = str(fix_data / "cme-secdef" / "FIX50SP2.CME.xml")
    decoder = FixDecoder("cme", {"dictionary": dictionary})
    events = [e for line in cme_lines for e in decoder.decode(line, 0)]
    first = events[0]
    assert isinstance(first, Instrument)
    assert (first.symbol, first.venue_ids["symbol"], first.description) == ("G6M4", "HW", "")
    assert len({e.symbol for e in events}) == 200, "every instrument keeps its own book"


def test_explicit_symbol_tags_override_the_exchange_convention(
    fix_data: Path, cme_lines: list[bytes]
) -> None:
    dictionary = str(fix_data / "cme-secdef" / "FIX50SP2.CME.xml")
    decoder = FixDecoder("cme", {"dictionary": dictionary, "symbol_tags": [55, 48]})
    event = decoder.decode(cme_lines[0], ts_recv=0)[0]
    assert isinstance(event, Instrument)
    assert (event.symbol, event.description) == ("HW", "G6M4")


def test_without_a_dictionary(cme_lines: list[bytes]) -> None:
    parser = FixParser()
    message = parser.parse(cme_lines[2])
    assert len(message.group(555)) == 2
    assert message.get(562) == "1"  # a top-level field after the legs stays top-level
    decoder = FixDecoder("cme", FixParams(symbol_tags=(107, 48)))
    assert len([e for line in cme_lines for e in decoder.decode(line, 0)]) == 200
