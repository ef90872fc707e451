"""Encode a fixed-size block from the value forms that ``plan.py`` decodes to.

Encoding is the cold direction (simulator, tests, tools), so it walks the types per call instead
of generating code; the struct format and slot order are shared with the reader
(:func:`plan.block_format`), which is what makes encode → decode round-trip exactly.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ingest.protocols.sbe.model import Composite, EncodedType, EnumType, Field, SbeType, SetType
from ingest.protocols.sbe.plan import block_format, present_fields

__all__ = ["BlockWriter", "EncodeError", "compile_writer"]

BlockWriter = Callable[[Mapping[str, Any]], bytes]


class EncodeError(ValueError):
    """A value that does not fit its schema type (missing required field, unknown enum name...)."""


def _null(encoded: EncodedType, owner: str) -> object:
    if encoded.presence != "optional" or encoded.null_value is None:
        raise EncodeError(f"{owner}: a value is required")
    if encoded.primitive == "char":
        return bytes([int(encoded.null_value)])
    return encoded.null_value


def _slots(sbe_type: SbeType, value: Any, out: list[Any], owner: str) -> None:
    if isinstance(sbe_type, Composite):
        values = value if isinstance(value, Mapping) else {}
        for member in sorted(sbe_type.members, key=lambda m: m.offset):
            _slots(member.type, values.get(member.name), out, f"{owner}.{member.name}")
        return
    if isinstance(sbe_type, EnumType):
        encoding = sbe_type.encoding
        if value is None:
            out.append(_null(encoding, owner))
        elif isinstance(value, str):
            try:
                out.append(sbe_type.values[value])
            except KeyError:
                raise EncodeError(f"{owner}: {value!r} is not a {sbe_type.name} value") from None
        else:
            out.append(value)  # a raw value an older schema did not name
        return
    if isinstance(sbe_type, SetType):
        if value is None:
            out.append(0)
        elif isinstance(value, int):
            out.append(value)
        else:
            out.append(_set_bits(sbe_type, value, owner))
        return
    _encoded_slots(sbe_type, value, out, owner)


def _set_bits(set_type: SetType, names: Iterable[str], owner: str) -> int:
    bits = 0
    for name in names:
        try:
            bits |= 1 << set_type.choices[name]
        except KeyError:
            raise EncodeError(f"{owner}: {name!r} is not a {set_type.name} choice") from None
    return bits


def _encoded_slots(encoded: EncodedType, value: Any, out: list[Any], owner: str) -> None:
    if encoded.presence == "constant":
        return
    if encoded.is_text or (encoded.primitive in ("uint8", "int8") and encoded.length > 1):
        if value is None:
            value = b""
        if isinstance(value, str):
            value = _encode_text(value, encoded.character_encoding or "ascii", owner)
        if len(value) > encoded.length:
            raise EncodeError(f"{owner}: {len(value)} bytes do not fit in {encoded.length}")
        out.append(bytes(value))
        return
    if encoded.length != 1:
        items = list(value) if value is not None else [None] * encoded.length
        if len(items) != encoded.length:
            raise EncodeError(f"{owner}: needs {encoded.length} values, got {len(items)}")
        out.extend(_null(encoded, owner) if item is None else item for item in items)
        return
    out.append(_null(encoded, owner) if value is None else value)


def _encode_text(text: str, encoding: str, owner: str) -> bytes:
    try:
        return text.encode(encoding)
    except (UnicodeEncodeError, LookupError) as exc:
        raise EncodeError(f"{owner}: {exc}") from None


def compile_writer(
    fields: Sequence[Field], block_length: int, version: int, prefix: str, owner: str
) -> BlockWriter:
    """A function ``write(values) -> bytes`` producing exactly ``block_length`` bytes."""
    present = present_fields(fields, block_length, version)
    fmt = block_format(fields, block_length, version, prefix)
    padding = block_length - struct.calcsize(fmt)
    packer = struct.Struct(fmt + (f"{padding}x" if padding > 0 else ""))

    def write(values: Mapping[str, Any]) -> bytes:
        slots: list[Any] = []
        for field in present:
            _slots(field.type, values.get(field.name), slots, f"{owner}.{field.name}")
        try:
            return packer.pack(*slots)
        except struct.error as exc:
            raise EncodeError(f"{owner}: {exc}") from None

    return write
