"""Fixtures of the session tests: a controllable clock and a scripted counterparty."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ingest.protocols.fix.session.messages import build_message, split_fields
from ingest.protocols.fix.timestamps import format_utc_timestamp

START = 1_780_000_000 * 1_000_000_000  # 2026-05-28, ns


class Clock:
    """Injected clock: tests move time with ``advance`` instead of sleeping."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000_000)


class Peer:
    """The other side (TW44 → ISLD): writes messages with its own MsgSeqNum."""

    def __init__(self, clock: Clock, sender: str = "TW44", target: str = "ISLD") -> None:
        self.clock = clock
        self.sender, self.target = sender, target
        self.seq = 1

    def msg(
        self,
        msg_type: str,
        body: list[tuple[str, str]] | None = None,
        *,
        seq: int | None = None,
        header: list[tuple[str, str]] | None = None,
        sending_offset: float = 0,
    ) -> bytes:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        sending = format_utc_timestamp(self.clock() + int(sending_offset * 1e9), 3)
        fields = [("34", str(seq)), ("49", self.sender), ("52", sending), ("56", self.target)]
        return build_message("FIX.4.4", msg_type, fields + (header or []), body or [])


def fields_of(raw: bytes) -> dict[str, str]:
    return dict(split_fields(raw))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def peer(clock: Clock) -> Peer:
    return Peer(clock)


@pytest.fixture
def make_peer(clock: Clock) -> Callable[[str, str], Peer]:
    """Another counterparty: ``make_peer(sender, target)``."""
    return lambda sender, target: Peer(clock, sender, target)


Fields = Callable[[bytes], dict[str, str]]


@pytest.fixture
def fields() -> Fields:
    """``fields(raw)``: a received message as tag → value (last one wins)."""
    return fields_of
