"""Dictionary checks of an inbound message, first error first, in QuickFIX's order.

:func:`ingest.protocols.fix.validate.validate` finds the errors; a session answers with one
Reject, so which error comes first matters. QuickFIX (whose acceptance scripts we run) checks:
header fields after body fields (14), unknown MsgType (11), required tags (1: header, trailer,
body), then each field of the header, the trailer and the body in ascending tag order — per
field: repeated (13), empty (4), format (6), enum value (5), unknown tag (0), not in this message
type (2), group count (16). Added here, session-level strictness the market-data decoder does not
want: UTCTimestamp fields must be ``YYYYMMDD-HH:MM:SS[.fff[fff[fff]]]`` (the decoder also
accepts CME's compact and date-only forms).
"""

from __future__ import annotations

import re
from typing import Final

from ingest.protocols.fix.dictionary import FixDictionary
from ingest.protocols.fix.message import FieldError, FixMessage
from ingest.protocols.fix.validate import validate

__all__ = ["first_error", "header_out_of_order"]

_UTC_TIMESTAMP: Final = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?")
_FIELD_PRIORITY: Final = {13: 0, 4: 1, 6: 2, 5: 3, 0: 4, 2: 5, 16: 6, 15: 7}
_LEADING: Final = {"8": -3, "9": -2, "35": -1}


def header_out_of_order(message: FixMessage, dictionary: FixDictionary) -> str:
    """The first header tag that follows a body tag ("" when the structure is right)."""
    header, trailer = dictionary.header.members | dictionary.header_tags, dictionary.trailer.members
    seen_body = False
    for tag in message.fields:
        if tag in trailer:
            continue
        if tag in header:
            if seen_body:
                return tag
        else:
            seen_body = True
    return ""


def first_error(message: FixMessage, dictionary: FixDictionary) -> FieldError | None:
    """The error a Reject reports, or None when the message is valid."""
    misplaced = header_out_of_order(message, dictionary)
    if misplaced:
        return FieldError(misplaced, 14, "header field after body fields")
    errors = validate(message, dictionary)
    flagged = {error.tag for error in errors}
    for tag, value in message.fields.items():
        definition = dictionary.fields.get(tag)
        if (
            definition is not None
            and definition.type == "UTCTIMESTAMP"
            and isinstance(value, str)
            and value
            and tag not in flagged
            and not _UTC_TIMESTAMP.fullmatch(value)
        ):
            errors.append(FieldError(tag, 6, f"{value!r} is not a UTCTimestamp"))
    if not errors:
        return None
    header = dictionary.header.members | dictionary.header_tags
    trailer = dictionary.trailer.members

    def order(error: FieldError) -> tuple[int, int, int, int]:
        location = 2
        if error.tag in trailer:
            location = 1
        elif error.tag in header:
            location = 0
        tag = _LEADING.get(error.tag, int(error.tag) if error.tag.lstrip("-").isdigit() else 0)
        if error.reason == 11:
            return (0, 0, 0, 0)
        if error.reason == 1:
            return (1, location, tag, 0)
        return (2, location, tag, _FIELD_PRIORITY.get(error.reason, 9))

    return min(errors, key=order)
