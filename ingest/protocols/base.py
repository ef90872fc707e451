"""The shape every protocol plugin shares.

A protocol plugin turns one framed message (a FIX message, an SBE packet, a WebSocket text frame,
a CSV row) into normalized events, and raises only :class:`DecodeError` on bad input: the source
counts it, logs it at most once per kind per interval and dead-letters the raw bytes; the worker
goes on. Framing of byte streams (TCP) is the source's job, with the protocol's ``framer``.

``seq`` is assigned here, at ingest: one :class:`Sequencer` per stream, +1 per event from 1, so the
same input always gives the same ``(stream, seq)``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import msgspec

from pipelines.events import Event

__all__ = ["DecodeError", "Decoder", "Encoder", "Sequencer"]


class DecodeError(ValueError):
    """Bad input for a decoder. ``reason`` is a short stable key for counting and logging."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


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
        """Events of one framed message, ``seq`` already assigned; raises DecodeError only."""
        ...


class Encoder(Protocol):
    """The inverse direction, for protocols the simulator speaks and for round-trip tests."""

    def encode(self, events: list[Event]) -> bytes: ...
