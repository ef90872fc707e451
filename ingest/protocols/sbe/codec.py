"""SbeCodec: decode and encode whole messages (header, root block, groups, var data).

Evolution rules, as the SBE specification states them:
- the header's ``blockLength`` (and each group's own ``blockLength``) sets where the next part
  starts, so data written with a newer schema (longer blocks) reads with an older one, and old data
  (shorter blocks) with a newer one; fields the data cannot carry read as ``None``;
- the header's ``version`` is the acting version: fields, groups and var data with a higher
  ``sinceVersion`` are absent (``None``; an absent group reads as ``[]``).
A group or var-data field appended by a newer schema than the reader's cannot be skipped (SBE 1.0
headers do not count them); a reader only sees the message up to what its schema knows.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ingest.protocols.base import DecodeError
from ingest.protocols.sbe.encoder import BlockWriter, EncodeError, compile_writer
from ingest.protocols.sbe.model import (
    PRIMITIVES,
    Composite,
    DataField,
    EncodedType,
    Field,
    Group,
    Message,
    Schema,
    SchemaError,
)
from ingest.protocols.sbe.plan import BlockReader, compile_reader

__all__ = ["DecodedMessage", "SbeCodec"]

# Readers are cached per (blockLength, version) seen; hostile input could vary both endlessly.
_READER_CACHE_LIMIT = 64


class DecodedMessage(NamedTuple):
    template_id: int
    name: str
    version: int
    block_length: int
    values: dict[str, Any]
    end: int  # offset just past the message in the buffer


class _Scalars:
    """A composite of scalar members as one struct (message header, group dimensions)."""

    def __init__(self, composite: Composite, prefix: str, needed: Sequence[str]) -> None:
        parts: list[str] = []
        cursor = 0
        index: dict[str, int] = {}
        for member in sorted(composite.members, key=lambda m: m.offset):
            if not isinstance(member.type, EncodedType) or member.type.length != 1:
                raise SchemaError(f"{composite.name}.{member.name} must be a scalar")
            if member.offset > cursor:
                parts.append(f"{member.offset - cursor}x")
            parts.append(PRIMITIVES[member.type.primitive][0])
            index[member.name] = len(index)
            cursor = member.offset + member.type.size
        if composite.size > cursor:
            parts.append(f"{composite.size - cursor}x")
        missing = [name for name in needed if name not in index]
        if missing:
            raise SchemaError(f"{composite.name} lacks {', '.join(missing)}")
        self.struct = struct.Struct(prefix + "".join(parts))
        self.size = self.struct.size
        self.index = index
        self.names = list(index)

    def pack(self, **values: int) -> bytes:
        return self.struct.pack(*(values.get(name, 0) for name in self.names))


class _Block:
    """A message root or a group entry: its fields, then its groups, then its var data."""

    def __init__(
        self,
        owner: str,
        fields: tuple[Field, ...],
        groups: tuple[Group, ...],
        data: tuple[DataField, ...],
        block_length: int,
        schema: Schema,
    ) -> None:
        self.owner = owner
        self.fields = fields
        self.block_length = block_length
        self.prefix = schema.struct_prefix
        self.schema_version = schema.version
        self._readers: dict[tuple[int, int], BlockReader] = {}
        self._writer: BlockWriter | None = None
        self.groups = [_GroupCodec(f"{owner}.{g.name}", g, schema) for g in groups]
        self.data = [_DataCodec(d, schema.struct_prefix) for d in data]
        self.flat = not self.groups and not self.data
        # Compile the schema's own layout now: schema errors surface at load, not on first data.
        self.reader(block_length, schema.version)

    def reader(self, block_length: int, version: int) -> BlockReader:
        key = (block_length, version)
        reader = self._readers.get(key)
        if reader is None:
            if len(self._readers) >= _READER_CACHE_LIMIT:
                self._readers.clear()
            reader = compile_reader(self.fields, block_length, version, self.prefix, self.owner)
            self._readers[key] = reader
        return reader

    def decode(
        self, buf: Any, pos: int, block_length: int, version: int, limit: int
    ) -> tuple[dict[str, Any], int]:
        values = self.reader(block_length, version)(buf, pos)
        pos += block_length
        for group in self.groups:
            pos = group.decode(buf, pos, version, values, limit)
        for data in self.data:
            pos = data.decode(buf, pos, version, values, limit)
        return values, pos

    def encode(self, values: Mapping[str, Any], out: list[bytes]) -> None:
        if self._writer is None:
            self._writer = compile_writer(
                self.fields, self.block_length, self.schema_version, self.prefix, self.owner
            )
        out.append(self._writer(values))
        for group in self.groups:
            group.encode(values.get(group.name) or (), out)
        for data in self.data:
            data.encode(values.get(data.name), out)


class _GroupCodec:
    def __init__(self, owner: str, group: Group, schema: Schema) -> None:
        self.name = group.name
        self.since_version = group.since_version
        self.dimension = _Scalars(
            group.dimension, schema.struct_prefix, ("blockLength", "numInGroup")
        )
        self._bl = self.dimension.index["blockLength"]
        self._count = self.dimension.index["numInGroup"]
        self.block = _Block(
            owner, group.fields, group.groups, group.data, group.block_length, schema
        )

    def decode(self, buf: Any, pos: int, version: int, out: dict[str, Any], limit: int) -> int:
        if self.since_version > version:
            out[self.name] = []
            return pos
        dims = self.dimension.struct.unpack_from(buf, pos)
        block_length, count = dims[self._bl], dims[self._count]
        pos += self.dimension.size
        # A sanity bound before looping: each entry takes at least one byte of what is left.
        if count * max(block_length, 1) > limit - pos:
            raise DecodeError("truncated", f"group {self.name}: {count} x {block_length} bytes")
        block = self.block
        if block.flat:
            read = block.reader(block_length, version)
            out[self.name] = [read(buf, pos + i * block_length) for i in range(count)]
            end: int = pos + count * block_length
            return end
        entries = []
        for _ in range(count):
            entry, pos = block.decode(buf, pos, block_length, version, limit)
            entries.append(entry)
        out[self.name] = entries
        return pos

    def encode(self, entries: Sequence[Mapping[str, Any]], out: list[bytes]) -> None:
        out.append(
            self.dimension.pack(blockLength=self.block.block_length, numInGroup=len(entries))
        )
        for entry in entries:
            self.block.encode(entry, out)


class _DataCodec:
    def __init__(self, data: DataField, prefix: str) -> None:
        self.name = data.name
        self.since_version = data.since_version
        length = data.type.member("length")
        var = data.type.member("varData")
        if length is None or not isinstance(length.type, EncodedType):
            raise SchemaError(f"data {data.name}: length must be a primitive")
        self.length = struct.Struct(prefix + PRIMITIVES[length.type.primitive][0])
        encoding = (
            var.type.character_encoding if var and isinstance(var.type, EncodedType) else None
        )
        self.encoding = encoding

    def decode(self, buf: Any, pos: int, version: int, out: dict[str, Any], limit: int) -> int:
        if self.since_version > version:
            out[self.name] = None
            return pos
        size: int = self.length.unpack_from(buf, pos)[0]
        pos += self.length.size
        end: int = pos + size
        if end > limit:
            raise DecodeError("truncated", f"data {self.name}: {size} bytes")
        raw = bytes(buf[pos:end])
        out[self.name] = raw.decode(self.encoding, "replace") if self.encoding else raw
        return end

    def encode(self, value: str | bytes | None, out: list[bytes]) -> None:
        if isinstance(value, str):
            try:
                raw = value.encode(self.encoding or "utf-8")
            except (UnicodeEncodeError, LookupError) as exc:
                raise EncodeError(f"data {self.name}: {exc}") from None
        else:
            raw = value or b""
        try:
            out.append(self.length.pack(len(raw)))
        except struct.error:
            raise EncodeError(f"data {self.name}: {len(raw)} bytes is too long") from None
        out.append(raw)


class _MessageCodec:
    def __init__(self, message: Message, schema: Schema) -> None:
        self.message = message
        self.block = _Block(
            message.name, message.fields, message.groups, message.data, message.block_length, schema
        )


class SbeCodec:
    """Decoder and encoder for every message of one schema, compiled once."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.header = _Scalars(
            schema.header,
            schema.struct_prefix,
            ("blockLength", "templateId", "schemaId", "version"),
        )
        index = self.header.index
        self._header_fields = (
            index["blockLength"],
            index["templateId"],
            index["schemaId"],
            index["version"],
        )
        self.messages = {tid: _MessageCodec(m, schema) for tid, m in schema.messages.items()}

    def decode(self, buf: Any, offset: int = 0, end: int | None = None) -> DecodedMessage:
        """Decode the message (header + body) at ``offset``; raises :class:`DecodeError` only.

        ``end`` bounds the message (e.g. a framing length); the buffer's end otherwise.
        """
        # Reads may touch bytes past ``end`` (still inside ``buf``); the checks against ``limit``
        # reject any message that claims them, which is cheaper than slicing a view per message.
        limit = len(buf) if end is None else min(end, len(buf))
        bl_i, tid_i, sid_i, ver_i = self._header_fields
        try:
            header = self.header.struct.unpack_from(buf, offset)
            template_id = header[tid_i]
            codec = self.messages.get(template_id)
            if codec is None:
                raise DecodeError("unknown_template", f"template {template_id}")
            if header[sid_i] != self.schema.id:
                raise DecodeError("schema_id", f"schema {header[sid_i]} != {self.schema.id}")
            block_length, version = header[bl_i], header[ver_i]
            body = offset + self.header.size
            values, pos = codec.block.decode(buf, body, block_length, version, limit)
        except struct.error as exc:
            raise DecodeError("truncated", str(exc)) from None
        if pos > limit:
            raise DecodeError("truncated", f"message needs {pos - offset} bytes")
        return DecodedMessage(template_id, codec.message.name, version, block_length, values, pos)

    def decode_body(
        self, template_id: int, buf: Any, offset: int, block_length: int, version: int
    ) -> tuple[dict[str, Any], int]:
        """Decode a body whose header the caller has read; returns values and the end offset."""
        codec = self.messages.get(template_id)
        if codec is None:
            raise DecodeError("unknown_template", f"template {template_id}")
        try:
            values, pos = codec.block.decode(buf, offset, block_length, version, len(buf))
        except struct.error as exc:
            raise DecodeError("truncated", str(exc)) from None
        if pos > len(buf):
            raise DecodeError("truncated", f"message needs {pos - offset} bytes")
        return values, pos

    def encode(self, message: int | str, values: Mapping[str, Any]) -> bytes:
        """Header + body at the schema's version and block lengths; raises EncodeError."""
        try:
            codec = self.messages[self.schema.message(message).id]
        except KeyError:
            raise EncodeError(f"unknown message {message!r}") from None
        out = [
            self.header.pack(
                blockLength=codec.message.block_length,
                templateId=codec.message.id,
                schemaId=self.schema.id,
                version=self.schema.version,
            )
        ]
        codec.block.encode(values, out)
        return b"".join(out)
