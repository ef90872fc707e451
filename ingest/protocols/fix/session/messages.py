"""Building session messages: standard header in QuickFIX's order, BodyLength, CheckSum.

The header is written as 8, 9, 35, then the other header tags in ascending tag order, the body
as given: the order QuickFIX writes, so our output can be compared field by field with the
QuickFIX acceptance scripts. (FIX itself does not fix the order of header fields after 35.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from ingest.protocols.fix.parser import checksum

__all__ = [
    "ADMIN_TYPES",
    "BUSINESS_REJECT_TEXT",
    "HEADER_TAGS",
    "REJECT_TEXT",
    "TRAILER_TAGS",
    "Fields",
    "build_message",
    "flatten",
    "split_fields",
]

Fields = list[tuple[str, str]]

ADMIN_TYPES: Final = frozenset({"0", "1", "2", "3", "4", "5", "A"})

# FIX 4.4 standard header (including 8, 9, 35) and trailer tags.
HEADER_TAGS: Final = frozenset(
    {
        *("8", "9", "35", "49", "56", "115", "128", "90", "91", "34", "50", "142", "57", "143"),
        *("116", "144", "129", "145", "43", "97", "52", "122", "212", "213", "347", "369"),
        *("627", "628", "629", "630", "1128", "1129"),
    }
)
TRAILER_TAGS: Final = frozenset({"93", "89", "10"})

# SessionRejectReason (373) texts, as QuickFIX writes them in Text (58).
REJECT_TEXT: Final = {
    0: "Invalid tag number",
    1: "Required tag missing",
    2: "Tag not defined for this message type",
    3: "Undefined Tag",
    4: "Tag specified without a value",
    5: "Value is incorrect (out of range) for this tag",
    6: "Incorrect data format for value",
    7: "Decryption problem",
    8: "Signature problem",
    9: "CompID problem",
    10: "SendingTime accuracy problem",
    11: "Invalid MsgType",
    13: "Tag appears more than once",
    14: "Tag specified out of required order",
    15: "Repeating group fields out of order",
    16: "Incorrect NumInGroup count for repeating group",
}

# BusinessRejectReason (380) texts.
BUSINESS_REJECT_TEXT: Final = {
    0: "Other",
    1: "Unknown ID",
    2: "Unknown Security",
    3: "Unsupported Message Type",
    4: "Application not available",
    5: "Conditionally required field missing",
    6: "Not authorized",
}


def build_message(
    begin_string: str, msg_type: str, header: Iterable[tuple[str, str]], body: Fields
) -> bytes:
    """``header``: the header fields other than 8, 9 and 35, in any order."""
    ordered = sorted(header, key=lambda field: int(field[0]))
    parts = [f"35={msg_type}\x01"]
    parts.extend(f"{tag}={value}\x01" for tag, value in ordered)
    parts.extend(f"{tag}={value}\x01" for tag, value in body)
    payload = "".join(parts).encode("latin-1")
    head = f"8={begin_string}\x019={len(payload)}\x01".encode("latin-1") + payload
    return head + b"10=%03d\x01" % checksum(head)


def split_fields(raw: bytes) -> Fields:
    """Every field of a framed message, in wire order (groups flat, duplicates kept)."""
    text = raw.decode("latin-1").rstrip("\r\n")
    return [tuple(part.split("=", 1)) for part in text[:-1].split("\x01")]  # type: ignore[misc]


def flatten(fields: dict[str, Any]) -> Fields:
    """A parsed message's (or group entry's) fields back to (tag, value) pairs, groups inline."""
    out: Fields = []
    for tag, value in fields.items():
        if isinstance(value, list):
            out.append((tag, str(len(value))))
            for entry in value:
                out.extend(flatten(entry))
        else:
            out.append((tag, value))
    return out
