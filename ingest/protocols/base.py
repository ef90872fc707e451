"""The shape every protocol plugin shares.

A protocol plugin turns one framed message (a FIX message, an SBE packet, a WebSocket text frame,
a CSV row) into normalized events, and raises only :class:`DecodeError` on bad input: the source
counts it, logs it at most once per kind per interval and dead-letters the raw bytes; the worker
goes on. Framing of byte streams (TCP) is the source's job, with the protocol's ``framer``.

``seq`` is assigned here, at ingest: one :class:`Sequencer` per stream, +1 per event from 1, so the
same input always gives the same ``(stream, seq)``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Protocol

import msgspec

from pipelines.events import Event

__all__ = [
    "INT64_MAX",
    "DecodeError",
    "Decoder",
    "Encoder",
    "Sequencer",
    "check_int64",
    "describe_int",
    "out_of_range",
]

INT64_MAX: Final = 2**63 - 1
"""The largest magnitude of an integer an event may carry: books keep prices and sizes in int64
(less its minimum), and msgpack, the log's and the wire's encoding, has no bigger signed int.
Decoders refuse a value beyond it with ``DecodeError("out_of_range")`` (docs/decisions/0121)."""


class DecodeError(ValueError):
    """Bad input for a decoder. ``reason`` is a short stable key for counting and logging."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def describe_int(value: int) -> str:
    """``value`` for an error message: its digits, or its size when it has too many to print
    (``str()`` of a 5,000-digit int raises ValueError, Python's limit on int-to-text)."""
    return str(value) if value.bit_length() <= 256 else f"a {value.bit_length()}-bit integer"


def out_of_range(what: str, value: int) -> DecodeError:
    return DecodeError("out_of_range", f"{what} is beyond the int64 range ({describe_int(value)})")


def check_int64(value: int, what: str) -> int:
    """``value`` when it fits an event (``|value| <= INT64_MAX``); else DecodeError."""
    if -INT64_MAX <= value <= INT64_MAX:
        return value
    raise out_of_range(what, value)


class Sequencer:
    """Per-stream ingest sequence numbers; ``seq`` is the last one handed out."""

    __slots__ = ("seq", "stream")

    def __init__(self, stream: str, start: int = 0) -> None:
        self.stream = stream
        self.seq = start

    def next(self) -> int:
        self.seq += 1
        return self.seq


class Decoder(Protocol):
    """A protocol plugin: ``kind`` names it in PROTOCOLS; ``Params`` types its options."""

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, stream: str, params: Any, sequencer: Sequencer | None = None) -> None: ...

    def decode(self, data: bytes, ts_recv: int) -> list[Event]:
        """Events of one framed message, ``seq`` already assigned; raises DecodeError only.

        A decoder whose message may hold several rows (the mapped decoders' ``rows``) can keep
        the events of the good rows and report each bad one instead of raising: it then has a
        ``row_errors`` attribute, a list that ``decode`` refills with one DecodeError per
        rejected row of the message just decoded (the source counts and dead-letters each)."""
        ...


class Encoder(Protocol):
    """The inverse direction, for protocols the simulator speaks and for round-trip tests."""

    def encode(self, events: list[Event]) -> bytes: ...
