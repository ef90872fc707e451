"""Compile a fixed-size block (a message root or a group entry) into a reader function.

A block is read with ONE ``struct.unpack_from`` and one dict literal: the Python source of the
reader is generated once per (block, acting blockLength, acting version) and compiled with
``exec``. That is the fastest pure-Python shape: no per-field loop, no per-field call for plain
integers. Fields the data cannot carry (``sinceVersion`` above the acting version, or lying past
the acting blockLength of older data) read as ``None``; constants are filled in.

Value forms: integers and floats as is; optional values equal to their null -> ``None``; char
arrays -> ``str`` (up to the first NUL); other byte arrays -> ``bytes``; numeric arrays -> ``list``;
enums -> the value's name (an unknown raw value is returned as is); sets -> ``frozenset`` of
choice names; composites -> ``dict``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

from ingest.protocols.sbe.model import (
    PRIMITIVES,
    Composite,
    EncodedType,
    EnumType,
    Field,
    SbeType,
    SchemaError,
    SetType,
)

__all__ = ["BlockReader", "block_format", "compile_reader", "present_fields", "set_decoder"]

BlockReader = Callable[[Any, int], dict[str, Any]]


def present_fields(fields: Sequence[Field], block_length: int, version: int) -> list[Field]:
    """Fields that occupy bytes in data of this blockLength and version, by offset."""
    return sorted(
        (
            f
            for f in fields
            if f.size and f.since_version <= version and f.offset + f.size <= block_length
        ),
        key=lambda f: f.offset,
    )


def _text(raw: bytes, encoding: str) -> str:
    # SBE pads char arrays with NUL; "replace" keeps arbitrary bytes decodable (never raises).
    end = raw.find(b"\0")
    return (raw if end < 0 else raw[:end]).decode(encoding, "replace")


def set_decoder(set_type: SetType) -> Callable[[int], frozenset[str]]:
    choices = tuple(set_type.choices.items())
    if set_type.encoding.size == 1:
        # A table for one-byte sets: the common case (CME MatchEventIndicator) is one lookup.
        table = [
            frozenset(name for name, bit in choices if value >> bit & 1) for value in range(256)
        ]
        return table.__getitem__

    def decode(value: int) -> frozenset[str]:
        return frozenset(name for name, bit in choices if value >> bit & 1)

    return decode


class _Layout:
    """Walks types in byte order, emitting struct format parts and value expressions."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.slot = 0
        self.cursor = 0
        self.namespace: dict[str, Any] = {"_text": _text}

    def _const(self, value: object) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def _seek(self, offset: int, owner: str) -> None:
        if offset < self.cursor:
            raise SchemaError(f"{owner}: overlaps the previous field (offset {offset})")
        if offset > self.cursor:
            self.parts.append(f"{offset - self.cursor}x")
        self.cursor = offset

    def value(self, sbe_type: SbeType, offset: int, owner: str) -> str:
        if isinstance(sbe_type, Composite):
            items = []
            for member in sorted(sbe_type.members, key=lambda m: m.offset):
                expr = self.value(member.type, offset + member.offset, f"{owner}.{member.name}")
                items.append(f"{member.name!r}: {expr}")
            self._seek(offset + sbe_type.size, owner)
            return "{" + ", ".join(items) + "}"
        if isinstance(sbe_type, EncodedType) and sbe_type.presence == "constant":
            return self._const(sbe_type.constant)
        self._seek(offset, owner)
        if isinstance(sbe_type, EnumType):
            encoding = sbe_type.encoding
            table: dict[object, object] = {raw: name for name, raw in sbe_type.values.items()}
            if encoding.presence == "optional" and encoding.null_value is not None:
                null = encoding.null_value
                table.setdefault(bytes([int(null)]) if encoding.primitive == "char" else null, None)
            slot = self._scalar(encoding, char_as_bytes=True)
            return f"{self._const(table)}.get({slot}, {slot})"
        if isinstance(sbe_type, SetType):
            slot = self._scalar(sbe_type.encoding, char_as_bytes=False)
            return f"{self._const(set_decoder(sbe_type))}({slot})"
        return self._encoded(sbe_type)

    def _scalar(self, encoded: EncodedType, char_as_bytes: bool) -> str:
        code, size = PRIMITIVES[encoded.primitive]
        self.parts.append("1s" if code == "s" else code)
        self.cursor += size
        self.slot += 1
        return f"t[{self.slot - 1}]"

    def _encoded(self, encoded: EncodedType) -> str:
        code, size = PRIMITIVES[encoded.primitive]
        self.cursor += size * encoded.length
        if encoded.is_text or (encoded.primitive in ("uint8", "int8") and encoded.length > 1):
            self.parts.append(f"{encoded.length}s")
            self.slot += 1
            slot = f"t[{self.slot - 1}]"
            if not encoded.is_text:
                return slot
            text = f"_text({slot}, {encoded.character_encoding or 'ascii'!r})"
            return f"({text} or None)" if encoded.presence == "optional" else text
        if encoded.length != 1:
            self.parts.append(f"{encoded.length}{code}")
            first = self.slot
            self.slot += encoded.length
            items = (self._nullable(encoded, f"t[{i}]") for i in range(first, self.slot))
            return "[" + ", ".join(items) + "]"
        self.parts.append(code)
        self.slot += 1
        return self._nullable(encoded, f"t[{self.slot - 1}]")

    @staticmethod
    def _nullable(encoded: EncodedType, slot: str) -> str:
        null = encoded.null_value
        if encoded.presence != "optional" or null is None:
            return slot
        if isinstance(null, float) and math.isnan(null):
            return f"(None if {slot} != {slot} else {slot})"
        return f"(None if {slot} == {null!r} else {slot})"


def block_format(fields: Sequence[Field], block_length: int, version: int, prefix: str) -> str:
    """The struct format of a block's present fields (shared with the encoder: same slot order)."""
    layout = _Layout()
    for field in present_fields(fields, block_length, version):
        layout.value(field.type, field.offset, field.name)
    return prefix + "".join(layout.parts)


def compile_reader(
    fields: Sequence[Field], block_length: int, version: int, prefix: str, owner: str
) -> BlockReader:
    """A function ``read(buffer, position) -> dict`` for this block, generated once."""
    layout = _Layout()
    present = {f.name for f in present_fields(fields, block_length, version)}
    items: dict[str, str] = {}
    for field in sorted(fields, key=lambda f: f.offset):
        if field.presence == "constant":
            items[field.name] = layout._const(field.constant)
        elif field.name in present:
            items[field.name] = layout.value(field.type, field.offset, f"{owner}.{field.name}")
        else:
            items[field.name] = "None"
    # Source order, not byte order, so decoded dicts list fields as the schema does.
    body = ", ".join(f"{f.name!r}: {items[f.name]}" for f in fields)
    unpack = struct.Struct(prefix + "".join(layout.parts)).unpack_from
    layout.namespace["_unpack"] = unpack
    lines = ["def read(buf, pos):"]
    if layout.slot:
        lines.append("    t = _unpack(buf, pos)")
    lines.append(f"    return {{{body}}}")
    exec("\n".join(lines), layout.namespace)  # generated from the schema only, never from data
    reader: BlockReader = layout.namespace["read"]
    return reader
