"""Load an SBE message schema from XML into the model of ``model.py``.

Both namespaces in use are accepted (the RC3 ``http://www.fixprotocol.org/ns/simple/RC3`` of older
CME templates and ``http://fixprotocol.io/2016/sbe``): elements are matched by local name only.
``<xi:include href=...>`` is resolved here, relative to the including file, because the standard
library's ElementTree does not resolve XInclude on its own.

Types may be used before they are defined (the Car example's ``Engine`` refers to ``BooleanType``
defined below it), so type elements are collected first and resolved on demand.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import cast

from ingest.protocols.sbe.model import (
    PRIMITIVES,
    Composite,
    DataField,
    EncodedType,
    EnumType,
    Field,
    Group,
    Member,
    Message,
    Presence,
    SbeType,
    Schema,
    SchemaError,
    SetType,
    default_null,
)

__all__ = ["load_schema", "parse_schema"]

_XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
_TYPE_TAGS = frozenset({"type", "composite", "enum", "set"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _int(elem: ET.Element, name: str, default: int) -> int:
    text = elem.get(name)
    return default if text is None or not text.strip() else int(text)


def _number(text: str, primitive: str) -> int | float:
    return float(text) if primitive in ("float", "double") else int(text)


def _expand(elem: ET.Element, base_dir: Path, depth: int = 0) -> list[ET.Element]:
    """Children of ``elem`` with XIncludes replaced by the included document's root."""
    if depth > 8:
        raise SchemaError("XInclude nested too deeply")
    out: list[ET.Element] = []
    for child in elem:
        if child.tag == f"{{{_XINCLUDE_NS}}}include":
            href = child.get("href")
            if not href:
                raise SchemaError("xi:include without href")
            path = base_dir / href
            try:
                root = ET.parse(path).getroot()
            except (OSError, ET.ParseError) as exc:
                raise SchemaError(f"cannot include {path}: {exc}") from exc
            # An included <types> is spliced as one element; its own includes are expanded too.
            spliced = ET.Element(root.tag, root.attrib)
            spliced.extend(_expand(root, path.parent, depth + 1))
            out.append(spliced)
        else:
            out.append(child)
    return out


class _Builder:
    def __init__(self, root: ET.Element, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.raw_types: dict[str, ET.Element] = {}
        self.types: dict[str, SbeType] = {}
        self.message_elems: list[ET.Element] = []
        for child in _expand(root, base_dir):
            tag = _local(child.tag)
            if tag == "types":
                for type_elem in _expand(child, base_dir):
                    if _local(type_elem.tag) in _TYPE_TAGS:
                        self.raw_types[type_elem.get("name", "")] = type_elem
            elif tag == "message":
                self.message_elems.append(child)

    # -- types --------------------------------------------------------------------------------
    def resolve(self, name: str) -> SbeType:
        found = self.types.get(name)
        if found is not None:
            return found
        elem = self.raw_types.get(name)
        if elem is None:
            if name in PRIMITIVES:
                return EncodedType(name=name, primitive=name)
            raise SchemaError(f"unknown type {name!r}")
        built = self._build_type(elem)
        self.types[name] = built
        return built

    def _build_type(self, elem: ET.Element) -> SbeType:
        tag = _local(elem.tag)
        if tag == "type":
            return self._encoded(elem)
        if tag == "enum":
            return self._enum(elem)
        if tag == "set":
            return self._set(elem)
        return self._composite(elem)

    def _encoded(self, elem: ET.Element) -> EncodedType:
        name = elem.get("name", "")
        primitive = elem.get("primitiveType", "")
        if primitive not in PRIMITIVES:
            raise SchemaError(f"type {name!r}: unknown primitiveType {primitive!r}")
        presence = cast(Presence, elem.get("presence", "required"))
        constant: int | float | str | None = None
        null_value: int | float | None = None
        if presence == "constant":
            text = elem.text or ""
            constant = text if primitive == "char" else _number(text.strip(), primitive)
        elif presence == "optional":
            raw_null = elem.get("nullValue")
            if raw_null is None:
                null_value = default_null(primitive)
            elif primitive == "char":
                null_value = ord(raw_null) if len(raw_null) == 1 else int(raw_null, 0)
            else:
                null_value = _number(raw_null, primitive)
        return EncodedType(
            name=name,
            primitive=primitive,
            length=_int(elem, "length", 1),
            presence=presence,
            null_value=null_value,
            constant=constant,
            character_encoding=elem.get("characterEncoding"),
            since_version=_int(elem, "sinceVersion", 0),
            semantic_type=elem.get("semanticType", ""),
        )

    def _encoding(self, elem: ET.Element) -> EncodedType:
        encoding = self.resolve(elem.get("encodingType", ""))
        if not isinstance(encoding, EncodedType):
            raise SchemaError(f"{elem.get('name')!r}: encodingType must be a primitive type")
        return encoding

    def _enum(self, elem: ET.Element) -> EnumType:
        encoding = self._encoding(elem)
        values: dict[str, int | bytes] = {}
        for value in elem:
            if _local(value.tag) != "validValue":
                continue
            text = (value.text or "").strip()
            raw: int | bytes = text.encode("latin-1") if encoding.primitive == "char" else int(text)
            values[value.get("name", "")] = raw
        return EnumType(elem.get("name", ""), encoding, values, _int(elem, "sinceVersion", 0))

    def _set(self, elem: ET.Element) -> SetType:
        encoding = self._encoding(elem)
        choices = {
            choice.get("name", ""): int((choice.text or "").strip())
            for choice in elem
            if _local(choice.tag) == "choice"
        }
        return SetType(elem.get("name", ""), encoding, choices, _int(elem, "sinceVersion", 0))

    def _composite(self, elem: ET.Element) -> Composite:
        members: list[Member] = []
        offset = 0
        for child in elem:
            tag = _local(child.tag)
            if tag == "ref":
                member_type = self.resolve(child.get("type", ""))
            elif tag in _TYPE_TAGS:
                member_type = self._build_type(child)
            else:
                continue
            offset = _int(child, "offset", offset)
            members.append(Member(child.get("name", ""), member_type, offset))
            offset += member_type.size
        return Composite(
            name=elem.get("name", ""),
            members=tuple(members),
            size=offset,
            since_version=_int(elem, "sinceVersion", 0),
            semantic_type=elem.get("semanticType", ""),
        )

    # -- messages -----------------------------------------------------------------------------
    def _field(self, elem: ET.Element, offset: int) -> Field:
        name = elem.get("name", "")
        field_type = self.resolve(elem.get("type", ""))
        presence = cast(Presence, elem.get("presence", "required"))
        constant: object = None
        if presence == "constant":
            value_ref = elem.get("valueRef")
            if value_ref:
                enum_name, _, value_name = value_ref.partition(".")
                enum = self.resolve(enum_name)
                if not isinstance(enum, EnumType) or value_name not in enum.values:
                    raise SchemaError(f"field {name!r}: bad valueRef {value_ref!r}")
                constant = value_name if enum is field_type else enum.values[value_name]
            else:
                constant = (elem.text or "").strip()
        elif isinstance(field_type, EncodedType) and field_type.presence == "constant":
            presence, constant = "constant", field_type.constant
        elif (
            presence == "optional"
            and isinstance(field_type, EncodedType)
            and field_type.presence == "required"
        ):
            field_type = dataclasses.replace(
                field_type, presence="optional", null_value=default_null(field_type.primitive)
            )
        return Field(
            name=name,
            id=_int(elem, "id", 0),
            type=field_type,
            offset=_int(elem, "offset", offset),
            since_version=_int(elem, "sinceVersion", 0),
            presence=presence,
            constant=constant,
            semantic_type=elem.get("semanticType", ""),
        )

    def _members(
        self, elem: ET.Element
    ) -> tuple[tuple[Field, ...], tuple[Group, ...], tuple[DataField, ...], int]:
        fields: list[Field] = []
        groups: list[Group] = []
        data: list[DataField] = []
        offset = 0
        for child in elem:
            tag = _local(child.tag)
            if tag == "field":
                built = self._field(child, offset)
                fields.append(built)
                if built.size:
                    offset = built.offset + built.size
            elif tag == "group":
                groups.append(self._group(child))
            elif tag == "data":
                data_type = self.resolve(child.get("type", ""))
                if not isinstance(data_type, Composite) or data_type.member("length") is None:
                    raise SchemaError(f"data {child.get('name')!r}: type needs a length member")
                data.append(
                    DataField(
                        child.get("name", ""),
                        _int(child, "id", 0),
                        data_type,
                        _int(child, "sinceVersion", 0),
                    )
                )
        end = max((f.offset + f.size for f in fields if f.size), default=0)
        return tuple(fields), tuple(groups), tuple(data), end

    def _group(self, elem: ET.Element) -> Group:
        dimension = self.resolve(elem.get("dimensionType", "groupSizeEncoding"))
        if not isinstance(dimension, Composite) or dimension.member("numInGroup") is None:
            raise SchemaError(f"group {elem.get('name')!r}: bad dimensionType")
        fields, groups, data, end = self._members(elem)
        return Group(
            name=elem.get("name", ""),
            id=_int(elem, "id", 0),
            block_length=_int(elem, "blockLength", end),
            dimension=dimension,
            fields=fields,
            groups=groups,
            data=data,
            since_version=_int(elem, "sinceVersion", 0),
        )

    def message(self, elem: ET.Element) -> Message:
        fields, groups, data, end = self._members(elem)
        return Message(
            name=elem.get("name", ""),
            id=_int(elem, "id", 0),
            block_length=_int(elem, "blockLength", end),
            fields=fields,
            groups=groups,
            data=data,
            since_version=_int(elem, "sinceVersion", 0),
            semantic_type=elem.get("semanticType", ""),
        )


def parse_schema(root: ET.Element, base_dir: Path | str = ".") -> Schema:
    """Build a :class:`Schema` from a parsed ``messageSchema`` element."""
    if _local(root.tag) != "messageSchema":
        raise SchemaError(f"root element is {_local(root.tag)!r}, not messageSchema")
    builder = _Builder(root, Path(base_dir))
    for name in builder.raw_types:
        builder.resolve(name)
    header_name = root.get("headerType", "messageHeader")
    header = builder.types.get(header_name)
    if not isinstance(header, Composite):
        raise SchemaError(f"no {header_name!r} composite")
    messages: dict[int, Message] = {}
    for elem in builder.message_elems:
        message = builder.message(elem)
        messages[message.id] = message
    byte_order = root.get("byteOrder", "littleEndian")
    if byte_order not in ("littleEndian", "bigEndian"):
        raise SchemaError(f"unknown byteOrder {byte_order!r}")
    return Schema(
        package=root.get("package", ""),
        id=_int(root, "id", 0),
        version=_int(root, "version", 0),
        byte_order=byte_order,  # type: ignore[arg-type]  # checked just above
        header=header,
        types=builder.types,
        messages=messages,
    )


def load_schema(path: Path | str) -> Schema:
    """Read and compile a schema file; XIncludes resolve relative to it."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SchemaError(f"cannot read schema {path}: {exc}") from exc
    return parse_schema(root, path.parent)
