"""Property: whatever the bytes, a mapped decoder returns events or raises DecodeError only."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from ingest.protocols.base import DecodeError
from ingest.protocols.mapped import MappedCsvDecoder, MappedJsonDecoder, MappedParams

DECODERS = {
    name: MappedJsonDecoder("p", MappedParams(mapping=name)) for name in ("binance_spot", "kraken")
}
CSV = MappedCsvDecoder("p", MappedParams(mapping="orders_csv"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=20,
)

# Frames shaped like the real ones, with arbitrary values where the venue puts data.
binance_like = st.builds(
    lambda stream, data: {"stream": stream, "data": data},
    st.sampled_from(["x@depth@100ms", "x@bookTicker", "x@aggTrade", "x@kline_1m", "x"]),
    st.fixed_dictionaries(
        {"e": st.sampled_from(["depthUpdate", "aggTrade", "kline", "other"])},
        optional={
            k: json_values for k in ("s", "U", "u", "b", "a", "p", "q", "m", "E", "T", "B", "A")
        },
    ),
)
kraken_like = st.lists(json_values, max_size=4).map(lambda middle: [1, *middle, "book-1000", "X/Y"])


def decode_all(data: bytes) -> None:
    for decoder in DECODERS.values():
        try:
            events = decoder.decode(data, 0)
        except DecodeError:
            continue
        assert isinstance(events, list)


@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    decode_all(data)
    with contextlib.suppress(DecodeError):
        CSV.decode(data, 0)


@given(st.one_of(json_values, binance_like, kraken_like))
def test_arbitrary_json_values(value: object) -> None:
    decode_all(json.dumps(value).encode())


@given(st.binary(max_size=40))
def test_arbitrary_bytes_inside_a_json_string(inside: bytes) -> None:
    """Invalid UTF-8 inside a string is a DecodeError too (msgspec raises UnicodeDecodeError)."""
    decode_all(b'{"stream":"x@depth","data":{"e":"depthUpdate","s":"' + inside + b'"}}')


def test_invalid_utf8_in_a_string_is_a_decode_error() -> None:
    for decoder in DECODERS.values():
        try:
            decoder.decode(b'{"a":"\xc3"}', 0)
        except DecodeError as error:
            assert error.reason == "bad_json"
        else:
            raise AssertionError("decoded invalid UTF-8")
