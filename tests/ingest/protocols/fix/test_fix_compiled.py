"""The compiled FIX twins (``_cparser``, ``_cnormalize``, ``_cplugin``) against the pure-Python
reference: the same messages, events (field values and types, seq numbers), errors and state for
the same inputs — real captures, generated market data and hypothesis inputs.

Each test runs both implementations in one process (``compiled=True`` / ``compiled=False``), so
it skips when the twins are not built or ``TICKERPLANT_PURE_PYTHON`` is set; the rest of the FIX
tests run on whichever path is active, and ``./test.sh`` runs them on both.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.protocols.base import DecodeError, Sequencer
from ingest.protocols.fix import (
    FixDecoder,
    FixDictionary,
    FixEncoder,
    FixMessage,
    FixNormalizer,
    FixParams,
    FixParser,
)
from pipelines import accel
from pipelines.events import BookDelta, BookSnapshot, Event, Statistic, Trade

COMPILED = FixParser().compiled
needs_twins = pytest.mark.skipif(
    not COMPILED,
    reason="the compiled FIX twins are not loaded (not built, or TICKERPLANT_PURE_PYTHON set)",
)


def outcome(call: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What ``call(*args)`` gave, comparably; anything but a DecodeError propagates (fails)."""
    try:
        value = call(*args)
    except DecodeError as error:
        return ("error", error.reason, error.detail)
    if isinstance(value, FixMessage):
        # repr tells str from bytes and True from 1: same values AND types (and dict order).
        return ("message", value.msg_type, repr(value.fields), value.raw, repr(value.errors))
    return ("events", repr(value), len(value))


def state(decoder: FixDecoder) -> tuple[Any, ...]:
    normalizer = decoder.normalizer
    return (
        decoder.sequencer.seq,
        normalizer.price_decimals,
        normalizer.size_decimals,
        normalizer.security_ids,
        list(decoder.warnings),  # same warnings (optional times that did not parse), same order
    )


def assert_parsers_agree(
    dictionary: FixDictionary | None, messages: Iterable[bytes], **options: Any
) -> None:
    compiled = FixParser(dictionary, compiled=True, **options)
    reference = FixParser(dictionary, compiled=False, **options)
    for data in messages:
        assert outcome(compiled.parse, data) == outcome(reference.parse, data), data


FUSED: list[int] = [0]  # messages the compiled decoders took straight from the bytes


def assert_decoders_agree(params: FixParams, messages: Iterable[bytes]) -> int:
    """Both decoders over one stream of messages (state carries across); returns the events."""
    compiled = FixDecoder("s", params, compiled=True)
    reference = FixDecoder("s", params, compiled=False)
    assert compiled.compiled and not reference.compiled
    events = 0
    for data in messages:
        got = outcome(compiled.decode, data, 7)
        assert got == outcome(reference.decode, data, 7), data
        assert state(compiled) == state(reference), data
        events += got[2] if got[0] == "events" else 0
    assert compiled._fast is not None
    FUSED[0] += compiled._fast.fused_messages
    return events


# -- the switch -----------------------------------------------------------------------------------


def test_the_switch_picks_the_implementation() -> None:
    assert not FixParser(compiled=False).compiled
    assert not FixDecoder("s", compiled=False).compiled
    if accel.pure() or not COMPILED:
        with pytest.raises(ValueError, match="not loaded"):
            FixParser(compiled=True)
        with pytest.raises(ValueError, match="not loaded"):
            FixDecoder("s", compiled=True)
        assert not FixDecoder("s").compiled
    else:
        assert FixParser().compiled and FixDecoder("s").compiled
        assert FixNormalizer("s", Sequencer("s")).compiled
        # Input written with "|" is rewritten to SOH first: the two-step path, still compiled.
        assert not FixDecoder("s", FixParams(separator="|")).compiled
        assert FixDecoder("s", FixParams(separator="|")).parser.compiled


class _Entry(dict[str, Any]):
    """A dict subclass as an entry: the compiled normalizer hands such messages to the reference."""


def _raised(call: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    try:
        return outcome(call, *args)
    except Exception as error:  # the reference's own failure on hand-made garbage: same one
        return ("raised", type(error).__name__, str(error))


BOOK = {"269": "0", "270": "4517.75", "271": "2", "279": "1", "55": "ESZ4"}


@needs_twins
@pytest.mark.parametrize(
    ("msg_type", "entries"),
    [
        ("X", [BOOK, {**BOOK, "269": "1", "55": "NQZ4", "270": "12.5"}]),  # plain: compiled
        ("W", [BOOK, {**BOOK, "269": "2"}, {**BOOK, "269": "J"}]),
        ("X", [BOOK, "x"]),  # not a dict: the reference (AttributeError)
        ("W", [7]),
        ("X", "2"),  # not a list
        ("X", [_Entry(BOOK)]),
        ("X", [{**BOOK, "270": ["1.5"]}]),  # a list where a price belongs
        ("X", [{**BOOK, "1023": ["1"]}]),
    ],
)
def test_hand_made_messages_normalize_alike(msg_type: str, entries: Any) -> None:
    """FixNormalizer used on its own (a session layer's messages), with entries a parser never
    makes: the compiled normalizer gives what the reference gives, or raises what it raises."""
    fields = {"34": "9", "52": "20240102-13:30:00", "268": entries}
    compiled = FixNormalizer("s", Sequencer("s"), compiled=True)
    reference = FixNormalizer("s", Sequencer("s"), compiled=False)
    message = FixMessage(msg_type, fields, b"")
    assert _raised(compiled.normalize, message, 7) == _raised(reference.normalize, message, 7)
    assert compiled.sequencer.seq == reference.sequencer.seq
    assert compiled.price_decimals == reference.price_decimals
    assert compiled.size_decimals == reference.size_decimals


# -- real captures and generated market data --------------------------------------------------------


@needs_twins
def test_cme_security_definitions_parse_and_decode_alike(
    cme_dictionary: FixDictionary, cme_lines: list[bytes], fix_data: Path
) -> None:
    assert_parsers_agree(cme_dictionary, cme_lines)
    assert_parsers_agree(None, cme_lines)
    xml = str(fix_data / "cme-secdef" / "FIX50SP2.CME.xml")
    assert assert_decoders_agree(FixParams(dictionary=xml), cme_lines) == len(cme_lines)
    assert assert_decoders_agree(FixParams(symbol_tags=(48,)), cme_lines) == len(cme_lines)


@needs_twins
def test_quickfix_acceptance_messages_parse_alike(fix_data: Path, fix44: FixDictionary) -> None:
    messages = []
    for script in sorted((fix_data / "quickfix-acceptance" / "server_fix44").glob("*.def")):
        for line in script.read_bytes().splitlines():
            if line[:3] in (b"I8=", b"E8="):
                messages.append(line[1:].replace(b"<TIME>", b"20240102-13:30:00.123"))
    assert len(messages) > 100
    for options in ({}, {"validate_checksum": False, "validate_body_length": False}):
        assert_parsers_agree(fix44, messages, reject_unknown_msg_type=False, **options)
        assert_parsers_agree(None, messages, keep_negative_tags=True, **options)


def market_data(count: int, seed: int) -> list[bytes]:
    """W/X messages as bench_fix makes them: 1-10 entry X with trades and statistics, some W."""
    rng = random.Random(seed)
    events: list[Event] = []
    ts = 1_700_000_000_000_000_000
    for _ in range(count):
        ts += rng.randint(1_000, 1_000_000)
        common: dict[str, Any] = {
            "stream": "g",
            "symbol": rng.choice(["ESZ4", "NQZ4", "CLF5"]),
            "ts_exchange": ts,
        }
        decimals = rng.choice([0, 2, 4])
        if rng.random() < 0.1:
            bids = [(50_000 - 25 * i, rng.randint(1, 500)) for i in range(5)]
            asks = [(50_025 + 25 * i, rng.randint(1, 500)) for i in range(5)]
            events.append(BookSnapshot(**common, price_decimals=decimals, bids=bids, asks=asks))
            continue
        for _ in range(rng.randint(1, 8)):
            roll = rng.random()
            if roll < 0.15:
                events.append(Trade(**common, price=50_000, size=3, price_decimals=decimals))
            elif roll < 0.2:
                events.append(Statistic(**common, name="volume", value=rng.randint(1, 10**6)))
            else:
                events.append(
                    BookDelta(
                        **common,
                        side=rng.choice(["bid", "ask"]),
                        price=50_000 + 25 * rng.randint(-10, 10),
                        size=rng.randint(0, 500),
                        action=rng.choice(["new", "change", "delete"]),
                        level=rng.randint(0, 3),
                        implied=rng.random() < 0.1,
                        batch_end=False,
                        price_decimals=decimals,
                    )
                )
    # A fixed clock: the same bytes every call (hypothesis draws from these messages).
    encoder = FixEncoder("FIX.4.4", "VENUE", "US", clock=lambda: 1_700_000_000_000_000_000)
    return encoder.encode_messages(events)


@needs_twins
def test_generated_market_data_decodes_alike(fix_data: Path, fix44: FixDictionary) -> None:
    messages = market_data(600, seed=3)
    assert_parsers_agree(fix44, messages)
    assert_parsers_agree(None, messages)
    xml = str(fix_data / "quickfix-dict" / "FIX44.xml")
    before = FUSED[0]
    assert assert_decoders_agree(FixParams(dictionary=xml), messages) > len(messages)
    assert assert_decoders_agree(FixParams(), messages) > len(messages)
    assert assert_decoders_agree(FixParams(price_decimals=5), messages) > len(messages)
    many_tags = FixParams(symbol_tags=(*range(100, 110), 55))  # more than a symbol cache's 8
    assert assert_decoders_agree(many_tags, messages) > len(messages)
    assert FUSED[0] - before == 4 * len(messages)  # plain W/X: all straight from the bytes


# -- hypothesis: arbitrary bytes, and messages built from venue-like fields -------------------------


@needs_twins
@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_parse_and_decode_alike(data: bytes) -> None:
    assert_parsers_agree(None, [data])
    assert_parsers_agree(None, [data], validate_checksum=False, validate_body_length=False)
    params = FixParams(validate_checksum=False, validate_body_length=False)
    assert_decoders_agree(params, [data, data + b"\n"])


# Fields that exercise what the twins do differently: groups (delimiters, members, unknown tags,
# counts, repeats), scales, times, symbols by exchange and SecurityID, odd numbers and text.
FIELD = st.sampled_from(
    [
        b"35=X", b"35=W", b"35=d", b"35=f", b"35=0",
        b"268=1", b"268=2", b"268=3", b"268=0", b"268=02", b"268=x", b"268=",
        b"279=0", b"279=1", b"279=2", b"279=5", b"279=9",
        b"269=0", b"269=1", b"269=2", b"269=B", b"269=J", b"269=E", b"269=F", b"269=6", b"269=z",
        b"270=1.5", b"270=1.50", b"270=0.125", b"270=12", b"270=.5", b"270=5.", b"270=-1.5",
        b"270= 7", b"270=1_0", b"270=1e5", b"270=", b"270=1.0000000000000000000001",
        b"270=123456789012345678901", b"270=\xb2",
        b"271=3", b"271=0.5", b"271=2.000", b"271=x",
        b"1023=2", b"1023=\xb2", b"1023=", b"83=5", b"83=x", b"83=\xb2", b"34=9", b"34=\xb9",
        b"55=A", b"55=B", b"55=", b"48=1", b"48=2", b"107=AZ4", b"207=XCME", b"207=XNAS",
        b"52=20240102-13:30:00", b"52=20240102-13:30:00.5", b"52=20240230-13:30:00", b"52=bad",
        b"60=20240102-13:30:00.123456789", b"60=20240102", b"60=20240102-25:00:00",
        b"273=13:30:00", b"273=133000", b"272=20240103",
        b"273=85852000", b"273=085852000", b"273=85852", b"273=85852123456789", b"273=1330",
        b"273=99:00:00", b"273=13:30:00.123456", b"273=1330001", b"272=2024-01-03",
        b"52=99990102-13:30:00", b"60=16000102-13:30:00.1", b"52=29130714160302079",
        b"2446=1", b"54=2", b"1003=T1", b"278=7",
        b"326=2", b"969=0.25", b"562=0.5", b"555=1", b"600=L", b"146=1",
        b"10=000", b"0=x", b"01=x", b"-1=x", b"70000=x", b"=", b"", b"x", b"9999=\xff",
    ]
)  # fmt: skip


@st.composite
def framed(draw: st.DrawFn) -> bytes:
    """A message of soup fields with a correct BodyLength and CheckSum (so the group and
    normalizer logic runs), sometimes with the header or trailer left out."""
    body = b"".join(field + b"\x01" for field in draw(st.lists(FIELD, max_size=24)))
    style = draw(st.sampled_from(["full", "full", "bare", "no-trailer"]))
    if style == "bare":
        return body
    head = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
    if style == "no-trailer":
        return head
    return head + b"10=%03d\x01" % (sum(head) % 256)


# Mostly sound values, with the odd ones a venue might send, for W/X entries and headers.
ENTRY_FIELD = st.sampled_from(
    [
        b"279=0", b"279=1", b"279=2", b"279=3", b"279=9",
        b"269=0", b"269=1", b"269=2", b"269=B", b"269=6", b"269=E", b"269=F", b"269=J", b"269=z",
        b"270=4517.75", b"270=4517.5", b"270=4517", b"270=0.125", b"270=1.50", b"270=-2.5",
        b"270=.5", b"270=", b"270=12345678901234567890",
        b"271=10", b"271=0.5", b"271=3.00", b"271=x",
        b"55=ESZ4", b"55=NQZ4", b"55=", b"48=1", b"48=7", b"107=GEM4", b"207=XCME",
        b"83=12", b"83=x", b"1023=1", b"1023=", b"336=2", b"9999=u", b"346=4",
        b"60=20240102-13:30:00.5", b"273=13:30:01", b"273=20240102133001000", b"272=20240103",
        b"273=85852000", b"273=085852000123", b"273=8585200", b"273=13:30:01.123456789",
        b"273=25:00:00", b"273=20240102-13:30:01.5", b"272=20240230", b"272=x", b"60=bad",
        b"2446=1", b"54=2", b"5797=1", b"1003=T1", b"278=9", b"1023=3",
        # nested groups of FIX 5.0SP2's NoMDEntries: SecurityAltID (454) and events (864)
        b"454=1", b"455=X1", b"456=8", b"864=2", b"865=5", b"866=20240102",
    ]
)  # fmt: skip
TOP_FIELD = st.sampled_from(
    [b"34=5", b"34=x", b"52=20240102-13:30:00.000340563", b"52=20240102-13:30:00", b"52=bad",
     b"55=ESZ4", b"48=7", b"207=XCME", b"83=4", b"60=20240102-13:29:59", b"262=r", b"5=5",
     b"52=99991231-23:59:60.999999999", b"60=19000101-00:00:00", b"52=20240102133000123",
     b"273=85852000", b"273=13:30:00", b"60=20240102-13:30:61", b"272=20240103"]
)  # fmt: skip


@st.composite
def market_message(draw: st.DrawFn) -> bytes:
    """A W or X message with entries (NumInGroup sometimes wrong), framed with 8, 9 and 10."""
    entries = draw(st.lists(st.lists(ENTRY_FIELD, min_size=1, max_size=7), max_size=5))
    count = len(entries) + draw(st.sampled_from([0, 0, 0, 0, 1, -1]))
    fields = [draw(st.sampled_from([b"35=X", b"35=W"]))]
    fields += draw(st.lists(TOP_FIELD, max_size=4))
    fields.append(b"268=%d" % max(count, 0))
    for entry in entries:
        first = draw(st.sampled_from([b"279=", b"269=", b""]))  # the delimiter, or not
        fields += [field for field in entry if not first or field.startswith(first)][:1]
        fields += entry
    fields += draw(st.lists(TOP_FIELD, max_size=2))
    body = b"".join(field + b"\x01" for field in fields)
    head = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
    return head + b"10=%03d\x01" % (sum(head) % 256)


@needs_twins
@given(st.lists(market_message(), min_size=1, max_size=6))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_market_data_messages_decode_alike(
    fix_data: Path, fix50sp2: FixDictionary, messages: list[bytes]
) -> None:
    assert_parsers_agree(None, messages)
    assert_parsers_agree(fix50sp2, messages)
    dictionaries = fix_data / "quickfix-dict"
    assert_decoders_agree(
        FixParams(
            dictionary=str(dictionaries / "FIX50SP2.xml"),
            transport_dictionary=str(dictionaries / "FIXT11.xml"),
        ),
        messages,
    )
    assert_decoders_agree(FixParams(), messages)
    assert_decoders_agree(FixParams(symbol_tags=(107, 55), implied_bid_type="6"), messages)
    assert_decoders_agree(
        FixParams(dictionary=str(fix_data / "quickfix-dict" / "FIX44.xml")), messages
    )


@needs_twins
def test_market_data_property_takes_the_fused_path(fix_data: Path, fix50sp2: FixDictionary) -> None:
    # Guards the property test above: it must exercise the fused path, not only its fallback.
    before = FUSED[0]
    test_market_data_messages_decode_alike(fix_data, fix50sp2)
    assert FUSED[0] - before > 100


@needs_twins
@given(st.lists(framed(), min_size=1, max_size=6))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_venue_like_messages_decode_alike(messages: list[bytes]) -> None:
    assert_parsers_agree(None, messages)
    assert_decoders_agree(FixParams(), messages)
    assert_decoders_agree(FixParams(symbol_tags=(48, 55)), messages)


@needs_twins
@given(st.lists(framed(), min_size=1, max_size=4))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_venue_like_messages_decode_alike_with_a_dictionary(
    fix_data: Path, fix44: FixDictionary, fix50sp2: FixDictionary, messages: list[bytes]
) -> None:
    assert_parsers_agree(fix44, messages)
    assert_parsers_agree(fix44, messages, reject_unknown_msg_type=False)
    assert_parsers_agree(fix50sp2, messages, reject_unknown_msg_type=False)  # nested groups
    assert_decoders_agree(
        FixParams(dictionary=str(fix_data / "quickfix-dict" / "FIX44.xml")), messages
    )


@needs_twins
@given(st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_real_messages_decode_alike(
    fix_data: Path, cme_dictionary: FixDictionary, cme_lines: list[bytes], data: st.DataObject
) -> None:
    """Real secdefs and market data with bytes replaced, removed or inserted (this found the
    compiled clock overflowing 64 bits on a SendingTime in year 2913)."""
    originals = cme_lines[:20] + market_data(20, seed=5)
    message = bytearray(data.draw(st.sampled_from(originals)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(message) - 1))
        byte = data.draw(st.sampled_from([0x01, ord("="), ord("."), ord("0"), ord("9"), 0xB2]))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "replace":
            message[at] = byte
        elif action == "delete":
            del message[at]
        else:
            message.insert(at, byte)
    mutated = bytes(message)
    unchecked: dict[str, Any] = {"validate_checksum": False, "validate_body_length": False}
    assert_parsers_agree(None, [mutated], **unchecked)
    assert_parsers_agree(cme_dictionary, [mutated], reject_unknown_msg_type=False, **unchecked)
    assert_decoders_agree(FixParams(**unchecked), [mutated])
    cme_xml = str(fix_data / "cme-secdef" / "FIX50SP2.CME.xml")
    assert_decoders_agree(FixParams(dictionary=cme_xml, **unchecked), [mutated])


# -- time forms (docs/decisions/0126) ------------------------------------------------------------
def _time_of_day_text(h: int, m: int, s: int, fraction: str, style: str) -> str:
    if style == "colon":
        return f"{h:02d}:{m:02d}:{s:02d}" + (f".{fraction}" if fraction else "")
    text = f"{h:02d}{m:02d}{s:02d}{fraction}"
    return text.lstrip("0") or "0" if style == "integer" else text


TIME_TEXT = st.one_of(
    st.builds(
        _time_of_day_text,
        st.integers(0, 25),
        st.integers(0, 60),
        st.integers(0, 61),
        st.sampled_from(["", "1", "12", "123", "123456", "123456789", "1234567890"]),
        st.sampled_from(["colon", "digits", "integer"]),
    ),
    st.text("0123456789:.-", max_size=20),
    st.sampled_from(["20240102-08:58:52.123", "20240102085852123", "20240102", "x"]),
)
DATE_TEXT = st.sampled_from(["20240103", "20240230", "2024-01-03", "19000101", "29990101", "x"])


@needs_twins
@given(
    st.lists(
        st.tuples(st.sampled_from(["273", "60", "272+273"]), TIME_TEXT, DATE_TEXT, st.booleans()),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["20240102-13:30:00", "20240102133000123", "", "bad", "x"]),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_time_forms_decode_alike(entries: list[tuple[str, str, str, bool]], sending: str) -> None:
    """Entry and message times in every accepted form and broken ones: same events, errors and
    warnings on both paths (the compiled clock's C forms, the reference for the rest)."""
    fields = [b"35=X"] + ([b"52=" + sending.encode()] if sending else [])
    fields.append(b"268=%d" % len(entries))
    for tag, text, date, _on_message in entries:
        fields += [b"279=0", b"269=0", b"55=A", b"270=1.5", b"271=2"]
        if tag == "272+273":
            fields += [b"272=" + date.encode(), b"273=" + text.encode()]
        elif text:
            fields.append(tag.encode() + b"=" + text.encode())
    if entries[0][3] and entries[0][1]:
        fields.insert(1, b"273=" + entries[0][1].encode())  # a message-level time as well
    body = b"".join(field + b"\x01" for field in fields)
    head = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
    message = head + b"10=%03d\x01" % (sum(head) % 256)
    assert_decoders_agree(FixParams(), [message])
