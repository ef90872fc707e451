"""The SBE schema model: what ``schema.py`` builds from XML and ``plan.py`` compiles.

Sizes and offsets are resolved here, once, so nothing downstream re-derives layout. A type that is
``presence="constant"`` occupies no bytes; its value lives in ``constant``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "PRIMITIVES",
    "Composite",
    "DataField",
    "EncodedType",
    "EnumType",
    "Field",
    "Group",
    "Member",
    "Message",
    "Presence",
    "SbeType",
    "Schema",
    "SchemaError",
    "SetType",
    "default_null",
]

Presence = Literal["required", "optional", "constant"]

# primitive name -> (struct code, size in bytes)
PRIMITIVES: Final[dict[str, tuple[str, int]]] = {
    "char": ("s", 1),
    "int8": ("b", 1),
    "uint8": ("B", 1),
    "int16": ("h", 2),
    "uint16": ("H", 2),
    "int32": ("i", 4),
    "uint32": ("I", 4),
    "int64": ("q", 8),
    "uint64": ("Q", 8),
    "float": ("f", 4),
    "double": ("d", 8),
}

# The SBE specification's default null values (used when an optional type names none).
_DEFAULT_NULLS: Final[dict[str, int | float]] = {
    "char": 0,
    "int8": -(2**7),
    "uint8": 2**8 - 1,
    "int16": -(2**15),
    "uint16": 2**16 - 1,
    "int32": -(2**31),
    "uint32": 2**32 - 1,
    "int64": -(2**63),
    "uint64": 2**64 - 1,
    "float": math.nan,
    "double": math.nan,
}


class SchemaError(ValueError):
    """A schema that cannot be compiled (unknown type, overlapping fields, bad XML)."""


def default_null(primitive: str) -> int | float:
    return _DEFAULT_NULLS[primitive]


@dataclass(frozen=True, slots=True)
class EncodedType:
    """A ``<type>``: a primitive, possibly an array (``length``), optional or constant."""

    name: str
    primitive: str
    length: int = 1
    presence: Presence = "required"
    null_value: int | float | None = None
    constant: int | float | str | None = None
    character_encoding: str | None = None
    since_version: int = 0
    semantic_type: str = ""

    @property
    def size(self) -> int:
        return 0 if self.presence == "constant" else PRIMITIVES[self.primitive][1] * self.length

    @property
    def is_text(self) -> bool:
        return self.primitive == "char" or (
            self.primitive == "uint8" and self.character_encoding is not None
        )


@dataclass(frozen=True, slots=True)
class EnumType:
    """An ``<enum>``: raw values (int, or one-byte ``bytes`` for char enums) by name."""

    name: str
    encoding: EncodedType
    values: dict[str, int | bytes]
    since_version: int = 0

    @property
    def size(self) -> int:
        return self.encoding.size


@dataclass(frozen=True, slots=True)
class SetType:
    """A ``<set>``: bit positions by choice name."""

    name: str
    encoding: EncodedType
    choices: dict[str, int]
    since_version: int = 0

    @property
    def size(self) -> int:
        return self.encoding.size


@dataclass(frozen=True, slots=True)
class Member:
    """One element of a composite, at its resolved offset (``ref`` members get their own name)."""

    name: str
    type: SbeType
    offset: int


@dataclass(frozen=True, slots=True)
class Composite:
    name: str
    members: tuple[Member, ...]
    size: int
    since_version: int = 0
    semantic_type: str = ""

    def member(self, name: str) -> Member | None:
        for member in self.members:
            if member.name == name:
                return member
        return None


SbeType = EncodedType | EnumType | SetType | Composite


@dataclass(frozen=True, slots=True)
class Field:
    """A fixed-size field of a message or group block; ``constant`` set when it takes no bytes."""

    name: str
    id: int
    type: SbeType
    offset: int
    since_version: int = 0
    presence: Presence = "required"
    constant: object = None
    semantic_type: str = ""

    @property
    def size(self) -> int:
        return 0 if self.presence == "constant" else self.type.size


@dataclass(frozen=True, slots=True)
class DataField:
    """Var data: a ``length`` prefix, then that many bytes (text when it has an encoding)."""

    name: str
    id: int
    type: Composite
    since_version: int = 0


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    id: int
    block_length: int
    dimension: Composite
    fields: tuple[Field, ...]
    groups: tuple[Group, ...]
    data: tuple[DataField, ...]
    since_version: int = 0


@dataclass(frozen=True, slots=True)
class Message:
    name: str
    id: int
    block_length: int
    fields: tuple[Field, ...]
    groups: tuple[Group, ...]
    data: tuple[DataField, ...]
    since_version: int = 0
    semantic_type: str = ""


@dataclass(frozen=True, slots=True)
class Schema:
    package: str
    id: int
    version: int
    byte_order: Literal["littleEndian", "bigEndian"]
    header: Composite
    types: dict[str, SbeType]
    messages: dict[int, Message] = field(default_factory=dict)

    @property
    def struct_prefix(self) -> str:
        return "<" if self.byte_order == "littleEndian" else ">"

    def message(self, key: int | str) -> Message:
        if isinstance(key, int):
            return self.messages[key]
        for message in self.messages.values():
            if message.name == key:
                return message
        raise KeyError(key)
