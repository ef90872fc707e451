"""A runner of QuickFIX acceptance scripts (``*.def``) against a FIX acceptor over TCP.

Script format (shared/data/fix/quickfix-acceptance/README.txt): ``iCONNECT``/``eDISCONNECT``
(``i1,CONNECT``... with connection numbers), ``I<message>`` sent, ``E<message>`` expected.
``<TIME>``, ``<TIME+n>``, ``<TIME-n>`` become the UTC time (seconds) when the line runs; 9 and
10 are filled in when a line lacks them, as QuickFIX's harness does.

Comparison of an expected message with the one received: the same tags in the same order, and
the same values, except

- values the script zeroes (``00000000-00:00:00.000``, ``00000000-00:00:00``, ``0``) match any;
- CheckSum (10) is verified on the received bytes instead of compared: the script's value was
  computed over the SendingTime of the day the script was written;
- SendingTime (52) must be a UTCTimestamp within ``SENDING_TIME_TOLERANCE`` of the harness
  clock: a few scripts carry a SendingTime pasted from an old log (``20040227-19:56:48``) or
  ``<TIME>`` (seconds, where the script's own BodyLength counts milliseconds).

Everything else — BodyLength included — must be equal.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ingest.protocols.fix.framing import FixFramer
from ingest.protocols.fix.parser import checksum
from ingest.protocols.fix.timestamps import parse_fix_time

SOH: Final = "\x01"
READ_TIMEOUT: Final = 20.0  # heartbeats of 6 s and test requests at 1.5 intervals fit easily
DISCONNECT_TIMEOUT: Final = 10.0  # as QuickFIX's harness
SENDING_TIME_TOLERANCE: Final = 60.0
_ZEROED: Final = re.compile(r"0+([-:.]0+)*")
_TIME: Final = re.compile(r"<TIME([+-]\d+)?>")
_NUMBERED: Final = re.compile(r"^([IEie])(\d),(.*)$")


@dataclass(frozen=True)
class Step:
    kind: str  # I, E, i (CONNECT/DISCONNECT), e (DISCONNECT expected)
    connection: int
    text: str
    line: int


class ScriptFailure(AssertionError):
    pass


def parse_script(path: Path) -> list[Step]:
    steps: list[Step] = []
    for number, line in enumerate(path.read_text("latin-1").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _NUMBERED.match(line)
        kind, connection, text = (
            (match[1], int(match[2]), match[3]) if match else (line[0], 1, line[1:])
        )
        if kind in "ie":
            text = text.split("#", 1)[0].strip()
        steps.append(Step(kind, connection, text, number))
    return steps


def timify(text: str, now: float) -> str:
    def replace(match: re.Match[str]) -> str:
        offset = int(match[1]) if match[1] else 0
        return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(now + offset))

    return _TIME.sub(replace, text)


def fixify(text: str) -> bytes:
    """Add BodyLength and CheckSum where a line lacks them (QuickFIX's harness rules)."""
    if not text.startswith("8="):
        return text.encode("latin-1")
    head_end = text.index(SOH) + 1
    head, rest = text[:head_end], text[head_end:]
    has_length = f"{SOH}9=" in text
    trailer = re.search(r"\x0110=[^\x01]*\x01$", SOH + rest)
    if trailer:
        rest = rest[: len(rest) - (trailer.end() - trailer.start() - 1)]
    length = "" if has_length else f"9={len(rest)}{SOH}"
    body = (head + length + rest).encode("latin-1")
    if trailer:
        return body + trailer[0][1:].encode("latin-1")
    return body + b"10=%03d\x01" % checksum(body)


def compare(expected: bytes, actual: bytes, now: float, *, literal: bool = False) -> str:
    """'' when they match, else the reason. ``literal``: only zeroed values are wildcards
    (CheckSum and SendingTime literals compared as written), to measure what that rule costs."""
    want = [field.partition("=") for field in expected.decode("latin-1").split(SOH)[:-1]]
    got = [field.partition("=") for field in actual.decode("latin-1").split(SOH)[:-1]]
    if len(want) != len(got):
        return f"{len(got)} fields, expected {len(want)}"
    for (tag, _, value), (actual_tag, _, actual_value) in zip(want, got, strict=True):
        if tag != actual_tag:
            return f"expected field {tag}, found {actual_tag}"
        if literal and not _ZEROED.fullmatch(value) and value != actual_value:
            return f"field {tag}: expected {value!r}, got {actual_value!r} (literal rule)"
        if tag == "10":
            body_end = actual.rfind(b"\x0110=") + 1
            if int(actual_value) != checksum(actual[:body_end]):
                return f"CheckSum {actual_value} is wrong"
        elif tag == "52":
            try:
                sent = parse_fix_time(actual_value) / 1e9
            except ValueError:
                return f"SendingTime {actual_value!r} is not a UTCTimestamp"
            if abs(sent - now) > SENDING_TIME_TOLERANCE:
                return f"SendingTime {actual_value} is not now"
        elif _ZEROED.fullmatch(value):
            continue
        elif value != actual_value:
            return f"field {tag}: expected {value!r}, got {actual_value!r}"
    return ""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = FixFramer(trust_body_length=True)
        self.pending: list[bytes] = []

    async def next_message(self, timeout: float) -> bytes | None:
        """The next framed message, None at EOF."""
        async with asyncio.timeout(timeout):
            while not self.pending:
                data = await self.reader.read(1 << 16)
                if not data:
                    return None
                self.pending.extend(self.framer.feed(data))
        return self.pending.pop(0)


async def run_script(path: Path, host: str, port: int, *, literal: bool = False) -> None:
    """Raises ScriptFailure naming the line that failed."""
    connections: dict[int, _Connection] = {}
    try:
        for step in parse_script(path):
            now = time.time()
            where = f"{path.name}:{step.line}"
            if step.kind == "i" and step.text == "CONNECT":
                reader, writer = await asyncio.open_connection(host, port)
                connections[step.connection] = _Connection(reader, writer)
            elif step.kind == "i" and step.text == "DISCONNECT":
                connections.pop(step.connection).writer.close()
            elif step.kind == "e" and step.text == "DISCONNECT":
                connection = connections.pop(step.connection)
                try:
                    message = await connection.next_message(DISCONNECT_TIMEOUT)
                except TimeoutError:
                    raise ScriptFailure(f"{where}: connection hangs after ten seconds") from None
                finally:
                    connection.writer.close()
                if message is not None:
                    raise ScriptFailure(f"{where}: expected disconnection, got {_show(message)}")
            elif step.kind == "I":
                connection = connections[step.connection]
                if connection.writer.is_closing():
                    raise ScriptFailure(f"{where}: connection was dropped")
                connection.writer.write(fixify(timify(step.text, now)))
                await connection.writer.drain()
            elif step.kind == "E":
                expected = fixify(timify(step.text, now))
                try:
                    actual = await connections[step.connection].next_message(READ_TIMEOUT)
                except TimeoutError:
                    raise ScriptFailure(
                        f"{where}: nothing received, expected {_show(expected)}"
                    ) from None
                if actual is None:
                    raise ScriptFailure(f"{where}: disconnected, expected {_show(expected)}")
                reason = compare(expected, actual, time.time(), literal=literal)
                if reason:
                    raise ScriptFailure(
                        f"{where}: {reason}\n  expected {_show(expected)}\n  received {_show(actual)}"
                    )
            else:
                raise ScriptFailure(f"{where}: cannot read line")
    finally:
        for connection in connections.values():
            connection.writer.close()


def _show(message: bytes) -> str:
    return message.decode("latin-1").replace(SOH, "|")
