"""Property tests: encode -> decode is the identity on the Car schema; bytes never crash decode."""

from __future__ import annotations

import contextlib
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.protocols.base import DecodeError
from ingest.protocols.sbe import (
    Composite,
    EncodedType,
    EncodeError,
    EnumType,
    Field,
    Group,
    SbeCodec,
    SetType,
    load_schema,
)
from ingest.protocols.sbe.model import DataField

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "uint8": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_ASCII = st.characters(min_codepoint=1, max_codepoint=127)


def _scalar(encoded: EncodedType) -> st.SearchStrategy[Any]:
    if encoded.primitive == "float":
        return st.floats(width=32, allow_nan=False)
    if encoded.primitive == "double":
        return st.floats(allow_nan=False)
    low, high = _INT_RANGES[encoded.primitive]
    values = st.integers(low, high)
    if encoded.presence == "optional":
        values = values.filter(lambda v: v != encoded.null_value)
        return st.one_of(st.none(), values)
    return values


def value_strategy(sbe_type: Any) -> st.SearchStrategy[Any]:
    """Values a schema type decodes to (so decode(encode(v)) == v must hold)."""
    if isinstance(sbe_type, Composite):
        members = {
            m.name: value_strategy(m.type)
            for m in sbe_type.members
            if not (isinstance(m.type, EncodedType) and m.type.presence == "constant")
        }
        constants = {
            m.name: st.just(m.type.constant)
            for m in sbe_type.members
            if isinstance(m.type, EncodedType) and m.type.presence == "constant"
        }
        return st.fixed_dictionaries({**members, **constants})
    if isinstance(sbe_type, EnumType):
        return st.sampled_from(sorted(sbe_type.values))
    if isinstance(sbe_type, SetType):
        return st.frozensets(st.sampled_from(sorted(sbe_type.choices)))
    if sbe_type.is_text:
        return st.text(_ASCII, max_size=sbe_type.length)
    if sbe_type.length != 1:
        return st.lists(_scalar(sbe_type), min_size=sbe_type.length, max_size=sbe_type.length)
    return _scalar(sbe_type)


def block_strategy(
    fields: tuple[Field, ...], groups: tuple[Group, ...], data: tuple[DataField, ...]
) -> st.SearchStrategy[dict[str, Any]]:
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in fields:
        parts[field.name] = (
            st.just(field.constant) if field.presence == "constant" else value_strategy(field.type)
        )
    for group in groups:
        parts[group.name] = st.lists(
            block_strategy(group.fields, group.groups, group.data), max_size=3
        )
    for item in data:
        var = item.type.member("varData")
        encoding = (
            var.type.character_encoding if var and isinstance(var.type, EncodedType) else None
        )
        if encoding is None:
            parts[item.name] = st.binary(max_size=20)
        elif encoding.upper() == "ASCII":
            parts[item.name] = st.text(_ASCII, max_size=20)
        else:
            parts[item.name] = st.text(max_size=20)
    return st.fixed_dictionaries(parts)


@pytest.fixture(scope="module")
def car(shared_data: Path) -> SbeCodec:
    return SbeCodec(load_schema(shared_data / "sbe" / "reallogic-car" / "example-schema.xml"))


@pytest.fixture(scope="module")
def car_extension(shared_data: Path) -> SbeCodec:
    path = shared_data / "sbe" / "reallogic-car" / "example-extension-schema.xml"
    return SbeCodec(load_schema(path))


def _roundtrip(codec: SbeCodec, data: st.DataObject) -> None:
    message = codec.schema.message("Car")
    values = data.draw(block_strategy(message.fields, message.groups, message.data))
    encoded = codec.encode("Car", values)
    decoded = codec.decode(encoded)
    assert decoded.end == len(encoded)
    assert decoded.values == values
    assert codec.encode("Car", decoded.values) == encoded


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_car_roundtrip(car: SbeCodec, data: st.DataObject) -> None:
    _roundtrip(car, data)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_car_extension_roundtrip(car_extension: SbeCodec, data: st.DataObject) -> None:
    _roundtrip(car_extension, data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_decode_error(car: SbeCodec, blob: bytes) -> None:
    try:
        message = car.decode(blob)
    except DecodeError:
        return
    assert isinstance(message.values, dict)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_golden_bytes_decode_or_raise(
    car: SbeCodec, shared_data: Path, data: st.DataObject
) -> None:
    golden = (shared_data / "sbe" / "reallogic-car" / "car_example_baseline_data.sbe").read_bytes()
    position = data.draw(st.integers(0, len(golden) - 1))
    byte = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(golden)))
    mutated = (golden[:position] + bytes([byte]) + golden[position + 1 :])[:cut]
    with contextlib.suppress(DecodeError):
        car.decode(mutated)


def test_nan_float_survives_and_required_values_are_enforced(car: SbeCodec) -> None:
    minimal = car.decode(car.encode("Car", _minimal_car())).values
    with_nan = _minimal_car()
    with_nan["fuelFigures"] = [{"speed": 1, "mpg": math.nan, "usageDescription": ""}]
    decoded = car.decode(car.encode("Car", with_nan)).values
    assert math.isnan(decoded["fuelFigures"][0]["mpg"])
    assert minimal["fuelFigures"] == []
    assert struct.unpack_from("<HHHH", car.encode("Car", _minimal_car())) == (45, 1, 1, 0)
    missing = _minimal_car()
    del missing["engine"]["capacity"]
    with pytest.raises(EncodeError, match="capacity"):
        car.encode("Car", missing)
    with pytest.raises(EncodeError, match="not a Model"):
        car.encode("Car", {**_minimal_car(), "code": "Z"})
    with pytest.raises(EncodeError):
        car.encode("Car", {**_minimal_car(), "vehicleCode": "\u00e9"})


def _minimal_car() -> dict[str, Any]:
    return {
        "serialNumber": 0,
        "modelYear": 0,
        "available": "F",
        "code": "A",
        "someNumbers": [0, 0, 0, 0],
        "engine": {
            "capacity": 1,
            "numCylinders": 1,
            "efficiency": 1,
            "boosterEnabled": "T",
            "booster": {"BoostType": "KERS", "horsePower": 1},
        },
    }
