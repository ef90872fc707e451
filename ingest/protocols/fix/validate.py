"""Dictionary checks of a parsed message, as a FIX session layer reports them (373 codes).

Kept out of the parser's hot path: market-data decoding only needs the structure; a session
layer calls :func:`validate` on every message it accepts and answers with Reject (3) when
``errors`` is non-empty.
"""

from __future__ import annotations

from typing import Any, Final

from ingest.protocols.fix.dictionary import FixDictionary, GroupDef
from ingest.protocols.fix.message import FieldError, FixMessage, GroupEntry
from ingest.protocols.fix.timestamps import parse_fix_time

__all__ = ["validate"]

_INTEGER_TYPES: Final = frozenset({"INT", "LENGTH", "SEQNUM", "NUMINGROUP", "TAGNUM", "DAYOFMONTH"})
_DECIMAL_TYPES: Final = frozenset({"FLOAT", "PRICE", "QTY", "AMT", "PRICEOFFSET", "PERCENTAGE"})
_MULTI_TYPES: Final = frozenset({"MULTIPLEVALUESTRING", "MULTIPLESTRINGVALUE", "MULTIPLECHARVALUE"})


def validate(message: FixMessage, dictionary: FixDictionary) -> list[FieldError]:
    """Parser errors plus: unknown tags (0), required tags missing (1), tags not in this message
    type (2), empty values (4), values outside the enum (5), bad formats (6), unknown MsgType
    (11) and BeginString/BodyLength/MsgType out of order (14). The first error is what a
    session layer puts in its Reject."""
    errors = list(message.errors)
    definition = dictionary.messages.get(message.msg_type)
    if definition is None:
        errors.append(FieldError("35", 11, f"MsgType {message.msg_type!r} not in dictionary"))
        return errors
    fields = message.fields
    if "8" in fields:
        leading = list(fields)[:3]
        for expected, actual in zip(("8", "9", "35"), leading, strict=False):
            if expected != actual:
                errors.append(FieldError(actual, 14, f"expected {expected} here"))
                break
        required = definition.required | dictionary.header.required | dictionary.trailer.required
    else:  # history files without a session header: only the body's required fields apply
        required = definition.required
    allowed = definition.members | dictionary.header_tags
    _check_fields(fields, allowed, definition.groups, dictionary, errors)
    errors.extend(
        FieldError(tag, 1, "required tag missing")
        for tag in sorted(required, key=int)
        if tag not in fields
    )
    return list(dict.fromkeys(errors))  # the parser and the walk may report the same field


def _check_fields(
    fields: dict[str, Any],
    allowed: frozenset[str],
    groups: dict[str, GroupDef],
    dictionary: FixDictionary,
    errors: list[FieldError],
) -> None:
    for tag, value in fields.items():
        if isinstance(value, list):
            group = groups.get(tag)
            if group is not None:
                for entry in value:
                    _check_entry(entry, group, dictionary, errors)
            continue
        definition = dictionary.fields.get(tag)
        if definition is None:
            errors.append(FieldError(tag, 0, "tag not in dictionary"))
            continue
        if tag not in allowed:
            errors.append(FieldError(tag, 2, "tag not defined for this message type"))
        _check_value(tag, value, definition.type, definition.enums, errors)


def _check_entry(
    entry: GroupEntry, group: GroupDef, dictionary: FixDictionary, errors: list[FieldError]
) -> None:
    _check_fields(entry, group.members, group.groups, dictionary, errors)
    errors.extend(
        FieldError(tag, 1, f"required in group {group.count_tag}")
        for tag in sorted(group.required, key=int)
        if tag not in entry
    )


def _check_value(
    tag: str, value: str, kind: str, enums: dict[str, str], errors: list[FieldError]
) -> None:
    if value == "":
        errors.append(FieldError(tag, 4, "tag specified without a value"))
        return
    if enums:
        values = value.split(" ") if kind in _MULTI_TYPES else (value,)
        if any(item not in enums for item in values):
            errors.append(FieldError(tag, 5, f"{value!r} not a valid value"))
        return
    try:
        if kind in _INTEGER_TYPES:
            if not value.lstrip("-").isdigit():
                raise ValueError(value)
        elif kind in _DECIMAL_TYPES:
            if not value.lstrip("-").replace(".", "", 1).isdigit():
                raise ValueError(value)
        elif kind == "UTCTIMESTAMP":
            parse_fix_time(value)
        elif kind == "BOOLEAN" and value not in ("Y", "N"):
            raise ValueError(value)
    except ValueError:
        errors.append(FieldError(tag, 6, f"{value!r} is not a valid {kind}"))
