"""Stream framers: a byte stream (TCP) in, complete messages out.

Every framer has ``feed(data) -> list[bytes]`` (the messages completed by ``data``, in order;
a partial message waits in the framer) and ``pending`` (bytes held). Framing errors never raise:
a length beyond ``max_message`` cannot be trusted, so the framer drops its buffer, counts it in
``errors`` and starts over at the next chunk; a FIX stream resyncs at the next ``8=FIX``.

- ``length``: a big-endian unsigned length prefix of 2 or 4 bytes, then that many payload bytes
  (the prefix counts the payload only, unless ``inclusive``);
- ``line``: messages end with ``\\n`` (a trailing ``\\r`` is stripped); blank lines are skipped;
- ``fix``: FIX tag=value by BodyLength (:class:`ingest.protocols.fix.framing.FixFramer`).
"""

from __future__ import annotations

from typing import Literal, Protocol

from ingest.protocols.fix.framing import FixFramer

__all__ = ["Framer", "FramingKind", "LengthPrefixFramer", "LineFramer", "make_framer"]

FramingKind = Literal["fix", "length", "line"]


class Framer(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...

    @property
    def pending(self) -> int: ...


class LengthPrefixFramer:
    """``width``-byte big-endian length, then the payload; yields payloads without the prefix."""

    __slots__ = ("_buffer", "errors", "inclusive", "max_message", "width")

    def __init__(self, width: int = 4, max_message: int = 1 << 20, inclusive: bool = False) -> None:
        if width not in (2, 4):
            raise ValueError("length prefix width must be 2 or 4 bytes")
        self.width = width
        self.max_message = max_message
        self.inclusive = inclusive
        self.errors = 0
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        width = self.width
        adjust = width if self.inclusive else 0
        out: list[bytes] = []
        position = 0
        end_of_data = len(buffer)
        while end_of_data - position >= width:
            length = int.from_bytes(buffer[position : position + width], "big") - adjust
            if length < 0 or length > self.max_message:
                # No way to find the next boundary in a stream with a corrupt prefix.
                self.errors += 1
                position = end_of_data
                break
            end = position + width + length
            if end > end_of_data:
                break
            out.append(bytes(buffer[position + width : end]))
            position = end
        del buffer[:position]
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


class LineFramer:
    """Newline-terminated messages; a line longer than ``max_message`` is dropped (counted)."""

    __slots__ = ("_buffer", "_discarding", "errors", "max_message")

    def __init__(self, max_message: int = 1 << 20) -> None:
        self.max_message = max_message
        self.errors = 0
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        position = 0
        while True:
            newline = buffer.find(b"\n", position)
            if newline < 0:
                break
            if self._discarding:  # the rest of an overlong line
                self._discarding = False
            else:
                line = bytes(buffer[position:newline]).rstrip(b"\r")
                if line:
                    out.append(line)
            position = newline + 1
        del buffer[:position]
        if len(buffer) > self.max_message:
            self.errors += 1
            buffer.clear()
            self._discarding = True
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


def make_framer(kind: FramingKind, *, length_width: int = 4, max_message: int = 1 << 20) -> Framer:
    """A fresh framer of ``kind`` (one per connection: a reconnect starts clean)."""
    if kind == "fix":
        return FixFramer(max_message)
    if kind == "length":
        return LengthPrefixFramer(length_width, max_message)
    if kind == "line":
        return LineFramer(max_message)
    raise ValueError(f"unknown framing {kind!r}")
