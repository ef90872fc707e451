"""The parsed FIX message: what the normalizer reads and what a session layer will reuse."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ingest.protocols.fix.decimals import seq_num
from ingest.protocols.fix.timestamps import parse_fix_time

__all__ = [
    "REJECT_REASONS",
    "FieldError",
    "FixMessage",
    "GroupEntry",
]

# SessionRejectReason (373) codes, the ones the parser and the validator detect.
REJECT_REASONS: Final = {
    0: "Invalid tag number",
    1: "Required tag missing",
    2: "Tag not defined for this message type",
    3: "Undefined tag",
    4: "Tag specified without a value",
    5: "Value is incorrect (out of range) for this tag",
    6: "Incorrect data format for value",
    11: "Invalid MsgType",
    13: "Tag appears more than once",
    14: "Tag specified out of required order",
    15: "Repeating group fields out of order",
    16: "Incorrect NumInGroup count for repeating group",
}

# One repeating-group entry: tag → value, or nested count tag → its entries.
GroupEntry = dict[str, Any]


class FieldError(msgspec.Struct, frozen=True):
    """A dictionary-level problem; ``reason`` is the SessionRejectReason (373) to answer with."""

    tag: str
    reason: int
    text: str = ""


class FixMessage:
    """One message: ``fields`` maps tag strings (``"35"``) to values; a repeating group's count
    tag maps to a list of entries (dicts of the same form). ``errors`` collects structural
    problems (373 codes 13/15/16) found while parsing; :func:`validate` adds the rest."""

    __slots__ = ("errors", "fields", "msg_type", "raw")

    def __init__(
        self,
        msg_type: str,
        fields: dict[str, Any],
        raw: bytes,
        errors: list[FieldError] | None = None,
    ) -> None:
        self.msg_type = msg_type
        self.fields = fields
        self.raw = raw
        self.errors: list[FieldError] = errors if errors is not None else []

    def get(self, tag: int | str, default: str = "") -> str:
        value = self.fields.get(str(tag), default)
        return value if isinstance(value, str) else default

    def group(self, count_tag: int | str) -> list[GroupEntry]:
        value = self.fields.get(str(count_tag))
        return value if isinstance(value, list) else []

    def __contains__(self, tag: object) -> bool:
        return str(tag) in self.fields

    @property
    def begin_string(self) -> str:
        return self.get("8")

    @property
    def appl_ver_id(self) -> str:
        return self.get("1128")

    @property
    def sender_comp_id(self) -> str:
        return self.get("49")

    @property
    def target_comp_id(self) -> str:
        return self.get("56")

    @property
    def msg_seq_num(self) -> int:
        """MsgSeqNum (34), 0 when absent, not a number or beyond int64 (a session layer rejects
        that)."""
        return seq_num(self.get("34"))  # isdecimal(), not isdigit(): "²" is no number

    @property
    def poss_dup(self) -> bool:
        return self.get("43") == "Y"

    @property
    def poss_resend(self) -> bool:
        return self.get("97") == "Y"

    @property
    def sending_time(self) -> int:
        """SendingTime (52) in ns; raises ValueError when malformed (reject reason 10 or 6)."""
        return parse_fix_time(self.get("52"))

    def __repr__(self) -> str:
        return f"FixMessage(msg_type={self.msg_type!r}, fields={self.fields!r})"
