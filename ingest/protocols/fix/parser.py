"""Bytes of one FIX message → :class:`FixMessage`, with BodyLength and CheckSum checked.

The message is decoded once as latin-1 (a 1:1 byte↔char map, so offsets and lengths stay byte
offsets and lengths), split on SOH by ``str.split`` and each field cut with ``str.partition``: C
loops, no per-character Python. Repeating groups are resolved with the dictionary's precompiled
count tag → (delimiter, member set) tables.

Messages may begin without ``8=``/``9=`` (exchange history files begin at ``1128=``): what is
present is validated, what is absent is not invented.

This module is the reference implementation. A compiled twin (``_cparser.pyx``, docs/decisions
0112 and 0114) runs instead when it is built and ``TICKERPLANT_PURE_PYTHON`` is not set; it
returns the same messages and defers every input it does not parse cleanly (any DecodeError, odd
tags) to :meth:`FixParser.parse_python`.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, Final

from ingest.protocols.base import DecodeError
from ingest.protocols.fix.dictionary import FixDictionary, GroupDef, builtin_dictionary
from ingest.protocols.fix.message import FieldError, FixMessage, GroupEntry
from pipelines import accel

if TYPE_CHECKING:
    from ingest.protocols.fix._cparser import Parser as _CompiledParser

_compiled = accel.load("ingest.protocols.fix._cparser")

__all__ = ["FixParser", "checksum"]

_MAX_GROUP_DEPTH: Final = 16


class _EveryTag(frozenset[str]):
    """A stop set that contains every tag: groups end at the first non-member."""

    def __contains__(self, item: object) -> bool:
        return True


_EVERY_TAG: Final = _EveryTag()


def checksum(data: bytes | memoryview) -> int:
    """FIX CheckSum: the byte sum modulo 256.

    Adler-32's first half is ``1 + sum(bytes) mod 65521``; over at most 256 bytes the sum stays
    below 65521, so the C adler32 yields exact partial sums — several times faster than
    ``sum(data)`` in Python.
    """
    view = memoryview(data)
    total = 0
    for start in range(0, len(view), 256):
        total += (zlib.adler32(view[start : start + 256]) & 0xFFFF) - 1
    return total & 0xFF


class FixParser:
    """Parses framed messages against one dictionary (the built-in minimal one by default).

    ``validate_checksum`` / ``validate_body_length`` may be turned off for captures whose
    trailers were rewritten; ``unknown_msg_types`` (default: reject when a real dictionary is
    loaded) decides whether a message type the dictionary does not know is a DecodeError.
    ``keep_negative_tags`` keeps fields like ``-1=x`` (else garbled) so that a session layer can
    answer them with Reject 373=0 (invalid tag number), as FIX session test case 14a expects.
    ``compiled``: None (default) parses with the compiled twin when it is loaded; False always
    runs the pure-Python reference; True requires the twin (ValueError when it is not built or
    ``TICKERPLANT_PURE_PYTHON`` is set). Options are fixed once the parser is made.
    """

    __slots__ = (
        "_fast",
        "_header_tags",
        "_messages",
        "_stops",
        "dictionary",
        "keep_negative_tags",
        "reject_unknown_msg_type",
        "validate_body_length",
        "validate_checksum",
    )

    def __init__(
        self,
        dictionary: FixDictionary | None = None,
        *,
        validate_checksum: bool = True,
        validate_body_length: bool = True,
        reject_unknown_msg_type: bool | None = None,
        keep_negative_tags: bool = False,
        compiled: bool | None = None,
    ) -> None:
        self.keep_negative_tags = keep_negative_tags
        self.dictionary = dictionary if dictionary is not None else builtin_dictionary()
        self.validate_checksum = validate_checksum
        self.validate_body_length = validate_body_length
        self.reject_unknown_msg_type = (
            dictionary is not None if reject_unknown_msg_type is None else reject_unknown_msg_type
        )
        self._messages = self.dictionary.messages
        self._header_tags = self.dictionary.header_tags
        # Per message type: tags that end a top-level group (the message's own fields, header
        # and trailer). Any other tag inside a group is kept in the entry (see _parse_group).
        self._stops: dict[str, tuple[frozenset[str], ...]] = {}
        if compiled and _compiled is None:
            raise ValueError("the compiled FIX parser is not loaded (not built, or pure Python)")
        self._fast: _CompiledParser | None = (
            _compiled.Parser(self) if _compiled is not None and compiled is not False else None
        )

    @property
    def compiled(self) -> bool:
        """Whether :meth:`parse` runs the compiled twin."""
        return self._fast is not None

    def parse(self, data: bytes) -> FixMessage:
        """One message (trailing newline allowed); raises DecodeError only."""
        if self._fast is not None:
            return self._fast.parse(data)
        return self.parse_python(data)

    def parse_python(self, data: bytes) -> FixMessage:
        """:meth:`parse` in pure Python: the reference the compiled twin is tested against."""
        if data[-1:] in (b"\n", b"\r"):
            data = data.rstrip(b"\r\n")
        if len(data) < 5 or data[-1] != 1:
            raise DecodeError("garbled", "a FIX message ends with SOH")
        text = data.decode("latin-1")
        body_end = self._check_trailer(data, text)
        if self.validate_body_length:
            self._check_body_length(text, body_end)

        type_at = text.find("\x0135=")
        if type_at < 0:
            if not text.startswith("35="):
                raise DecodeError("garbled", "no MsgType (35)")
            type_at = -1
        type_end = text.find("\x01", type_at + 4)
        msg_type = text[type_at + 4 : type_end]
        definition = self._messages.get(msg_type)
        if definition is None:
            if self.reject_unknown_msg_type or not msg_type:
                raise DecodeError("unknown_msg_type", repr(msg_type))
            groups: dict[str, GroupDef] = {}
            stops: tuple[frozenset[str], ...] = (self._header_tags,)
        else:
            groups = definition.groups
            stops = self._stops.get(msg_type) or self._stops.setdefault(
                msg_type,
                (_EVERY_TAG,)
                if definition.strict_groups
                else (definition.members, self._header_tags),
            )

        parts = text[:-1].split("\x01")
        fields: dict[str, Any] = {}
        errors: list[FieldError] = []
        index, count = 0, len(parts)
        while index < count:
            tag, sep, value = parts[index].partition("=")
            index += 1
            if not sep or not tag.isdigit():
                negative = sep and tag[:1] == "-" and tag[1:].isdigit()
                if not (negative and self.keep_negative_tags):
                    raise DecodeError("garbled", f"field {index} is not tag=value")
            if tag in groups:
                fields[tag], index = _parse_group(
                    parts, index, count, groups[tag], value, errors, stops, 0
                )
            elif tag in fields:
                errors.append(FieldError(tag, 13, "tag appears more than once"))
            else:
                fields[tag] = value
        return FixMessage(msg_type, fields, data, errors)

    def _check_trailer(self, data: bytes, text: str) -> int:
        """Offset where CheckSum (10) begins (the body's end); validates it when present."""
        at = text.rfind("\x0110=")
        if at < 0:
            if text.startswith("8="):  # a message with a BeginString must have its trailer
                raise DecodeError("garbled", "no CheckSum (10): truncated message")
            return len(text)
        declared = text[at + 4 : -1]
        if len(declared) != 3 or not declared.isdecimal():
            raise DecodeError("checksum", f"CheckSum must be three digits, got {declared!r}")
        if self.validate_checksum and checksum(memoryview(data)[: at + 1]) != int(declared):
            raise DecodeError(
                "checksum",
                f"declared {declared}, computed {checksum(memoryview(data)[: at + 1]):03d}",
            )
        return at + 1

    @staticmethod
    def _check_body_length(text: str, body_end: int) -> None:
        if text.startswith("8="):
            at = text.find("\x01") + 1
            if not text.startswith("9=", at):
                raise DecodeError("body_length", "BodyLength (9) must be the second field")
        elif text.startswith("9="):
            at = 0
        else:
            # History files start at ApplVerID (1128=): BodyLength, when present, precedes 35.
            at = text.find("\x019=", 0, max(text.find("\x0135="), 0)) + 1
            if at == 0:
                return
        end = text.find("\x01", at)
        declared = text[at + 2 : end]
        if not declared.isdecimal():
            raise DecodeError("body_length", f"BodyLength {declared!r} is not a number")
        if int(declared) != body_end - end - 1:
            raise DecodeError("body_length", f"declared {declared}, actual {body_end - end - 1}")


def _parse_group(
    parts: list[str],
    index: int,
    count: int,
    group: GroupDef,
    count_text: str,
    errors: list[FieldError],
    stops: tuple[frozenset[str], ...],
    depth: int,
) -> tuple[list[GroupEntry], int]:
    """Entries of one repeating group starting at ``parts[index]``; returns them and the index
    of the first field after the group.

    The group ends at a tag of ``stops`` (the enclosing message's or group's own fields, header
    and trailer). A tag the dictionary knows nowhere in this message stays in the current entry
    with a 373=2 error: venues put RptSeq (83) or MDPriceLevel (1023) in FIX 4.4 entries although
    QuickFIX's 4.4 dictionary does not list them there, and ending the group at such a tag would
    misread every entry after the first.
    """
    if not count_text.isdecimal():
        raise DecodeError("garbled", f"NumInGroup ({group.count_tag}) {count_text!r}")
    expected = int(count_text)
    entries: list[GroupEntry] = []
    if expected == 0:
        return entries, index
    if depth > _MAX_GROUP_DEPTH:
        raise DecodeError("garbled", "repeating groups nested too deep")
    delimiter, members, nested = group.delimiter, group.members, group.groups
    entry: GroupEntry | None = None
    while index < count:
        tag, _, value = parts[index].partition("=")
        if tag == delimiter:
            entry = {tag: value}
            entries.append(entry)
        elif tag not in members:
            if entry is None or any(tag in stop for stop in stops):
                break
            errors.append(FieldError(tag, 2, f"{tag} not defined in group {group.count_tag}"))
            entry[tag] = value
        elif entry is None:
            # Venues that omit the dictionary's first field (e.g. MDUpdateAction in X) start
            # every entry with the same other field: take it as the delimiter, and say so.
            errors.append(
                FieldError(tag, 15, f"group {group.count_tag} starts with {tag}, not {delimiter}")
            )
            delimiter = tag
            entry = {tag: value}
            entries.append(entry)
        elif tag in nested:
            entry[tag], index = _parse_group(
                parts, index + 1, count, nested[tag], value, errors, (members, *stops), depth + 1
            )
            continue
        elif tag in entry:
            errors.append(FieldError(tag, 15, f"{tag} repeated inside one {group.count_tag} entry"))
        else:
            entry[tag] = value
        index += 1
    if len(entries) != expected:
        errors.append(
            FieldError(group.count_tag, 16, f"NumInGroup {expected}, found {len(entries)} entries")
        )
    return entries, index
