"""Schema features beyond the Car example, on small inline schemas."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest

from ingest.protocols.base import DecodeError
from ingest.protocols.sbe import SbeCodec, SchemaError, load_schema, parse_schema

RC3 = "http://www.fixprotocol.org/ns/simple/RC3"
NEW = "http://fixprotocol.io/2016/sbe"


def schema_xml(namespace: str, byte_order: str = "littleEndian", version: int = 2) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sbe:messageSchema xmlns:sbe="{namespace}" package="t" id="7" version="{version}"
                   byteOrder="{byte_order}">
  <types>
    <composite name="messageHeader">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="templateId" primitiveType="uint16"/>
      <type name="schemaId" primitiveType="uint16"/>
      <type name="version" primitiveType="uint16"/>
    </composite>
    <composite name="groupSize8Byte">
      <type name="blockLength" primitiveType="uint16"/>
      <type name="numInGroup" primitiveType="uint8" offset="7"/>
    </composite>
    <composite name="PRICE9">
      <type name="mantissa" primitiveType="int64" presence="optional"
            nullValue="9223372036854775807"/>
      <type name="exponent" primitiveType="int8" presence="constant">-9</type>
    </composite>
    <type name="Qty" primitiveType="int32" presence="optional"/>
    <type name="Kind" primitiveType="char" presence="constant">J</type>
    <set name="Flags" encodingType="uint16">
      <choice name="a">0</choice><choice name="z">15</choice>
    </set>
    <enum name="Side" encodingType="uint8">
      <validValue name="Buy">1</validValue><validValue name="Sell">2</validValue>
    </enum>
  </types>
  <sbe:message name="Tick" id="3">
    <field name="time" id="1" type="uint64"/>
    <field name="flags" id="2" type="Flags" offset="10"/>
    <field name="kind" id="3" type="Kind"/>
    <field name="qty" id="4" type="Qty" sinceVersion="2"/>
    <group name="entries" id="5" dimensionType="groupSize8Byte">
      <field name="px" id="6" type="PRICE9"/>
      <field name="side" id="7" type="Side"/>
      <group name="legs" id="8" dimensionType="groupSize8Byte" sinceVersion="2">
        <field name="ratio" id="9" type="int16"/>
      </group>
    </group>
  </sbe:message>
</sbe:messageSchema>"""


def codec(xml: str) -> SbeCodec:
    return SbeCodec(parse_schema(ET.fromstring(xml)))


VALUES = {
    "time": 99,
    "flags": frozenset({"a", "z"}),
    "kind": "J",
    "qty": None,
    "entries": [
        {"px": {"mantissa": 1_500_000_000, "exponent": -9}, "side": "Buy", "legs": []},
        {
            "px": {"mantissa": None, "exponent": -9},
            "side": "Sell",
            "legs": [{"ratio": -1}, {"ratio": 2}],
        },
    ],
}


@pytest.mark.parametrize("namespace", [RC3, NEW])
@pytest.mark.parametrize("byte_order", ["littleEndian", "bigEndian"])
def test_roundtrip_in_both_namespaces_and_byte_orders(namespace: str, byte_order: str) -> None:
    sbe = codec(schema_xml(namespace, byte_order))
    encoded = sbe.encode("Tick", VALUES)
    prefix = "<" if byte_order == "littleEndian" else ">"
    assert struct.unpack_from(prefix + "HHHH", encoded) == (16, 3, 7, 2)  # offset 10 + uint16
    assert sbe.decode(encoded).values == VALUES
    # groupSize8Byte: numInGroup sits at offset 7 of an 8-byte dimension.
    assert encoded[8 + 16 + 7] == 2


def test_old_version_data_has_no_new_fields_or_groups() -> None:
    old, new = codec(schema_xml(NEW, version=1)), codec(schema_xml(NEW, version=2))
    old_values = {**VALUES, "qty": 5, "entries": [{**e, "legs": []} for e in VALUES["entries"]]}
    decoded = new.decode(old.encode("Tick", old_values))
    assert decoded.version == 1
    assert decoded.values["qty"] is None  # sinceVersion 2 > acting version 1
    assert [e["legs"] for e in decoded.values["entries"]] == [[], []]


def test_longer_blocks_from_newer_data_are_skipped() -> None:
    sbe = codec(schema_xml(NEW))
    encoded = bytearray(sbe.encode("Tick", VALUES))
    # Pretend a newer schema appended 4 bytes to the root block.
    grown = encoded[:8] + encoded[8:24] + b"\xee" * 4 + encoded[24:]
    struct.pack_into("<H", grown, 0, 20)
    assert sbe.decode(bytes(grown)).values == VALUES


def test_bad_input_raises_decode_error() -> None:
    sbe = codec(schema_xml(NEW))
    encoded = sbe.encode("Tick", VALUES)
    for cut in range(len(encoded)):
        with pytest.raises(DecodeError):
            sbe.decode(encoded[:cut])
    with pytest.raises(DecodeError, match="unknown_template"):
        sbe.decode(struct.pack("<HHHH", 0, 42, 7, 2))
    with pytest.raises(DecodeError, match="schema_id"):
        sbe.decode(struct.pack("<HHHH", 16, 3, 8, 2) + encoded[8:])


def test_schema_errors() -> None:
    with pytest.raises(SchemaError, match="unknown type"):
        codec(schema_xml(NEW).replace('type="Side"', 'type="Nope"'))
    with pytest.raises(SchemaError, match="overlaps"):
        codec(schema_xml(NEW).replace('offset="10"', 'offset="4"'))


def test_cme_v6_schema_loads_in_the_rc3_namespace(shared_data) -> None:
    schema = load_schema(shared_data / "sbe" / "cme-mdp3" / "templates_FixBinary_v6.xml")
    assert schema.version == 6
    assert schema.message(32).block_length == 11
