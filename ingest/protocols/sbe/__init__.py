"""A Simple Binary Encoding codec built at runtime from any SBE schema XML.

``load_schema(path)`` reads the XML (both SBE namespaces, XInclude resolved), ``SbeCodec(schema)``
compiles each message once into struct-based readers, then ``decode(buffer, offset)`` returns a
:class:`DecodedMessage` of plain values and ``encode(message, values)`` the bytes. Bad input raises
:class:`ingest.protocols.base.DecodeError` only. Venue protocols (``cme_mdp3``) build on this.
"""

from ingest.protocols.sbe.codec import DecodedMessage, SbeCodec
from ingest.protocols.sbe.encoder import EncodeError
from ingest.protocols.sbe.model import (
    Composite,
    DataField,
    EncodedType,
    EnumType,
    Field,
    Group,
    Message,
    Schema,
    SchemaError,
    SetType,
)
from ingest.protocols.sbe.schema import load_schema, parse_schema

__all__ = [
    "Composite",
    "DataField",
    "DecodedMessage",
    "EncodeError",
    "EncodedType",
    "EnumType",
    "Field",
    "Group",
    "Message",
    "SbeCodec",
    "Schema",
    "SchemaError",
    "SetType",
    "load_schema",
    "parse_schema",
]
